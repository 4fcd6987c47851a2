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
``validate``) grades on :func:`medgrade.data.calibration.calibration_root`, a copy of the data
root whose held-out splits are redrawn from :func:`calibration_key` of that seed. Thresholds then
hold across held-out samples, and the records do not depend on any course's secret.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from medgrade.errors import DataError
from medgrade.scratch import private_dir

__all__ = ["KEY_FILE", "key_words", "stream_words", "fingerprint", "read_key", "ensure_key", "calibration_key",
           "kernel_masks"]

KEY_FILE = ".heldout-key"
KEY_BYTES = 32


def key_words(key: bytes) -> list[int]:
    """Eight 32-bit words of the key, appended to a held-out split's ``default_rng`` seed."""
    digest = hashlib.sha256(b"medgrade held-out split\0" + key).digest()
    return [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 32, 4)]


def stream_words(seed: int, splits: Iterable[str], split: str, k: int, key: bytes, heldout: str) -> list[int]:
    """The ``default_rng`` seed of stream ``k`` of ``split``: ``[seed, index of split, k]``, plus the key's words.

    Only the ``heldout`` split takes the key's words: the others stay drawable from the seed alone.
    """
    words = [seed, list(splits).index(split), k]
    return words + key_words(key) if split == heldout else words


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
