"""Written answers graded with a rubric: the engine never scores them, a TA does, and one grade adds both.

A tiny course with one test (2 points) and one written answer (3 points, a rubric of two
criteria) that refers to an evidence cell. Real notebooks, real kernels, nbgrader's gradebook.
"""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from nbformat.v4 import new_markdown_cell

from medgrade.cli.main import cli
from medgrade.coordinator.engine import grade_class
from medgrade.course import Course
from tests.tiny_course import ASSIGNMENT, TINY_PROFILE, cell, make_course, release_course, submit

pytestmark = pytest.mark.xdist_group("engine")

MODEL_ANSWER = "Doubling is linear: my evidence shows double(1) = 2 and double(2) = 4, so it scales."
RUBRIC = """\
explain_double:
  evidence: [doubles_evidence]
  criteria:
    - id: cites_own_figures
      points: 2
      description: quotes two values from their own evidence
    - id: names_linearity
      points: 1
      description: says the function is linear
  comments:
    - Quote your own numbers.
    - Good use of the evidence.
"""


def _answer_cell(text: str, points: int = 3):
    c = new_markdown_cell(text)
    c.metadata["nbgrader"] = {"grade": True, "solution": True, "locked": False, "points": points,
                              "grade_id": "explain_double", "schema_version": 3, "task": False}
    return c


def _course(root: Path) -> Path:
    cells = [
        cell("import sys", "setup", locked=True),
        cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION", "double", solution=True),
        cell("assert double(2) == 4\n### BEGIN HIDDEN TESTS\nassert double(-3) == -6\n### END HIDDEN TESTS",
             "test_double", points=2),
        cell("print('my doubles:', [double(i) for i in range(3)])", "doubles_evidence", locked=True),
        new_markdown_cell("Explain, citing two values your evidence cell printed, why double is linear."),
        _answer_cell(MODEL_ANSWER),
    ]
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    (root / "source" / ASSIGNMENT / "rubric.yaml").write_text(RUBRIC)  # before the release: it must stay out
    return release_course(root, ASSIGNMENT, "tiny.ipynb", cells)


def course_db(root: Path):
    return closing(sqlite3.connect(root / "gradebook" / "gradebook.db"))


def _cli(root: Path, *args: str):
    return CliRunner().invoke(cli, [*args, "--course-dir", str(root)])


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = _course(tmp_path_factory.mktemp("written") / "course")
    submit(root, "ana", {"explain_double": "It doubles: 1 -> 2 and 2 -> 4, a straight line, so it is linear."})
    submit(root, "ben", {"explain_double": "YOUR ANSWER HERE"})  # left as released
    submit(root, "cy", {"double": "def double(x):\n    return abs(2 * x)",
                        "explain_double": "It is linear."})
    grade_class(Course(root), ASSIGNMENT, ["ana", "ben", "cy"], profile=TINY_PROFILE, data_root=None, workers=2)
    return root


def _results(root: Path) -> dict[str, dict]:
    folder = root / "gradebook" / "results" / ASSIGNMENT
    return {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}


def _sheet(root: Path, rows: dict[str, list[str]], path: Path) -> Path:
    """The written sheet with the criteria and comment of ``rows`` (student -> [cites, names, comment])."""
    with (root / "gradebook" / "rubric" / ASSIGNMENT / "explain_double.csv").open() as f:
        table = list(csv.reader(f))
    for row in table[1:]:
        if row[1] in rows:
            row[4:7] = rows[row[1]]
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(table)
    return path


def test_the_engine_never_scores_a_written_answer(graded) -> None:
    results = _results(graded)
    assert {s: (r["score"], r["max_score"]) for s, r in results.items()} == {
        "ana": (2.0, 2.0), "ben": (2.0, 2.0), "cy": (0.0, 2.0)}
    assert {s: r["answers"] for s, r in results.items()} == {
        "ana": [{"grade_id": "explain_double", "max_points": 3.0, "status": "awaiting"}],
        "ben": [{"grade_id": "explain_double", "max_points": 3.0, "status": "unanswered"}],
        "cy": [{"grade_id": "explain_double", "max_points": 3.0, "status": "awaiting"}]}


