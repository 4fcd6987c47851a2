"""A course's nbgrader settings, read the way nbgrader reads them.

nbgrader loads ``nbgrader_config.py`` (and ``.json``) from every Jupyter config folder (the
system's, the environment's, the user's ``~/.jupyter``), then from the folder it runs in, each
overriding the last, into its ``CourseDirectory``. medgrade does the same, so ``medgrade grade``
writes to the database ``nbgrader autograde`` writes to and looks in the folders it looks in.
medgrade runs nbgrader in the course folder, so relative paths (``root = "."``, a relative
SQLite file) are relative to it.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medgrade.errors import CourseError

__all__ = ["CONFIG_NAME", "CourseSettings", "load_settings", "sqlite_path"]

CONFIG_NAME = "nbgrader_config"
DEFAULT_STRUCTURE = os.path.join("{nbgrader_step}", "{student_id}", "{assignment_id}")


@dataclass(frozen=True)
class CourseSettings:
    """What medgrade needs of nbgrader's ``CourseDirectory`` (folders relative to ``root``)."""

    root: Path
    course_id: str
    source: str
    release: str
    submitted: str
    autograded: str
    feedback: str
    db_url: str  # a SQLite file as an absolute path
    ignore: tuple[str, ...]
    include: tuple[str, ...]
    max_file_size_kb: int
    student_id_exclude: tuple[str, ...]
    files: tuple[Path, ...]  # the configuration files read, lowest priority first

    def ignored(self, path: Path) -> bool:
        """True where nbgrader would not copy ``path``: ignored, not included, or too large."""
        name = path.name
        if any(fnmatch.fnmatch(name, glob) for glob in self.ignore):
            return True
        if path.is_file():
            if self.include and not any(fnmatch.fnmatch(name, glob) for glob in self.include):
                return True
            if self.max_file_size_kb and path.stat().st_size > 1000 * self.max_file_size_kb:
                return True
        return False


def _config_files(course_dir: Path) -> list[Path]:
    """Where nbgrader looks, lowest priority first: Jupyter's config path reversed, then the course."""
    from jupyter_core.paths import jupyter_config_path

    folders = [Path(p) for p in reversed(jupyter_config_path())] + [course_dir]
    return [f for d in folders for ext in (".py", ".json") if (f := d / f"{CONFIG_NAME}{ext}").is_file()]


def _read(files: list[Path]) -> Any:  # a traitlets Config
    from traitlets.config import Config
    from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader

    config = Config()
    for f in files:
        loader = PyFileConfigLoader if f.suffix == ".py" else JSONFileConfigLoader
        try:
            config.merge(loader(f.name, path=str(f.parent)).load_config())
        except Exception as e:  # a user's file: any error in it is theirs to fix
            raise CourseError(f"{f} could not be read ({type(e).__name__}: {e}); fix it, then run "
                              "`nbgrader generate_config` for an example of every setting") from e
    for outdated in ("NbGrader", "Exchange"):  # as nbgrader does, with its warning left out
        if "course_id" in config[outdated]:
            config.CourseDirectory.course_id = config[outdated].course_id
    return config


def sqlite_path(db_url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL (None for another database)."""
    prefix = "sqlite:///"
    return Path(db_url[len(prefix):]) if db_url.startswith(prefix) and len(db_url) > len(prefix) else None


def _absolute_db(db_url: str, cwd: Path) -> str:
    path = sqlite_path(db_url)
    if path is None or path.is_absolute():
        return db_url
    return f"sqlite:///{(cwd / path).resolve()}"


def load_settings(course_dir: Path) -> CourseSettings:
    """The settings nbgrader would use when run in ``course_dir``; a clear error for a broken file."""
    from nbgrader.coursedir import CourseDirectory

    files = _config_files(course_dir)
    config = _read(files)
    root_setting = config.CourseDirectory.get("root") if "root" in config.CourseDirectory else None
    root = (course_dir / str(root_setting)).resolve() if root_setting else course_dir.resolve()
    logging.getLogger("traitlets").disabled = True  # its warnings about whitespace in ids are nbgrader's to print
    try:
        cd = CourseDirectory(config=config, root=str(root))
    except Exception as e:
        where = ", ".join(str(f) for f in files) or "the defaults"
        raise CourseError(f"nbgrader rejected the course settings in {where} ({type(e).__name__}: {e})") from e
    finally:
        logging.getLogger("traitlets").disabled = False
    if cd.directory_structure != DEFAULT_STRUCTURE:
        raise CourseError(f"CourseDirectory.directory_structure is {cd.directory_structure!r}: medgrade grades "
                          f"nbgrader's default layout {DEFAULT_STRUCTURE!r} only; remove the setting")
    return CourseSettings(
        root=root, course_id=cd.course_id, source=cd.source_directory, release=cd.release_directory,
        submitted=cd.submitted_directory, autograded=cd.autograded_directory, feedback=cd.feedback_directory,
        db_url=_absolute_db(cd.db_url, course_dir.resolve()), ignore=tuple(cd.ignore), include=tuple(cd.include),
        max_file_size_kb=int(cd.max_file_size),
        student_id_exclude=tuple(s.strip() for s in cd.student_id_exclude.split(",") if s.strip()),
        files=tuple(files),
    )
