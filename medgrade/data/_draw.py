"""Vectorised 2-D drawing primitives shared by the image stand-ins.

Every function works on a batch: coordinates ``u, v`` have shape ``(B, H, W)`` and shape
parameters broadcast as ``(B, 1, 1)`` arrays (or scalars), so one call draws B images at once.
Masks are soft (a one-pixel ramp at the edge) so that shapes do not alias.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["grid", "frame", "ellipse", "paint", "smooth_noise", "col"]

F = NDArray[np.floating[Any]]  # float32 in practice
P = float | NDArray[Any]  # a scalar or a (B, 1, 1) parameter


def col(x: ArrayLike) -> F:
    """A length-B vector as a ``(B, 1, 1)`` array that broadcasts against images."""
    return np.asarray(x, dtype=np.float32).reshape(-1, 1, 1)


def grid(size: int) -> tuple[F, F]:
    """Pixel-centre coordinates in [-1, 1]: ``x`` runs left to right, ``y`` top to bottom."""
    t = ((np.arange(size) + 0.5) / size * 2.0 - 1.0).astype(np.float32)
    y, x = np.meshgrid(t, t, indexing="ij")
    return x[None], y[None]


def frame(size: int, angle: F, scale: F, dx: F, dy: F) -> tuple[F, F]:
    """Object coordinates ``(u, v)`` after rotating by ``angle``, scaling and shifting, (B,H,W)."""
    x, y = grid(size)
    x, y = x - dx, y - dy
    c, s = np.cos(angle), np.sin(angle)
    return (c * x + s * y) / scale, (-s * x + c * y) / scale


def ellipse(
    u: F, v: F, cx: P, cy: P, rx: P, ry: P, angle: P = 0.0, edge: float = 0.04,
) -> F:
    """Soft mask of an ellipse centred at (cx, cy) with radii (rx, ry), rotated by ``angle``."""
    cx, cy, rx, ry = (np.asarray(p, dtype=np.float32) for p in (cx, cy, rx, ry))
    du, dv = u - cx, v - cy
    if np.isscalar(angle) and angle == 0.0:
        a, b = du, dv
    else:
        c = np.asarray(np.cos(angle), dtype=np.float32)
        s = np.asarray(np.sin(angle), dtype=np.float32)
        a, b = c * du + s * dv, c * dv - s * du
    a *= 1.0 / rx
    b *= 1.0 / ry
    r2 = a * a
    r2 += b * b
    # 1 - r ~ (1 - r^2) / 2 near the edge: a one-``edge`` ramp without a square root.
    r2 -= 1.0
    r2 *= -np.minimum(rx, ry) / np.float32(2.0 * edge)
    r2 += 0.5
    return np.clip(r2, 0.0, 1.0, out=r2)


def paint(img: F, mask: F, value: P) -> F:
    """Painter's algorithm: ``value`` over ``img`` where ``mask`` is 1, blended at soft edges."""
    return img + mask * (np.asarray(value, dtype=np.float32) - img)


def smooth_noise(coarse: F, size: int) -> F:
    """Bilinearly upsample coarse noise ``(B, k, k)`` to ``(B, size, size)``: smooth texture."""
    k = coarse.shape[-1]
    pos = (np.arange(size) + 0.5) / size * (k - 1)
    lo = np.clip(np.floor(pos).astype(int), 0, k - 2)
    w = pos - lo
    a = np.zeros((size, k))
    a[np.arange(size), lo] = 1.0 - w
    a[np.arange(size), lo + 1] = w
    a32 = a.astype(np.float32)
    return np.asarray(a32 @ coarse.astype(np.float32) @ a32.T, dtype=np.float32)