def test_awaiting_answers_add_nothing_to_exports_and_show_on_the_pages(graded, tmp_path) -> None:
    root = Path(shutil.copytree(graded, tmp_path / "course"))
    result = _cli(root, "grade", ASSIGNMENT, "--student", "ana")
    assert (f"1 written answer(s) await a TA (scores above are the tests' points): medgrade rubric sheet "
            f"{ASSIGNMENT}, or nbgrader formgrader") in result.output
    result = _cli(root, "export", ASSIGNMENT, "--format", "gradescope-csv", "-o", str(tmp_path / "gs.csv"))
    assert result.exit_code == 0, result.output
    assert "note: 2 written answer(s) of 2 student(s) await grading; their points are not in the totals yet " \
        f"(medgrade rubric sheet {ASSIGNMENT}, or formgrader)" in result.output
    rows = list(csv.DictReader((tmp_path / "gs.csv").open()))
    assert [(r["SID"], r["Total Score"]) for r in rows] == [("ana", "2"), ("ben", "2"), ("cy", "0")]
    result = _cli(root, "feedback", ASSIGNMENT)
    assert result.exit_code == 0, result.output
    page = (root / "gradebook" / "feedback" / ASSIGNMENT / "ana.html").read_text()
    assert "Score <strong>2 / 5 (3 points awaiting grading)</strong>" in page
    assert "explain_double: <span class=\"muted\">awaiting grading</span>" in page
    assert "my doubles: [0, 2, 4]" in page  # the evidence the answer refers to, from ana's own run
    assert "explain_double: 0 / 3 points (no answer)" in (root / "gradebook" / "feedback" / ASSIGNMENT
                                                          / "ben.html").read_text()


