"""Building, verifying and describing datasets under a data root, atomically.

A dataset's writer fills a private staging folder ``<root>/.staging-<name>-<pid>-<rand>``; only
when it has finished are the files hashed and renamed into place, and only then is the dataset's
manifest record written. The record is dropped *before* the rename, so at every instant either
the record matches the files on disk or there is no record and :func:`verify` rejects the
dataset. An exception (or a kill) mid-write leaves at most a hidden staging folder, which no
loader reads and the next ``generate`` removes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medgrade.data.heldout import KEY_FILE, ensure_key, fingerprint, read_key
from medgrade.data.manifest import DatasetRecord, hash_tree, read_manifest, update_manifest
from medgrade.errors import DataError

__all__ = ["DatasetSpec", "BuildResult", "Problem", "build", "verify_dataset", "repair_hint"]

Writer = Callable[..., None]


@dataclass(frozen=True)
class DatasetSpec:
    """A stand-in: its CLI name, generator version, top-level entries under the root, writer."""

    name: str
    title: str
    version: str
    entries: tuple[str, ...]
    writer: Writer
    defaults: Mapping[str, Any]
    real_source: str
    heldout: bool = False  # has a held-out split drawn with the data root's key (medgrade.data.heldout)
    replaces: tuple[str, ...] = ()  # earlier names of this dataset: their generated files give way to it


@dataclass(frozen=True)
class BuildResult:
    """What ``generate`` did for one dataset: ``generated`` or ``up to date``."""

    name: str
    status: str
    path: Path
    files: int
    bytes: int
    seconds: float


@dataclass(frozen=True)
class Problem:
    """One reason a dataset fails verification; ``path`` is relative to the root."""

    dataset: str
    path: str
    reason: str

    def message(self) -> str:
        return f"{self.dataset}: {self.path}: {self.reason}; repair: {repair_hint(self.dataset)}"


def repair_hint(name: str) -> str:
    return f"medgrade data generate --dataset {name} --force"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_stages(root: Path, name: str) -> None:
    for stage in root.glob(f".staging-{name}-*"):
        parts = stage.name.split("-")
        if len(parts) >= 4 and parts[-2].isdigit() and not _pid_alive(int(parts[-2])):
            shutil.rmtree(stage, ignore_errors=True)


def _remove_replaced(root: Path, spec: DatasetSpec) -> None:
    """Delete what a dataset's earlier name generated (only the files its record lists) and the record."""
    records = read_manifest(root)
    for old in spec.replaces:
        if old not in records:
            continue
        for rel in records[old].files:
            (root / rel).unlink(missing_ok=True)
        for entry in records[old].entries:
            folders = sorted((p for p in (root / entry).rglob("*") if p.is_dir()), reverse=True)
            for folder in [*folders, root / entry]:
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
        update_manifest(root, old, None)


def _is_current(root: Path, spec: DatasetSpec, seed: int, params: dict[str, Any], key: bytes | None) -> bool:
    record = read_manifest(root).get(spec.name)
    if record is None or (record.generator_version, record.seed) != (spec.version, seed):
        return False
    if record.heldout != (fingerprint(key) if key is not None else None):
        return False
    return record.params == params and not verify_dataset(root, spec, record)


def _heldout_key(root: Path, spec: DatasetSpec, key: bytes | None, force: bool) -> bytes | None:
    """The key ``spec``'s held-out split is drawn with: ``key``, else the data root's (made if need be)."""
    if not spec.heldout:
        return None
    if key is not None:
        return key
    record = read_manifest(root).get(spec.name)
    if read_key(root) is None and record is not None and record.heldout and not force:
        raise DataError(
            f"{spec.name}: {root / KEY_FILE} is missing, and the held-out split under {root} was drawn with it "
            f"(fingerprint {record.heldout}). Restore the file from the machine the data was generated on, or "
            f"draw a new held-out split: {repair_hint(spec.name)} (grades of earlier runs then differ)")
    return ensure_key(root)


