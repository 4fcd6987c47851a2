"""Reading a file from a folder the kernel could write: no link followed, regular files only, capped.

The kernel owns its sandbox folder and can rewrite it while the grader reads (a background thread
survives the cell), so a file there may have been replaced by a symbolic link to a file only the
grader can read (another student's result, a key), by a FIFO that blocks a reader forever, or by
a file too large to hold. Each step from a grader-owned folder down is opened relative to the one
above with ``O_NOFOLLOW``; the file itself also with ``O_NONBLOCK``; then it must be a regular
file within the size cap, checked on the open descriptor (never on the path again).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

__all__ = ["Refused", "open_folders", "read_planted"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class Refused(LookupError):
    """The file cannot be read safely; ``reason`` says why, for a student's or a TA's message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@contextmanager
def open_folders(anchor: Path, parts: Sequence[str]) -> Iterator[int]:
    """A descriptor of ``anchor/parts...``: ``anchor`` is the grader's, each part opened without a link."""
    fds = [os.open(anchor, os.O_RDONLY | os.O_DIRECTORY)]
    try:
        for part in parts:
            fds.append(os.open(part, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW, dir_fd=fds[-1]))
        yield fds[-1]
    finally:
        for fd in fds:
            os.close(fd)


def read_planted(anchor: Path, parts: Sequence[str], name: str, *, max_bytes: int) -> bytes:
    """The bytes of ``anchor/parts.../name``; raises :class:`Refused` saying why it was not read."""
    try:
        with open_folders(anchor, parts) as folder:
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | _NOFOLLOW, dir_fd=folder)
            except FileNotFoundError:
                raise Refused("missing") from None
            except OSError:
                kind = "a link" if _is_link(folder, name) else "not readable"
                raise Refused(kind) from None
            with os.fdopen(fd, "rb") as f:
                info = os.fstat(f.fileno())
                if not stat.S_ISREG(info.st_mode):
                    raise Refused("not a regular file")
                if info.st_size > max_bytes:
                    raise Refused(f"larger than {_size(max_bytes)}")
                data = f.read(max_bytes + 1)
    except OSError:  # a folder on the way is missing, a link or not a folder
        raise Refused("missing") from None
    if len(data) > max_bytes:  # it grew while being read
        raise Refused(f"larger than {_size(max_bytes)}")
    return data


def _is_link(folder: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _size(n: int) -> str:
    return f"{n // 2**20} MB" if n >= 2**20 else f"{n} bytes"
