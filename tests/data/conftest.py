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
