"""The PneumoniaMNIST stand-in loads through medmnist; pneumonia is opacity inside the lungs."""

from __future__ import annotations

from pathlib import Path

import medmnist
import numpy as np
import pytest

from medgrade.data import pneumoniamnist


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_medmnist_loads_every_split(pneumoniamnist_root: Path, split: str) -> None:
    ds = medmnist.PneumoniaMNIST(split=split, root=str(pneumoniamnist_root), download=False, size=28)
    assert len(ds) == pneumoniamnist.SPLITS[split] == medmnist.INFO["pneumoniamnist"]["n_samples"][split]
    assert ds.imgs.dtype == np.uint8 and ds.imgs.shape[1:] == (28, 28)
    assert ds.labels.dtype == np.uint8 and ds.labels.shape == (len(ds), 1)
    img, target = ds[0]
    assert img.size == (28, 28) and img.mode == "L" and target.shape == (1,)


def test_pneumonia_is_the_majority_in_the_real_proportions(pneumoniamnist_root: Path) -> None:
    test = medmnist.PneumoniaMNIST(split="test", root=str(pneumoniamnist_root))
    assert np.bincount(test.labels[:, 0], minlength=2).tolist() == [234, 390]
    train = medmnist.PneumoniaMNIST(split="train", root=str(pneumoniamnist_root))
    val = medmnist.PneumoniaMNIST(split="val", root=str(pneumoniamnist_root))
    assert np.bincount(train.labels[:, 0]).tolist() == [1214, 3494]
    assert np.bincount(val.labels[:, 0]).tolist() == [135, 389]


def test_pneumonia_brightens_the_lung_fields_not_the_whole_film(pneumoniamnist_root: Path) -> None:
    train = medmnist.PneumoniaMNIST(split="train", root=str(pneumoniamnist_root))
    x, y = train.imgs.astype(np.float32), train.labels[:, 0]
    lungs = np.s_[:, 6:20, 3:11]  # the patient's right lung field: image rows 6-19, columns 3-10
    corners = np.s_[:, 0:3, 0:3]  # air outside the body
    gap = x[y == 1][lungs].mean() - x[y == 0][lungs].mean()
    assert gap > 5.0  # consolidation and haze add attenuation in the lungs
    assert abs(x[y == 1][corners].mean() - x[y == 0][corners].mean()) < 2.0
    # ...but not in every film: the subtle cases overlap the normal range, so the task is not trivial
    per_film = x[lungs].mean(axis=(1, 2))
    normal_high = np.quantile(per_film[y == 0], 0.9)
    assert 0.1 < (per_film[y == 1] < normal_high).mean() < 0.9


def test_same_seed_same_films_and_the_key_redraws_the_test_split() -> None:
    labels = np.array([0, 1, 1, 0, 1], dtype=np.uint8)
    a = pneumoniamnist.render(labels, np.random.default_rng([7, 0, 0]))
    b = pneumoniamnist.render(labels, np.random.default_rng([7, 0, 0]))
    c = pneumoniamnist.render(labels, np.random.default_rng([8, 0, 0]))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    first = pneumoniamnist.split_labels("test", 7, b"key one")
    assert np.array_equal(first, pneumoniamnist.split_labels("test", 7, b"key one"))
    assert not np.array_equal(first, pneumoniamnist.split_labels("test", 7, b"key two"))
    assert np.array_equal(pneumoniamnist.split_labels("val", 7, b"key one"), pneumoniamnist.split_labels("val", 7))