def test_a_grading_sheet_round_trips_into_nbgrader_exports_and_feedback(graded, tmp_path) -> None:
    root = Path(shutil.copytree(graded, tmp_path / "course"))
    result = _cli(root, "rubric", "sheet", ASSIGNMENT)
    assert result.exit_code == 0, result.output
    sheet = root / "gradebook" / "rubric" / ASSIGNMENT / "explain_double.csv"
    rows = list(csv.DictReader(sheet.open()))
    assert list(rows[0]) == ["question", "student", "answer", "evidence", "cites_own_figures (0-2)",
                             "names_linearity (0-1)", "comment"]
    by = {r["student"]: r for r in rows}
    assert by["ana"]["answer"].startswith("It doubles: 1 -> 2")
    assert "[doubles_evidence]\nmy doubles: [0, 2, 4]" in by["ana"]["evidence"]
    assert by["ben"]["answer"] == "(no answer: left as released, scores 0)"
    guide = sheet.with_suffix(".md").read_text()
    assert "1. Quote your own numbers." in guide and "`names_linearity` (1): says the function is linear" in guide

    filled = _sheet(root, {"ana": ["2", "1", "#2 Well argued."], "cy": ["0", "1", "#1"]}, tmp_path / "filled.csv")
    result = _cli(root, "rubric", "record", ASSIGNMENT, str(filled))
    assert result.exit_code == 0, result.output
    assert f"recorded 2 grade(s) of explain_double from {filled}" in result.output

    result = _cli(root, "export", ASSIGNMENT, "--format", "gradescope-csv", "-o", str(tmp_path / "gs.csv"))
    assert "await grading" not in result.output
    assert [(r["SID"], r["Total Score"]) for r in csv.DictReader((tmp_path / "gs.csv").open())] == [
        ("ana", "5"), ("ben", "2"), ("cy", "1")]
    result = _cli(root, "export", ASSIGNMENT, "--format", "nbgrader-csv")
    assert result.exit_code == 0, result.output
    nb_rows = csv.DictReader((root / "gradebook" / "exports" / f"{ASSIGNMENT}-nbgrader-csv.csv").open())
    assert {r["student_id"]: float(r["score"]) for r in nb_rows} == {"ana": 5.0, "ben": 2.0, "cy": 1.0}

    assert _cli(root, "feedback", ASSIGNMENT).exit_code == 0
    page = (root / "gradebook" / "feedback" / ASSIGNMENT / "ana.html").read_text()
    assert "Score <strong>5 / 5</strong>" in page and "explain_double: 3 / 3 points" in page
    assert "Good use of the evidence. Well argued." in page
    assert "&#10003; quotes two values from their own evidence" in page
    cy = (root / "gradebook" / "feedback" / ASSIGNMENT / "cy.html").read_text()
    assert "&#10007; quotes two values from their own evidence" in cy and "Quote your own numbers." in cy
    report = (root / "gradebook" / "feedback" / ASSIGNMENT / "index.html").read_text()
    assert "graded 2 &middot; awaiting grading 0 &middot; no answer 1" in report
    assert '<td>cites_own_figures</td><td>quotes two values from their own evidence</td><td class="num">1 / 2</td>' \
        in report

    # A sheet written again shows what was recorded; a regrade keeps the TA's points.
    assert _cli(root, "rubric", "sheet", ASSIGNMENT).exit_code == 0
    again = {r["student"]: r for r in csv.DictReader(sheet.open())}
    assert (again["ana"]["cites_own_figures (0-2)"], again["ana"]["comment"]) == ("2", "Good use of the evidence. "
                                                                                  "Well argued.")
    result = _cli(root, "grade", ASSIGNMENT, "--force")
    assert result.exit_code == 0, result.output
    assert "await a TA" not in result.output  # both answers written are graded now
    _cli(root, "export", ASSIGNMENT, "--format", "gradescope-csv", "-o", str(tmp_path / "gs2.csv"))
    assert [(r["SID"], r["Total Score"]) for r in csv.DictReader((tmp_path / "gs2.csv").open())] == [
        ("ana", "5"), ("ben", "2"), ("cy", "1")]


@pytest.mark.parametrize(("rows", "problem"), [
    ({"ana": ["3", "1", ""]}, "row 2 (ana): cites_own_figures is 3, above its maximum 2 or below 0"),
    ({"ana": ["2", "", "good"]}, "row 2 (ana): criterion names_linearity is blank; give each criterion its points "
                                 "(0 when unmet), or leave the whole row blank to grade it later"),
    ({"ana": ["two", "1", ""]}, "row 2 (ana): cites_own_figures is 'two', not a number of points"),
    ({"ana": ["2", "1", "#7"]}, "row 2 (ana): comment #7 does not exist (explain_double has 2)"),
])
def test_a_bad_sheet_is_refused_whole_naming_the_row(graded, tmp_path, rows, problem) -> None:
    root = Path(shutil.copytree(graded, tmp_path / "course"))
    assert _cli(root, "rubric", "sheet", ASSIGNMENT).exit_code == 0
    # cy's row is fine: it must not be recorded either when another row is refused
    filled = _sheet(root, {**rows, "cy": ["1", "1", "ok"]}, tmp_path / "bad.csv")
    result = _cli(root, "rubric", "record", ASSIGNMENT, str(filled))
    assert result.exit_code == 2, result.output
    assert f"{filled}: nothing recorded, 1 problem(s):" in result.output and problem in result.output
    assert "Traceback" not in result.output
    assert not (root / "gradebook" / "rubric" / ASSIGNMENT / "explain_double.json").exists()
    _cli(root, "export", ASSIGNMENT, "--format", "gradescope-csv", "-o", str(tmp_path / "gs.csv"))
    assert dict((r["SID"], r["Total Score"]) for r in csv.DictReader((tmp_path / "gs.csv").open()))["cy"] == "0"


