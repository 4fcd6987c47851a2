"""Checks on training code: one step, overfitting one batch, loss curves, and classic bugs.

The student's objects are never trained: every check deep-copies the model, builds its own
optimizer, passes clones of the batch, and forks the RNG so dropout masks are reproducible
without touching the student's random stream.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from medgrade.checks._util import describe, fmt_num, fmt_shape, model_device, seeded, to_tensor
from medgrade.checks.failure import CheckFailure
from medgrade.checks.measure import note

__all__ = [
    "check_train_step",
    "check_overfit_one_batch",
    "check_loss_decreasing",
    "check_outputs_are_logits",
    "check_labels_shape",
    "check_mode",
]

StepFn = Callable[..., Any]
LossFn = Callable[[Any, Any], torch.Tensor]
_SEEDS = (11, 12)  # dropout seeds of the first and second step


def _fresh(model: nn.Module) -> nn.Module:
    clone = copy.deepcopy(model).train()
    for p in clone.parameters():
        p.grad = None
    return clone


def _loss_at(model: nn.Module, loss_fn: LossFn, x: Any, y: Any, seed: int) -> float:
    """The train-mode loss of a copy of ``model`` on (x, y) with seeded dropout."""
    clone = _fresh(model)
    with seeded(seed, model_device(clone)), torch.no_grad():
        return float(loss_fn(clone(x), y))


def _sgd_steps(model: nn.Module, loss_fn: LossFn, x: Any, y: Any, lr: float,
               *, zero_grad: bool = True) -> list[nn.Module]:
    """Copies of ``model`` after one and two correct SGD steps (or without zero_grad)."""
    clone = _fresh(model)
    opt = torch.optim.SGD(clone.parameters(), lr=lr)
    after = []
    for seed in _SEEDS:
        if zero_grad:
            opt.zero_grad()
        with seeded(seed, model_device(clone)):
            loss_fn(clone(x), y).backward()
        opt.step()
        after.append(copy.deepcopy(clone))
    return after


def _params_match(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.allclose(p.detach(), q.detach(), rtol=1e-4, atol=1e-6)
               for p, q in zip(a.parameters(), b.parameters(), strict=True))


def _copy(obj: Any) -> Any:
    return obj.clone() if isinstance(obj, torch.Tensor) else copy.deepcopy(obj)


def _call_step(step_fn: StepFn, model: nn.Module, opt: torch.optim.Optimizer, loss_fn: LossFn,
               x: Any, y: Any, seed: int, name: str) -> Any:
    try:
        with seeded(seed, model_device(model)):
            return step_fn(model, opt, loss_fn, _copy(x), _copy(y))
    except Exception as e:  # noqa: BLE001 - any student error is an observation
        raise CheckFailure(
            "check_train_step", name=name,
            expected="step_fn(model, optimizer, loss_fn, images, labels) to run",
            observed=f"{type(e).__name__}: {e}",
            hint="use the arguments you are given, in this order; labels for "
            "CrossEntropyLoss must have shape (N,) and dtype int64.",
        ) from e


def _check_return(ret: Any, loss_before: float, name: str) -> None:
    fail = "check_train_step"
    if isinstance(ret, torch.Tensor):
        raise CheckFailure(fail, name=name, expected="the loss as a Python float",
                           observed=describe(ret),
                           hint="return loss.item(); returning the tensor keeps the whole "
                           "computation graph alive and leaks memory across steps.")
    if not isinstance(ret, float):
        raise CheckFailure(fail, name=name, expected="the loss as a Python float",
                           observed=describe(ret),
                           hint="end the function with `return loss.item()`.")
    if not math.isclose(ret, loss_before, rel_tol=1e-4, abs_tol=1e-6):
        raise CheckFailure(fail, name=name,
                           expected=f"the returned loss to equal the batch loss "
                           f"{fmt_num(loss_before)}",
                           observed=f"{fmt_num(ret)}",
                           hint="return the loss computed by loss_fn(model(images), labels) in "
                           "this step (before optimizer.step()), as loss.item().")


def check_train_step(step_fn: StepFn, model: nn.Module, *, loss_fn: LossFn, x: Any, y: Any,
                     lr: float = 0.1, name: str = "train_step") -> None:
    """Raise unless ``step_fn(model, optimizer, loss_fn, images, labels) -> float`` does one step.

    Compares two calls on a copy of ``model`` (with ``SGD(lr)``) with two correct steps computed
    here; detects a tensor returned instead of a float, a missing ``optimizer.step()`` or
    ``loss.backward()``, a step that does not lower the loss on a fixed batch, and a missing
    ``optimizer.zero_grad()`` (gradients accumulating across calls).
    """
    loss_before = _loss_at(model, loss_fn, x, y, _SEEDS[0])
    student = _fresh(model)
    opt = torch.optim.SGD(student.parameters(), lr=lr)
    ret = _call_step(step_fn, student, opt, loss_fn, x, y, _SEEDS[0], name)
    _check_return(ret, loss_before, name)
    start = _fresh(model)
    if _params_match(student, start):
        no_grad = all(p.grad is None for p in student.parameters())
        raise CheckFailure(
            "check_train_step", name=name, expected="the parameters to change after one step",
            observed="parameters unchanged" + (" and no gradients computed" if no_grad else ""),
            hint="call loss.backward() and then optimizer.step() (step() before backward(), "
            "or zero_grad() between them, leaves the weights where they were).",
        )
    loss_after = _loss_at(student, loss_fn, x, y, _SEEDS[0])
    if not loss_after < loss_before:
        raise CheckFailure(
            "check_train_step", name=name, expected=f"the loss on the same batch to fall below "
            f"{fmt_num(loss_before)} after one step (SGD, lr={lr:g})",
            observed=f"{fmt_num(loss_after)}", value=loss_before - loss_after, threshold=0.0,
            hint="the step goes uphill: minimise the loss itself (no minus sign) and let the "
            "optimizer apply the update; do not edit parameters by hand.",
        )
    _check_against_reference(step_fn, student, opt, model, loss_fn, x, y, lr, name)


def _check_against_reference(step_fn: StepFn, student: nn.Module, opt: torch.optim.Optimizer,
                             model: nn.Module, loss_fn: LossFn, x: Any, y: Any, lr: float,
                             name: str) -> None:
    one, two = _sgd_steps(model, loss_fn, x, y, lr)
    if not _params_match(student, one):
        raise CheckFailure(
            "check_train_step", name=name,
            expected=f"the parameters after one step to equal one SGD step with lr={lr:g}",
            observed="different parameters",
            hint="use the optimizer you are given (do not create a new one), call step() "
            "exactly once, and compute the loss with loss_fn(model(images), labels).",
        )
    _call_step(step_fn, student, opt, loss_fn, x, y, _SEEDS[1], name)
    if _params_match(student, two):
        return
    accumulated = _sgd_steps(model, loss_fn, x, y, lr, zero_grad=False)[1]
    missing_zero = _params_match(student, accumulated)
    raise CheckFailure(
        "check_train_step", name=name,
        expected="the second call to use only the second batch's gradients",
        observed="gradients accumulated across calls" if missing_zero
        else "parameters after the second call differ from two SGD steps",
        hint="call optimizer.zero_grad() at the start of every step; loss.backward() adds to "
        "the gradients already stored." if missing_zero
        else "each call must do exactly one zero_grad/forward/backward/step cycle.",
    )


def _train_losses(model: nn.Module, loss_fn: LossFn, x: Any, y: Any, steps: int, lr: float,
                  optimizer: str, name: str) -> list[float]:
    clone = _fresh(model)
    if optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam(clone.parameters(), lr=lr)
    elif optimizer == "sgd":
        opt = torch.optim.SGD(clone.parameters(), lr=lr, momentum=0.9)
    else:
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    losses = []
    with seeded(0, model_device(clone)):
        for _ in range(steps):
            opt.zero_grad()
            try:
                loss = loss_fn(clone(x), y)
            except Exception as e:  # noqa: BLE001 - any student error is an observation
                raise CheckFailure("check_overfit_one_batch", name=name,
                                   expected="loss_fn(model(x), y) to run",
                                   observed=f"{type(e).__name__}: {e}",
                                   hint="check output and label shapes and dtypes.") from e
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
    return losses


def check_overfit_one_batch(model: nn.Module, *, loss_fn: LossFn, x: Any, y: Any,
                            steps: int = 100, lr: float = 1e-2,
                            at_most_loss: float | None = None, min_drop: float | None = None,
                            optimizer: str = "adam", name: str = "model") -> list[float]:
    """Raise unless a copy of ``model`` trained on one batch reaches a low loss; return losses.

    Give ``at_most_loss`` (final loss ceiling) or ``min_drop`` (relative drop from the first
    loss, e.g. 0.9). The final loss is the mean of the last tenth of the steps.
    """
    if (at_most_loss is None) == (min_drop is None):
        raise TypeError("give exactly one of at_most_loss or min_drop")
    losses = _train_losses(model, loss_fn, x, y, steps, lr, optimizer, name)
    final = float(np.mean(losses[-max(1, steps // 10):]))
    initial = losses[0]
    if at_most_loss is not None:
        ok, value, threshold = final <= at_most_loss, -final, -at_most_loss
        expected = f"loss <= {fmt_num(at_most_loss)} after {steps} steps"
    else:
        drop = (initial - final) / abs(initial) if initial else 0.0
        ok, value, threshold = drop >= float(min_drop or 0), drop, float(min_drop or 0)
        expected = f"a relative loss drop >= {fmt_num(threshold)} after {steps} steps"
    if at_most_loss is not None:
        note("check_overfit_one_batch", name, final, at_most_loss, higher_is_better=False)
    else:
        note("check_overfit_one_batch", name, value, threshold)
    if not ok or not math.isfinite(final):
        raise CheckFailure(
            "check_overfit_one_batch", name=name, expected=expected,
            observed=f"final loss {fmt_num(final)} (first step {fmt_num(initial)})",
            value=value, threshold=threshold,
            hint="a network that cannot memorise one batch has a bug: softmax before "
            "CrossEntropyLoss, a layer cut from the graph (.detach()), frozen parameters, or "
            "labels of the wrong shape.",
        )
    return losses


def _as_losses(losses: Sequence[Any], name: str) -> np.ndarray:
    try:
        arr = np.array([float(v.detach()) if isinstance(v, torch.Tensor) else float(v)
                        for v in losses], dtype=np.float64)
    except (TypeError, ValueError, RuntimeError) as e:
        raise CheckFailure("check_loss_decreasing", name=name,
                           expected="a sequence of scalar loss values",
                           observed=describe(losses),
                           hint="append loss.item() once per step or epoch.") from e
    if arr.size < 2 or not np.isfinite(arr).all():
        raise CheckFailure(
            "check_loss_decreasing", name=name, expected="at least two finite loss values",
            observed=f"{arr.size} values, {int((~np.isfinite(arr)).sum())} not finite",
            hint="record loss.item() every step; NaN means training diverged (lower the "
            "learning rate, avoid log(0)).",
        )
    return arr


def _pct(x: float) -> str:
    """A percentage to one decimal, with no "-0.0%" from a slope of -1e-17 on a flat curve."""
    if not math.isfinite(x):
        return f"{x:.1%}"
    return f"{round(x * 100, 1) + 0.0:.1f}%"


def check_loss_decreasing(losses: Sequence[Any], *, min_relative_drop: float = 0.1,
                          name: str = "loss") -> None:
    """Raise unless the loss curve falls by ``min_relative_drop`` (a fraction of the start).

    Robust to noise: compares the mean of the first and the last fifth of the values (not
    step-by-step monotonicity) and reports the fitted linear trend as well.
    """
    arr = _as_losses(losses, name)
    k = max(1, arr.size // 5)
    first, last = float(arr[:k].mean()), float(arr[-k:].mean())
    drop = (first - last) / abs(first) if first else (0.0 if last == first else -math.inf)
    slope = float(np.polyfit(np.arange(arr.size), arr, 1)[0])
    trend = -slope * (arr.size - 1) / abs(first) if first else 0.0
    note("check_loss_decreasing", name, drop, min_relative_drop)
    if drop < min_relative_drop:
        raise CheckFailure(
            "check_loss_decreasing", name=name,
            expected=f"a relative drop >= {min_relative_drop:.1%} from the first to the last "
            "fifth of training",
            observed=f"mean of first fifth {fmt_num(first)}, last fifth {fmt_num(last)} "
            f"(drop {_pct(drop)}; fitted trend drop {_pct(trend)}) over {arr.size} values",
            value=drop, threshold=min_relative_drop,
            hint="the loss rose: the learning rate may be too high or the update has the wrong "
            "sign." if last > first else "the loss is flat: check that optimizer.step() and "
            "zero_grad() are called, the learning rate is not tiny, and the loss uses the model "
            "output.",
        )


def check_outputs_are_logits(outputs: Any, *, dim: int = 1, name: str = "outputs") -> None:
    """Raise if ``outputs`` look like probabilities (softmax/sigmoid) where logits are expected.

    ``nn.CrossEntropyLoss`` and ``nn.BCEWithLogitsLoss`` apply softmax/sigmoid themselves;
    applying it in ``forward()`` too trains badly without any error. Flags rows in [0, 1] that
    sum to one along ``dim``, and single-output batches (8+ values) all inside (0, 1).
    """
    t = to_tensor(outputs).double()
    if t.ndim == 0 or t.numel() == 0:
        raise CheckFailure("check_outputs_are_logits", name=name,
                           expected="a batch of model outputs", observed=describe(outputs),
                           hint="pass model(x) for a batch x.")
    in_unit = bool(((t >= 0) & (t <= 1)).all())
    single = t.ndim == 1 or t.shape[dim] == 1
    if in_unit and not single and bool(((t.sum(dim=dim) - 1).abs() < 1e-4).all()):
        raise CheckFailure(
            "check_outputs_are_logits", name=name, expected="raw logits (any real values)",
            observed=f"probabilities: values in [0, 1] summing to 1 along dim {dim}",
            hint="remove the softmax from forward(): nn.CrossEntropyLoss applies log_softmax "
            "itself; use torch.softmax(model(x), dim=1) only when you need probabilities.",
        )
    if in_unit and single and t.numel() >= 8 and bool(((t > 0) & (t < 1)).all()):
        raise CheckFailure(
            "check_outputs_are_logits", name=name, expected="raw logits (any real values)",
            observed=f"all {t.numel()} outputs inside (0, 1), like sigmoid probabilities",
            hint="remove the sigmoid from forward(): nn.BCEWithLogitsLoss applies it itself.",
        )


def _labels_problem(t: torch.Tensor, n: int | None, num_classes: int | None) -> tuple[str, str]:
    shape = fmt_shape(tuple(t.shape))
    if t.ndim == 2 and t.shape[1] == 1:
        return f"shape {shape}", "MedMNIST labels come as (N, 1): use labels.squeeze(1) " \
            "(or labels.view(-1)) before CrossEntropyLoss."
    if t.ndim == 2:
        return f"shape {shape}", "these look one-hot: use class indices, labels.argmax(dim=1)."
    if t.ndim != 1:
        return f"shape {shape}", "labels must be one class index per sample, shape (N,)."
    if n is not None and t.shape[0] != n:
        return f"{t.shape[0]} labels", f"expected one label per sample ({n})."
    if t.dtype != torch.int64:
        return f"dtype {str(t.dtype).replace('torch.', '')}", "CrossEntropyLoss needs int64 " \
            "class indices: use labels.long()."
    if num_classes is not None and t.numel() and (t.min() < 0 or t.max() >= num_classes):
        return f"values from {int(t.min())} to {int(t.max())}", \
            f"class indices must be in 0..{num_classes - 1}."
    return "", ""


def check_labels_shape(labels: Any, *, n: int | None = None, num_classes: int | None = None,
                       name: str = "labels") -> None:
    """Raise unless ``labels`` are int64 class indices of shape ``(N,)`` as CrossEntropyLoss wants.

    Catches the MedMNIST ``(N, 1)`` label shape, one-hot labels and float labels.
    """
    t = to_tensor(labels)
    observed, hint = _labels_problem(t, n, num_classes)
    if observed:
        expected = f"int64 class indices of shape ({n if n is not None else 'N'},)"
        raise CheckFailure("check_labels_shape", name=name, expected=expected,
                           observed=observed, hint=hint)


def check_mode(model: nn.Module, training: bool, *, name: str = "model") -> None:
    """Raise unless ``model`` and all its submodules are in train (``True``) or eval mode."""
    wrong = [k or name for k, m in model.named_modules() if m.training != training]
    if wrong:
        want, other = ("train", "eval") if training else ("eval", "train")
        raise CheckFailure(
            "check_mode", name=name, expected=f"{name} in {want} mode",
            observed=f"{other} mode in {', '.join(wrong[:5])}{' ...' if len(wrong) > 5 else ''}",
            hint="call model.train() before training steps" if training else
            "call model.eval() before evaluating (and restore model.train() afterwards); in "
            "train mode dropout stays active and batch-norm statistics keep changing.",
        )
