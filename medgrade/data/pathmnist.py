"""PathMNIST stand-in: ``<root>/pathmnist.npz`` in the exact MedMNIST v2/v3 format.

Keys ``{train,val,test}_images`` (uint8, (N, 28, 28, 3)) and ``{train,val,test}_labels`` (uint8,
(N, 1)); split sizes 89,996 / 10,004 / 7,180, as ``medmnist.PathMNIST(split, root=...,
download=False)`` asserts. Class counts follow the real sources: train and val share the
NCT-CRC-HE-100K proportions, test has the CRC-VAL-HE-7K counts (1,233 tumour patches, 17.2%).

Generative model. A patch is an H&E image under Beer-Lambert: ``RGB = 255 exp(-(h OD_H +
e OD_E))`` with haematoxylin (nuclei, purple) and eosin (stroma, pink) concentration maps h, e.
Each map is band-pass filtered Gaussian noise (radial frequency f0, bandwidth, orientation
selectivity around a random angle) passed through a shape non-linearity (``blobs``: sparse
spots above a threshold; ``lines``: a thin network at zero crossings; ``rings``: contours at a
level; ``smooth``). The classes differ in that texture, not in colour:

0 adipose: thin eosin membranes around large empty cells (lines, f0 0.07)
1 background: near-flat, faint low-frequency shading (the one class that is colour-separable)
2 debris: sparse fragments of mixed size in both stains (blobs, mid frequency)
3 lymphocytes: dense small round nuclei (blobs, f0 0.33)
4 mucus: smooth pale wisps (smooth, low frequency)
5 smooth muscle: long parallel eosin fibres with elongated nuclei (strongly oriented)
6 normal mucosa: gland rings of nuclei (rings, f0 0.1)
7 stroma: wavy, loosely oriented fibres with scattered nuclei
8 adenocarcinoma epithelium: crowded large irregular nuclei (blobs, f0 0.17, dense)

Each patch's stain levels are drawn from one distribution shared by all tissue classes with
only small class offsets, and the stain vectors jitter per patch, so mean colour overlaps
across classes. Hard cases (about 12%): blurred (texture low-passed), faded (texture amplitude
down to 30%) or strongly stain-shifted. Randomness: chunk k of split s uses
``default_rng([seed, s, k])``; the label order uses ``default_rng([seed, s, 999_999])``. The test
split, held out, appends the words of the data root's key (:mod:`medgrade.data.heldout`) to both:
without the key it cannot be drawn again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from medgrade.data._medmnist_npz import MedmnistNpz
from medgrade.data.root import resolve_root
from medgrade.data.store import DatasetSpec, build

__all__ = ["SPLITS", "CLASS_COUNTS", "SPEC", "generate", "render", "split_labels"]

SPLITS = {"train": 89_996, "val": 10_004, "test": 7_180}
# NCT-CRC-HE-100K (train + val) and CRC-VAL-HE-7K (test) per-class counts, classes 0..8.
CLASS_COUNTS = {
    "train+val": (10_407, 10_566, 11_512, 11_557, 8_896, 13_536, 8_763, 10_446, 14_317),
    "test": (1_338, 847, 339, 634, 1_035, 592, 741, 421, 1_233),
}
SIZE = 28
CHUNK = 4096
HARD_FRACTION = 0.12
_OD_H = np.array([0.65, 0.70, 0.29], dtype=np.float32)
_OD_E = np.array([0.07, 0.99, 0.11], dtype=np.float32)
_OD_SCALE = 0.9  # optical density per unit concentration: sets overall lightness
F32 = NDArray[np.floating[Any]]  # float32 in practice


@dataclass(frozen=True)
class Layer:
    """One stain's texture: band-pass noise -> shape non-linearity -> concentration."""

    f0: float  # centre frequency, cycles per pixel
    bw: float  # radial bandwidth
    kappa: float  # orientation selectivity (0: isotropic)
    shape: str  # "blobs", "lines", "rings" or "smooth"
    level: float  # threshold (blobs, rings) or width (lines)
    amp: float  # concentration contrast of the texture


