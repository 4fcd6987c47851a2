from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from medgrade.checks import (
    CheckFailure,
    check_all_params_get_grad,
    check_forward_shape,
    check_frozen,
    check_layers_present,
    check_param_count,
    check_state_unchanged,
    check_train_eval_behaviour,
    state_unchanged,
)


class LostChannel(nn.Module):
    """Segmentation head that squeezes away the channel dimension."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).squeeze(1)


class WrongFlatten(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(10, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


class UnusedLayer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.fc2 = nn.Linear(3, 3)  # defined, never called

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc1(x)


class Detached(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(4, 3), nn.Linear(3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.fc1(x).detach())


class FunctionalDropout(nn.Module):
    """F.dropout without training=self.training: still drops in eval mode."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(self.fc(x), p=0.5)


class BatchStatsAlways(nn.Module):
    """Batch norm forced to training=True: updates running stats in eval mode."""

    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(x, self.bn.running_mean, self.bn.running_var, self.bn.weight,
                            self.bn.bias, training=True)


class DropoutUnused(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc, self.drop = nn.Linear(4, 8), nn.Dropout(0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class TestForwardShape:
    def test_correct_model_passes_and_keeps_mode(self, cnn: nn.Module, unchanged) -> None:
        cnn.train()
        with unchanged(cnn):
            check_forward_shape(cnn, (2, 1, 8, 8), (2, 3), name="cnn")
        assert cnn.training

    def test_lost_channel_dimension(self) -> None:
        with pytest.raises(CheckFailure, match=r"^check_forward_shape\(unet\): expected unet\(x\)"
                           r" for x of shape \(2, 1, 8, 8\) to return shape \(2, 1, 8, 8\); "
                           r"observed \(2, 8, 8\)\. Hint: one dimension is missing"):
            check_forward_shape(LostChannel(), (2, 1, 8, 8), (2, 1, 8, 8), name="unet")

    def test_crash_in_forward_is_reported(self) -> None:
        with pytest.raises(CheckFailure, match="observed RuntimeError: .*in_features of the first"):
            check_forward_shape(WrongFlatten(), (2, 1, 4, 4), (2, 3))

    def test_tuple_output(self) -> None:
        class Pair(nn.Module):
            def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
                return x, x

        with pytest.raises(CheckFailure, match="to return a tensor; observed a tuple"):
            check_forward_shape(Pair(), (2, 3), (2, 3))


class TestParamCount:
    def test_exact_and_bounds_pass(self, mlp: nn.Module) -> None:
        check_param_count(mlp, exact=4 * 8 + 8 + 8 * 3 + 3)
        check_param_count(mlp, at_least=10, at_most=100)

    def test_missing_bias(self) -> None:
        net = nn.Sequential(nn.Linear(4, 8, bias=False), nn.Linear(8, 3))
        with pytest.raises(CheckFailure, match=r"expected exactly 67 parameters; observed 59 "
                           r"\(0: 32, 1: 27\)\. Hint: .*bias"):
            check_param_count(net, exact=67)

    def test_too_big(self, mlp: nn.Module) -> None:
        with pytest.raises(CheckFailure, match="at most 20 parameters; observed 67"):
            check_param_count(mlp, at_most=20)

    def test_lazy_layers(self) -> None:
        with pytest.raises(CheckFailure, match="lazy layers"):
            check_param_count(nn.LazyLinear(3), at_least=1)


class TestLayersPresent:
    def test_present(self, cnn: nn.Module) -> None:
        check_layers_present(cnn, [nn.BatchNorm2d, nn.Dropout, nn.Conv2d])

    def test_missing_batchnorm(self, mlp: nn.Module) -> None:
        with pytest.raises(CheckFailure, match="observed no BatchNorm2d; layers present: "
                           "Linear, ReLU"):
            check_layers_present(mlp, nn.BatchNorm2d)

    def test_layers_hidden_in_a_python_list(self) -> None:
        class Hidden(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.blocks = [nn.BatchNorm1d(4)]

        with pytest.raises(CheckFailure, match="nn.ModuleList"):
            check_layers_present(Hidden(), [nn.BatchNorm1d])


class TestAllParamsGetGrad:
    def test_correct_model(self, cnn: nn.Module, unchanged) -> None:
        with unchanged(cnn):
            check_all_params_get_grad(cnn, (4, 1, 8, 8))
        assert all(p.grad is None for p in cnn.parameters())

    def test_unused_layer(self) -> None:
        with pytest.raises(CheckFailure, match="no gradient for fc2.weight, fc2.bias.*never used"):
            check_all_params_get_grad(UnusedLayer(), (2, 4))

    def test_detached_graph(self) -> None:
        with pytest.raises(CheckFailure, match="no gradient for fc1.weight, fc1.bias.*detach"):
            check_all_params_get_grad(Detached(), (2, 4))

    def test_softmax_output_still_gets_gradient(self) -> None:
        check_all_params_get_grad(nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1)), (2, 4))


class TestTrainEvalBehaviour:
    def test_correct_model(self, cnn: nn.Module, unchanged) -> None:
        with unchanged(cnn):
            check_train_eval_behaviour(cnn, (4, 1, 8, 8))

    def test_functional_dropout_in_eval(self) -> None:
        with pytest.raises(CheckFailure, match="different outputs.*training=self.training"):
            check_train_eval_behaviour(FunctionalDropout(), (2, 4))

    def test_batchnorm_updated_in_eval(self) -> None:
        with pytest.raises(CheckFailure, match="buffers changed in eval mode: bn.running_mean"):
            check_train_eval_behaviour(BatchStatsAlways(), (4, 4))

    def test_dropout_defined_but_unused(self) -> None:
        with pytest.raises(CheckFailure, match="identical outputs.*never used"):
            check_train_eval_behaviour(DropoutUnused(), (2, 4))


class TestStateUnchanged:
    def test_pure_function_passes_and_returns(self, mlp: nn.Module) -> None:
        assert check_state_unchanged(mlp, lambda: 3) == 3

    def test_left_in_eval_mode(self, mlp: nn.Module) -> None:
        def evaluate() -> None:
            mlp.eval()

        with pytest.raises(CheckFailure, match=r"check_state_unchanged\(model\): expected "
                           r"evaluate to leave model unchanged; observed model switched to eval"):
            check_state_unchanged(mlp.train(), evaluate)

    def test_weights_changed(self, mlp: nn.Module) -> None:
        with pytest.raises(CheckFailure, match="0.weight changed"):
            with state_unchanged(mlp):
                with torch.no_grad():
                    mlp[0].weight.add_(1.0)


def _backbone_and_head() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(4, 1))


