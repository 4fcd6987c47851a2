"""A course whose notebooks import nothing heavy: a grading round trip takes seconds.

Used to test the release, validation and grading machinery on real notebooks and real kernels
where the curriculum's notebooks would take minutes.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import nbformat
from click.testing import CliRunner
from nbformat.v4 import new_code_cell, new_notebook

from medgrade.profiles import get_profile

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "99_tiny"
# Small budgets so runaway code is caught in seconds.
TINY_PROFILE = replace(get_profile("cpu"), cell_timeout=4, test_budget=2, notebook_budget=40, memory_mb=600)


def cell(src: str, gid: str | None = None, *, solution: bool = False, points: int = 0, locked: bool = False):
    c = new_code_cell(src)
    if gid is not None:
        c.metadata["nbgrader"] = {
            "grade": points > 0, "grade_id": gid, "locked": locked or not solution, "schema_version": 3,
            "solution": solution, "task": False, **({"points": points} if points else {}),
        }
    return c


def source_cells(answer: str = "2 * x", free_test: bool = False) -> list:
    cells = [
        cell("import sys\nLOG = []", "setup", locked=True),
        cell(f"def double(x):\n    ### BEGIN SOLUTION\n    return {answer}\n    ### END SOLUTION", "double",
             solution=True),
        cell("assert double(2) == 4\n### BEGIN HIDDEN TESTS\nassert double(-3) == -6\n### END HIDDEN TESTS",
             "test_double", points=2),
        cell("def triple(x):\n    ### BEGIN SOLUTION\n    return 3 * x\n    ### END SOLUTION", "triple",
             solution=True),
        cell("assert triple(1) == 3\n### BEGIN HIDDEN TESTS\nassert triple(5) == 15\n### END HIDDEN TESTS",
             "test_triple", points=3),
    ]
    if free_test:
        cells.append(cell("assert True", "test_free", points=1))
    return cells


def release_course(root: Path, assignment: str, notebook: str, cells: list, *, folders: bool = False) -> Path:
    """A course of one source notebook made of ``cells``, released without running it; its root.

    With ``folders``, the submitted/, autograded/ and gradebook/ folders are made too (as a TA's
    course has them before the first batch).
    """
    from medgrade.cli.main import cli

    (root / "source" / assignment).mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text((REPO / "nbgrader_config.py").read_text())
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "source" / assignment / notebook)
    for folder in ("submitted", "autograded", "gradebook") if folders else ():
        (root / folder).mkdir()
    result = CliRunner().invoke(cli, ["release", assignment, "--no-execute", "--course-dir", str(root)])
    assert result.exit_code == 0, result.output
    return root


def make_course(root: Path, answer: str = "2 * x", free_test: bool = False) -> Path:
    return release_course(root, ASSIGNMENT, "tiny.ipynb", source_cells(answer, free_test))


def submit(root: Path, student: str, edits: dict[str, str] | None = None, extra_cells: list | None = None) -> Path:
    """A student's notebook: the release with solutions filled in, then ``edits`` (grade_id -> source)."""
    from medgrade.author.mutants import completed_notebook
    from medgrade.course import Course

    nb = completed_notebook(Course(root), ASSIGNMENT, "tiny.ipynb")
    for c in nb.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if edits and gid in edits:
            c.source = edits[gid]
    for position, new in extra_cells or []:
        nb.cells.insert(position, new)
    folder = root / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / "tiny.ipynb")
    return folder / "tiny.ipynb"


def gradebook_rows(root: Path) -> list[tuple]:
    """(student, grade cell, auto score) for every grade in the course's nbgrader gradebook, sorted."""
    with sqlite3.connect(root / "gradebook" / "gradebook.db") as db:
        return sorted(db.execute(
            "SELECT student.id, base_cell.name, grade.auto_score FROM grade "
            "JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
            "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
            "JOIN student ON submitted_assignment.student_id = student.id "
            "JOIN base_cell ON grade.cell_id = base_cell.id").fetchall())
