"""Answer keys: the labels a metric test is judged against, and the kernel's view without them.

A hidden metric test names its answer key (``answers="pathmnist:test"``): the grader reads the
labels here, and the student's kernel, where the grader may mount over files, sees the same data
file with those labels replaced by zeros (same shape and type, so the real loaders still read it).
The kernel predicts on images it may see; only the grader compares the predictions with labels.

Keys: ``pathmnist:test`` (the ``test_labels`` of ``pathmnist.npz``, MedMNIST's on-disk format).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medgrade.errors import UsageError

__all__ = ["ANSWER_KEYS", "AnswerKey", "answer_labels", "withheld_view"]


@dataclass(frozen=True)
class AnswerKey:
    """Labels stored in one array of one ``.npz`` file of the data root."""

    file: str
    array: str

    def path(self, data_root: Path) -> Path:
        return Path(data_root) / self.file


ANSWER_KEYS: dict[str, AnswerKey] = {
    "pathmnist:test": AnswerKey("pathmnist.npz", "test_labels"),
}


def _key(answers: str) -> AnswerKey:
    try:
        return ANSWER_KEYS[answers]
    except KeyError:
        raise UsageError(f"unknown answer key {answers!r}; known: {', '.join(sorted(ANSWER_KEYS))}") from None


def answer_labels(data_root: str | os.PathLike[str] | None, answers: str, n: int,
                  positive: int | None = None) -> np.ndarray:
    """The first ``n`` labels of ``answers`` (1-D int64); with ``positive``, 1 where label == positive."""
    key = _key(answers)
    if data_root is None:
        raise UsageError(f"the labels of {answers} need a data root: set MEDGRADE_DATA or pass --data")
    path = key.path(Path(data_root))
    if not path.is_file():
        raise UsageError(f"{path} is missing (labels of {answers}): run `medgrade data generate`")
    with np.load(path) as npz:
        labels = np.asarray(npz[key.array])
    labels = labels.reshape(len(labels), -1)[:, 0].astype(np.int64)
    if n > len(labels):
        raise UsageError(f"{answers} has {len(labels)} labels; a test asked for {n}")
    labels = labels[:n]
    return (labels == positive).astype(np.int64) if positive is not None else labels


def _views_dir() -> Path:
    folder = Path(tempfile.gettempdir()) / "medgrade-views"
    folder.mkdir(mode=0o755, exist_ok=True)
    return folder


def withheld_view(data_root: str | os.PathLike[str], answers: str) -> tuple[Path, Path]:
    """``(file in the data root, copy of it with the labels of answers zeroed)``.

    The copy is made once per version of the file (its path, size and modification time) and
    replaced atomically, so parallel workers may ask at once; making it removes the copies of
    the file's older versions. It holds no secret.
    """
    key = _key(answers)
    real = key.path(Path(data_root)).resolve()
    st = real.stat()
    place = hashlib.sha256(f"{real}\0{answers}".encode()).hexdigest()[:12]
    version = hashlib.sha256(f"{st.st_size}\0{st.st_mtime_ns}".encode()).hexdigest()[:8]
    view = _views_dir() / f"{place}-{version}-{real.name}"
    if not view.is_file():
        for old in view.parent.glob(f"{place}-*-{real.name}"):
            if old != view:  # another worker may be writing this version right now
                old.unlink(missing_ok=True)  # a kernel that has it mounted keeps reading its copy
        with np.load(real) as npz:
            arrays = {name: np.asarray(npz[name]) for name in npz.files}
        arrays[key.array] = np.zeros_like(arrays[key.array])
        fd, tmp = tempfile.mkstemp(dir=view.parent, prefix=f".{view.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy types the names as its own kwargs
            os.chmod(tmp, 0o644)
            os.replace(tmp, view)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return real, view
