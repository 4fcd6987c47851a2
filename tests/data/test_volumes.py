"""The NIfTI stand-ins load through nibabel, SimpleITK and MONAI with the documented content."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import SimpleITK as sitk

from medgrade.data import brats_cohort, decathlon, wmh


def _cohort(root: Path) -> tuple[Path, list[dict[str, str]]]:
    top = root / "brain_tumour_cohort"
    with open(top / "clinical.csv") as f:
        return top, list(csv.DictReader(f))


def test_cohort_volumes_are_coregistered_with_a_segmentation(volumes_root: Path) -> None:
    top, rows = _cohort(volumes_root)
    assert len(rows) == 40 and list(rows[0]) == list(brats_cohort.COLUMNS)
    sid = rows[0]["subject_id"]
    names = ("flair", "t1", "t1Gd", "t2", "seg")
    imgs = {k: nib.load(top / sid / f"{sid}_{k}.nii.gz") for k in names}
    for img in imgs.values():
        assert img.shape == brats_cohort.SHAPE
        assert np.allclose(img.affine, imgs["flair"].affine)
        assert img.header.get_zooms()[:3] == brats_cohort.SPACING
    seg = np.asarray(imgs["seg"].dataobj)
    assert set(np.unique(seg)) == {0, 1, 2}
    t1gd = imgs["t1Gd"].get_fdata()
    assert t1gd[seg == 1].mean() > 1.3 * t1gd[(seg == 0) & (t1gd > 0)].mean()  # enhancing


def test_cohort_reads_like_pyradiomics_does(volumes_root: Path) -> None:
    top, rows = _cohort(volumes_root)
    sid = rows[1]["subject_id"]
    image = sitk.ReadImage(str(top / sid / f"{sid}_t1Gd.nii.gz"))
    mask = sitk.ReadImage(str(top / sid / f"{sid}_seg.nii.gz"))
    assert image.GetSize() == mask.GetSize() == brats_cohort.SHAPE
    assert image.GetSpacing() == mask.GetSpacing() == brats_cohort.SPACING
    assert np.allclose(image.GetOrigin(), mask.GetOrigin())
    stats = sitk.LabelStatisticsImageFilter()
    stats.Execute(image, mask)
    assert set(stats.GetLabels()) == {0, 1, 2} and stats.GetCount(1) > 10


def test_cohort_outcome_depends_on_volume_and_texture(volumes_root: Path) -> None:
    top, rows = _cohort(volumes_root)
    short = np.array([float(r["survival_months"]) <= 5 for r in rows])
    assert 0.1 < short.mean() < 0.6
    volume, spread = [], []
    for r in rows:
        sid = r["subject_id"]
        seg = np.asarray(nib.load(top / sid / f"{sid}_seg.nii.gz").dataobj)
        t1gd = nib.load(top / sid / f"{sid}_t1Gd.nii.gz").get_fdata()
        volume.append((seg > 0).sum())
        spread.append(t1gd[seg == 1].std() if (seg == 1).any() else 0.0)
    z = [(f - f.mean()) / f.std() for f in (np.log(volume), np.array(spread))]
    ranks = (z[0] + z[1]).argsort().argsort()  # rank AUC of the summed standardised features
    auc = (ranks[short].mean() - (short.sum() - 1) / 2) / (~short).sum()
    assert 0.65 < auc < 0.99, auc


def test_wmh_cases(volumes_root: Path) -> None:
    for split, n in (("train", 4), ("test", 2)):
        cases = sorted((volumes_root / "WMH" / split).iterdir())
        assert len(cases) == n
    folder = volumes_root / "WMH" / "train" / "000"
    flair = nib.load(folder / "FLAIR_brain.nii.gz").get_fdata()
    t1 = nib.load(folder / "T1_brain.nii.gz").get_fdata()
    label = np.asarray(nib.load(folder / "wmh.nii.gz").dataobj)
    assert flair.shape == t1.shape == label.shape and min(flair.shape) >= 48
    assert set(np.unique(label)) <= {0, 1, 2} and (label == 1).sum() > 0
    brain = flair > 0
    assert 0.15 < brain.mean() < 0.6 and not label[~brain].any()
    assert flair[label == 1].mean() > 1.4 * flair[brain & (label == 0)].mean()


def test_wmh_other_pathology_appears_in_some_cases() -> None:
    labels = [wmh.case(0, "train", i)["wmh"] for i in range(8)]
    assert any((lab == 2).any() for lab in labels)
    sizes = [(lab == 1).sum() for lab in labels]
    assert max(sizes) > 3 * min(sizes)  # lesion load varies between cases


def test_decathlon_loads_with_monai(volumes_root: Path) -> None:
    from monai.apps import DecathlonDataset
    from monai.transforms import Compose, EnsureChannelFirstd, LoadImaged

    keys = ["image", "label"]
    ds = DecathlonDataset(
        root_dir=volumes_root, task=decathlon.TASK, section="training", download=False,
        transform=Compose([LoadImaged(keys), EnsureChannelFirstd(keys)]),
        cache_rate=0.0, progress=False, val_frac=0.2,
    )
    assert len(ds) == 8
    item = ds[0]
    assert tuple(item["image"].shape) == (4, *decathlon.SHAPE)
    assert tuple(item["label"].shape) == (1, *decathlon.SHAPE)
    label = item["label"][0].numpy()
    assert set(np.unique(label)) == {0, 1, 2, 3}
    assert ds.get_properties("numTraining") == {"numTraining": 10}


def test_decathlon_labels_nest_and_json_schema(volumes_root: Path) -> None:
    top = volumes_root / decathlon.TASK
    meta = json.loads((top / "dataset.json").read_text())
    assert set(meta) >= {"name", "modality", "labels", "numTraining", "training", "test"}
    assert meta["modality"] == {"0": "FLAIR", "1": "T1w", "2": "t1gd", "3": "T2w"}
    assert all((top / e["image"]).exists() and (top / e["label"]).exists()
               for e in meta["training"])
    assert all((top / p).exists() for p in meta["test"])
    image, label = decathlon.case(0, 3)
    assert image.shape == (*decathlon.SHAPE, 4) and image.dtype == np.float32
    wt, tc, et = label > 0, (label == 2) | (label == 3), label == 2
    assert et.sum() < tc.sum() < wt.sum()
    # enhancing is brightest on T1Gd (channel 2), oedema brightest on FLAIR (channel 0)
    assert image[et, 2].mean() > image[label == 1, 2].mean()
    assert image[label == 1, 0].mean() > image[label == 0, 0][image[label == 0, 0] > 0].mean()


def test_volumes_are_deterministic() -> None:
    a, b = brats_cohort.subject(5, 2), brats_cohort.subject(5, 2)
    assert a[0] == b[0] and all(np.array_equal(a[1][k], b[1][k]) for k in a[1])
    assert np.array_equal(decathlon.case(1, 1)[0], decathlon.case(1, 1)[0])
