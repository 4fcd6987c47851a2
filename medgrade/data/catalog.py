"""The datasets medgrade knows, and the operations over all of them: generate, verify, info.

Each stand-in module defines a :class:`~medgrade.data.store.DatasetSpec` named ``SPEC``; the
catalogue imports them lazily so that ``medgrade data info`` does not pay for nibabel or PIL.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medgrade.data.manifest import read_manifest
from medgrade.data.store import BuildResult, DatasetSpec, Problem, build, verify_dataset
from medgrade.errors import DataError

__all__ = ["NAMES", "DatasetInfo", "get_spec", "generate_all", "verify_all", "info"]

_MODULES = {
    "mednist": "medgrade.data.mednist",
    "pathmnist": "medgrade.data.pathmnist",
    "pneumoniamnist": "medgrade.data.pneumoniamnist",
    "mura": "medgrade.data.mura",
    "resnet18_mednist_msk": "medgrade.data.pretrained",
    "brats": "medgrade.data.brats_cohort",
    "wmh": "medgrade.data.wmh",
    "decathlon": "medgrade.data.decathlon",
}
NAMES: tuple[str, ...] = tuple(_MODULES)


def get_spec(name: str) -> DatasetSpec:
    """The spec of dataset ``name``; :class:`DataError` naming the known ones otherwise."""
    if name not in _MODULES:
        raise DataError(f"unknown dataset {name!r}; known datasets: {', '.join(NAMES)}")
    spec: DatasetSpec = importlib.import_module(_MODULES[name]).SPEC
    return spec


def _chosen(names: Iterable[str] | None) -> list[str]:
    picked = list(dict.fromkeys(names or ()))
    for n in picked:
        get_spec(n)
    return picked or list(NAMES)


def generate_all(
    root: Path,
    names: Sequence[str] | None = None,
    *,
    seed: int = 0,
    force: bool = False,
    params: dict[str, dict[str, Any]] | None = None,
) -> list[BuildResult]:
    """Generate (or skip, when up to date) each named dataset, in catalogue order."""
    params = params or {}
    return [
        build(root, get_spec(n), seed=seed, params=params.get(n, {}), force=force)
        for n in _chosen(names)
    ]


def verify_all(root: Path, names: Sequence[str] | None = None) -> list[Problem]:
    """Problems of each named dataset; by default of every dataset that is present or recorded.

    A dataset present on disk without a manifest record (real data) is not an error here:
    medgrade has no hashes for it. Naming such a dataset explicitly reports it.
    """
    records = read_manifest(root)
    problems: list[Problem] = []
    for n in _chosen(names):
        spec, record = get_spec(n), records.get(n)
        present = any((root / e).exists() for e in spec.entries)
        if record is None and (not names or present):
            continue  # not asked for, or real data with nothing recorded to check it against
        problems.extend(verify_dataset(root, spec, record))
    return problems


@dataclass(frozen=True)
class DatasetInfo:
    """One row of ``medgrade data info``."""

    name: str
    title: str
    kind: str  # "synthetic", "real (not in manifest)" or "absent"
    path: Path
    files: int
    bytes: int
    seed: int | None
    version: str | None
    real_source: str


def _disk_usage(root: Path, entries: tuple[str, ...]) -> tuple[int, int]:
    files = size = 0
    for e in entries:
        top = root / e
        for p in [top] if top.is_file() else (top.rglob("*") if top.is_dir() else []):
            if p.is_file():
                files, size = files + 1, size + p.stat().st_size
    return files, size


def info(root: Path) -> list[DatasetInfo]:
    """What is under ``root``: for each known dataset, real or synthetic, how many files, size."""
    records = read_manifest(root)
    rows: list[DatasetInfo] = []
    for n in NAMES:
        spec, rec = get_spec(n), records.get(n)
        files, size = _disk_usage(root, spec.entries)
        kind = "synthetic" if rec else ("real (not in manifest)" if files else "absent")
        rows.append(DatasetInfo(n, spec.title, kind, root / spec.entries[0], files, size,
                                rec.seed if rec else None,
                                rec.generator_version if rec else None, spec.real_source))
    return rows
