"""Checks on a single tensor or array: shape, dtype, finiteness, range, closeness, probabilities.

Every check accepts a ``torch.Tensor`` (CPU or CUDA) or a NumPy array, reads a detached CPU
copy, and raises :class:`CheckFailure` with expected, observed and a hint.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from medgrade.checks._compare import explain_difference
from medgrade.checks._util import describe, fmt_num, fmt_shape, is_array, to_numpy, to_tensor
from medgrade.checks.failure import CheckFailure

__all__ = [
    "check_shape",
    "check_dtype",
    "check_finite",
    "check_range",
    "check_close",
    "check_probabilities",
]

DTypeLike = torch.dtype | np.dtype[Any] | type | str


def _shape_hint(observed: tuple[int, ...], expected: Sequence[int | None]) -> str:
    exp = tuple(expected)
    if len(observed) == len(exp) + 1:
        for i, size in enumerate(observed):
            rest = observed[:i] + observed[i + 1 :]
            if size == 1 and all(e is None or e == o for e, o in zip(exp, rest, strict=True)):
                return (
                    f"there is an extra dimension of size 1 at position {i}; remove it with "
                    f".squeeze({i}) (or do not add it with unsqueeze/keepdim=True)."
                )
    if len(observed) + 1 == len(exp):
        return (
            f"one dimension is missing ({len(observed)} dims instead of {len(exp)}): keep the "
            "batch and channel dimensions, e.g. unsqueeze(1) for a single channel, or avoid "
            ".squeeze() and sum/mean without keepdim=True."
        )
    if len(observed) != len(exp):
        return (
            f"the number of dimensions is wrong ({len(observed)} instead of {len(exp)}); check "
            "flatten/view/reshape calls and the layout (B, C, H, W)."
        )
    pairs = enumerate(zip(observed, exp, strict=True))
    wrong = [i for i, (o, e) in pairs if e is not None and o != e]
    want = sorted(int(exp[i] or 0) for i in wrong)
    if len(wrong) > 1 and sorted(observed[i] for i in wrong) == want:
        return "the sizes are right but in the wrong order: check permute/transpose; PyTorch " \
            "images are channels-first (B, C, H, W)."
    parts = ", ".join(f"dim {i} is {observed[i]} instead of {exp[i]}" for i in wrong)
    return f"{parts}; check the layer sizes (out_features, out_channels, stride/padding)."


def check_shape(tensor: Any, expected: Sequence[int | None], *, name: str) -> None:
    """Raise unless ``tensor.shape`` matches ``expected``; ``None`` there matches any size.

    >>> check_shape(torch.zeros(8, 6), (None, 6), name="logits")
    """
    if not isinstance(expected, (tuple, list, torch.Size)):
        raise TypeError(f"expected must be a tuple of sizes, got {type(expected).__name__}")
    shape_of = getattr(tensor, "shape", None)
    if shape_of is None or not is_array(tensor):
        raise CheckFailure(
            "check_shape", name=name, expected=f"a tensor of shape {fmt_shape(expected)}",
            observed=describe(tensor),
            hint="return a torch.Tensor (or NumPy array), not a list, tuple or Python number.",
        )
    observed = tuple(int(s) for s in shape_of)
    ok = len(observed) == len(expected) and all(
        e is None or int(e) == o for e, o in zip(expected, observed, strict=False)
    )
    if not ok:
        raise CheckFailure(
            "check_shape", name=name, expected=f"shape {fmt_shape(expected)}",
            observed=fmt_shape(observed), hint=_shape_hint(observed, expected),
        )


def _dtype_name(dtype: DTypeLike) -> str:
    if isinstance(dtype, torch.dtype):
        return str(dtype).replace("torch.", "")
    return np.dtype(dtype).name


def _dtype_hint(observed: str, expected: list[str]) -> str:
    if "float32" in expected and observed == "float64":
        return "NumPy arrays default to float64; convert with .float() or dtype=torch.float32 " \
            "(model weights are float32)."
    if "int64" in expected and observed.startswith(("float", "int", "uint")):
        return "class labels for CrossEntropyLoss must be int64: use .long()."
    if observed == "uint8":
        return "images loaded as uint8 must be converted: .float() / 255."
    return f"convert with .to(torch.{expected[0]})."


def check_dtype(tensor: Any, expected: DTypeLike | Sequence[DTypeLike], *,
                name: str = "tensor") -> None:
    """Raise unless the dtype is ``expected`` (a torch/NumPy dtype or name, or a tuple of them).

    >>> check_dtype(torch.zeros(3, dtype=torch.long), torch.int64, name="labels")
    """
    if not is_array(tensor):
        raise CheckFailure("check_dtype", name=name, expected="a tensor or array",
                           observed=describe(tensor), hint="convert with torch.as_tensor(...).")
    allowed: list[DTypeLike] = (
        list(expected) if isinstance(expected, (tuple, list)) else [expected]  # type: ignore[list-item]
    )
    names = [_dtype_name(d) for d in allowed]
    observed = _dtype_name(tensor.dtype)
    if observed not in names:
        raise CheckFailure("check_dtype", name=name, expected=f"dtype {' or '.join(names)}",
                           observed=f"dtype {observed}", hint=_dtype_hint(observed, names))


def check_finite(tensor: Any, *, name: str = "tensor") -> None:
    """Raise if any element is NaN or infinite; the message counts them and names the first.

    >>> check_finite(torch.tensor([0.5, 1.0]), name="loss")
    """
    arr = to_numpy(tensor).astype(np.float64, copy=False)
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0]) if arr.ndim else ()
        raise CheckFailure(
            "check_finite", name=name, expected="only finite values",
            observed=f"{int(np.isnan(arr).sum())} NaN and {int(np.isinf(arr).sum())} infinite "
            f"of {arr.size} values (first at index {first})",
            hint="NaN/inf usually come from log(0), division by zero, or a learning rate so "
            "high that training diverged; use log_softmax/CrossEntropyLoss instead of "
            "log(softmax(x)) and add an epsilon to denominators.",
        )


def check_range(tensor: Any, *, low: float | None = None, high: float | None = None,
                name: str = "tensor") -> None:
    """Raise unless every element lies in ``[low, high]`` (either bound may be ``None``).

    >>> check_range(torch.rand(4, 4), low=0.0, high=1.0, name="image")
    """
    arr = to_numpy(tensor).astype(np.float64, copy=False)
    check_finite(arr, name=name)
    lo_bad = arr < low if low is not None else np.zeros(arr.shape, bool)
    hi_bad = arr > high if high is not None else np.zeros(arr.shape, bool)
    n_bad = int((lo_bad | hi_bad).sum())
    if n_bad:
        bounds = f"[{'-inf' if low is None else fmt_num(low)}, " \
                 f"{'inf' if high is None else fmt_num(high)}]"
        hint = "check the scaling and normalisation of the data."
        if high is not None and high <= 1.0 and arr.max() > 1.5:
            hint = "values look like 0-255 pixel intensities: divide by 255."
        elif low is not None and low >= 0.0 and arr.min() < 0.0:
            hint = "negative values: normalisation (x - mean) / std, or logits instead of " \
                "probabilities (apply sigmoid/softmax)."
        raise CheckFailure(
            "check_range", name=name, expected=f"all values in {bounds}",
            observed=f"{n_bad} of {arr.size} values outside (min {fmt_num(arr.min())}, "
            f"max {fmt_num(arr.max())})", hint=hint,
        )


def check_close(actual: Any, expected: Any, *, rtol: float = 1e-5, atol: float = 1e-8,
                name: str, hint: str | None = None) -> None:
    """Raise unless ``actual`` matches ``expected`` element-wise within ``rtol``/``atol``.

    The message reports the number of differing elements, the maximum absolute difference and
    where it is.

    >>> check_close(torch.tensor([1.0, 2.0]), [1.0, 2.0 + 1e-7], name="grad")
    """
    diff = explain_difference(actual, expected, rtol=rtol, atol=atol)
    if diff is not None:
        raise CheckFailure(
            "check_close", name=name,
            expected=f"values equal to the reference within rtol={rtol:g}, atol={atol:g}",
            observed=diff,
            hint=hint or "compare your formula with the one in the instructions step by step "
            "on a tiny input; check the reduction (sum vs mean) and the axis.",
        )


def check_probabilities(p: Any, *, dim: int = -1, atol: float = 1e-4,
                        name: str = "probabilities") -> None:
    """Raise unless ``p`` is non-negative, at most one, and sums to one along ``dim``.

    >>> check_probabilities(torch.softmax(torch.randn(4, 3), dim=1), dim=1, name="probs")
    """
    t = to_tensor(p).double()
    if t.ndim == 0:
        raise CheckFailure("check_probabilities", name=name, expected="a tensor of "
                           "probabilities", observed=describe(p), hint="return the whole tensor.")
    check_finite(t, name=name)
    sums = t.sum(dim=dim)
    if (t < -atol).any() or (t > 1 + atol).any():
        raise CheckFailure(
            "check_probabilities", name=name, expected="values in [0, 1]",
            observed=f"min {fmt_num(float(t.min()))}, max {fmt_num(float(t.max()))}",
            hint=f"these look like logits: apply torch.softmax(x, dim={dim}) (or sigmoid for "
            "one output per class).",
        )
    off = (sums - 1).abs()
    if (off > atol).any():
        hint = f"apply torch.softmax(logits, dim={dim}) so each row sums to one."
        for other in range(t.ndim):
            if other != dim % t.ndim and ((t.sum(dim=other) - 1).abs() <= atol).all():
                hint = f"the softmax was taken over dim {other}, not dim {dim}."
        raise CheckFailure(
            "check_probabilities", name=name, expected=f"sums along dim {dim} equal to 1",
            observed=f"sums between {fmt_num(float(sums.min()))} and "
            f"{fmt_num(float(sums.max()))}", hint=hint,
        )
