"""SimCLR's NT-Xent loss: a reference implementation and a check of a student's version.

``nt_xent(z1, z2, temperature)`` takes two views' embeddings ``(N, D)``, L2-normalises them,
forms the ``(2N, 2N)`` cosine-similarity matrix divided by the temperature, masks each
embedding's similarity with itself, and averages the cross-entropy of picking the other view
over all ``2N`` anchors. With random embeddings in high dimension every logit is near 0 and the
loss is about ``log(2N - 1)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch.nn import functional as F

from medgrade.checks._util import describe, fmt_num
from medgrade.checks.failure import CheckFailure

__all__ = ["nt_xent", "check_nt_xent"]

LossFn = Callable[[torch.Tensor, torch.Tensor, float], Any]


def _logits(z1: torch.Tensor, z2: torch.Tensor, temperature: float, *, normalise: bool = True,
            mask_self: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    z = torch.cat([z1, z2], dim=0)
    if normalise:
        z = F.normalize(z, dim=1)
    sim = z @ z.T / temperature
    if mask_self:
        eye = torch.eye(z.shape[0], dtype=torch.bool, device=z.device)
        sim = sim.masked_fill(eye, float("-inf"))
    n = z1.shape[0]
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return sim, targets


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """NT-Xent loss of two views ``(N, D)``: a scalar tensor, mean over the ``2N`` anchors.

    >>> z = torch.randn(4, 8)
    >>> bool(nt_xent(z, z, 0.5) < nt_xent(z, torch.randn(4, 8), 0.5))
    True
    """
    sim, targets = _logits(z1, z2, temperature)
    return F.cross_entropy(sim, targets)


def _variants(z1: torch.Tensor, z2: torch.Tensor, t: float) -> dict[str, float]:
    """Values of the classic wrong versions, each mapped to the hint that fixes it."""
    def ce(sim: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> float:
        return float(F.cross_entropy(sim, targets, reduction=reduction))

    n = z1.shape[0]
    sim, targets = _logits(z1, z2, t)
    return {
        "mask the self-similarity: set sim[i, i] to -inf (or drop the diagonal) before the "
        "softmax, otherwise each embedding's best match is itself":
            ce(*_logits(z1, z2, t, mask_self=False)),
        "L2-normalise the embeddings (F.normalize(z, dim=1)) so the similarity is a cosine":
            ce(*_logits(z1, z2, t, normalise=False)),
        "average over all 2N anchors (both views), not only the N anchors of the first view":
            ce(sim[:n], targets[:n]),
        "take the mean over the 2N anchors, not the sum": ce(sim, targets, "sum"),
        "divide the similarities by the temperature (do not multiply)":
            ce(*_logits(z1, z2, 1.0 / t)),
        "apply the temperature": ce(*_logits(z1, z2, 1.0)),
    }


def _diagnose(value: float, z1: torch.Tensor, z2: torch.Tensor, t: float) -> str | None:
    for hint, v in _variants(z1, z2, t).items():
        if math.isclose(value, v, rel_tol=1e-4, abs_tol=1e-5):
            return hint
    return None


def _call(student_fn: LossFn, z1: torch.Tensor, z2: torch.Tensor, t: float, name: str) -> float:
    a, b = z1.clone().requires_grad_(True), z2.clone().requires_grad_(True)
    try:
        out = student_fn(a, b, t)
    except Exception as e:  # noqa: BLE001 - any student error is an observation
        raise CheckFailure("check_nt_xent", name=name,
                           expected=f"{name}(z1, z2, temperature) to run on two (N, D) tensors",
                           observed=f"{type(e).__name__}: {e}",
                           hint="z1 and z2 are the two views' embeddings, shape (N, D).") from e
    if not isinstance(out, torch.Tensor) or out.numel() != 1:
        raise CheckFailure("check_nt_xent", name=name, expected="a scalar loss tensor",
                           observed=describe(out),
                           hint="return the tensor (not .item()) reduced with .mean().")
    if not out.requires_grad:
        raise CheckFailure("check_nt_xent", name=name,
                           expected="a loss that gradients can flow through",
                           observed="a tensor with requires_grad=False",
                           hint="do not detach, use .item()/.numpy() or torch.no_grad() inside.")
    return float(out.detach())


def _fail(name: str, expected: str, observed: str, hint: str | None) -> CheckFailure:
    return CheckFailure("check_nt_xent", name=name, expected=expected, observed=observed,
                        hint=hint or "follow the NT-Xent definition step by step on N = 2.")


def check_nt_xent(student_fn: LossFn, *, temperature: float = 0.5, name: str = "nt_xent",
                  n: int = 8, seed: int = 0) -> None:
    """Raise unless ``student_fn(z1, z2, temperature)`` behaves and computes like :func:`nt_xent`.

    On seeded embeddings (a private generator): returns a differentiable scalar, is symmetric in
    the two views, gives about ``log(2N - 1)`` for random high-dimensional embeddings and less
    for aligned views, and equals the reference. Wrong values are matched against classic bugs
    (no self-mask, no normalisation, one view's anchors only, sum, temperature) for the hint.
    """
    t = float(temperature)
    g = torch.Generator().manual_seed(seed)
    dim = min(16384, max(256, int((10 / t) ** 2)))
    z1, z2 = torch.randn(n, dim, generator=g), torch.randn(n, dim, generator=g)
    value = _call(student_fn, z1, z2, t, name)
    swapped = _call(student_fn, z2, z1, t, name)
    if not math.isclose(value, swapped, rel_tol=1e-4, abs_tol=1e-5):
        raise _fail(name, "the same loss with the two views swapped",
                    f"{fmt_num(value)} vs {fmt_num(swapped)}", _diagnose(value, z1, z2, t)
                    or "treat both views alike: every one of the 2N embeddings is an anchor.")
    chance = math.log(2 * n - 1)
    if abs(value - chance) > 0.1:
        raise _fail(name, f"about log(2N - 1) = {chance:.3f} for random embeddings (N = {n})",
                    fmt_num(value), _diagnose(value, z1, z2, t))
    aligned = _call(student_fn, z1, z1 + 0.01 * z2, t, name)
    if not aligned < value:
        raise _fail(name, f"a lower loss for aligned views than for random ones "
                    f"({fmt_num(value)})", fmt_num(aligned),
                    "the positive pair must be the other view of the same sample: row i "
                    "matches row i + N.")
    small1, small2 = torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g)
    ref = float(nt_xent(small1, small2, t))
    got = _call(student_fn, small1, small2, t, name)
    if not math.isclose(got, ref, rel_tol=1e-4, abs_tol=1e-5):
        raise _fail(name, f"the reference NT-Xent {ref:.6f} on seeded (4, 6) embeddings "
                    f"(temperature {t:g})", f"{got:.6f}", _diagnose(got, small1, small2, t))
