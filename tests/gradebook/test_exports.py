"""Grade exports: Gradescope's upload CSV and nbgrader's CSV, from a graded tiny course."""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner

from medgrade.cli.main import cli
from medgrade.coordinator.engine import grade_class
from medgrade.course import Course
from tests.tiny_course import ASSIGNMENT, TINY_PROFILE, make_course, submit

pytestmark = pytest.mark.xdist_group("engine")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("exports") / "course")
    submit(root, "ada")
    submit(root, "bob", {"double": "def double(x):\n    return abs(2 * x)"})
    grade_class(Course(root), ASSIGNMENT, ["ada", "bob"], profile=TINY_PROFILE, data_root=None, workers=2)
    return root


def _export(root, fmt, *extra):
    return CliRunner().invoke(cli, ["export", ASSIGNMENT, "--format", fmt, "--course-dir", str(root), *extra])


def test_gradescope_csv_has_one_row_per_student(graded, tmp_path) -> None:
    out = tmp_path / "gs.csv"
    result = _export(graded, "gradescope-csv", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote 2 row(s) to {out}"
    rows = list(csv.DictReader(out.open()))
    assert [(r["SID"], r["Total Score"]) for r in rows] == [("ada", "5"), ("bob", "3")]
    assert list(rows[0]) == ["Name", "SID", "Email", "Total Score"]


def test_nbgrader_csv_is_nbgrader_export(graded) -> None:
    result = _export(graded, "nbgrader-csv")
    assert result.exit_code == 0, result.output
    dest = graded / "gradebook" / "exports" / f"{ASSIGNMENT}-nbgrader-csv.csv"
    rows = {r["student_id"]: r for r in csv.DictReader(dest.open())}
    assert {s: float(r["score"]) for s, r in rows.items()} == {"ada": 5.0, "bob": 3.0}
    assert {r["assignment"] for r in rows.values()} == {ASSIGNMENT}


def test_export_before_grading_says_what_to_do(tmp_path) -> None:
    root = make_course(tmp_path / "course")
    result = _export(root, "gradescope-csv")
    assert result.exit_code == 2
    assert f"no graded results in {root.resolve()}/gradebook/results/{ASSIGNMENT}" in result.output
    assert f"run `medgrade grade {ASSIGNMENT}` first" in result.output