def test_a_sheet_naming_an_unknown_student_or_criterion_is_refused(graded, tmp_path) -> None:
    root = Path(shutil.copytree(graded, tmp_path / "course"))
    assert _cli(root, "rubric", "sheet", ASSIGNMENT).exit_code == 0
    sheet = root / "gradebook" / "rubric" / ASSIGNMENT / "explain_double.csv"
    text = sheet.read_text()
    (tmp_path / "who.csv").write_text(text + "explain_double,zed,,,1,1,\n")
    result = _cli(root, "rubric", "record", ASSIGNMENT, str(tmp_path / "who.csv"))
    assert result.exit_code == 2
    assert "row 5 (zed): no graded submission of 99_tiny by 'zed'; fix the student id" in result.output
    (tmp_path / "crit.csv").write_text(text.replace("names_linearity (0-1)", "names_linearty"))
    result = _cli(root, "rubric", "record", ASSIGNMENT, str(tmp_path / "crit.csv"))
    assert result.exit_code == 2
    assert ("column 'names_linearty' is no criterion of explain_double's rubric (criteria: cites_own_figures, "
            "names_linearity)") in result.output


def test_validate_requires_a_rubric_for_every_written_answer(tmp_path) -> None:
    root = _course(tmp_path / "course")
    (root / "source" / ASSIGNMENT / "rubric.yaml").write_text(RUBRIC.replace("points: 1", "points: 2"))
    result = _cli(root, "validate", ASSIGNMENT)
    assert result.exit_code == 1, result.output
    assert "MISMATCH" not in result.output  # the written answer is no column of validate's points
    assert f"problem: {ASSIGNMENT}/rubric.yaml: explain_double's criteria add up to 4 points, its cell is worth 3" \
        in result.output
    (root / "source" / ASSIGNMENT / "rubric.yaml").unlink()
    result = _cli(root, "validate", ASSIGNMENT)
    assert (f"problem: {ASSIGNMENT}/rubric.yaml: answer explain_double (tiny.ipynb, 3 points) has no rubric; "
            "add its criteria") in result.output
    release = nbformat.read(root / "release" / ASSIGNMENT / "tiny.ipynb", as_version=4)
    assert MODEL_ANSWER not in "".join(c.source for c in release.cells)
    assert not (root / "release" / ASSIGNMENT / "rubric.yaml").exists()


def test_a_student_check_says_which_written_answers_are_still_blank(graded) -> None:
    """medgrade check lists a written answer as the TA's, never as a test passed, and flags a blank one."""
    for student, note in [("ben", "written answer explain_double (3 points): still as released; write it before "
                                  "you submit (left as it is, it scores 0)"),
                          ("ana", "written answer explain_double (3 points): your teaching assistant grades it "
                                  "with a rubric after the deadline")]:
        notebook = graded / "submitted" / student / ASSIGNMENT / "tiny.ipynb"
        result = CliRunner().invoke(cli, ["check", str(notebook), "--course-dir", str(graded)])
        assert result.exit_code == 0, result.output
        assert note in result.output
        assert "  explain_double " not in result.output  # no line of the test table


def test_a_manually_graded_code_cell_is_never_awarded_for_running(tmp_path) -> None:
    """nbgrader's graded solution code cell is an answer a person grades: running cleanly earns nothing."""
    code_answer = cell("def plot_it():\n    ### BEGIN SOLUTION\n    return 'a plot'\n    ### END SOLUTION",
                       "plot_answer", solution=True, points=2)
    root = release_course(tmp_path / "course", ASSIGNMENT, "tiny.ipynb", [
        cell("import sys", "setup", locked=True), code_answer,
        cell("assert True", "test_free", points=1)])
    (root / "source" / ASSIGNMENT / "rubric.yaml").write_text(
        "plot_answer:\n  criteria:\n    - {id: plots, points: 2, description: draws the plot}\n")
    submit(root, "dee", {"plot_answer": "def plot_it():\n    return 'my plot'"})
    grade_class(Course(root), ASSIGNMENT, ["dee"], profile=TINY_PROFILE, data_root=None, workers=1)
    (result,) = _results(root).values()
    assert [t["grade_id"] for t in result["tests"]] == ["test_free"]
    assert (result["score"], result["answers"]) == (1.0, [
        {"grade_id": "plot_answer", "max_points": 2.0, "status": "awaiting"}])
    with course_db(root) as db:
        assert db.execute("SELECT auto_score, manual_score, needs_manual_grade FROM grade JOIN base_cell "
                          "ON grade.cell_id = base_cell.id WHERE base_cell.name = 'plot_answer'").fetchall() == [
            (None, None, 1)]


