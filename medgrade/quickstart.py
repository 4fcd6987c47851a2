"""``medgrade quickstart DIR``: a new nbgrader course directory with the kit's assignments.

The course gets, per chosen assignment, the instructor's source (hidden tests, mutants), the
student release, the reference solution with its calibration record; then the nbgrader settings
(the kit's, with the new course id), the pinned versions, a ``.gitignore`` that keeps student
data out of version control, and a README whose commands run as written from any shell.
"""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from medgrade import __version__
from medgrade.errors import UsageError
from medgrade.kit import checkout_root, datasets_for, kit_root

__all__ = ["NewCourse", "create_course", "medgrade_command"]

STAGES = ("source", "release", "reference_solutions")
SKIP = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc")

GITIGNORE = """\
# Student data and grading output are never committed.
submitted/*
autograded/*
gradebook/*
.ipynb_checkpoints/
"""


@dataclass(frozen=True)
class NewCourse:
    root: Path
    course_id: str
    assignments: tuple[str, ...]
    datasets: tuple[str, ...]
    readme: Path


def medgrade_command() -> str:
    """How to run this medgrade from any shell: its console script's absolute path."""
    script = Path(sys.executable).parent / "medgrade"
    return str(script) if script.is_file() else f"{sys.executable} -m medgrade.cli.entry"


def _check_destination(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise UsageError(f"{dest} exists and is not empty: give quickstart a new folder")
    checkout = checkout_root()
    if checkout is not None and dest.is_relative_to(checkout):
        raise UsageError(f"{dest} is inside medgrade's own repository ({checkout}), which is a course already: "
                         "give quickstart a folder outside it")


def _config(course_id: str) -> str:
    """The kit's nbgrader settings with the new course's id."""
    text = (kit_root() / "nbgrader_config.py").read_text()
    text, n = re.subn(r"^c\.CourseDirectory\.course_id = .*$", f"c.CourseDirectory.course_id = {course_id!r}",
                      text, flags=re.M)
    if n != 1:
        text += f"\nc.CourseDirectory.course_id = {course_id!r}\n"
    return text.replace("for this course directory.", f"for the course {course_id}, made by `medgrade quickstart`.",
                        1)


def create_course(dest: Path, assignments: list[str], *, course_id: str | None = None) -> NewCourse:
    """Write the course at ``dest`` (a new or empty folder outside medgrade's repository)."""
    dest = dest.expanduser().absolute()
    _check_destination(dest)
    course_id = course_id or dest.name
    kit = kit_root()
    for stage in STAGES:
        for a in assignments:
            if (kit / stage / a).is_dir():
                shutil.copytree(kit / stage / a, dest / stage / a, ignore=SKIP)
    for folder in ("submitted", "autograded", "gradebook"):
        (dest / folder).mkdir(parents=True, exist_ok=True)
    (dest / "nbgrader_config.py").write_text(_config(course_id))
    shutil.copy2(kit / "constraints.txt", dest / "constraints.txt")
    (dest / ".gitignore").write_text(GITIGNORE)
    datasets = datasets_for(assignments)
    readme = dest / "README.md"
    readme.write_text(course_readme(course_id, assignments, datasets, medgrade_command()))
    return NewCourse(dest, course_id, tuple(assignments), tuple(datasets), readme)


def _points(source: Path) -> float:
    from medgrade.intake.cells import grade_cells

    return sum(p for nb in sorted(source.glob("*.ipynb")) for _, p in grade_cells(nb))


def course_readme(course_id: str, assignments: list[str], datasets: list[str], medgrade: str) -> str:
    """The new course's README: its assignments and the commands that run it, runnable as written."""
    first = assignments[0]
    rows = "\n".join(f"| `{a}` | {_points(kit_root() / 'source' / a):g} | {', '.join(datasets_for([a]))} |"
                     for a in assignments)
    data = " ".join(f"--dataset {d}" for d in datasets)
    return COURSE_README.format(course_id=course_id, version=__version__, medgrade=medgrade, first=first,
                                rows=rows, data=data)


COURSE_README = """\
# {course_id}

An nbgrader course directory made by `medgrade quickstart` (medgrade {version}). Every command
below runs from this folder, in any shell, as written: `{medgrade}` is the medgrade this course
was made with; nothing needs activating. nbgrader's own commands work on this folder too.

| assignment | points | data |
| --- | --- | --- |
{rows}

## Before grading, on each grading machine

```sh
{medgrade} data generate {data}
{medgrade} doctor
```

The data stand-ins go to `$MEDGRADE_DATA`, else `data/` here once it holds them (`--root data`),
else `~/.cache/medgrade/data`. `doctor` checks the interpreter and pinned libraries, that data,
the sandbox, the GPUs and the free disk, and says what to fix.

## Teaching assistant

Put each student's notebook at `submitted/<student>/<assignment>/<notebook>.ipynb` (nbgrader's
`collect` and `zip_collect` do), then:

```sh
{medgrade} grade {first}
{medgrade} feedback {first}
{medgrade} export {first} --format nbgrader-csv
```

`grade` runs each submission in a sandboxed kernel and writes `autograded/`, the gradebook
(`gradebook/gradebook.db`, nbgrader's schema) and `gradebook/results/<assignment>/<student>.json`;
a rerun grades only what changed (`--force` regrades). `feedback` writes one page per student
under `gradebook/feedback/<assignment>/` and the class report `index.html`. `export` writes
`gradebook/exports/<assignment>-nbgrader-csv.csv` (`--format gradescope-csv` for Gradescope).

## Instructor

`source/<assignment>/` holds the notebooks with solutions, hidden tests and `mutants/` (wrong
submissions with the points they must lose); `release/` the student notebooks;
`reference_solutions/` the executed solutions and the calibration record of every threshold.
After editing a source notebook:

```sh
{medgrade} release {first}
{medgrade} validate {first}
```

`release` regenerates the student notebook and the executed reference; `validate` grades the
reference, the blank release and every mutant and fails on any wrong score. Give students the
notebooks in `release/`.
"""
