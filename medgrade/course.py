"""The course directory: an nbgrader tree with ``source/``, ``release/``, ``submitted/``...

Every command works on a :class:`Course`, found from ``--course-dir`` or the current directory.
It knows where each stage of the data flow lives and which assignments exist.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from medgrade.errors import CourseError, UnknownAssignment

__all__ = ["Course", "kernel_env"]


@dataclass(frozen=True)
class Course:
    """Paths of one nbgrader course directory (layout in DESIGN.md)."""

    root: Path

    @classmethod
    def at(cls, root: str | Path | None = None) -> Course:
        """The course at ``root`` (default: the current directory); it must have ``source/``."""
        path = Path(root if root is not None else os.getcwd()).resolve()
        if not (path / "source").is_dir():
            raise CourseError(
                f"{path} is not a course directory: it has no source/ folder "
                "(run medgrade from the course root or pass --course-dir)"
            )
        return cls(path)

    @property
    def source(self) -> Path:
        return self.root / "source"

    @property
    def release(self) -> Path:
        return self.root / "release"

    @property
    def reference(self) -> Path:
        return self.root / "reference_solutions"

    @property
    def submitted(self) -> Path:
        return self.root / "submitted"

    @property
    def autograded(self) -> Path:
        return self.root / "autograded"

    @property
    def gradebook_dir(self) -> Path:
        return self.root / "gradebook"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.gradebook_dir / 'gradebook.db'}"

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
        """Students with a folder for ``assignment`` under ``submitted/``."""
        if not self.submitted.is_dir():
            return []
        return sorted(
            p.name for p in self.submitted.iterdir() if (p / assignment).is_dir()
        )


def kernel_env(*, profile: str, data_root: Path | None = None) -> dict[str, str]:
    """Environment for a grading kernel: this interpreter first on PATH, profile and data set.

    The ``python3`` kernelspec may launch ``python`` from PATH, so the interpreter that runs
    medgrade (and has torch and medgrade installed) must come first. Thread counts follow the
    profile: two kernels with two threads each on two cores run slower than with one each.
    """
    from medgrade.profiles import get_profile

    env = dict(os.environ)
    threads = str(get_profile(profile).threads)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = threads
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env["MEDGRADE_PROFILE"] = profile
    env["PYTHONHASHSEED"] = "0"
    if data_root is not None:
        env["MEDGRADE_DATA"] = str(data_root)
    return env
