"""``check_function``: compare a student's function with a reference on given inputs."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch

from medgrade.checks._compare import explain_difference
from medgrade.checks._util import describe, seeded
from medgrade.checks.failure import CheckFailure

__all__ = ["check_function"]


def _describe_args(args: tuple[Any, ...]) -> str:
    parts = []
    for a in args:
        if isinstance(a, (torch.Tensor, np.ndarray)):
            parts.append(f"{type(a).__name__}{tuple(a.shape)} {a.dtype}")
        else:
            parts.append(describe(a) if isinstance(a, (list, tuple, dict)) else repr(a)[:40])
    return ", ".join(parts)


def _call(fn: Callable[..., Any], args: tuple[Any, ...], seed: int) -> Any:
    with seeded(seed):
        return fn(*args)


def _mutated(after: tuple[Any, ...], before: tuple[Any, ...]) -> bool:
    """Whether a tensor or array argument was changed in place (other objects are not compared)."""
    return any(
        isinstance(b, (torch.Tensor, np.ndarray))
        and explain_difference(a, b, rtol=0.0, atol=0.0) is not None
        for a, b in zip(after, before, strict=True)
    )


def check_function(student_fn: Callable[..., Any], reference_fn: Callable[..., Any],
                   cases: Iterable[Any], *, rtol: float = 1e-5, atol: float = 1e-8,
                   name: str, seed: int = 0) -> None:
    """Raise at the first case where ``student_fn(*args)`` differs from ``reference_fn(*args)``.

    ``cases`` is an iterable of argument tuples (a non-tuple is one argument); build them from a
    seeded generator. Each function gets its own deep copy of the arguments, torch is reseeded
    with ``seed`` before each call (so random ops compare exactly), outputs compare within
    ``rtol``/``atol`` (tensors, arrays, numbers, nested tuples/lists/dicts), and changing an
    input in place is reported.

    >>> check_function(lambda x: x * 2, lambda x: x + x, [(torch.ones(3),)], name="double")
    """
    all_cases = [c if isinstance(c, tuple) else (c,) for c in cases]
    for i, args in enumerate(all_cases):
        where = f"case {i + 1} of {len(all_cases)} ({name}({_describe_args(args)}))"
        expected = _call(reference_fn, copy.deepcopy(args), seed)
        student_args = copy.deepcopy(args)
        try:
            actual = _call(student_fn, student_args, seed)
        except Exception as e:  # noqa: BLE001 - any student error is an observation
            raise CheckFailure("check_function", name=name, expected=f"{where} to run",
                               observed=f"{type(e).__name__}: {e}",
                               hint="check the argument order, shapes and dtypes.") from e
        diff = explain_difference(actual, expected, rtol=rtol, atol=atol, where="output")
        if diff is not None:
            raise CheckFailure(
                "check_function", name=name,
                expected=f"{where} to match the reference within rtol={rtol:g}, atol={atol:g}",
                observed=diff, hint="reproduce this case by hand on a tiny input; check the "
                "axis, the reduction (sum vs mean), and integer vs float division.",
            )
        if _mutated(student_args, args):
            raise CheckFailure(
                "check_function", name=name, expected=f"{where} to leave its inputs unchanged",
                observed="an input was modified in place",
                hint="use out-of-place operations (x = x - m, not x -= m or x.sub_(m)).",
            )
