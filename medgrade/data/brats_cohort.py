"""Brain-tumour radiomics cohort stand-in, in the spirit of the TCGA-GBM teaching sample.

Layout under ``<root>/brain_tumour_cohort/``: ``clinical.csv`` and one folder per subject
``TCGA-SYN-<NNNN>/`` holding ``<id>_flair.nii.gz``, ``<id>_t1.nii.gz``, ``<id>_t1Gd.nii.gz``,
``<id>_t2.nii.gz`` (int16, co-registered, 64x64x48 at 1x1x2 mm, RAS affine) and ``<id>_seg.nii.gz``
(uint8: 0 background, 1 contrast-enhancing, 2 non-enhancing/necrotic tumour).
``clinical.csv`` columns: subject_id, age, gender, histology, grade, idh_status,
codeletion_1p19q, survival_months, karnofsky.

Generative model. Each subject has a latent aggressiveness ``a ~ N(0, 1)``. The tumour core
radius grows with ``a`` (log volume roughly linear in it); the enhancing part's T1Gd texture
heterogeneity (``texture_amp``) grows with ``a``; IDH-mutant tumours (more likely when ``a`` is
low, and in the young) are smaller and grade III more often. Survival in months is
``exp(1.8 - 0.55 a - 0.012 (age - 60) + 0.5 IDH_mutant + 0.4 e)``, ``e ~ N(0, 1)``; the
T1Gd heterogeneity is ``0.25 + 0.1 a + 0.06 n``. Outcome rule (as in the course):
``short_survival = survival_months <= 5``, about 28% of subjects. Cross-validated logistic AUC
(measured on 120 subjects): log tumour volume 0.75, T1Gd standard deviation inside the
enhancing label 0.79, both 0.80: well above chance, never perfect (``e``, age, IDH).
Randomness: subject ``i`` uses ``default_rng([seed, i])``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from medgrade.data import _brain
from medgrade.data.root import resolve_root
from medgrade.data.store import DatasetSpec, build

__all__ = ["SPEC", "SHAPE", "SPACING", "SEQUENCE_FILES", "generate", "subject"]

SHAPE = (64, 64, 48)
SPACING = (1.0, 1.0, 2.0)
SEQUENCE_FILES = {"flair": "flair", "t1": "t1", "t1gd": "t1Gd", "t2": "t2"}
COLUMNS = ("subject_id", "age", "gender", "histology", "grade", "idh_status",
           "codeletion_1p19q", "survival_months", "karnofsky")
SHORT_SURVIVAL_MONTHS = 5.0


def _clinical(rng: np.random.Generator, sid: str, a: float) -> dict[str, object]:
    age = float(np.clip(rng.normal(58 + 6 * a, 12), 21, 88))
    idh = bool(rng.random() < 1 / (1 + np.exp(1.6 + 1.2 * a + 0.04 * (age - 50))))
    grade = "III" if idh and rng.random() < 0.6 else "IV"
    survival = float(np.exp(1.8 - 0.55 * a - 0.012 * (age - 60) + 0.5 * idh
                            + 0.4 * rng.standard_normal()))
    karnofsky = int(np.clip(round((90 - 8 * a + 5 * rng.standard_normal()) / 10) * 10, 40, 100))
    return {
        "subject_id": sid, "age": round(age), "gender": "F" if rng.random() < 0.4 else "M",
        "histology": "astrocytoma" if grade == "III" else "glioblastoma", "grade": grade,
        "idh_status": "mutant" if idh else "wildtype",
        "codeletion_1p19q": "codel" if idh and rng.random() < 0.2 else "non-codel",
        "survival_months": round(survival, 1),
        "karnofsky": karnofsky,
    }


def subject(seed: int, index: int) -> tuple[dict[str, object], dict[str, np.ndarray]]:
    """One subject: clinical row and volumes {flair, t1, t1gd, t2: int16; seg: uint8}."""
    rng = np.random.default_rng([seed, index])
    sid = f"TCGA-SYN-{index + 1:04d}"
    a = float(rng.standard_normal())
    row = _clinical(rng, sid, a)
    idh = row["idh_status"] == "mutant"
    phantom = _brain.brain(rng, SHAPE)
    radius = float(np.clip(0.17 * np.exp(0.22 * a - 0.15 * idh + 0.1 * rng.standard_normal()),
                           0.07, 0.32))
    whole, core, inner = _brain.nested_tumour(rng, phantom, radius, rng.uniform(1.3, 1.8),
                                              rng.uniform(0.35, 0.65))
    phantom.paint(whole, "edema")
    phantom.paint(core, "enhancing")
    phantom.paint(inner, "necrosis")
    amp = float(np.clip(0.25 + 0.1 * a + 0.06 * rng.standard_normal(), 0.02, 0.6))
    enhancing = core & ~inner
    vols: dict[str, np.ndarray] = {
        s: _brain.render(rng, phantom, s, texture=enhancing if s == "t1gd" else core,
                         texture_amp=amp if s == "t1gd" else 0.1)
        for s in _brain.SEQUENCES
    }
    vols["seg"] = (enhancing * 1 + inner * 2).astype(np.uint8)
    return row, vols


def _write(stage: Path, *, seed: int, n_subjects: int) -> None:
    top = stage / "brain_tumour_cohort"
    rows = []
    for i in range(n_subjects):
        row, vols = subject(seed, i)
        sid = str(row["subject_id"])
        (top / sid).mkdir(parents=True)
        for key, volume in vols.items():
            name = SEQUENCE_FILES.get(key, key)
            _brain.save_nifti(top / sid / f"{sid}_{name}.nii.gz", volume, SPACING)
        rows.append(row)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (top / "clinical.csv").write_text(buf.getvalue())


SPEC = DatasetSpec(
    name="brats",
    title="brain-tumour radiomics cohort (FLAIR/T1/T1Gd/T2 + seg NIfTI, clinical CSV)",
    version="1",
    entries=("brain_tumour_cohort",),
    writer=_write,
    defaults={"n_subjects": 48},
    real_source="TCGA-GBM teaching sample (ELMED219 lab 3)",
)


def generate(
    root: str | Path | None = None, *, seed: int = 0, n_subjects: int = 48, force: bool = False
) -> Path:
    """Write ``<root>/brain_tumour_cohort`` (skipped when up to date); returns its path."""
    return build(resolve_root(root), SPEC, seed=seed, params={"n_subjects": n_subjects},
                 force=force).path
