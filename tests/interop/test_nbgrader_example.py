"""nbgrader's own example course (its user guide's ``ps1``) graded by ``medgrade grade`` and ``nbgrader autograde``.

The course is the one ``nbgrader quickstart`` makes from the installed package, the two submissions are
the user guide's (``bitdiddle`` and ``hacker``), and each engine grades its own copy. Every grade
row must agree: the automatic score of each test, and which answers wait for a person (written
answers, a task, a code answer; an answer left as the stub scores zero with "No response.").
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat
import nbgrader
import pytest

from medgrade.doctor import sandbox_problem
from tests.minimal_env import MEDGRADE, TRACEBACK, run_minimal

USER_GUIDE = Path(nbgrader.__file__).parent / "docs" / "source" / "user_guide"
_FROM = """
JOIN submitted_notebook ON {table}.notebook_id = submitted_notebook.id
JOIN notebook ON submitted_notebook.notebook_id = notebook.id
JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id
JOIN student ON submitted_assignment.student_id = student.id
JOIN base_cell ON {table}.cell_id = base_cell.id
"""
GRADES = ("SELECT student.id, notebook.name, base_cell.name, grade.auto_score, grade.needs_manual_grade FROM grade"
          + _FROM.format(table="grade"))
COMMENTS = ("SELECT student.id, notebook.name, base_cell.name, comment.auto_comment FROM comment"
            + _FROM.format(table="comment"))

pytestmark = pytest.mark.xdist_group("engine")


def _nbgrader(cwd: Path, *args: str) -> None:
    """nbgrader as its users run it: from the activated environment (its gradebook needs `alembic`)."""
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def _rows(db: Path, query: str = GRADES) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return sorted(con.execute(query).fetchall())


@pytest.fixture(scope="module")
def ps1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The course `nbgrader quickstart course101` makes, with the user guide's submitted/ folder.

    Written as quickstart writes it (the user guide's source/, the course id and the header it
    adds to the config), without the half minute of nbgrader processes that fill the rest of its
    config with comments.
    """
    assert (USER_GUIDE / "submitted").is_dir(), f"nbgrader {nbgrader.__version__} ships no user guide at {USER_GUIDE}"
    course = tmp_path_factory.mktemp("ps1") / "course101"
    shutil.copytree(USER_GUIDE / "source", course / "source",
                    ignore=shutil.ignore_patterns("*.html", "autotests.yml", "ps1_autotest"))
    (course / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "course101"\n'
                                               'c.IncludeHeaderFooter.header = "source/header.ipynb"\n')
    shutil.copytree(USER_GUIDE / "submitted", course / "submitted")
    return course


def _plant_spy(course: Path) -> None:
    """hacker's ungraded ``squares(10)`` cell looks for the gradebook: it holds the hidden tests' source."""
    notebook = course / "submitted" / "hacker" / "ps1" / "problem1.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    (spy,) = [c for c in nb.cells if c.source == "squares(10)"]
    db = str(course / "gradebook.db")
    spy.source = f"import os\nassert not os.path.exists({db!r}), 'saw the gradebook'"
    nbformat.write(nb, notebook)


def _spy_errors(course: Path) -> list[str]:
    autograded = nbformat.read(course / "autograded" / "hacker" / "ps1" / "problem1.ipynb", as_version=4)
    (ran,) = [c for c in autograded.cells if "saw the gradebook" in c.source]
    return [o.get("evalue") for o in ran.outputs if o.output_type == "error"]


def test_medgrade_grades_nbgraders_example_as_nbgrader_does(ps1: Path, tmp_path: Path) -> None:
    by_nbgrader, by_medgrade = tmp_path / "nbgrader", tmp_path / "medgrade"
    for course in (by_nbgrader, by_medgrade):
        shutil.copytree(ps1, course)
        _plant_spy(course)  # an ungraded cell: no score depends on it
    _nbgrader(by_nbgrader, "generate_assignment", "ps1")
    _nbgrader(by_nbgrader, "autograde", "ps1")
    # As a TA would type it, from a shell with nothing activated. The course's config names no
    # database, so both use nbgrader's default, gradebook.db in the course folder.
    home = tmp_path / "home"
    home.mkdir()
    unconfined = ["--unconfined"] if sandbox_problem() else []  # where the sandbox cannot be built
    run = run_minimal([str(MEDGRADE), "grade", "ps1", *unconfined], cwd=by_medgrade, home=home)
    assert run.returncode == 0 and TRACEBACK not in run.stdout, run.stdout
    expected = _rows(by_nbgrader / "gradebook.db")
    assert len(expected) == 18  # 9 grade cells for each of the 2 students
    assert ("hacker", "problem1", "sum_of_squares_application", None, 1) in expected  # a code answer to grade
    assert ("bitdiddle", "problem1", "sum_of_squares_application", 0.0, 0) in expected  # left as the stub
    assert _rows(by_medgrade / "gradebook.db") == expected
    comments = _rows(by_nbgrader / "gradebook.db", COMMENTS)
    assert ("bitdiddle", "problem1", "sum_of_squares_application", "No response.") in comments
    assert _rows(by_medgrade / "gradebook.db", COMMENTS) == comments
    assert not (by_medgrade / "gradebook" / "gradebook.db").exists()
    # nbgrader's kernel could read the gradebook; medgrade's, in its sandbox, finds no course at all.
    assert _spy_errors(by_nbgrader) == ["saw the gradebook"]
    assert _spy_errors(by_medgrade) == (["saw the gradebook"] if unconfined else [])
