"""The grader's scratch folders: one tree per user, so two TAs on one machine never collide."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from medgrade.errors import UsageError

__all__ = ["private_dir"]


def private_dir(name: str) -> Path:
    """``<tmp>/medgrade-<uid>/<name>``, made if missing; only this user may list or write it.

    The top folder may be traversed by others (0711): a root grader's kernels, dropped to
    another uid, reach what is staged for them under it, and nothing else.
    """
    top = Path(tempfile.gettempdir()) / f"medgrade-{os.getuid()}"
    top.mkdir(mode=0o711, exist_ok=True)
    if top.is_symlink() or top.stat().st_uid != os.getuid():
        raise UsageError(f"{top} belongs to another user: remove it, or set TMPDIR to a folder of yours")
    folder = top / name
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder
