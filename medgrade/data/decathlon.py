"""Medical Segmentation Decathlon ``Task01_BrainTumour`` stand-in, as MONAI downloads it.

Layout: ``<root>/Task01_BrainTumour/`` with ``dataset.json``, ``imagesTr/BRATS_NNN.nii.gz``
(float32, channel-last (X, Y, Z, 4): FLAIR, T1w, t1gd, T2w), ``labelsTr/BRATS_NNN.nii.gz``
(uint8 (X, Y, Z)) and ``imagesTs/`` for the test list. ``dataset.json`` follows the real schema
(name, description, reference, licence, release, tensorImageSize, modality, labels, numTraining,
numTest, training [{image, label}], test [paths]), so ``monai.apps.DecathlonDataset(root_dir=root,
task="Task01_BrainTumour", section=..., download=False)`` loads it (never pass ``download=True``:
the md5 of the real archive would not match and MONAI would try the network).

Labels: 0 background, 1 oedema, 2 enhancing tumour, 3 non-enhancing tumour, nested as
1 encloses 3 encloses 2, so the course's channels are TC = 2|3, WT = 1|2|3 and ET = 2. (The real
dataset.json names 2 and 3 the other way round; this one describes its own voxels.)

Generative model. A brain phantom (:mod:`medgrade.data._brain`) at 64x64x40, 1.5x1.5x2 mm
(the tutorial's target spacing), with one tumour per case: an irregular core of radius 0.12-0.3
of the field, oedema 1.3-2.0 times wider, and an off-centre enhancing part 35-65% of the core.
Oedema is bright on FLAIR and T2; the non-enhancing core is dark on T1 and bright on T2; the
enhancing part is bright on T1Gd. Hard cases: small tumours, oedema that barely extends past
the core, and noisier scans (noise sd up to 2x). Randomness: case ``i`` uses
``default_rng([seed, i])``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from medgrade.data import _brain
from medgrade.data.root import resolve_root
from medgrade.data.store import DatasetSpec, build

__all__ = ["SPEC", "SHAPE", "SPACING", "TASK", "case", "dataset_json", "generate"]

TASK = "Task01_BrainTumour"
SHAPE = (64, 64, 40)
SPACING = (1.5, 1.5, 2.0)
_CHANNELS = ("flair", "t1", "t1gd", "t2")


def case(seed: int, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Image float32 (64, 64, 40, 4) and label uint8 (64, 64, 40) of case ``index``."""
    rng = np.random.default_rng([seed, index])
    phantom = _brain.brain(rng, SHAPE)
    whole, core, inner = _brain.nested_tumour(
        rng, phantom, rng.uniform(0.12, 0.3), rng.uniform(1.3, 2.0), rng.uniform(0.35, 0.65)
    )
    phantom.paint(whole, "edema")
    phantom.paint(core, "necrosis")
    phantom.paint(inner, "enhancing")
    noise = 0.03 * rng.uniform(1.0, 2.0)
    image = np.stack([_brain.render(rng, phantom, c, texture=core, texture_amp=0.15, noise=noise)
                      for c in _CHANNELS], axis=-1).astype(np.float32)
    label = np.zeros(SHAPE, dtype=np.uint8)
    label[whole] = 1
    label[core] = 3
    label[inner] = 2
    return image, label


def dataset_json(n_train: int, n_test: int) -> dict[str, object]:
    """``dataset.json`` in the Decathlon schema for cases BRATS_001.. (test ids follow)."""
    return {
        "name": "BRATS",
        "description": "Gliomas segmentation tumour and oedema in on brain images "
                       "(medgrade synthetic stand-in)",
        "reference": "https://www.med.upenn.edu/sbia/brats2017.html",
        "licence": "CC-BY-SA 4.0",
        "release": "2.0 04/05/2018 (synthetic)",
        "tensorImageSize": "4D",
        "modality": {"0": "FLAIR", "1": "T1w", "2": "t1gd", "3": "T2w"},
        "labels": {"0": "background", "1": "edema", "2": "enhancing tumour",
                   "3": "non-enhancing tumour"},
        "numTraining": n_train,
        "numTest": n_test,
        "training": [{"image": f"./imagesTr/BRATS_{i:03d}.nii.gz",
                      "label": f"./labelsTr/BRATS_{i:03d}.nii.gz"} for i in range(1, n_train + 1)],
        "test": [f"./imagesTs/BRATS_{i:03d}.nii.gz"
                 for i in range(n_train + 1, n_train + n_test + 1)],
    }


def _write(stage: Path, *, seed: int, n_train: int, n_test: int) -> None:
    top = stage / TASK
    for sub in ("imagesTr", "labelsTr", "imagesTs"):
        (top / sub).mkdir(parents=True)
    for i in range(1, n_train + n_test + 1):
        image, label = case(seed, i)
        if i <= n_train:
            _brain.save_nifti(top / "imagesTr" / f"BRATS_{i:03d}.nii.gz", image, SPACING)
            _brain.save_nifti(top / "labelsTr" / f"BRATS_{i:03d}.nii.gz", label, SPACING)
        else:
            _brain.save_nifti(top / "imagesTs" / f"BRATS_{i:03d}.nii.gz", image, SPACING)
    (top / "dataset.json").write_text(json.dumps(dataset_json(n_train, n_test), indent=4) + "\n")


SPEC = DatasetSpec(
    name="decathlon",
    title="Decathlon Task01_BrainTumour (4-channel NIfTI + labels, dataset.json)",
    version="1",
    entries=(TASK,),
    writer=_write,
    defaults={"n_train": 24, "n_test": 4},
    real_source="Task01_BrainTumour.tar from the Medical Segmentation Decathlon (484 cases)",
)


def generate(
    root: str | Path | None = None, *, seed: int = 0, n_train: int = 24, n_test: int = 4,
    force: bool = False,
) -> Path:
    """Write ``<root>/Task01_BrainTumour`` (skipped when up to date); returns its path."""
    return build(resolve_root(root), SPEC, seed=seed,
                 params={"n_train": n_train, "n_test": n_test}, force=force).path
