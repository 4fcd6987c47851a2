"""The course directory: an nbgrader tree with ``source/``, ``release/``, ``submitted/``...

Every command works on a :class:`Course`, found from ``--course-dir`` or the current directory.
It knows where each stage of the data flow lives and which assignments exist.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medgrade import envvars
from medgrade.course_settings import CourseSettings, load_settings, sqlite_path
from medgrade.errors import CourseError, UnknownAssignment

if TYPE_CHECKING:
    from nbgrader.api import Gradebook

__all__ = ["Course", "kernel_env", "read_yaml"]


@dataclass(frozen=True)
class Course:
    """Paths of one nbgrader course directory (layout in DESIGN.md), named by its nbgrader settings.

    ``source/``, ``release/``, ``submitted/``, ``autograded/`` and the gradebook database are
    wherever the course's ``nbgrader_config.py`` puts them (:mod:`medgrade.course_settings`);
    ``gradebook/`` holds what is medgrade's own (result JSON, integrity reports, exports, feedback).
    """

    root: Path

    @classmethod
    def at(cls, root: str | Path | None = None) -> Course:
        """The course at ``root`` (default: the current directory); it must have a source folder."""
        path = Path(root if root is not None else os.getcwd()).resolve()
        settings = load_settings(path)
        course = cls(settings.root)
        course.__dict__["settings"] = settings  # read once (functools.cached_property's own slot)
        if not course.source.is_dir():
            raise CourseError(
                f"{course.root} is not a course directory: it has no {settings.source}/ folder "
                "(run medgrade from the course root or pass --course-dir; "
                "`medgrade quickstart DIR` starts a new course)"
            )
        return course

    @functools.cached_property
    def settings(self) -> CourseSettings:
        """The course's nbgrader settings, read from its configuration files once."""
        return load_settings(self.root)

    @property
    def source(self) -> Path:
        return self.root / self.settings.source

    @property
    def release(self) -> Path:
        return self.root / self.settings.release

    @property
    def reference(self) -> Path:
        return self.root / "reference_solutions"

    @property
    def submitted(self) -> Path:
        return self.root / self.settings.submitted

    @property
    def autograded(self) -> Path:
        return self.root / self.settings.autograded

    @property
    def gradebook_dir(self) -> Path:
        """medgrade's own records: ``results/``, ``integrity/``, ``exports/``, ``feedback/``."""
        return self.root / "gradebook"

    @property
    def db_url(self) -> str:
        """The gradebook database nbgrader uses for this course (``CourseDirectory.db_url``)."""
        return self.settings.db_url

    @property
    def db_path(self) -> Path | None:
        """The gradebook's SQLite file, or None for another database."""
        return sqlite_path(self.db_url)

    def ensure_db_folder(self) -> None:
        """Create the SQLite file's folder: nbgrader cannot ("unable to open database file")."""
        if self.db_path is not None:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def gradebook(self) -> Iterator[Gradebook]:
        """nbgrader's ``Gradebook`` on this course's database, as nbgrader opens it (course id too)."""
        from nbgrader.api import Gradebook

        from medgrade.nbgrader_cli import put_tools_on_path

        put_tools_on_path()  # a new database runs `alembic` from PATH
        self.ensure_db_folder()
        with Gradebook(self.db_url, self.settings.course_id) as gb:
            yield gb

    def aux_files(self, assignment: str) -> list[Path]:
        """The release's files besides its notebooks that a kernel gets, less what nbgrader ignores."""
        folder = self.release / assignment
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir()
                      if p.is_file() and p.suffix != ".ipynb" and not self.settings.ignored(p))

    def assignments(self) -> list[str]:
        """Assignment ids: the folders of ``source/`` that hold at least one notebook."""
        return sorted(
            p.name for p in self.source.iterdir() if p.is_dir() and any(p.glob("*.ipynb"))
        )

    def require(self, assignment: str) -> str:
        """Return ``assignment`` if the course has it, else raise :class:`UnknownAssignment`."""
        known = self.assignments()
        if assignment not in known:
            raise UnknownAssignment(assignment, known)
        return assignment

    def source_notebooks(self, assignment: str) -> list[Path]:
        return sorted((self.source / self.require(assignment)).glob("*.ipynb"))

    def students(self, assignment: str) -> list[str]:
        """Students with a folder for ``assignment`` under ``submitted/`` (less nbgrader's excluded ids)."""
        if not self.submitted.is_dir():
            return []
        excluded = set(self.settings.student_id_exclude)
        return sorted(
            p.name for p in self.submitted.iterdir() if (p / assignment).is_dir() and p.name not in excluded
        )


def kernel_env(*, profile: str, data_root: Path | None = None) -> dict[str, str]:
    """Environment for a kernel nbgrader or a reference run starts: this interpreter first on PATH, profile
    and data root set.

    The ``python3`` kernelspec may launch ``python`` from PATH, so the interpreter that runs
    medgrade (and has torch and medgrade installed) must come first. Thread counts follow the
    profile: two kernels with two threads each on two cores run slower than with one each.
    """
    from medgrade.data.root import resolve_root
    from medgrade.profiles import get_profile

    env = dict(os.environ)
    threads = str(get_profile(profile).threads)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = threads
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env[envvars.PROFILE] = profile
    env["PYTHONHASHSEED"] = "0"
    # The grader's data root, whichever way it was found: the kernel runs in another folder, where
    # a course's own data/ would not be found.
    env[envvars.DATA] = str(data_root if data_root is not None else resolve_root())
    return env


def read_yaml(path: Path, where: str) -> Any:
    """An author's YAML file (a mutant, an alternative, a rubric); invalid YAML is refused naming ``where``."""
    import yaml

    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise CourseError(f"{where}: not valid YAML: {e}") from e
