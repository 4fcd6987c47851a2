"""Answer keys: what a metric test is judged against, and the kernel's view of the data without it.

A hidden metric test names its answer key (``answers="pathmnist:test"``): the grader reads the
answers here. A sandboxed kernel, in every assignment (one that judges nothing could still print
the labels into the feedback its student reads), sees the same data files without the answers:
class labels shuffled by a secret permutation (the class counts stay true, so exploring the split
still works, but no item keeps its label), masks replaced by zeros; same shape, type and header,
so the real loaders still read them. The kernel predicts on images it may see; only the grader
compares the predictions with the answers.

Keys:

- ``pathmnist:test``: class labels, the ``test_labels`` of ``pathmnist.npz`` (MedMNIST's format);
- ``pneumoniamnist:test``: the ``test_labels`` of ``pneumoniamnist.npz`` (1 is pneumonia);
- ``mura:test``: study labels, the second column of ``MURA-v1.1/test_labeled_studies.csv`` in row
  order (1 is abnormal); the kernel's copy keeps every row's study folder, its labels shuffled;
- ``wmh:test``: lesion masks, the ``wmh.nii.gz`` of each case of ``WMH/test`` in case order
  (1 is lesion; voxels labelled 2, other pathology, are not scored).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from medgrade.data.manifest import exclusive
from medgrade.errors import UsageError
from medgrade.scratch import private_dir

__all__ = ["ANSWER_KEYS", "Answer", "LabelArray", "MaskVolumes", "StudyLabels", "load_answer", "answer_labels",
           "withheld_view", "present_keys"]


@dataclass(frozen=True)
class Answer:
    """What predictions are judged against: ``truth``, and for masks the voxels not scored."""

    truth: np.ndarray  # labels (n,) int64, or masks (n, 1, *spatial) uint8
    ignore: np.ndarray | None = None  # masks only: True where a voxel is not scored


@dataclass(frozen=True)
class LabelArray:
    """Class labels stored in one array of one ``.npz`` file of the data root."""

    file: str
    array: str
    kind: Literal["labels"] = "labels"

    def files(self, data_root: Path) -> list[Path]:
        return [data_root / self.file]

    def load(self, data_root: Path, answers: str, n: int, positive: int | None) -> Answer:
        (path,) = _present(self.files(data_root), answers)
        with np.load(path) as npz:
            labels = np.asarray(npz[self.array])
        return _label_answer(labels.reshape(len(labels), -1)[:, 0].astype(np.int64), n, answers, positive)

    def blank(self, real: Path, out: Path) -> None:
        with np.load(real) as npz:
            arrays = {name: np.asarray(npz[name]) for name in npz.files}
        rng = np.random.default_rng(secrets.randbits(128))  # drawn afresh, kept nowhere
        arrays[self.array] = arrays[self.array][rng.permutation(len(arrays[self.array]))]
        with out.open("wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy types the names as its own kwargs


@dataclass(frozen=True)
class MaskVolumes:
    """One NIfTI label volume per case folder (``<folder>/<case>/<name>``), cases in sorted order."""

    folder: str
    name: str
    target: int
    ignored: int | None = None
    kind: Literal["masks"] = "masks"

    def files(self, data_root: Path) -> list[Path]:
        top = data_root / self.folder
        return sorted(case / self.name for case in top.iterdir() if case.is_dir()) if top.is_dir() else []

    def load(self, data_root: Path, answers: str, n: int, positive: int | None) -> Answer:
        import nibabel as nib

        if positive is not None:
            raise UsageError(f"{answers} holds masks: positive= is for class labels")
        paths = _present(self.files(data_root), answers)
        _enough(len(paths), n, answers)
        paths = paths[:n]
        labels = np.stack([np.asarray(nib.Nifti1Image.from_filename(p).dataobj) for p in paths])[:, None]
        ignore = labels == self.ignored if self.ignored is not None else None
        return Answer((labels == self.target).astype(np.uint8), ignore)

    def blank(self, real: Path, out: Path) -> None:
        import nibabel as nib

        img = nib.Nifti1Image.from_filename(real)
        zeros = np.zeros(img.shape, dtype=img.get_data_dtype())
        nib.save(nib.Nifti1Image(zeros, img.affine, img.header), out)


@dataclass(frozen=True)
class StudyLabels:
    """0/1 labels in the second column of a headerless two-column CSV (MURA's ``*_labeled_studies.csv``)."""

    file: str
    kind: Literal["labels"] = "labels"

    def files(self, data_root: Path) -> list[Path]:
        return [data_root / self.file]

    def load(self, data_root: Path, answers: str, n: int, positive: int | None) -> Answer:
        (path,) = _present(self.files(data_root), answers)
        return _label_answer(np.array(_study_rows(path)[1], dtype=np.int64), n, answers, positive)

    def blank(self, real: Path, out: Path) -> None:
        folders, labels = _study_rows(real)
        rng = np.random.default_rng(secrets.randbits(128))  # drawn afresh, kept nowhere
        shuffled = [labels[i] for i in rng.permutation(len(labels))]
        out.write_text("".join(f"{f},{y}\n" for f, y in zip(folders, shuffled, strict=True)))


def _study_rows(path: Path) -> tuple[list[str], list[int]]:
    """The study folders and labels of a ``<folder>,<0 or 1>`` CSV, in row order."""
    folders, labels = [], []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        folder, _, label = line.rpartition(",")
        if not folder or label not in ("0", "1"):
            raise UsageError(f"{path}, line {number}: expected '<study folder>,<0 or 1>', got {line[:80]!r}; "
                             "regenerate it: medgrade data generate --force")
        folders.append(folder)
        labels.append(int(label))
    return folders, labels


AnswerKey = LabelArray | MaskVolumes | StudyLabels

ANSWER_KEYS: dict[str, AnswerKey] = {
    "pathmnist:test": LabelArray("pathmnist.npz", "test_labels"),
    "pneumoniamnist:test": LabelArray("pneumoniamnist.npz", "test_labels"),
    "mura:test": StudyLabels("MURA-v1.1/test_labeled_studies.csv"),
    "wmh:test": MaskVolumes("WMH/test", "wmh.nii.gz", target=1, ignored=2),
}


def _key(answers: str) -> AnswerKey:
    try:
        return ANSWER_KEYS[answers]
    except KeyError:
        raise UsageError(f"unknown answer key {answers!r}; known: {', '.join(sorted(ANSWER_KEYS))}") from None


def _present(paths: list[Path], answers: str) -> list[Path]:
    missing = [p for p in paths if not p.is_file()]
    if not paths or missing:
        where = missing[0] if missing else "its files"
        raise UsageError(f"{where} is missing (answers of {answers}): run `medgrade data generate`")
    return paths


def _enough(count: int, n: int, answers: str) -> None:
    if n > count:
        raise UsageError(f"{answers} has {count} answers; a test asked for {n}")


def _label_answer(labels: np.ndarray, n: int, answers: str, positive: int | None) -> Answer:
    """The first ``n`` of ``labels`` (int64); with ``positive``, 1 where a label is ``positive``."""
    _enough(len(labels), n, answers)
    labels = labels[:n]
    return Answer((labels == positive).astype(np.int64) if positive is not None else labels)


def load_answer(data_root: str | os.PathLike[str] | None, answers: str, n: int,
                positive: int | None = None) -> Answer:
    """The first ``n`` answers of ``answers``; with ``positive``, labels are 1 where label == positive."""
    key = _key(answers)
    if data_root is None:
        raise UsageError(f"the answers of {answers} need a data root: set MEDGRADE_DATA or pass --data")
    return key.load(Path(data_root), answers, n, positive)


def answer_labels(data_root: str | os.PathLike[str] | None, answers: str, n: int,
                  positive: int | None = None) -> np.ndarray:
    """The first ``n`` answers of ``answers`` without the ignored voxels (labels: 1-D int64)."""
    return load_answer(data_root, answers, n, positive).truth


def _views_dir() -> Path:
    return private_dir("views")  # per grader user; a root grader stages the copies for its kernels


_LEGACY = re.compile(r"[0-9a-f]{12}-[0-9a-f]{8}-")  # views kept flat by earlier versions


def _prune_views(views: Path) -> None:
    """Remove the views of files that are gone (a calibration's per-seed data, a deleted data root).

    Each view is 250 MB for PathMNIST: without this, every data root ever graded keeps one.
    """
    for entry in views.iterdir():
        if entry.is_dir():
            source = entry / "source"
            if source.is_file() and not Path(source.read_text()).exists():
                shutil.rmtree(entry, ignore_errors=True)
        elif _LEGACY.match(entry.name):
            entry.unlink(missing_ok=True)


def _view(key: AnswerKey, real: Path, answers: str) -> Path:
    """The copy of ``real`` without its answers, made once per version of the file.

    Views live in one folder per file (``views/<place>/``, with the file's path in ``source``).
    """
    st = real.stat()
    place = hashlib.sha256(f"{real}\0{answers}".encode()).hexdigest()[:12]
    version = hashlib.sha256(f"{st.st_size}\0{st.st_mtime_ns}".encode()).hexdigest()[:8]
    folder = _views_dir() / place
    folder.mkdir(exist_ok=True)
    if not (folder / "source").is_file():
        (folder / "source").write_text(str(real))
    view = folder / f"{version}-{real.name}"
    # One writer per file: a second worker replacing a view the first has already mounted would
    # leave the first kernel's mount pointing at a deleted file, which bubblewrap cannot bind.
    with exclusive(folder / ".lock"):
        if view.is_file():
            return view
        for old in folder.glob(f"*-{real.name}"):
            old.unlink(missing_ok=True)  # an older version: a kernel that has it mounted keeps its copy
        # the temporary name keeps the file's suffixes: nibabel picks the format (and gzip) from them
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{view.name}.", suffix=f".tmp-{real.name}")
        os.close(fd)
        try:
            key.blank(real, Path(tmp))
            os.chmod(tmp, 0o644)
            os.replace(tmp, view)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return view


def present_keys(data_root: str | os.PathLike[str]) -> list[str]:
    """The answer keys whose files are all in ``data_root`` (what every sandbox withholds)."""
    found = []
    for name, key in sorted(ANSWER_KEYS.items()):
        paths = key.files(Path(data_root))
        if paths and all(p.is_file() for p in paths):
            found.append(name)
    return found


def withheld_view(data_root: str | os.PathLike[str], answers: str) -> tuple[tuple[Path, Path], ...]:
    """``(file in the data root, copy of it without the answers)`` for each file holding ``answers``.

    Labels are shuffled (their counts kept), masks zeroed. Each copy is made once per version of
    its file (path, size and modification time) and replaced atomically, so parallel workers may
    ask at once; making it removes the copies of the file's older versions. A copy holds no
    secret: the class counts are public (``CLASS_COUNTS``).
    """
    key = _key(answers)
    reals = [p.resolve() for p in _present(key.files(Path(data_root)), answers)]
    _prune_views(_views_dir())
    return tuple((real, _view(key, real, answers)) for real in reals)
