"""Copies of a data root with their held-out splits redrawn, for validation and calibration.

Grading judges against the root's own private key; a calibration seed draws the split again from
:func:`medgrade.data.heldout.calibration_key`, so thresholds hold across splits, not one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Collection
from pathlib import Path

from medgrade.data.catalog import NAMES, get_spec
from medgrade.data.heldout import calibration_key
from medgrade.data.manifest import MANIFEST_NAME, exclusive, read_manifest, update_manifest
from medgrade.data.store import build
from medgrade.scratch import private_dir

__all__ = ["calibration_root"]


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