def _train_head(model: nn.Module, *, freeze: bool = True, eval_backbone: bool = True,
                params: Any = None) -> None:
    for p in model[:5].parameters():
        p.requires_grad = not freeze
    model.train()
    if eval_backbone:
        model[:5].eval()
    opt = torch.optim.SGD(params if params is not None else model[5].parameters(), lr=0.1)
    x = torch.randn(8, 1, 6, 6, generator=torch.Generator().manual_seed(1))
    for _ in range(3):
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()


class TestFrozen:
    def test_head_trained_over_a_frozen_backbone_in_eval_mode_passes(self) -> None:
        net = _backbone_and_head()
        assert check_frozen(net, lambda: _train_head(net) or "done", trainable="5.") == "done"

    def test_head_trained_on_features_computed_under_no_grad_passes(self) -> None:
        net = _backbone_and_head()

        def features_then_head() -> None:
            net.eval()
            with torch.no_grad():
                feats = net[:5](torch.randn(8, 1, 6, 6))
            opt = torch.optim.Adam(net[5].parameters(), lr=0.01)
            for _ in range(3):
                opt.zero_grad()
                net[5](feats).pow(2).mean().backward()
                opt.step()

        check_frozen(net, features_then_head, trainable=("5.",))

    def test_batch_norm_left_in_train_mode_is_named_with_its_running_statistics(self) -> None:
        net = _backbone_and_head()
        with pytest.raises(CheckFailure, match=r"check_frozen\(backbone\): expected only the parameters under "
                           r"'5\.' to change, batch-norm statistics included; observed 3 buffer\(s\) of the "
                           r"frozen layers changed, e.g. 1.running_mean, 1.running_var, 1.num_batches_tracked"
                           r".*keep the frozen backbone in eval mode"):
            check_frozen(net, lambda: _train_head(net, eval_backbone=False), trainable="5.", name="backbone")

    def test_a_backbone_left_trainable_is_caught_before_its_statistics(self) -> None:
        net = _backbone_and_head()
        with pytest.raises(CheckFailure, match=r"observed 4 frozen parameter\(s\) changed, e.g. 0.weight, "
                           r"0.bias, 1.weight.*requires_grad = False"):
            check_frozen(net, lambda: _train_head(net, freeze=False, params=net.parameters()), trainable="5.")

    def test_a_model_that_shows_an_old_copy_of_its_weights_does_not_hide_a_trained_backbone(self) -> None:
        # an attacker's module: state_dict() and named_parameters() answer from a copy taken before training
        class Masked(nn.Sequential):
            def freeze_view(self) -> None:
                object.__setattr__(self, "shown", copy.deepcopy(nn.Sequential(*self)))  # not a submodule

            def state_dict(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
                return self.shown.state_dict(*args, **kwargs)

            def named_parameters(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
                return self.shown.named_parameters(*args, **kwargs)

        def train_everything() -> None:
            opt = torch.optim.SGD([p for layer in net for p in layer.parameters()], lr=0.1)
            x = torch.randn(8, 1, 6, 6, generator=torch.Generator().manual_seed(1))
            for _ in range(3):
                opt.zero_grad()
                net(x).pow(2).mean().backward()
                opt.step()

        net = Masked(*_backbone_and_head())
        net.freeze_view()
        assert dict(net.named_parameters()).keys() == dict(nn.Module.named_parameters(net)).keys()
        with pytest.raises(CheckFailure, match=r"observed 3 frozen parameter\(s\) changed, e.g. 0.weight, "
                           r"1.weight, 1.bias"):  # 0.bias feeds batch norm in train mode: no gradient
            check_frozen(net, train_everything, trainable="5.")
        with pytest.raises(CheckFailure, match=r"0.weight changed"):
            check_state_unchanged(net, train_everything)
        train_everything()
        assert all(torch.equal(v, net.shown.state_dict()[k]) for k, v in net.state_dict().items())  # the mask works

    def test_a_head_that_never_moves_fails(self) -> None:
        net = _backbone_and_head()
        with pytest.raises(CheckFailure, match="observed no parameter changed at all.*train the new head"):
            check_frozen(net, lambda: None, trainable="5.")


@pytest.mark.parametrize("training", [True, False])
def test_no_model_check_changes_state_mode_grads_or_rng(cnn: nn.Module, unchanged,
                                                        training: bool) -> None:
    from medgrade.checks import check_overfit_one_batch, check_train_step

    def step(model: nn.Module, opt, loss_fn, x, y) -> float:  # type: ignore[no-untyped-def]
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    cnn.train(training)
    x, y = torch.randn(4, 1, 8, 8), torch.tensor([0, 1, 2, 0])
    rng = torch.random.get_rng_state()
    with unchanged(cnn):
        check_forward_shape(cnn, (2, 1, 8, 8), (2, 3))
        check_param_count(cnn, at_least=1)
        check_layers_present(cnn, [nn.Conv2d])
        check_all_params_get_grad(cnn, (2, 1, 8, 8))
        check_train_eval_behaviour(cnn, (2, 1, 8, 8))
        check_train_step(step, cnn, loss_fn=nn.CrossEntropyLoss(), x=x, y=y, lr=0.01)
        check_overfit_one_batch(cnn, loss_fn=nn.CrossEntropyLoss(), x=x, y=y, steps=3,
                                min_drop=0.0)
    assert cnn.training is training
    assert all(p.grad is None for p in cnn.parameters())
    assert torch.equal(rng, torch.random.get_rng_state())
