"""Ships the course's assignments inside the wheel (everything else is in pyproject.toml).

``medgrade quickstart`` starts a new course from ``source/``, ``release/`` and
``reference_solutions/`` of this repository; a wheel built here carries them as
``medgrade/_course/`` so a course needs no checkout. An editable install reads them from the
checkout instead (``medgrade.kit``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
COURSE_FILES = ("source", "release", "reference_solutions", "nbgrader_config.py", "constraints.txt")
SKIP = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc")


class BuildWithCourse(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        dest = Path(self.build_lib) / "medgrade" / "_course"
        if dest.exists():
            shutil.rmtree(dest)
        for name in COURSE_FILES:
            src = HERE / name
            if src.is_dir():
                shutil.copytree(src, dest / name, ignore=SKIP)
            elif src.is_file():
                dest.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest / name)
            else:
                raise FileNotFoundError(f"{src} is missing: the wheel would ship no {name}")


setup(cmdclass={"build_py": BuildWithCourse})
