"""PneumoniaMNIST stand-in: ``<root>/pneumoniamnist.npz`` in the exact MedMNIST v2/v3 format.

Keys ``{train,val,test}_images`` (uint8, (N, 28, 28), grey) and ``{train,val,test}_labels``
(uint8, (N, 1)), 0 normal and 1 pneumonia; split sizes 4,708 / 524 / 624, as
``medmnist.PneumoniaMNIST(split, root=..., download=False)`` asserts. Class counts follow the
real source (Kermany et al., paediatric chest films): pneumonia is the majority, 1,349 normal and
3,883 pneumonia films shared by train and val in proportion, and a test split of 234 normal and
390 pneumonia films (62.5%).

Generative model. A film is a frontal chest radiograph drawn on a 56x56 grid and averaged down
to 28x28: a soft-tissue thorax on dark air, two dark lung fields (ellipses whose height follows
the depth of inspiration), a bright mediastinum and spine, a heart shadow over the lower medial
left lung, and faint oblique ribs across both lungs. Every film varies in position, rotation,
size, inspiration, heart size, exposure (contrast, brightness, gamma), rib contrast and noise.

Pneumonia adds opacity inside the lung fields only, of one of two kinds: a *lobar*
consolidation (a bright, textured blob in one lung, more often in the lower zone; 60%) or a
*diffuse* bilateral interstitial pattern (band-passed haze, strongest near the hila and the
bases; 40%). Its severity varies; about 20% of pneumonia films are subtle (severity below a
third), which is what keeps a small network's AUC below 1. Normal films carry the confounders
that make real readers hesitate: a breast shadow over both bases (35%), a shallow inspiration
that crowds the lung markings (25%), and prominent hilar vessels.

Randomness: chunk k of split s uses ``default_rng([seed, s, k])``; the label order uses
``default_rng([seed, s, 999_999])``. The test split, held out, appends the words of the data
root's key (:mod:`medgrade.data.heldout`) to both: without the key it cannot be drawn again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from medgrade.data._medmnist_npz import MedmnistNpz
from medgrade.data.root import resolve_root
from medgrade.data.store import DatasetSpec, build

__all__ = ["SPLITS", "CLASS_COUNTS", "SPEC", "generate", "render", "split_labels"]

SPLITS = {"train": 4_708, "val": 524, "test": 624}
# Kermany et al. 2018 (the source of PneumoniaMNIST): normal, pneumonia.
CLASS_COUNTS = {"train+val": (1_349, 3_883), "test": (234, 390)}
SIZE = 28
FINE = 2 * SIZE  # drawn at twice the size, then averaged down: smooth edges without aliasing
CHUNK = 1024
LOBAR_FRACTION = 0.6
SUBTLE_FRACTION = 0.2
F32 = NDArray[np.floating[Any]]  # float32 in practice

_GRID = np.linspace(-1.0, 1.0, FINE, dtype=np.float32)
_Y, _X = np.meshgrid(_GRID, _GRID, indexing="ij")
_FREQ = np.sqrt(np.fft.fftfreq(FINE)[:, None] ** 2 + np.fft.rfftfreq(FINE)[None, :] ** 2).astype(np.float32)


def _col(v: Any) -> F32:
    """Per-image values (B,) as (B, 1, 1) float32, to broadcast over the grid."""
    return np.asarray(v, dtype=np.float32)[:, None, None]


def _ellipse(u: F32, v: F32, cx: F32 | float, cy: F32 | float, ax: F32 | float, ay: F32 | float,
             edge: float) -> F32:
    """Soft indicator of an ellipse: 1 inside, 0 outside, a sigmoid edge ``edge`` wide."""
    r = np.sqrt(((u - cx) / ax) ** 2 + ((v - cy) / ay) ** 2)
    out: F32 = 1.0 / (1.0 + np.exp(np.minimum((r - 1.0) / edge, 80.0)))  # no overflow far outside
    return out


def _bandpass(b: int, f0: float, bw: float, rng: np.random.Generator) -> F32:
    """Unit-variance band-pass noise (B, 56, 56) around ``f0`` cycles per fine pixel."""
    white = rng.standard_normal((b, FINE, FINE // 2 + 1, 2), dtype=np.float32).view(np.complex64)[..., 0]
    gain = np.exp(-((_FREQ - f0) ** 2) / (2 * bw**2)).astype(np.float32)
    t = np.fft.irfft2(white * gain[None], s=(FINE, FINE)).astype(np.float32)
    t -= t.mean(axis=(1, 2), keepdims=True)
    t /= t.std(axis=(1, 2), keepdims=True) + 1e-6
    return t


def _anatomy(u: F32, v: F32, p: F32) -> tuple[F32, F32, F32]:
    """Attenuation of the normal chest (B, 56, 56) and the masks of the right and left lungs."""
    insp, heart, ribs = _col(p[:, 0]), _col(p[:, 1]), _col(p[:, 2])
    body = _ellipse(u, v, 0.0, 0.15, 1.0, 1.25, 0.06)
    right = _ellipse(u, v, -0.42, -0.08, 0.30, 0.62 * insp, 0.07)  # the patient's right: image left
    left = _ellipse(u, v, 0.40, -0.05, 0.27, 0.58 * insp, 0.07)
    lungs = np.maximum(right, left)
    mediastinum = np.exp(-((u / 0.16) ** 2)) * (v < 0.5) + np.exp(-((u / 0.07) ** 2)) * 0.3  # with the spine
    cardiac = _ellipse(u, v, 0.14, 0.30, 0.30 * heart, 0.27, 0.08)
    rib = 0.5 + 0.5 * np.sin(2 * np.pi * (v * 3.2 + 0.6 * np.abs(u)))
    clavicle = np.exp(-(((v + 0.62 + 0.25 * np.abs(u)) / 0.05) ** 2)) * (np.abs(u) < 0.8)
    tissue = 0.55 * body + 0.22 * mediastinum * body + 0.28 * cardiac + 0.25 * clavicle
    return tissue - 0.42 * lungs + ribs * 0.10 * rib * lungs, right, left


def render(label: NDArray[np.integer], rng: np.random.Generator) -> NDArray[np.uint8]:
    """Films for ``label`` (B,) as uint8 (B, 28, 28); see the module docstring."""
    b = label.shape[0]
    sick = _col(label.astype(np.float32))
    g = rng.random((b, 16)).astype(np.float32)
    theta, scale = (g[:, 0] - 0.5) * 0.14, 0.92 + 0.12 * g[:, 1]
    x0, y0 = (g[:, 2] - 0.5) * 0.12, (g[:, 3] - 0.5) * 0.12
    c, s = _col(np.cos(theta)), _col(np.sin(theta))
    xs, ys = _X[None] - _col(x0), _Y[None] - _col(y0)
    u, v = (c * xs + s * ys) / _col(scale), (-s * xs + c * ys) / _col(scale)
    shallow = g[:, 4] < 0.25
    insp = np.where(shallow, 0.80 + 0.08 * g[:, 5], 0.92 + 0.12 * g[:, 5])
    p = np.stack([insp, 0.9 + 0.25 * g[:, 6], 0.5 + g[:, 7]], axis=1).astype(np.float32)
    x, right, left = _anatomy(u, v, p)
    lungs = np.maximum(right, left)
    hilum = np.exp(-(((np.abs(u) - 0.22) / 0.12) ** 2 + ((v + 0.05) / 0.25) ** 2))
    markings = np.maximum(_bandpass(b, 0.10, 0.04, rng), 0.0) * lungs
    x += (0.05 + 0.06 * _col(g[:, 8])) * hilum * lungs + 0.035 * markings  # vessels: normal
    x += 0.06 * _col(shallow) * markings  # crowded markings of a shallow breath
    breast = _col(g[:, 9] < 0.35) * np.exp(-(((v - 0.45) / 0.22) ** 2)) * (np.abs(u) > 0.2)
    x += 0.08 * breast * lungs
    x += sick * _opacity(u, v, right, left, g[:, 10:14], rng)
    contrast, bright, gamma = 0.8 + 0.4 * g[:, 14], (g[:, 15] - 0.5) * 0.2, rng.uniform(0.8, 1.25, b)
    x = np.clip(_col(contrast) * x + 0.12 + _col(bright), 0.0, 1.0) ** _col(gamma).astype(np.float32)
    x += rng.standard_normal(x.shape, dtype=np.float32) * 0.03
    small = x.reshape(b, SIZE, 2, SIZE, 2).mean(axis=(2, 4))
    return (np.clip(small, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _opacity(u: F32, v: F32, right: F32, left: F32, g: F32, rng: np.random.Generator) -> F32:
    """Pneumonia's added attenuation (B, 56, 56): lobar or diffuse, of varying severity."""
    b = g.shape[0]
    subtle = g[:, 0] < SUBTLE_FRACTION
    severity = _col(np.where(subtle, 0.12 + 0.2 * g[:, 1], 0.35 + 0.65 * g[:, 1]))
    lobar = _col(g[:, 2] < LOBAR_FRACTION)
    side = _col(g[:, 3] < 0.55)  # the right lung is affected more often
    texture = _bandpass(b, 0.06, 0.03, rng)
    cx = np.where(side[:, 0, 0] > 0, -0.42, 0.40) + rng.uniform(-0.1, 0.1, b)
    cy = rng.choice(np.array([-0.35, 0.05, 0.3]), b, p=[0.2, 0.35, 0.45]) + rng.uniform(-0.1, 0.1, b)
    radius = rng.uniform(0.16, 0.32, b)
    blob = _ellipse(u, v, _col(cx), _col(cy), _col(radius), _col(radius * rng.uniform(0.8, 1.4, b)), 0.15)
    lung = side * right + (1.0 - side) * left
    consolidation = blob * lung * (0.85 + 0.25 * texture)
    haze = np.maximum(_bandpass(b, 0.14, 0.05, rng) + 0.6, 0.0)
    zone = 0.5 + 0.5 * np.exp(-(((np.abs(u) - 0.25) / 0.25) ** 2)) + 0.4 * (v > 0.1)
    diffuse = np.maximum(right, left) * haze * zone * 0.45
    return (severity * 0.5 * (lobar * consolidation + (1.0 - lobar) * diffuse)).astype(np.float32)


_NPZ = MedmnistNpz("pneumoniamnist.npz", SPLITS, CLASS_COUNTS, (SIZE, SIZE), CHUNK, render)
split_labels = _NPZ.split_labels


SPEC = DatasetSpec(
    name="pneumoniamnist",
    title="PneumoniaMNIST (normal or pneumonia, 28x28 grey chest films, medmnist npz)",
    version="1",
    entries=("pneumoniamnist.npz",),
    writer=_NPZ.write,
    defaults={},
    real_source="pneumoniamnist.npz from MedMNIST v2 (zenodo 10519652)",
    heldout=True,
)


def generate(root: str | Path | None = None, *, seed: int = 0, force: bool = False) -> Path:
    """Write ``<root>/pneumoniamnist.npz`` (skipped when up to date); returns its path."""
    return build(resolve_root(root), SPEC, seed=seed, params={}, force=force).path
