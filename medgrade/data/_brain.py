"""Shared 3-D brain phantom for the NIfTI stand-ins (radiomics cohort, WMH, Decathlon).

A skull-stripped brain: an irregular ellipsoid (low-frequency radial deformation) with a
grey-matter rim, white matter inside and two lateral ventricles (CSF). Pathology is painted on
top as tissue codes; each MR sequence maps a tissue to a mean intensity (table below, loosely
following clinical contrast: CSF dark on FLAIR and T1, bright on T2; oedema and lesions bright on
FLAIR; enhancing tumour bright on T1Gd), then a multiplicative bias field, tissue texture and
Rician-like noise are applied. Outside the brain every sequence is exactly 0.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from numpy.typing import NDArray

__all__ = ["TISSUES", "SEQUENCES", "Phantom", "brain", "grid3", "smooth3", "irregular_ball",
           "render", "save_nifti"]

F = NDArray[np.floating[Any]]
B = NDArray[np.bool_]
TISSUES = ("background", "csf", "gm", "wm", "edema", "necrosis", "enhancing", "lesion", "other")
SEQUENCES = ("flair", "t1", "t1gd", "t2")
# rows: TISSUES; columns: SEQUENCES
_MEANS = np.array([
    [0.0, 0.0, 0.0, 0.0],
    [0.08, 0.18, 0.2, 1.0],
    [0.5, 0.55, 0.58, 0.6],
    [0.4, 0.8, 0.8, 0.4],
    [0.9, 0.45, 0.47, 0.85],
    [0.55, 0.3, 0.32, 0.9],
    [0.7, 0.5, 1.0, 0.6],
    [0.95, 0.6, 0.6, 0.8],
    [0.3, 0.25, 0.25, 0.95],
], dtype=np.float32)


class Phantom:
    """A tissue-code volume (uint8 indices into :data:`TISSUES`) and its brain mask."""

    def __init__(self, codes: NDArray[np.uint8]) -> None:
        self.codes = codes

    @property
    def brain(self) -> B:
        return self.codes > 0

    def paint(self, mask: B, tissue: str) -> None:
        self.codes[mask & self.brain] = TISSUES.index(tissue)


def grid3(shape: tuple[int, int, int]) -> tuple[F, F, F]:
    """Voxel-centre coordinates in [-1, 1] along each axis, broadcastable to ``shape``."""
    axes = [((np.arange(n) + 0.5) / n * 2 - 1).astype(np.float32) for n in shape]
    return axes[0][:, None, None], axes[1][None, :, None], axes[2][None, None, :]


def smooth3(rng: np.random.Generator, shape: tuple[int, int, int], k: int = 6) -> F:
    """Unit-scale smooth noise: (k, k, k) Gaussian knots trilinearly upsampled to ``shape``."""
    out = rng.standard_normal((k, k, k)).astype(np.float32)
    for axis, n in enumerate(shape):
        pos = np.linspace(0, k - 1, n)
        lo = np.minimum(pos.astype(int), k - 2)
        w = (pos - lo).astype(np.float32)
        shp = [1, 1, 1]
        shp[axis] = n
        w = w.reshape(shp)
        out = np.take(out, lo, axis=axis) * (1 - w) + np.take(out, lo + 1, axis=axis) * w
    return out


def irregular_ball(
    rng: np.random.Generator, shape: tuple[int, int, int], centre: F, radii: F,
    roughness: float = 0.2,
) -> B:
    """An ellipsoid (normalised coordinates) whose surface is perturbed by smooth noise."""
    x, y, z = grid3(shape)
    r = np.sqrt(((x - centre[0]) / radii[0]) ** 2 + ((y - centre[1]) / radii[1]) ** 2
                + ((z - centre[2]) / radii[2]) ** 2)
    return np.asarray(r < 1.0 + roughness * smooth3(rng, shape, 5))


def brain(rng: np.random.Generator, shape: tuple[int, int, int]) -> Phantom:
    """Brain (irregular ellipsoid) with a cortical GM rim, WM core and two lateral ventricles."""
    size = 1.0 + 0.05 * rng.standard_normal(3)
    outer = irregular_ball(rng, shape, np.zeros(3), np.array([0.78, 0.9, 0.8]) * size, 0.04)
    inner = irregular_ball(rng, shape, np.zeros(3), np.array([0.62, 0.74, 0.62]) * size, 0.1)
    codes = np.where(outer, TISSUES.index("gm"), 0).astype(np.uint8)
    codes[inner & outer] = TISSUES.index("wm")
    phantom = Phantom(codes)
    vent = 1.0 + 0.2 * rng.random()
    for side in (-1.0, 1.0):
        centre = np.array([side * 0.12, -0.05, 0.1])
        phantom.paint(irregular_ball(rng, shape, centre, np.array([0.07, 0.3, 0.12]) * vent, 0.1),
                      "csf")
    return phantom


def render(
    rng: np.random.Generator, phantom: Phantom, sequence: str, *, texture: B | None = None,
    texture_amp: float = 0.0, noise: float = 0.03,
) -> NDArray[np.int16]:
    """One MR sequence of ``phantom`` as int16 (0..~1000); ``texture`` adds extra heterogeneity."""
    shape = phantom.codes.shape
    img = _MEANS[phantom.codes, SEQUENCES.index(sequence)]
    img = img * (1.0 + 0.06 * smooth3(rng, shape, 4))  # bias field
    img = img * (1.0 + 0.04 * smooth3(rng, shape, 12))  # tissue texture
    if texture is not None and texture_amp:
        img = np.where(texture, img * (1.0 + texture_amp * smooth3(rng, shape, 16)), img)
    img = np.abs(img + noise * rng.standard_normal(shape).astype(np.float32))
    img[~phantom.brain] = 0.0
    return np.round(img * 1000).astype(np.int16)


def save_nifti(path: Path, data: np.ndarray, spacing: tuple[float, float, float]) -> None:
    """Write ``data`` with a RAS affine of ``spacing`` mm centred on the volume, gzip if .gz.

    The gzip stream has no timestamp or name, so equal arrays give equal bytes.
    """
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = -0.5 * np.array(data.shape[:3]) * np.array(spacing)
    img = nib.Nifti1Image(data, affine)
    img.header.set_zooms(tuple(spacing) + (1.0,) * (data.ndim - 3))
    img.header.set_xyzt_units("mm", "sec")
    img.header.set_qform(affine, code=1)
    img.header.set_sform(affine, code=1)
    raw = img.to_bytes()
    if path.name.endswith(".gz"):
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=1, mtime=0, filename="") as f:
            f.write(raw)
        raw = buf.getvalue()
    path.write_bytes(raw)


def nested_tumour(
    rng: np.random.Generator, phantom: Phantom, core_radius: float, edema_factor: float,
    inner_fraction: float,
) -> tuple[B, B, B]:
    """Nested irregular masks ``whole >= core >= inner`` of a tumour in one hemisphere.

    ``core_radius`` is in normalised units (1 = half the field of view); the oedema reaches
    ``edema_factor`` times further; ``inner`` is ``inner_fraction`` of the core, off-centre.
    """
    shape = phantom.codes.shape
    side = rng.choice([-1.0, 1.0])
    centre = np.array([side * rng.uniform(0.2, 0.35), rng.uniform(-0.35, 0.35),
                       rng.uniform(-0.2, 0.3)])
    radii = core_radius * rng.uniform(0.8, 1.2, 3)
    core = irregular_ball(rng, shape, centre, radii, 0.25) & phantom.brain
    whole = (irregular_ball(rng, shape, centre, radii * edema_factor, 0.3) & phantom.brain) | core
    offset = (rng.random(3) - 0.5) * radii * (1 - inner_fraction)
    inner = irregular_ball(rng, shape, centre + offset, radii * inner_fraction, 0.2) & core
    return whole, core, inner
