"""Full logs of what failed, written where a user can find them; the terminal gets one line.

A traceback or a page of nbgrader's output helps whoever debugs medgrade, not a TA grading a
class: it goes to a file under the log folder, and the message names that file.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from medgrade import envvars

__all__ = ["log_dir", "write_log", "unexpected_error"]



def log_dir() -> Path:
    """``$MEDGRADE_LOG_DIR``, else ``$XDG_CACHE_HOME/medgrade/logs`` (``~/.cache``), else a temp folder."""
    given = os.environ.get(envvars.LOG_DIR)
    if given:
        return Path(given)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "medgrade" / "logs"


def write_log(kind: str, text: str) -> Path:
    """Write ``text`` to a new file named after ``kind`` and the time; return its path."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for folder in (log_dir(), Path(tempfile.gettempdir()) / "medgrade-logs"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f"{kind}-{stamp}-", suffix=".log", dir=folder)
        except OSError:
            continue
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return Path(name)
    raise OSError(f"no folder to write the {kind} log to: {log_dir()} and the temp folder refused")


def _origin(error: BaseException) -> str:
    """``file:line`` of the innermost frame, shortened to the package it is in."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "an unknown place"
    frame = frames[-1]
    parts = Path(frame.filename).parts
    anchor = max((i for i, p in enumerate(parts) if p in ("site-packages", "medgrade")), default=None)
    short = "/".join(parts[anchor + 1 if parts[anchor] == "site-packages" else anchor:]) if anchor is not None \
        else frame.filename
    return f"{short}:{frame.lineno}"


def unexpected_error(headline: str, error: BaseException) -> str:
    """Write the whole story to a log; return the one line a user reads: ``medgrade: HEADLINE: ERROR ...``."""
    from medgrade import __version__

    story = (f"$ {' '.join(sys.argv)}\ncwd: {os.getcwd()}\nmedgrade {__version__}, Python {sys.version.split()[0]} "
             f"at {sys.executable}\n\n" + "".join(traceback.format_exception(error)))
    log = write_log("medgrade", story)
    what = " ".join(f"{type(error).__name__}: {error}".split())
    if len(what) > 300:
        what = what[:297] + "..."
    return f"medgrade: {headline}: {what} (at {_origin(error)}); the full log is in {log}"
