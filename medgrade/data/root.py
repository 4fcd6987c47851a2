"""Where the datasets live: one data root, chosen the same way by the library and the CLI.

Order of precedence: an explicit ``root`` (``--root DIR`` on the command line), then the
``MEDGRADE_DATA`` environment variable, then ``data/`` in the current folder when it holds
medgrade's ``manifest.json`` (a course keeping its data beside it, as ``make`` does in medgrade's
repository: a fresh shell there finds what ``make demo`` generated), then the default
``$XDG_CACHE_HOME/medgrade/data`` (``~/.cache/medgrade/data`` when ``XDG_CACHE_HOME`` is unset
or empty). Point any of them at a
folder holding the real datasets and the same notebooks use those instead of the stand-ins.
"""

from __future__ import annotations

import os
from pathlib import Path

from medgrade import envvars

__all__ = ["LOCAL", "default_root", "resolve_root", "present_root"]

LOCAL = Path("data")  # a course's own data root, relative to the folder medgrade runs in


def default_root() -> Path:
    """The documented default, ``$XDG_CACHE_HOME/medgrade/data`` or ``~/.cache/medgrade/data``."""
    cache = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(cache).expanduser() if cache else Path.home() / ".cache"
    return base / "medgrade" / "data"


def resolve_root(root: str | Path | None = None) -> Path:
    """The data root: ``root`` if given, else ``$MEDGRADE_DATA``, else ``./data`` holding a manifest,
    else :func:`default_root`.

    The path is expanded (``~``) and made absolute; it is not created here.
    """
    if root is not None and str(root).strip():
        chosen = Path(root)
    elif os.environ.get(envvars.DATA, "").strip():
        chosen = Path(os.environ[envvars.DATA])
    elif (LOCAL / "manifest.json").is_file():
        chosen = LOCAL
    else:
        chosen = default_root()
    return chosen.expanduser().absolute()


def present_root(root: str | Path | None = None) -> Path | None:
    """:func:`resolve_root` where that folder exists, links resolved, else None.

    For grading: a course that reads no data grades without one, and the kernel's sandbox binds
    the data at its real path (a link to it, such as a course's ``data`` pointing at a shared
    folder, would lead nowhere inside the sandbox).
    """
    chosen = resolve_root(root)
    return chosen.resolve() if chosen.is_dir() else None