@dataclass(frozen=True)
class Tissue:
    h: Layer
    e: Layer
    h_mean: float  # class offset of the mean haematoxylin level
    e_mean: float


_TISSUES = (
    Tissue(Layer(0.2, 0.08, 0, "blobs", 2.2, 1.2), Layer(0.07, 0.03, 0, "lines", 0.25, 1.4),
           0.45, 0.55),
    Tissue(Layer(0.04, 0.03, 0, "smooth", 0, 0.05), Layer(0.04, 0.03, 0, "smooth", 0, 0.05),
           0.08, 0.12),
    Tissue(Layer(0.22, 0.1, 0, "blobs", 1.2, 1.3), Layer(0.12, 0.06, 0, "blobs", 0.6, 1.0),
           0.5, 0.6),
    Tissue(Layer(0.33, 0.06, 0, "blobs", 0.2, 1.4), Layer(0.2, 0.1, 0, "smooth", 0, 0.2),
           0.6, 0.45),
    Tissue(Layer(0.05, 0.03, 0, "smooth", 0, 0.35), Layer(0.06, 0.03, 0, "smooth", 0, 0.45),
           0.45, 0.45),
    Tissue(Layer(0.12, 0.04, 8, "blobs", 1.6, 1.2), Layer(0.15, 0.04, 12, "smooth", 0, 0.7),
           0.45, 0.65),
    Tissue(Layer(0.1, 0.03, 0, "rings", 0.6, 1.4), Layer(0.1, 0.03, 0, "smooth", 0, 0.5),
           0.55, 0.5),
    Tissue(Layer(0.15, 0.08, 2, "blobs", 1.9, 1.0), Layer(0.08, 0.04, 3, "smooth", 0, 0.8),
           0.45, 0.65),
    Tissue(Layer(0.17, 0.05, 0, "blobs", 0.4, 1.4), Layer(0.15, 0.07, 0, "smooth", 0, 0.4),
           0.65, 0.5),
)


def _freqs() -> tuple[F32, F32]:
    fy = np.fft.fftfreq(SIZE).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(SIZE).astype(np.float32)[None, :]
    return np.sqrt(fx**2 + fy**2), np.arctan2(fy, fx)


_RADIUS, _ANGLE = _freqs()