def _install(root: Path, stage: Path, entries: tuple[str, ...]) -> None:
    """Rename each staged entry over the live one (old copies go to the stage, then away)."""
    for entry in entries:
        target, staged = root / entry, stage / entry
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            os.replace(target, stage / f".old-{entry.replace('/', '_')}")
        os.replace(staged, target)


def build(
    root: Path, spec: DatasetSpec, *, seed: int, params: Mapping[str, Any], force: bool = False,
    key: bytes | None = None,
) -> BuildResult:
    """Write ``spec``'s dataset under ``root`` unless the manifest says it is up to date.

    A held-out split is drawn with ``key``, by default the data root's own (:mod:`medgrade.data.heldout`).
    """
    params = {**spec.defaults, **params}
    root.mkdir(parents=True, exist_ok=True)
    _remove_stale_stages(root, spec.name)
    t0 = time.perf_counter()
    key = _heldout_key(root, spec, key, force)
    _remove_replaced(root, spec)
    present = [e for e in spec.entries if (root / e).exists()]
    if not force and _is_current(root, spec, seed, params, key):
        record = read_manifest(root)[spec.name]
        return BuildResult(spec.name, "up to date", root / spec.entries[0], len(record.files),
                           record.total_bytes, time.perf_counter() - t0)
    if present and not force and spec.name not in read_manifest(root):
        raise DataError(
            f"{spec.name}: {root / present[0]} exists but was not written by medgrade "
            f"(real data?); leaving it alone. To replace it: {repair_hint(spec.name)}"
        )
    stage = Path(tempfile.mkdtemp(prefix=f".staging-{spec.name}-{os.getpid()}-", dir=root))
    try:
        spec.writer(stage, seed=seed, **params, **({"key": key} if key is not None else {}))
        files = hash_tree(stage, spec.entries)
        record = DatasetRecord(spec.name, spec.version, seed, params, spec.entries, files,
                               fingerprint(key) if key is not None else None)
        update_manifest(root, spec.name, None)
        _install(root, stage, spec.entries)
        update_manifest(root, spec.name, record)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return BuildResult(spec.name, "generated", root / spec.entries[0], len(files),
                       record.total_bytes, time.perf_counter() - t0)


def _listed(root: Path, entries: tuple[str, ...]) -> set[str]:
    out: set[str] = set()
    for entry in entries:
        top = root / entry
        if top.is_file():
            out.add(entry)
        elif top.is_dir():
            out.update(p.relative_to(root).as_posix() for p in top.rglob("*") if p.is_file())
    return out


def verify_dataset(root: Path, spec: DatasetSpec, record: DatasetRecord | None) -> list[Problem]:
    """Every missing, corrupted or unexpected file of one dataset (empty list: all good)."""
    if record is None:
        where = ", ".join(spec.entries)
        return [Problem(spec.name, where, "no manifest record (not generated, or interrupted)")]
    from medgrade.data.manifest import sha256_file

    problems: list[Problem] = []
    for rel, expected in sorted(record.files.items()):
        path = root / rel
        if not path.is_file():
            problems.append(Problem(spec.name, rel, "missing"))
        elif path.stat().st_size != expected.bytes or sha256_file(path) != expected.sha256:
            problems.append(Problem(spec.name, rel, "corrupted (sha256 differs from manifest)"))
    for rel in sorted(_listed(root, record.entries) - set(record.files)):
        problems.append(Problem(spec.name, rel, "unexpected file (not in manifest)"))
    key = read_key(root) if record.heldout else None
    if key is not None and fingerprint(key) != record.heldout:
        problems.append(Problem(spec.name, KEY_FILE, "the held-out split was drawn with another key than this one"))
    return problems


def remove_entries(root: Path, spec: DatasetSpec) -> None:
    """Delete a dataset's files and record (used by tests and ``--force`` clean-ups)."""
    update_manifest(root, spec.name, None)
    for entry in spec.entries:
        target = root / entry
        if target.is_dir():
            shutil.rmtree(target)
        else:
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
