"""Checks on an ``nn.Module``: output shape, parameter count, layers, gradient flow, modes, state.

A check never changes the student's model: it works on a deep copy or restores every
submodule's train/eval flag, runs under ``torch.no_grad()`` where it can, and feeds a seeded
input from a private generator (the student's global RNG is not touched).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import torch
from torch import nn

from medgrade.checks._util import (
    describe,
    fmt_shape,
    mode_flags,
    model_device,
    preserved_mode,
    random_input,
    seeded,
)
from medgrade.checks.failure import CheckFailure
from medgrade.checks.tensors import _shape_hint

__all__ = [
    "check_forward_shape",
    "check_param_count",
    "check_layers_present",
    "check_all_params_get_grad",
    "check_train_eval_behaviour",
    "check_state_unchanged",
    "state_unchanged",
    "check_frozen",
]

T = TypeVar("T")


def _forward(check: str, model: nn.Module, x: torch.Tensor, name: str) -> Any:
    """Call ``model(x)``; an exception becomes a CheckFailure that says what the input was."""
    try:
        return model(x)
    except Exception as e:  # noqa: BLE001 - any student error is an observation
        raise CheckFailure(
            check, name=name, expected=f"{name}(x) to run on x of shape {fmt_shape(x.shape)}",
            observed=f"{type(e).__name__}: {e}",
            hint="a size mismatch usually means the in_features of the first Linear layer "
            "after flattening (or in_channels of the first Conv) does not match the input.",
        ) from e


def check_forward_shape(model: nn.Module, input_shape: tuple[int, ...],
                        expected: tuple[int | None, ...], *, name: str = "model") -> None:
    """Raise unless ``model(x)`` returns a tensor of shape ``expected`` for x of ``input_shape``.

    Runs a seeded standard-normal input in eval mode under ``no_grad`` and restores the mode.
    """
    x = random_input(input_shape, seed=0, device=model_device(model))
    with preserved_mode(model), torch.no_grad():
        model.eval()
        out = _forward("check_forward_shape", model, x, name)
    call = f"{name}(x) for x of shape {fmt_shape(input_shape)}"
    if not isinstance(out, torch.Tensor):
        raise CheckFailure("check_forward_shape", name=name,
                           expected=f"{call} to return a tensor", observed=describe(out),
                           hint="return the output tensor itself from forward().")
    observed = tuple(int(s) for s in out.shape)
    if len(observed) != len(expected) or any(
        e is not None and e != o for e, o in zip(expected, observed, strict=False)
    ):
        raise CheckFailure("check_forward_shape", name=name,
                           expected=f"{call} to return shape {fmt_shape(expected)}",
                           observed=fmt_shape(observed), hint=_shape_hint(observed, expected))


def _count_breakdown(model: nn.Module, trainable_only: bool) -> str:
    parts = []
    for child_name, child in model.named_children():
        n = sum(p.numel() for p in child.parameters() if p.requires_grad or not trainable_only)
        parts.append(f"{child_name}: {n}")
    return f" ({', '.join(parts[:8])}{', ...' if len(parts) > 8 else ''})" if parts else ""


def check_param_count(model: nn.Module, *, exact: int | None = None,
                      at_least: int | None = None, at_most: int | None = None,
                      name: str = "model", trainable_only: bool = False) -> None:
    """Raise unless the number of parameters is ``exact`` or within ``[at_least, at_most]``."""
    if exact is None and at_least is None and at_most is None:
        raise TypeError("give exact, at_least or at_most")
    params = [p for p in model.parameters() if p.requires_grad or not trainable_only]
    if any(isinstance(p, nn.parameter.UninitializedParameter) for p in params):
        raise CheckFailure("check_param_count", name=name, expected="initialised parameters",
                           observed="lazy layers that have not seen an input yet",
                           hint="use nn.Linear/nn.Conv2d with explicit sizes, or run one "
                           "forward pass before counting.")
    n = sum(p.numel() for p in params)
    if exact is not None and n != exact:
        expected = f"exactly {exact} parameters"
    elif at_least is not None and n < at_least:
        expected = f"at least {at_least} parameters"
    elif at_most is not None and n > at_most:
        expected = f"at most {at_most} parameters"
    else:
        return
    raise CheckFailure(
        "check_param_count", name=name, expected=expected,
        observed=f"{n}{_count_breakdown(model, trainable_only)}",
        hint="compare each layer with the specification: kernel sizes, channel counts, "
        "hidden units, and whether layers have a bias (bias=False before BatchNorm).",
    )


def check_layers_present(model: nn.Module, layer_types: type | Iterable[type], *,
                         name: str = "model") -> None:
    """Raise unless the model contains at least one module of each type in ``layer_types``."""
    wanted = [layer_types] if isinstance(layer_types, type) else list(layer_types)
    found = {type(m) for m in model.modules()}
    missing = [t for t in wanted if not any(issubclass(f, t) for f in found)]
    if missing:
        present = sorted({t.__name__ for t in found if t is not type(model)})
        raise CheckFailure(
            "check_layers_present", name=name,
            expected="layers of type " + ", ".join(t.__name__ for t in wanted),
            observed=f"no {', '.join(t.__name__ for t in missing)}; layers present: "
            f"{', '.join(present) or 'none'}",
            hint="define the layers as attributes in __init__ (self.bn = nn.BatchNorm2d(...)); "
            "modules kept in a plain Python list are invisible, use nn.ModuleList or "
            "nn.Sequential; functional calls (F.dropout) are not layers.",
        )


def check_all_params_get_grad(model: nn.Module, input_shape: tuple[int, ...], *,
                              name: str = "model") -> None:
    """Raise unless every trainable parameter receives a non-zero gradient from one backward.

    Works on a deep copy in eval mode (no dropout noise) with a seeded input and a random
    linear functional of the output as the loss (a plain sum can be constant, e.g. of softmax).
    """
    clone = copy.deepcopy(model).eval()
    device = model_device(clone)
    x = random_input(input_shape, seed=0, device=device)
    out = _forward("check_all_params_get_grad", clone, x, name)
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        raise CheckFailure(
            "check_all_params_get_grad", name=name,
            expected="an output tensor that is connected to the parameters",
            observed=describe(out) + ("" if not isinstance(out, torch.Tensor)
                                      else " with requires_grad=False"),
            hint="do not call .detach(), .item(), .numpy() or torch.no_grad() inside forward().",
        )
    weights = random_input(tuple(out.shape), seed=1, device=out.device).to(out.dtype)
    (out * weights).sum().backward()
    dead = [pname for pname, p in clone.named_parameters()
            if p.requires_grad and (p.grad is None or not bool(p.grad.abs().sum() > 0))]
    if dead:
        raise CheckFailure(
            "check_all_params_get_grad", name=name,
            expected="every trainable parameter to get a non-zero gradient",
            observed=f"no gradient for {', '.join(dead[:6])}{' ...' if len(dead) > 6 else ''}",
            hint="a layer created in __init__ but never used in forward(), or a .detach()/"
            ".data/.item() that cuts the graph before that layer.",
        )


def _buffers(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.named_buffers()}


def _has_dropout(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0 for m in model.modules())


def _two_outputs(model: nn.Module, x: torch.Tensor, name: str) -> tuple[Any, Any]:
    with torch.no_grad():
        a = _forward("check_train_eval_behaviour", model, x, name)
        b = _forward("check_train_eval_behaviour", model, x, name)
    return a, b


def _same(a: Any, b: Any) -> bool:
    return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and torch.equal(a, b)


def check_train_eval_behaviour(model: nn.Module, input_shape: tuple[int, ...], *,
                               name: str = "model") -> None:
    """Raise unless train and eval modes behave as PyTorch layers should.

    On a deep copy: in eval mode two forwards on one input are identical and batch-norm running
    statistics do not move, and the forward does not switch modes; with ``nn.Dropout`` layers,
    two train-mode forwards differ.
    """
    clone = copy.deepcopy(model).eval()
    device = model_device(clone)
    x = random_input(input_shape, seed=0, device=device)
    before = _buffers(clone)
    with seeded(0, device):
        a, b = _two_outputs(clone, x, name)
    check = "check_train_eval_behaviour"
    if any(clone_flag for clone_flag in mode_flags(clone).values()):
        raise CheckFailure(check, name=name, expected="forward() to leave the mode alone",
                           observed="eval mode was switched back to train inside forward()",
                           hint="do not call self.train() inside forward().")
    if not _same(a, b):
        raise CheckFailure(
            check, name=name, expected="identical outputs for the same input in eval mode",
            observed="two eval-mode forwards gave different outputs",
            hint="F.dropout(x, p) defaults to training=True: use nn.Dropout, or pass "
            "training=self.training; avoid other randomness in forward().",
        )
    moved = [k for k, v in _buffers(clone).items() if not torch.equal(v, before[k])]
    if moved:
        raise CheckFailure(
            check, name=name, expected="batch-norm running statistics frozen in eval mode",
            observed=f"buffers changed in eval mode: {', '.join(moved[:4])}",
            hint="F.batch_norm(..., training=True) or a hand-written normalisation updates the "
            "statistics; use nn.BatchNorm layers, which respect model.eval().",
        )
    if _has_dropout(clone):
        clone.train()
        with seeded(0, device):
            a, b = _two_outputs(clone, x, name)
        if _same(a, b):
            raise CheckFailure(
                check, name=name, expected="different outputs in train mode (dropout active)",
                observed="two train-mode forwards gave identical outputs",
                hint="the nn.Dropout layers are defined but never used in forward(), or "
                "forward() calls self.eval().",
            )


def _tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    """The state_dict's tensors (parameters, persistent buffers) under its names, read from each module's
    own tables through ``nn.Module``'s methods: a model that overrides ``state_dict`` or
    ``named_parameters`` to show an old copy does not hide what moved."""
    out: dict[str, torch.Tensor] = {}
    for prefix, module in nn.Module.named_modules(model, remove_duplicate=False):
        dot = f"{prefix}." if prefix else ""
        out.update((dot + k, p) for k, p in module._parameters.items() if p is not None)
        out.update((dot + k, b) for k, b in module._buffers.items()
                   if b is not None and k not in module._non_persistent_buffers_set)
    return out


def _snapshot(model: nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, bool],
                                         dict[str, bool]]:
    state = {k: v.detach().to("cpu", copy=True) for k, v in _tensors(model).items()}
    grads = {k: p.requires_grad for k, p in nn.Module.named_parameters(model)}
    return state, mode_flags(model), grads


def _state_diff(model: nn.Module, before: tuple[dict[str, torch.Tensor], dict[str, bool],
                                               dict[str, bool]]) -> list[str]:
    state, modes, grads = _snapshot(model)
    changes = [f"{k} changed" for k in before[0]
               if k not in state or not torch.equal(state[k], before[0][k])]
    changes += [f"{k} added" for k in state if k not in before[0]]
    changes += [f"{k or 'model'} switched to {'train' if v else 'eval'} mode"
                for k, v in modes.items() if before[1].get(k, v) != v]
    changes += [f"{k}.requires_grad became {v}" for k, v in grads.items()
                if before[2].get(k, v) != v]
    return changes


@contextlib.contextmanager
def state_unchanged(model: nn.Module, *, name: str = "model",
                    what: str = "the code") -> Iterator[nn.Module]:
    """Context manager: raise on exit if the model's state_dict, modes or requires_grad changed."""
    before = _snapshot(model)
    yield model
    changes = _state_diff(model, before)
    if changes:
        raise CheckFailure(
            "check_state_unchanged", name=name, expected=f"{what} to leave {name} unchanged",
            observed="; ".join(changes[:5]) + (" ..." if len(changes) > 5 else ""),
            hint="evaluate under torch.no_grad() on a copy (copy.deepcopy(model)); restore the "
            "mode you found (was_training = model.training ... model.train(was_training)).",
        )


