"""End to end on real notebooks: the demo class gets what each notebook deserves.

Seven submissions built from the committed release (correct, partly wrong, blank, crashing,
never-ending training, invalid JSON, renamed) are graded through nbgrader into a gradebook that
nbgrader's own export then reads.
"""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from medgrade.cli.main import cli
from medgrade.demo import DEMO_ASSIGNMENT, DEMO_CLASS, place_class

# One worker grades the class once for every test of this module.
pytestmark = pytest.mark.xdist_group("demo_class")


@pytest.fixture(scope="module")
def graded(tmp_path_factory, data_root):
    from tests.conftest import copy_course

    course = copy_course(tmp_path_factory.mktemp("demo") / "course")
    place_class(course)
    result = CliRunner().invoke(cli, ["grade", DEMO_ASSIGNMENT, "--course-dir", str(course.root)])
    assert result.exit_code == 0, result.output
    results = {
        p.stem: json.loads(p.read_text())
        for p in (course.gradebook_dir / "results" / DEMO_ASSIGNMENT).glob("*.json")
    }
    return course, result.output, results


@pytest.mark.parametrize("student", DEMO_CLASS, ids=lambda s: s.name)
def test_each_student_gets_what_their_notebook_deserves(graded, student) -> None:
    _, _, results = graded
    assert results[student.name]["score"] == student.expected, results[student.name]


def test_lost_points_come_with_the_reason(graded) -> None:
    _, _, results = graded
    ben = {t["grade_id"]: t for t in results["ben"]["tests"]}
    assert ben["test_grad_f_by_hand"]["points"] == 0
    assert "grad_f_by_hand" in ben["test_grad_f_by_hand"]["message"]
    assert ben["test_confusion_matrix"]["points"] == 0
    eve = {t["grade_id"]: t for t in results["eve"]["tests"]}
    assert "did not finish within" in eve["test_trained_accuracy"]["message"]
    dan = {t["grade_id"]: t for t in results["dan"]["tests"]}
    assert "NameError" in dan["test_make_loaders"]["message"]


def test_bad_files_are_per_student_errors(graded) -> None:
    _, output, results = graded
    assert results["finn"]["outcome"] == "error"
    assert "is not valid JSON" in results["finn"]["message"]
    assert results["gus"]["outcome"] == "error"
    assert "missing (found my_pytorch_basics.ipynb)" in results["gus"]["message"]
    assert "[7/7]" in output  # the batch went on past both


def test_nbgrader_export_reads_the_gradebook(graded) -> None:
    from medgrade.nbgrader_cli import run_nbgrader

    course, _, _ = graded
    out = course.gradebook_dir / "grades.csv"
    run = run_nbgrader(course.root, "export", "--to", str(out))
    assert run.ok, run.output
    rows = {r["student_id"]: r for r in csv.DictReader(out.open())}
    assert set(rows) == {s.name for s in DEMO_CLASS}
    assert float(rows["ada"]["score"]) == 26 and float(rows["cara"]["score"]) == 0


def test_scores_equal_nbgrader_autograde_on_the_demo_class(graded, tmp_path) -> None:
    """The same class through `nbgrader autograde`: every test scores the same for every student.

    The demo class triggers none of the deliberate differences (stderr in a test cell, a dead
    kernel), so the two engines must agree test by test, errors included.
    """
    from tests.conftest import copy_course

    course, _, ours = graded
    theirs_course = copy_course(tmp_path / "nbgrader")
    place_class(theirs_course)
    result = CliRunner().invoke(cli, ["grade", DEMO_ASSIGNMENT, "--engine", "nbgrader", "--workers", "1",
                                      "--course-dir", str(theirs_course.root)])
    assert result.exit_code == 0, result.output
    theirs = {p.stem: json.loads(p.read_text())
              for p in (theirs_course.gradebook_dir / "results" / DEMO_ASSIGNMENT).glob("*.json")}
    assert set(theirs) == set(ours)
    for student in ours:
        assert [(t["grade_id"], t["points"]) for t in theirs[student]["tests"]] == \
               [(t["grade_id"], t["points"]) for t in ours[student]["tests"]], student
