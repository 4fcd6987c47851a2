"""Numerical comparison that explains itself: used by ``check_close`` and ``check_function``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from medgrade.checks._util import describe, fmt_num, to_numpy


def _numeric(obj: object) -> bool:
    if isinstance(obj, (torch.Tensor, np.ndarray, np.generic)):
        return True
    return isinstance(obj, (int, float)) and not isinstance(obj, bool)


def explain_difference(
    actual: Any, expected: Any, *, rtol: float, atol: float, where: str = ""
) -> str | None:
    """``None`` when ``actual`` matches ``expected`` within ``rtol``/``atol``, else what differs.

    Tensors, arrays and numbers compare element-wise (``|a - e| <= atol + rtol * |e|``, NaN
    equal to NaN); tuples, lists and dicts compare item by item; anything else with ``==``.
    """
    arrays = (torch.Tensor, np.ndarray)
    if isinstance(actual, arrays) or isinstance(expected, arrays) or (
        _numeric(actual) and _numeric(expected)
    ):
        if actual is None or isinstance(actual, (str, Mapping)):
            return f"{where or 'value'} is {describe(actual)}, expected {describe(expected)}"
        return _array_difference(to_numpy(actual), to_numpy(expected), rtol, atol, where)
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping) or set(actual) != set(expected):
            keys = sorted(map(str, actual)) if isinstance(actual, Mapping) else describe(actual)
            return f"{where or 'value'} has keys {keys}, expected {sorted(map(str, expected))}"
        for key in expected:
            diff = explain_difference(
                actual[key], expected[key], rtol=rtol, atol=atol, where=f"{where}[{key!r}]"
            )
            if diff:
                return diff
        return None
    if isinstance(expected, Sequence) and not isinstance(expected, str):
        if not isinstance(actual, Sequence) or len(actual) != len(expected):
            return f"{where or 'value'} is {describe(actual)}, expected {describe(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            diff = explain_difference(a, e, rtol=rtol, atol=atol, where=f"{where}[{i}]")
            if diff:
                return diff
        return None
    if actual != expected:
        return f"{where or 'value'} is {actual!r}, expected {expected!r}"
    return None


def _array_difference(
    a: np.ndarray, e: np.ndarray, rtol: float, atol: float, where: str
) -> str | None:
    label = where or "value"
    if a.shape != e.shape:
        return f"{label} has shape {a.shape}, expected {e.shape}"
    if a.size == 0:
        return None
    if a.dtype.kind not in "biufc" or e.dtype.kind not in "biufc":
        return f"{label} has dtype {a.dtype}, expected a number like {e.dtype}"
    af, ef = a.astype(np.float64), e.astype(np.float64)
    nan_mismatch = np.isnan(af) != np.isnan(ef)
    if nan_mismatch.any():
        idx = tuple(int(i) for i in np.argwhere(nan_mismatch)[0])
        return f"{label} has NaN where expected has none (or the reverse) first at index {idx}"
    both = ~np.isnan(ef)
    diff = np.where(both, np.abs(af - ef), 0.0)
    bad = diff > atol + rtol * np.abs(np.where(both, ef, 0.0))
    if not bad.any():
        return None
    flat = int(np.argmax(np.where(bad, diff, -1.0)))
    idx = tuple(int(i) for i in np.unravel_index(flat, diff.shape))
    at = f" at index {idx}" if diff.ndim else ""
    return (
        f"{label} differs in {int(bad.sum())} of {bad.size} elements; max abs difference "
        f"{fmt_num(float(diff[idx]))}{at} (got {fmt_num(float(af[idx]))}, "
        f"expected {fmt_num(float(ef[idx]))})"
    )