def check_state_unchanged(model: nn.Module, fn: Callable[[], T], *, name: str = "model") -> T:
    """Call ``fn()`` and raise if it changed ``model`` (weights, buffers, modes); return its value.

    >>> check_state_unchanged(nn.Linear(2, 1), lambda: 42)
    42
    """
    with state_unchanged(model, name=name, what=getattr(fn, "__name__", "fn")):
        result = fn()
    return result


def check_frozen(model: nn.Module, fn: Callable[[], T], *, trainable: str | tuple[str, ...] = ("fc.",),
                 name: str = "model") -> T:
    """Call ``fn()`` (training with a frozen backbone) and raise unless only the trainable part moved.

    Every parameter *and buffer* whose name does not start with ``trainable`` must be bit-for-bit
    unchanged (batch-norm running statistics included: ``model.train()`` updates them even when
    ``requires_grad`` is False), and some trainable parameter must have changed. Returns ``fn()``'s value.

    >>> net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    >>> opt = torch.optim.SGD(net[1].parameters(), lr=0.1)
    >>> check_frozen(net, lambda: (net(torch.ones(1, 2)).sum().backward(), opt.step()) and "ok", trainable="1.")
    'ok'
    """
    before = _snapshot(model)[0]
    result = fn()
    after = _tensors(model)
    moved = [k for k in before if k not in after or not torch.equal(after[k].detach().cpu(), before[k])]
    params = {k for k, _ in nn.Module.named_parameters(model)}
    weights = [k for k in moved if not k.startswith(trainable) and k in params]
    stats = [k for k in moved if not k.startswith(trainable) and k not in params]
    prefixes = ", ".join(repr(p) for p in ((trainable,) if isinstance(trainable, str) else trainable))
    expected = f"only the parameters under {prefixes} to change"
    if weights:
        raise CheckFailure(
            "check_frozen", name=name, expected=expected,
            observed=f"{len(weights)} frozen parameter(s) changed, e.g. {', '.join(weights[:3])}",
            hint="set requires_grad = False on every parameter outside the head, and give the optimiser "
            "only the head's parameters.")
    if stats:
        raise CheckFailure(
            "check_frozen", name=name, expected=f"{expected}, batch-norm statistics included",
            observed=f"{len(stats)} buffer(s) of the frozen layers changed, e.g. {', '.join(stats[:3])}",
            hint="keep the frozen backbone in eval mode while the head trains (model.eval(), then "
            "model.fc.train()): in train mode batch norm updates its running mean and variance "
            "even when requires_grad is False.")
    if not any(k.startswith(trainable) for k in moved):
        raise CheckFailure(
            "check_frozen", name=name, expected=f"the parameters under {prefixes} to change",
            observed="no parameter changed at all",
            hint="train the new head: pass its parameters to the optimiser and call optimizer.step().")
    return result
