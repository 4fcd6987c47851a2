"""White-matter hyperintensity (WMH) stand-in, laid out like the MAIA seminar's WMH 2017 subset.

Layout: ``<root>/WMH/{train,test}/<case>/`` with ``FLAIR_brain.nii.gz``, ``T1_brain.nii.gz``
(int16, skull-stripped: exactly 0 outside the brain, so ``FLAIR > 0`` is the brain ROI) and
``wmh.nii.gz`` (uint8: 0 background, 1 WMH lesion, 2 other pathology, ignored in training).
Volumes are 64x64x48 at 1x1x3 mm (the real data are about 1x1x3 mm too).

Generative model. A brain phantom (see :mod:`medgrade.data._brain`) receives a case-specific
lesion load: ``n ~ Poisson(load)`` lesions with load drawn from {light 3, moderate 8, heavy 16};
each lesion is an irregular ellipsoid of radius 1.5-6 mm inside white matter, preferentially
periventricular (near the ventricles) and partly confluent. Lesions are bright on FLAIR and
slightly dark on T1. In 30% of cases one "other pathology" region (an old infarct: dark on
FLAIR, bright rim) is labelled 2. What makes a case hard: small lesions (near the noise level),
low lesion contrast (FLAIR gain 0.75-1.0 of the nominal lesion intensity), and lesions touching
grey matter. Randomness: case ``i`` of the training split uses ``default_rng([seed, 0, i])``; a
test case, held out, appends the words of the data root's key (:mod:`medgrade.data.heldout`):
without the key it cannot be drawn again.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medgrade.data import _brain
from medgrade.data.heldout import stream_words
from medgrade.data.root import resolve_root
from medgrade.data.store import DatasetSpec, build

__all__ = ["SPEC", "SHAPE", "SPACING", "case", "generate"]

SHAPE = (64, 64, 48)
SPACING = (1.0, 1.0, 3.0)
_SPLITS = ("train", "test")


def _lesions(rng: np.random.Generator, phantom: _brain.Phantom) -> np.ndarray:
    """Boolean lesion mask: Poisson many irregular blobs seeded in white matter."""
    wm = np.argwhere(phantom.codes == _brain.TISSUES.index("wm"))
    csf = np.argwhere(phantom.codes == _brain.TISSUES.index("csf"))
    mask = np.zeros(SHAPE, dtype=bool)
    n = max(1, rng.poisson(rng.choice([3, 8, 16])))
    scale = np.array(SHAPE, dtype=float) / 2
    for _ in range(n):
        if rng.random() < 0.6 and len(csf):  # periventricular: start at a ventricle, step out
            seed = csf[rng.integers(len(csf))] + rng.normal(0, 3, 3) * [1, 1, 0.4]
        else:
            seed = wm[rng.integers(len(wm))]
        centre = (np.asarray(seed, dtype=float) + 0.5) / scale - 1
        radius_mm = rng.uniform(1.5, 6.0)
        radii = radius_mm / (scale * np.array(SPACING)) * rng.uniform(0.7, 1.4, 3)
        mask |= _brain.irregular_ball(rng, SHAPE, centre, radii, 0.3)
    return mask & (phantom.codes == _brain.TISSUES.index("wm"))


def case(seed: int, split: str, index: int, key: bytes = b"") -> dict[str, np.ndarray]:
    """One case: {"FLAIR_brain", "T1_brain": int16; "wmh": uint8} volumes (64, 64, 48)."""
    rng = np.random.default_rng(stream_words(seed, _SPLITS, split, index, key, "test"))
    phantom = _brain.brain(rng, SHAPE)
    lesion = _lesions(rng, phantom)
    other = np.zeros(SHAPE, dtype=bool)
    if rng.random() < 0.3:
        centre = np.array([rng.choice([-1, 1]) * 0.45, rng.uniform(-0.4, 0.4), 0.0])
        other = _brain.irregular_ball(rng, SHAPE, centre, np.full(3, 0.12), 0.2) & phantom.brain
    phantom.paint(lesion, "lesion")
    phantom.paint(other, "other")
    flair = _brain.render(rng, phantom, "flair")
    gain = rng.uniform(0.75, 1.0)  # lesion contrast varies per case
    flair = np.where(lesion, np.round(flair * gain), flair).astype(np.int16)
    t1 = _brain.render(rng, phantom, "t1")
    wmh = (lesion & ~other) * 1 + other * 2
    return {"FLAIR_brain": flair, "T1_brain": t1, "wmh": wmh.astype(np.uint8)}


def _write(stage: Path, *, seed: int, n_train: int, n_test: int, key: bytes) -> None:
    for split, n in zip(_SPLITS, (n_train, n_test), strict=True):
        for i in range(n):
            folder = stage / "WMH" / split / f"{i:03d}"
            folder.mkdir(parents=True)
            for name, volume in case(seed, split, i, key).items():
                _brain.save_nifti(folder / f"{name}.nii.gz", volume, SPACING)


SPEC = DatasetSpec(
    name="wmh",
    title="white-matter lesions (FLAIR_brain/T1_brain/wmh NIfTI, train and test cases)",
    version="2",
    entries=("WMH",),
    writer=_write,
    defaults={"n_train": 16, "n_test": 8},
    real_source="WMH Segmentation Challenge 2017 (MAIA seminar subset)",
    heldout=True,
)


def generate(
    root: str | Path | None = None, *, seed: int = 0, n_train: int = 16, n_test: int = 8,
    force: bool = False,
) -> Path:
    """Write ``<root>/WMH/{train,test}`` (skipped when up to date); returns ``<root>/WMH``."""
    return build(resolve_root(root), SPEC, seed=seed,
                 params={"n_train": n_train, "n_test": n_test}, force=force).path
