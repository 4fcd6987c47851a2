"""The held-out key: what makes a stand-in's held-out split impossible to regenerate in the kernel.

The stand-ins are drawn from public code, so a kernel that knows the generator and the seed
could draw the held-out split again, labels included. The held-out split of each stand-in with
answers the grader judges (PathMNIST's test split, the WMH test cases) is therefore drawn from
the seed *and* a 32-byte key: ``medgrade data generate`` creates ``<root>/.heldout-key`` (0600,
its owner only) once per data root and keeps it there; the training and validation splits
depend on the seed alone, so every course trains on the same data. The manifest, which kernels
read, records only the key's fingerprint (a one-way hash): enough to tell that a split was
drawn with another key, nothing that rebuilds it.

The grader needs the key only to generate: judging reads the answers from the files. Inside the
sandbox the key file reads empty (:func:`kernel_masks`). Copy the key with the data to another
grading machine; never give it to students.

Calibration draws its own held-out splits: seed ``k`` of ``calibrate`` (and seed 0 of
``validate``) grades on :func:`calibration_root`, a copy of the data root whose held-out splits
are redrawn from the public key of that seed. Thresholds then hold across held-out samples, and
the records do not depend on any course's secret.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from collections.abc import Collection
from pathlib import Path

from medgrade.data.manifest import exclusive
from medgrade.errors import DataError
from medgrade.scratch import private_dir

__all__ = ["KEY_FILE", "key_words", "fingerprint", "read_key", "ensure_key", "calibration_key",
           "calibration_root", "kernel_masks"]

KEY_FILE = ".heldout-key"
KEY_BYTES = 32


def key_words(key: bytes) -> list[int]:
    """Eight 32-bit words of the key, appended to a held-out split's ``default_rng`` seed."""
    digest = hashlib.sha256(b"medgrade held-out split\0" + key).digest()
    return [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 32, 4)]


def fingerprint(key: bytes) -> str:
    """What the manifest records of the key: a hash in another domain than :func:`key_words`."""
    return hashlib.sha256(b"medgrade held-out fingerprint\0" + key).hexdigest()[:16]


def read_key(root: Path) -> bytes | None:
    """The data root's key, or None where it has none."""
    path = root / KEY_FILE
    if not path.exists():
        return None
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise DataError(f"{path} holds {len(key)} bytes, not a {KEY_BYTES}-byte held-out key; restore it from "
                        "the grading machine it came from, or remove it and run medgrade data generate --force")
    return key


def ensure_key(root: Path) -> bytes:
    """The data root's key, created (random, 0600) when there is none."""
    key = read_key(root)
    if key is not None:
        return key
    root.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    fd = os.open(root / KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


def calibration_key(seed: int) -> bytes:
    """The public key of calibration seed ``seed``: never a course's, so never a secret."""
    return hashlib.sha256(f"medgrade calibration held-out split {seed}".encode()).digest()


def kernel_masks(data_root: str | os.PathLike[str] | None) -> tuple[tuple[Path, Path], ...]:
    """``(key file, empty file)`` for the sandbox to bind over the key, where the data root has one."""
    if data_root is None or not (Path(data_root) / KEY_FILE).exists():
        return ()
    empty = private_dir("views") / "empty"
    if not empty.is_file() or empty.stat().st_size:
        empty.write_bytes(b"")
    os.chmod(empty, 0o644)
    return (((Path(data_root) / KEY_FILE).resolve(), empty),)


def _link_tree(source: Path, target: Path) -> None:
    """``target`` holding ``source``'s files: hard links where one file system holds both, else copies."""
    if source.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)
        return
    for path in sorted(source.rglob("*")):
        if path.is_file():
            _link_tree(path, target / path.relative_to(source))


def _shared_folder(root: Path, stamp: str, seed: int) -> Path:
    """The cached copy of ``root`` for ``seed``, named by the data's version: a regenerated root gets a new one."""
    place = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]
    return private_dir("calibration-data") / f"{place}-{stamp[:12]}-seed-{seed}"


def calibration_root(root: Path | None, seed: int, into: Path | None = None,
                     only: Collection[str] | None = None) -> Path | None:
    """``root`` with its held-out splits redrawn from :func:`calibration_key` of ``seed``.

    Made in ``into`` (the caller removes it), else in a cache shared by every run of this user on
    this data: one folder per data root, version of its data and seed, made once under a lock and
    never changed, so two validations or calibrations at once share it safely; making one removes
    the copies of the root's older data versions. A root without generated held-out splits (none
    at all, or real data) is returned as it is. With ``only`` (dataset names), a copy made in
    ``into`` holds just those: what one assignment reads.
    """
    from medgrade.data.catalog import NAMES, get_spec
    from medgrade.data.manifest import MANIFEST_NAME, read_manifest, update_manifest
    from medgrade.data.store import build

    records = read_manifest(root) if root is not None else {}
    if root is None or not any(get_spec(n).heldout for n in records):
        return root
    stamp = hashlib.sha256((root / MANIFEST_NAME).read_bytes() + f"\0{seed}".encode()).hexdigest()
    folder = into if into is not None else _shared_folder(root, stamp, seed)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(folder.parent / ".lock"):
        if (folder / ".stamp").is_file() and (folder / ".stamp").read_text() == stamp:
            return folder
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(mode=0o755)
        os.chmod(folder, 0o755)  # a root grader's kernels, dropped to another uid, list it
        for name in NAMES if into is None or only is None else [n for n in NAMES if n in only]:
            spec, record = get_spec(name), records.get(name)
            if record is not None and spec.heldout:
                build(folder, spec, seed=record.seed, params=record.params, key=calibration_key(seed), force=True)
                continue
            for entry in spec.entries:  # as it is: generated without a held-out split, or real data
                if (root / entry).exists():
                    _link_tree(root / entry, folder / entry)
            if record is not None:
                update_manifest(folder, name, record)
        (folder / ".stamp").write_text(stamp)
        if into is None:
            for old in folder.parent.glob(folder.name.replace(stamp[:12], "*")):
                if old != folder:
                    shutil.rmtree(old, ignore_errors=True)
    return folder
