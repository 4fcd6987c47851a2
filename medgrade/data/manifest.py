"""The manifest: ``<root>/manifest.json`` records what medgrade wrote and how to check it.

Schema (``schema`` 1)::

    {"schema": 1,
     "datasets": {"mednist": {"generator_version": "1", "seed": 0,
                              "params": {"per_class": 1000},
                              "entries": ["MedNIST"],
                              "files": {"MedNIST/CXR/000000.jpeg":
                                        {"sha256": "...", "bytes": 1234}}}}}

A dataset with a held-out split also records ``"heldout"``: the fingerprint of the key it was
drawn with (:mod:`medgrade.data.heldout`), never the key.

A dataset is accepted only when its record exists and every listed file has the recorded hash.
The manifest is rewritten atomically (temp file + rename) under an advisory lock, so two
``generate`` runs on different datasets do not lose each other's records.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medgrade.errors import DataError

__all__ = [
    "MANIFEST_NAME",
    "SCHEMA",
    "FileRecord",
    "DatasetRecord",
    "sha256_file",
    "hash_tree",
    "read_manifest",
    "update_manifest",
]

MANIFEST_NAME = "manifest.json"
SCHEMA = 1
_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileRecord:
    """One file of a dataset: its content hash and size in bytes."""

    sha256: str
    bytes: int


@dataclass(frozen=True)
class DatasetRecord:
    """What one ``generate`` wrote: generator version, seed, parameters and every file."""

    name: str
    generator_version: str
    seed: int
    params: dict[str, Any]
    entries: tuple[str, ...]
    files: dict[str, FileRecord] = field(default_factory=dict)
    heldout: str | None = None  # fingerprint of the key its held-out split was drawn with; never the key

    @property
    def total_bytes(self) -> int:
        return sum(f.bytes for f in self.files.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "generator_version": self.generator_version,
            "seed": self.seed,
            "params": self.params,
            "entries": list(self.entries),
            "files": {k: {"sha256": v.sha256, "bytes": v.bytes} for k, v in self.files.items()},
            **({"heldout": self.heldout} if self.heldout else {}),
        }

    @classmethod
    def from_dict(cls, name: str, d: dict[str, Any]) -> DatasetRecord:
        files = {k: FileRecord(str(v["sha256"]), int(v["bytes"])) for k, v in d["files"].items()}
        return cls(
            name=name,
            generator_version=str(d["generator_version"]),
            seed=int(d["seed"]),
            params=dict(d.get("params", {})),
            entries=tuple(d.get("entries", [])),
            files=files,
            heldout=str(d["heldout"]) if d.get("heldout") else None,
        )


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def hash_tree(base: Path, entries: tuple[str, ...]) -> dict[str, FileRecord]:
    """Hash every regular file under ``base/<entry>``; keys are POSIX paths relative to ``base``."""
    out: dict[str, FileRecord] = {}
    for entry in entries:
        top = base / entry
        paths = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for p in paths:
            out[p.relative_to(base).as_posix()] = FileRecord(sha256_file(p), p.stat().st_size)
    return out


def _readable_mode() -> int:
    """0644 under the usual umask: what ``open(path, "w")`` would have given the file."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def read_manifest(root: Path) -> dict[str, DatasetRecord]:
    """The records in ``root/manifest.json``; empty when there is none."""
    path = root / MANIFEST_NAME
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text())
        if raw.get("schema") != SCHEMA:
            raise DataError(
                f"{path}: manifest schema {raw.get('schema')!r}, expected {SCHEMA}; "
                "repair: medgrade data generate --force"
            )
        return {n: DatasetRecord.from_dict(n, d) for n, d in raw["datasets"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise DataError(
            f"{path}: manifest is unreadable ({e}); repair: medgrade data generate --force"
        ) from e


@contextlib.contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an advisory lock on ``lock_file`` (made if missing) for the block: one process at a time."""
    with open(lock_file, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _locked(root: Path) -> contextlib.AbstractContextManager[None]:
    root.mkdir(parents=True, exist_ok=True)
    return exclusive(root / ".manifest.lock")


def _write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(payload, f, indent=1, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _readable_mode())  # mkstemp makes it 0600: other users' kernels read it too
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def update_manifest(root: Path, name: str, record: DatasetRecord | None) -> None:
    """Set (or with ``None`` drop) the record of dataset ``name``, atomically and under a lock."""
    with _locked(root):
        records = read_manifest(root)
        if record is None:
            records.pop(name, None)
        else:
            records[name] = record
        payload = {
            "schema": SCHEMA,
            "datasets": {n: r.to_dict() for n, r in sorted(records.items())},
        }
        _write_json_atomic(root / MANIFEST_NAME, payload)