def _texture(layer: Layer, theta: F32, rng: np.random.Generator) -> F32:
    """Unit-variance band-pass noise shaped by ``layer``, (B, 28, 28), oriented at ``theta``."""
    b = theta.shape[0]
    gain = np.exp(-((_RADIUS - layer.f0) ** 2) / (2 * layer.bw**2))[None]
    if layer.kappa:
        gain = gain * np.abs(np.cos(_ANGLE[None] - theta[:, None, None])) ** layer.kappa
    # white noise drawn directly as a (Hermitian-completed) spectrum: one inverse FFT only
    white = rng.standard_normal((b, SIZE, SIZE // 2 + 1, 2), dtype=np.float32).view(np.complex64)
    t = np.fft.irfft2(white[..., 0] * gain.astype(np.float32), s=(SIZE, SIZE))
    t -= t.mean(axis=(1, 2), keepdims=True)
    t /= t.std(axis=(1, 2), keepdims=True) + 1e-6
    if layer.shape == "blobs":
        return 1.0 / (1.0 + np.exp(-(t - layer.level) * 4.0))
    if layer.shape == "lines":
        return np.exp(-((t / layer.level) ** 2))
    if layer.shape == "rings":
        return np.exp(-(((t - layer.level) / 0.35) ** 2))
    return t


def _concentration(x: F32, mean: F32, amp: F32) -> F32:
    """Concentration map with per-image mean ``mean`` and texture contrast ``amp`` (B, 1, 1)."""
    x = x - x.mean(axis=(1, 2), keepdims=True)
    return np.maximum(mean + amp * mean * x, 0.0)


def render(label: NDArray[np.integer], rng: np.random.Generator) -> NDArray[np.uint8]:
    """Images for ``label`` (B,) as uint8 (B, 28, 28, 3); see the module docstring."""
    b = label.shape[0]
    out = np.empty((b, SIZE, SIZE, 3), dtype=np.uint8)
    u = rng.random((b, 8)).astype(np.float32)
    hard = (u[:, 0] < HARD_FRACTION) * (1 + (u[:, 1] * 3).astype(np.int64))  # 0 easy, 1..3
    for c in np.unique(label):
        idx = np.flatnonzero(label == c)
        out[idx] = _render_class(_TISSUES[int(c)], u[idx], hard[idx], rng)
    return out


def _render_class(
    t: Tissue, u: F32, hard: NDArray[np.int64], rng: np.random.Generator
) -> NDArray[np.uint8]:
    b = u.shape[0]
    theta = (u[:, 2] * np.pi).astype(np.float32)
    fade = np.where(hard == 2, 0.3, 1.0).astype(np.float32)[:, None, None]
    h, e = _texture(t.h, theta, rng), _texture(t.e, theta, rng)
    if np.any(hard == 1):  # blur: keep only the low-frequency part of the texture
        blurred = np.flatnonzero(hard == 1)
        h[blurred], e[blurred] = _blur(h[blurred]), _blur(e[blurred])
    # stain levels: one shared distribution, small class offsets (colour alone is weak)
    lh = (0.35 + 0.4 * u[:, 3] + 0.35 * (t.h_mean - 0.5))[:, None, None]
    le = (0.35 + 0.4 * u[:, 4] + 0.35 * (t.e_mean - 0.5))[:, None, None]
    ch = _concentration(h, lh, t.h.amp * fade)
    ce = _concentration(e, le, t.e.amp * fade)
    shift = np.where(hard == 3, 0.5, 0.15).astype(np.float32)[:, None]
    od_h = _OD_H * (1 + shift * (rng.random((b, 3), dtype=np.float32) - 0.5))
    od_e = _OD_E * (1 + shift * (rng.random((b, 3), dtype=np.float32) - 0.5))
    light = (255.0 * (0.92 + 0.08 * u[:, 5]))[:, None, None]
    out = np.empty((b, SIZE, SIZE, 3), dtype=np.uint8)
    for k in range(3):  # channel by channel: contiguous (B, 28, 28) work, no 4-D temporaries
        od = ch * (_OD_SCALE * od_h[:, k, None, None]) + ce * (_OD_SCALE * od_e[:, k, None, None])
        x = np.exp(-od) * light
        x += (rng.random(x.shape, dtype=np.float32) - 0.5) * 12.0  # sensor noise, sd ~3.5
        np.clip(x, 0.0, 255.0, out=x)
        x += 0.5
        out[..., k] = x
    return out


def _blur(x: F32) -> F32:
    spec = np.fft.rfft2(x) * np.exp(-(_RADIUS**2) / (2 * 0.06**2))[None].astype(np.float32)
    return np.fft.irfft2(spec, s=(SIZE, SIZE)).astype(np.float32)


_NPZ = MedmnistNpz("pathmnist.npz", SPLITS, CLASS_COUNTS, (SIZE, SIZE, 3), CHUNK, render)
split_labels = _NPZ.split_labels


SPEC = DatasetSpec(
    name="pathmnist",
    title="PathMNIST (9-class 28x28 RGB H&E patches, medmnist npz)",
    version="2",
    entries=("pathmnist.npz",),
    writer=_NPZ.write,
    defaults={},
    real_source="pathmnist.npz from MedMNIST v2 (zenodo 10519652)",
    heldout=True,
)


def generate(root: str | Path | None = None, *, seed: int = 0, force: bool = False) -> Path:
    """Write ``<root>/pathmnist.npz`` (skipped when up to date); returns its path."""
    return build(resolve_root(root), SPEC, seed=seed, params={}, force=force).path
