"""Shared fixtures for the data stand-in tests: small datasets, generated once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from medgrade.data import mednist

MEDNIST_PER_CLASS = 60


@pytest.fixture(scope="session")
def mednist_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root holding a small MedNIST stand-in (60 images per class, seed 0)."""
    root = tmp_path_factory.mktemp("mednist-root")
    mednist.generate(root, seed=0, per_class=MEDNIST_PER_CLASS)
    return root


@pytest.fixture(scope="session")
def pathmnist_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root holding the PathMNIST stand-in; its split sizes are fixed by medmnist."""
    from medgrade.data import pathmnist

    root = tmp_path_factory.mktemp("pathmnist-root")
    pathmnist.generate(root, seed=0)
    return root


@pytest.fixture(scope="session")
def volumes_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root with small 3-D stand-ins: cohort (40), WMH (4 + 2), Decathlon (10 + 2)."""
    from medgrade.data import brats_cohort, decathlon, wmh

    root = tmp_path_factory.mktemp("volumes-root")
    brats_cohort.generate(root, seed=0, n_subjects=40)
    wmh.generate(root, seed=0, n_train=4, n_test=2)
    decathlon.generate(root, seed=0, n_train=10, n_test=2)
    return root


@pytest.fixture(scope="session")
def pneumoniamnist_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root holding the PneumoniaMNIST stand-in (5,856 films; a few seconds)."""
    from medgrade.data import pneumoniamnist

    root = tmp_path_factory.mktemp("pneumoniamnist-root")
    pneumoniamnist.generate(root, seed=0)
    return root


MURA_PATIENTS = {"n_train": 24, "n_valid": 8, "n_test": 10}


@pytest.fixture(scope="session")
def mura_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root holding a small MURA-v1.1 stand-in (24 / 8 / 10 patients, about 150 images, seed 0)."""
    from medgrade.data import mura

    root = tmp_path_factory.mktemp("mura-root")
    mura.generate(root, seed=0, **MURA_PATIENTS)
    return root
