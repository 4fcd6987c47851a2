"""The PathMNIST stand-in loads through medmnist; texture, not colour, separates the classes."""

from __future__ import annotations

from pathlib import Path

import medmnist
import numpy as np
import pytest

from medgrade.data import pathmnist


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_medmnist_loads_every_split(pathmnist_root: Path, split: str) -> None:
    ds = medmnist.PathMNIST(split=split, root=str(pathmnist_root), download=False, size=28)
    assert len(ds) == pathmnist.SPLITS[split]
    assert ds.imgs.dtype == np.uint8 and ds.imgs.shape[1:] == (28, 28, 3)
    assert ds.labels.dtype == np.uint8 and ds.labels.shape == (len(ds), 1)
    img, target = ds[0]
    assert img.size == (28, 28) and img.mode == "RGB" and target.shape == (1,)


def test_class_proportions_match_the_real_dataset(pathmnist_root: Path) -> None:
    test = medmnist.PathMNIST(split="test", root=str(pathmnist_root))
    counts = np.bincount(test.labels[:, 0], minlength=9)
    assert counts.tolist() == list(pathmnist.CLASS_COUNTS["test"])
    assert counts[8] == 1233  # colorectal adenocarcinoma epithelium, 17.2% of test
    train = medmnist.PathMNIST(split="train", root=str(pathmnist_root))
    frac = np.bincount(train.labels[:, 0], minlength=9) / len(train)
    real = np.array(pathmnist.CLASS_COUNTS["train+val"]) / 100_000
    assert np.abs(frac - real).max() < 1e-3


def _radial_power(x: np.ndarray) -> np.ndarray:
    """Mean power per radial frequency band of the grey images (N, 28, 28) -> (14,)."""
    g = x.astype(np.float32).mean(-1)
    p = np.abs(np.fft.fft2(g - g.mean((1, 2), keepdims=True))) ** 2
    f = np.fft.fftfreq(28)
    r = np.minimum((np.hypot(f[:, None], f[None, :]) * 28).astype(int), 13)
    return np.bincount(r.ravel(), weights=p.mean(0).ravel(), minlength=14)


def test_texture_separates_classes_that_colour_does_not(pathmnist_root: Path) -> None:
    val = medmnist.PathMNIST(split="val", root=str(pathmnist_root))
    x, y = val.imgs[:3000], val.labels[:3000, 0]
    colour = x.mean(axis=(1, 2))
    tissue = [c for c in range(9) if c != 1]  # background is meant to be paler
    centroids = np.stack([colour[y == c].mean(0) for c in tissue])
    spread = np.stack([colour[y == c].std(0) for c in tissue]).mean()
    # class mean colours lie well within one within-class standard deviation of each other
    assert np.ptp(centroids, axis=0).max() < spread
    # lymphocytes (dense small nuclei) carry far more high-frequency power than mucus
    high = {c: _radial_power(x[y == c])[7:].sum() / _radial_power(x[y == c]).sum() for c in (3, 4)}
    assert high[3] > 3 * high[4]


def test_same_seed_same_images() -> None:
    labels = np.array([0, 3, 5, 8, 8, 1], dtype=np.uint8)
    a = pathmnist.render(labels, np.random.default_rng([7, 0, 0]))
    b = pathmnist.render(labels, np.random.default_rng([7, 0, 0]))
    c = pathmnist.render(labels, np.random.default_rng([8, 0, 0]))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(pathmnist.split_labels("test", 7), pathmnist.split_labels("test", 7))
