from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from medgrade.checks import (
    CheckFailure,
    check_labels_shape,
    check_loss_decreasing,
    check_mode,
    check_outputs_are_logits,
    check_overfit_one_batch,
    check_train_step,
)

CE = nn.CrossEntropyLoss()


def good_step(model: nn.Module, optimizer: Any, loss_fn: Any, images: Any, labels: Any) -> float:
    optimizer.zero_grad()
    loss = loss_fn(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def no_zero_grad(model: nn.Module, optimizer: Any, loss_fn: Any, images: Any, labels: Any) -> float:
    loss = loss_fn(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def no_step(model: nn.Module, optimizer: Any, loss_fn: Any, images: Any, labels: Any) -> float:
    optimizer.zero_grad()
    loss = loss_fn(model(images), labels)
    loss.backward()
    return loss.item()


def returns_tensor(model: nn.Module, optimizer: Any, loss_fn: Any, images: Any, labels: Any) -> Any:
    optimizer.zero_grad()
    loss = loss_fn(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss


def ascends(model: nn.Module, optimizer: Any, loss_fn: Any, images: Any, labels: Any) -> float:
    optimizer.zero_grad()
    loss = loss_fn(model(images), labels)
    (-loss).backward()
    optimizer.step()
    return loss.item()


def own_optimizer(model: nn.Module, optimizer: Any, loss_fn: Any, images: Any, y: Any) -> float:
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    opt.zero_grad()
    loss = loss_fn(model(images), y)
    loss.backward()
    opt.step()
    return loss.item()


class TestTrainStep:
    @pytest.mark.parametrize("fixture", ["mlp", "cnn"])
    def test_correct_step_passes_and_model_untouched(self, fixture: str, request: Any,
                                                     unchanged: Any) -> None:
        model = request.getfixturevalue(fixture)
        x = torch.randn(8, 4) if fixture == "mlp" else torch.randn(8, 1, 8, 8)
        y = torch.randint(0, 3, (8,))
        model.eval()
        state = torch.random.get_rng_state()
        with unchanged(model):
            check_train_step(good_step, model, loss_fn=CE, x=x, y=y)
        assert torch.equal(state, torch.random.get_rng_state()), "student RNG consumed"
        assert all(p.grad is None for p in model.parameters())

    def test_missing_zero_grad(self, mlp: nn.Module, batch: Any) -> None:
        with pytest.raises(CheckFailure, match=r"observed gradients accumulated across calls\. "
                           r"Hint: call optimizer.zero_grad\(\)"):
            check_train_step(no_zero_grad, mlp, loss_fn=CE, x=batch[0], y=batch[1])

    def test_missing_step(self, mlp: nn.Module, batch: Any) -> None:
        with pytest.raises(CheckFailure, match=r"^check_train_step\(train_step\): expected the "
                           r"parameters to change after one step; observed parameters unchanged"
                           r"\. Hint: call loss.backward\(\) and then optimizer.step\(\)"):
            check_train_step(no_step, mlp, loss_fn=CE, x=batch[0], y=batch[1])

    def test_returns_tensor(self, mlp: nn.Module, batch: Any) -> None:
        with pytest.raises(CheckFailure, match="expected the loss as a Python float; observed a "
                           r"tensor of shape \(\).*return loss.item\(\)"):
            check_train_step(returns_tensor, mlp, loss_fn=CE, x=batch[0], y=batch[1])

    def test_gradient_ascent(self, mlp: nn.Module, batch: Any) -> None:
        with pytest.raises(CheckFailure, match="loss on the same batch to fall.*uphill") as e:
            check_train_step(ascends, mlp, loss_fn=CE, x=batch[0], y=batch[1])
        assert e.value.value is not None and e.value.value < 0

    def test_ignores_given_optimizer(self, mlp: nn.Module, batch: Any) -> None:
        with pytest.raises(CheckFailure, match="equal one SGD step with lr=0.1.*use the optimizer "
                           "you are given"):
            check_train_step(own_optimizer, mlp, loss_fn=CE, x=batch[0], y=batch[1])

    def test_returns_nothing(self, mlp: nn.Module, batch: Any) -> None:
        def forgot_return(model: Any, optimizer: Any, loss_fn: Any, images: Any, y: Any) -> None:
            good_step(model, optimizer, loss_fn, images, y)

        with pytest.raises(CheckFailure, match="observed NoneType None.*return loss.item"):
            check_train_step(forgot_return, mlp, loss_fn=CE, x=batch[0], y=batch[1])


class TestOverfitOneBatch:
    def test_correct_model_overfits(self, mlp: nn.Module, batch: Any, unchanged: Any) -> None:
        with unchanged(mlp):
            losses = check_overfit_one_batch(mlp, loss_fn=CE, x=batch[0], y=batch[1], steps=60,
                                             lr=0.05, at_most_loss=0.1)
        assert losses[-1] < losses[0]

    def test_softmax_before_cross_entropy_cannot_overfit(self, batch: Any) -> None:
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3), nn.Softmax(dim=1))
        with pytest.raises(CheckFailure, match=r"loss <= 0.1 after 60 steps; observed final loss"
                           r" 0\.[5-9].*softmax before CrossEntropyLoss") as e:
            check_overfit_one_batch(net, loss_fn=CE, x=batch[0], y=batch[1], steps=60,
                                    lr=0.05, at_most_loss=0.1)
        assert e.value.margin is not None and e.value.margin < 0

    def test_frozen_model_fails_min_drop(self, mlp: nn.Module, batch: Any) -> None:
        for p in mlp[:2].parameters():
            p.requires_grad_(False)
        mlp[2].weight.data.zero_()
        mlp[2].weight.requires_grad_(False)
        with pytest.raises(CheckFailure, match="relative loss drop >= 0.5"):
            check_overfit_one_batch(mlp, loss_fn=CE, x=batch[0], y=batch[1], steps=20,
                                    lr=0.05, min_drop=0.5)


class TestLossDecreasing:
    def test_noisy_but_decreasing_passes(self) -> None:
        rng = np.random.default_rng(0)
        losses = 2.0 * np.exp(-np.arange(50) / 20) + rng.normal(0, 0.1, 50)
        assert not np.all(np.diff(losses) < 0)
        check_loss_decreasing(list(losses), min_relative_drop=0.3)

    def test_rounding_noise_is_never_a_negative_zero(self) -> None:
        from medgrade.checks.training import _pct

        assert [_pct(-1e-17), _pct(1e-17), _pct(-0.1234)] == ["0.0%", "0.0%", "-12.3%"]

    def test_flat_curve_reports_both_figures(self) -> None:
        with pytest.raises(CheckFailure, match=r"mean of first fifth 2\.3, last fifth 2\.3 "
                           r"\(drop 0\.0%; fitted trend drop 0\.0%\) over 10 values.*flat") as e:
            check_loss_decreasing([2.3] * 10)
        assert e.value.value == 0.0 and e.value.threshold == 0.1

    def test_rising_curve(self) -> None:
        with pytest.raises(CheckFailure, match="loss rose"):
            check_loss_decreasing([torch.tensor(v) for v in (1.0, 1.2, 1.5, 2.0, 3.0)])

    def test_nan(self) -> None:
        with pytest.raises(CheckFailure, match="1 not finite.*diverged"):
            check_loss_decreasing([1.0, float("nan"), 0.5])


class TestClassicBugs:
    def test_logits_pass(self) -> None:
        check_outputs_are_logits(torch.randn(8, 3))

    def test_softmax_outputs(self) -> None:
        with pytest.raises(CheckFailure, match="probabilities: values in \\[0, 1\\] summing to 1"
                           ".*remove the softmax from forward"):
            check_outputs_are_logits(torch.softmax(torch.randn(8, 3), dim=1))

    def test_sigmoid_outputs(self) -> None:
        with pytest.raises(CheckFailure, match="BCEWithLogitsLoss applies it itself"):
            check_outputs_are_logits(torch.sigmoid(torch.randn(8, 1)))

    def test_labels_pass(self) -> None:
        check_labels_shape(torch.tensor([0, 2, 1]), n=3, num_classes=3)

    def test_medmnist_labels(self) -> None:
        with pytest.raises(CheckFailure, match=r"observed shape \(3, 1\).*squeeze\(1\)"):
            check_labels_shape(np.array([[0], [2], [1]]))

    def test_float_and_one_hot_labels(self) -> None:
        with pytest.raises(CheckFailure, match="dtype float32.*labels.long"):
            check_labels_shape(torch.tensor([0.0, 1.0]))
        with pytest.raises(CheckFailure, match="one-hot"):
            check_labels_shape(torch.eye(3))

    def test_mode(self, cnn: nn.Module) -> None:
        check_mode(cnn.eval(), False)
        with pytest.raises(CheckFailure, match="expected model in eval mode; observed train mode"
                           " in model, conv, bn, drop, fc. Hint: call model.eval()"):
            check_mode(cnn.train(), training=False)
        cnn.train()
        cnn.drop.eval()
        with pytest.raises(CheckFailure, match="observed eval mode in drop"):
            check_mode(cnn, True)