def _edit_answer_cell(path: Path, edit) -> None:
    nb = nbformat.read(path, as_version=4)
    edit(next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "explain_double"))
    nbformat.write(nb, path)


def test_an_answer_is_neither_hidden_nor_inflated_through_its_metadata(tmp_path) -> None:
    """Stripped metadata once hid an answer from every sheet; raised points once raised the answer's worth."""
    root = _course(tmp_path / "course")
    answer = {"explain_double": "1 -> 2, 2 -> 4: linear."}
    _edit_answer_cell(submit(root, "dot", answer), lambda c: c.metadata.pop("nbgrader"))
    _edit_answer_cell(submit(root, "eve", answer), lambda c: c.metadata["nbgrader"].update(points=30))
    _edit_answer_cell(submit(root, "fay", answer), lambda c: (c.metadata.pop("nbgrader"), c.update(id="fresh")))
    _edit_answer_cell(submit(root, "gus", answer), lambda c: c.update(cell_type="code", source="print('linear')",
                                                                   outputs=[], execution_count=None))
    grade_class(Course(root), ASSIGNMENT, ["dot", "eve", "fay", "gus"], profile=TINY_PROFILE, data_root=None,
                workers=2)
    results = _results(root)
    gus = results.pop("gus")  # a written answer made a code cell that runs cleanly: still no test, no points
    assert ([t["grade_id"] for t in gus["tests"]], gus["score"], gus["answers"]) == (
        ["test_double"], 2.0, [{"grade_id": "explain_double", "max_points": 3.0, "status": "awaiting"}])
    assert {s: (r["answers"], r["findings"]) for s, r in results.items()} == {
        "dot": ([{"grade_id": "explain_double", "max_points": 3.0, "status": "awaiting"}],
                ["tiny.ipynb: cell explain_double had lost its nbgrader metadata; it was found by its cell id and "
                 "its metadata restored"]),
        "eve": ([{"grade_id": "explain_double", "max_points": 3.0, "status": "awaiting"}],
                ["tiny.ipynb: cell explain_double had its nbgrader metadata edited (it decides what is graded and "
                 "for how many points); it was restored from the assignment"]),
        "fay": ([{"grade_id": "explain_double", "max_points": 3.0, "status": "unanswered"}],
                ["tiny.ipynb: written answer explain_double is missing (its cell was deleted, or lost its nbgrader "
                 "metadata and its cell id): it counts as blank; if the answer is elsewhere in the notebook, read "
                 "it there"])}
    assert _cli(root, "rubric", "sheet", ASSIGNMENT).exit_code == 0
    with (root / "gradebook" / "rubric" / ASSIGNMENT / "explain_double.csv").open() as f:
        texts = {row[1]: row[2] for row in list(csv.reader(f))[1:]}
    assert texts == {"dot": "1 -> 2, 2 -> 4: linear.", "eve": "1 -> 2, 2 -> 4: linear.",
                     "fay": "(no answer: left as released, scores 0)", "gus": "print('linear')"}


def test_sheets_of_an_assignment_without_written_answers_are_refused_with_the_reason(tmp_path) -> None:
    root = make_course(tmp_path / "course")
    result = _cli(root, "rubric", "sheet", ASSIGNMENT)
    assert result.exit_code == 2
    assert f"{ASSIGNMENT} has no answer a person grades (no graded solution cell): nothing to sheet" in result.output
