"""Otter-Grader autograders: the course's tests as Otter test files in an ``otter run`` zip.

Each graded test cell (an nbgrader grade cell) becomes one exception-based Otter test file,
``tests/<grade_id>.py``, with one all-or-nothing case worth the cell's points. The case executes
the cell's full source (public and hidden parts, markers removed) in the notebook's global
environment, so the curriculum's calls into ``medgrade.checks`` run unchanged and their messages
(expected, observed, hint) reach the student. A cell with a hidden region is a hidden case.

The zip holds what ``otter run -a autograder.zip submission.ipynb`` reads: ``otter_config.json``,
``tests/`` and ``files/`` (the release's support files, copied next to the submission), plus
``requirements.txt`` and ``constraints.txt`` for an Otter course to build its image from.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from medgrade.course import Course
from medgrade.interop.gradescope import constraints_file, requirements

__all__ = ["OtterTest", "build_otter_autograder", "otter_tests", "render_test_file"]

_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) HIDDEN TESTS[ \t]*\n?", re.MULTILINE)

_TEMPLATE = '''"""Otter test for {name!r}, exported by medgrade from {notebook}."""

from otter.test_files import test_case

OK_FORMAT = False

name = {name!r}
points = {points!r}

SOURCE = {source!r}


@test_case(name={name!r}, points={points!r}, hidden={hidden!r})
def test_cell(env):
    exec(compile(SOURCE, "<test " + {name!r} + ">", "exec"), env)
'''


@dataclass(frozen=True)
class OtterTest:
    """One graded test cell as Otter sees it: its source has the hidden markers removed."""

    name: str
    points: float
    hidden: bool
    source: str
    notebook: str


def otter_tests(course: Course, assignment: str) -> list[OtterTest]:
    """The graded test cells of ``assignment``'s source notebooks, in notebook order."""
    tests = []
    for src in course.source_notebooks(assignment):
        for c in nbformat.read(src, as_version=4).cells:
            meta = c.metadata.get("nbgrader", {})
            if c.cell_type == "code" and meta.get("grade") and meta.get("points"):
                hidden = "### BEGIN HIDDEN TESTS" in c.source
                tests.append(OtterTest(meta["grade_id"], meta["points"], hidden, _MARKER.sub("", c.source), src.name))
    return tests


def render_test_file(test: OtterTest) -> str:
    """The text of ``tests/<name>.py`` in Otter's exception-based format."""
    return _TEMPLATE.format(name=test.name, points=test.points, hidden=test.hidden, source=test.source,
                            notebook=test.notebook)


def build_otter_autograder(course: Course, assignment: str, dest: Path) -> Path:
    """Write ``dest``: an autograder zip that ``otter run`` grades ``assignment`` with."""
    tests = otter_tests(course, assignment)
    if not tests:
        raise ValueError(f"{assignment} has no graded test cells to export")
    if len(course.source_notebooks(assignment)) > 1:
        raise ValueError(f"{assignment} has several notebooks; otter run grades one notebook per submission")
    release = course.release / assignment
    files = [p for p in release.iterdir() if p.is_file() and p.suffix != ".ipynb"] if release.is_dir() else []
    config = {"lang": "python", "show_hidden": False, "print_summary": True}
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("otter_config.json", json.dumps(config, indent=2))
        for t in tests:
            z.writestr(f"tests/{t.name}.py", render_test_file(t))
        for f in files:
            z.writestr(f"files/{f.name}", f.read_bytes())
        z.writestr("requirements.txt", requirements() + "otter-grader>=7,<8\n"
                   "# and medgrade itself, from the course repository: pip install --no-deps /path/to/repo\n")
        z.write(constraints_file(course), "constraints.txt")
    return dest
