"""The class similarity report on real notebooks of 01_pytorch_basics, as a TA runs it.

The class (tests/similarity/similarity_class.py): ada (the reference solution), cyd (ada's work
disguised), ben (an independent correct solution), dan and eve (the release untouched), fay and
gus (a little of their own, plus released code pasted into cells they added).
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from nbformat.v4 import new_code_cell, new_notebook, new_output

from medgrade.cli.main import cli
from medgrade.course import Course
from medgrade.errors import UsageError
from medgrade.publish import MIME
from medgrade.reports.class_report import render_class_report
from medgrade.results import SubmissionResult
from medgrade.similarity.compare import ClassIndex
from medgrade.similarity.documents import course_material, load_documents
from medgrade.similarity.run import Settings, compare_class, read_summary
from tests.conftest import copy_course
from tests.similarity.similarity_class import ASSIGNMENT, INDEPENDENT, NOTEBOOK, notebooks, submit_class

STUDENTS = ["ada", "ben", "cyd", "dan", "eve", "fay", "gus"]


@pytest.fixture(scope="module")
def klass(tmp_path_factory) -> Course:
    course = copy_course(tmp_path_factory.mktemp("similarity") / "course")
    submit_class(course)
    return course


def _pairs(course: Course, **settings: float) -> list[tuple[str, str]]:
    result = compare_class(course, ASSIGNMENT, settings=Settings(**settings))  # type: ignore[arg-type]
    return [(f.match.a, f.match.b) for f in result.flagged]


def test_the_disguised_copy_and_only_it_is_reported_with_its_source(klass: Course) -> None:
    result = compare_class(klass, ASSIGNMENT)
    assert [(f.match.a, f.match.b) for f in result.flagged] == [("ada", "cyd")]
    copy = result.flagged[0].match
    assert copy.score > 0.9 and copy.tokens > 500
    cells = {klass_region_cell for r in copy.regions for klass_region_cell in [result.docs["ada"].snippets[
        result.docs["ada"].where[r.a_start][0]].cell]}
    assert {"mlp", "small_cnn", "train", "evaluation"} <= cells  # reordered functions are still found


def test_what_is_not_copying_scores_low(klass: Course) -> None:
    material = course_material(klass, ASSIGNMENT)
    docs, skipped = load_documents(klass, ASSIGNMENT, material, STUDENTS)
    assert skipped == {}
    index = ClassIndex(docs, material.boilerplate)
    at = {d.student: i for i, d in enumerate(docs)}
    assert index.own(at["dan"]) == index.own(at["eve"]) == 0  # the untouched release is nobody's code
    assert index.compare(at["ada"], at["ben"]).score < 0.25  # independent, though the task is the same
    fay_gus = index.compare(at["fay"], at["gus"])
    assert fay_gus.tokens == 0  # the setup cell and test they both pasted count for neither


def test_pruning_by_the_index_loses_no_reported_pair(klass: Course) -> None:
    material = course_material(klass, ASSIGNMENT)
    docs, _ = load_documents(klass, ASSIGNMENT, material, STUDENTS)
    index = ClassIndex(docs, material.boilerplate)
    candidates = index.candidates(0.25)
    assert len(candidates) < len(docs) * (len(docs) - 1) // 2
    everything = [index.compare(i, j) for i in range(len(docs)) for j in range(i + 1, len(docs))]
    high = {(docs[i].student, docs[j].student) for (i, j), m in
            zip(((i, j) for i in range(len(docs)) for j in range(i + 1, len(docs))), everything, strict=True)
            if m.score >= 0.25 and m.tokens >= 60}
    assert high <= {(docs[i].student, docs[j].student) for i, j in candidates}


def test_the_ta_runs_it_and_reads_the_pair_in_the_integrity_report(tmp_path: Path) -> None:
    course = copy_course(tmp_path / "course")
    submit_class(course)
    report = course.gradebook_dir / "integrity" / f"{ASSIGNMENT}.csv"
    report.parent.mkdir(parents=True)
    static = 'ben,static,"integrity: process in cell #30, line 1: imports socket"'
    report.write_text(f"student,kind,finding\n{static}\n")
    out = CliRunner().invoke(cli, ["similarity", ASSIGNMENT, "--course-dir", str(course.root)])
    assert out.exit_code == 0, out.output
    assert re.search(r"review ada and cyd: (9\d|100)% similar \(\d+ tokens in \d+ region\(s\); code\): "
                     rf"gradebook/integrity/{ASSIGNMENT}/ada--cyd.html", out.output)
    assert re.search(r"similarity: 7 submission\(s\), \d+ of 21 pair\(s\) compared in full", out.output)
    rows = list(csv.reader(io.StringIO(report.read_text())))
    assert rows[1] == next(csv.reader([static]))  # the grader's own findings are kept
    assert [r[:2] for r in rows[2:]] == [["ada", "similarity"], ["cyd", "similarity"]]
    assert re.match(r"integrity: similarity (9\d|100)% with cyd: (9\d|100)% of this submission's own code", rows[2][2])
    page = (course.gradebook_dir / "integrity" / ASSIGNMENT / "ada--cyd.html").read_text()
    assert "cell small_cnn" in page and "self.c_one = nn.Conv2d(1, 10, kernel_size=5)" in page
    assert f'<a href="../../feedback/{ASSIGNMENT}/cyd.html">cyd</a>' in page
    again = CliRunner().invoke(cli, ["similarity", ASSIGNMENT, "--course-dir", str(course.root)])
    assert again.exit_code == 0 and report.read_text().count(",similarity,") == 2  # replaced, not appended


def test_a_class_of_one_is_a_clear_error(tmp_path: Path) -> None:
    course = copy_course(tmp_path / "course")
    submit_class(course, {"ada": notebooks(course)["ada"]})
    out = CliRunner().invoke(cli, ["similarity", ASSIGNMENT, "--course-dir", str(course.root)])
    assert out.exit_code == 2
    assert "medgrade: error: nothing to compare: 1 submission(s) of 01_pytorch_basics under submitted/" in out.output


def test_a_notebook_that_does_not_read_is_left_out_by_name(tmp_path: Path) -> None:
    course = copy_course(tmp_path / "course")
    submit_class(course)
    (course.submitted / "gus" / ASSIGNMENT / NOTEBOOK).write_text("{not json")
    out = CliRunner().invoke(cli, ["similarity", ASSIGNMENT, "--course-dir", str(course.root)])
    assert out.exit_code == 0, out.output
    assert (f"left out gus: submitted/gus/{ASSIGNMENT}/{NOTEBOOK} is not a notebook this can read"
            in out.output)


HOSTILE = "</script><script>alert('x')</script><img src=x onerror=alert(1)>"
COPIER = "jon<img src=x onerror=alert(2)>"


def test_student_code_and_names_cannot_inject_into_the_pages(tmp_path: Path) -> None:
    course = copy_course(tmp_path / "course")
    hostile = dict(INDEPENDENT)
    hostile["train"] = hostile["train"].replace("    model.train()\n", f"    model.train()  # {HOSTILE}\n"
                                                f"    banner = \"{HOSTILE}\"\n")
    nbs = notebooks(course)
    ivy = nbs["ben"]
    for cell in ivy.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in hostile:
            cell.source = hostile[gid]
    submit_class(course, {"ivy": ivy, COPIER: ivy, "ada": nbs["ada"]})
    result = compare_class(course, ASSIGNMENT)
    assert [(f.match.a, f.match.b) for f in result.flagged] == [("ivy", COPIER)]
    from medgrade.similarity.run import write_similarity

    folder = write_similarity(course, result)
    page = (folder / f"ivy--{COPIER}.html").read_text()
    assert "&lt;/script&gt;&lt;script&gt;alert(&#x27;x&#x27;)" in page  # shown, as text
    assert "<script" not in page and "<img" not in page
    results = [SubmissionResult(s, ASSIGNMENT, "graded") for s in ("ada", "ivy", COPIER)]
    index = render_class_report(ASSIGNMENT, results, similarity=read_summary(course, ASSIGNMENT))
    assert "<img src=x" not in index and "<script" not in index and "jon&lt;img src=x onerror=alert(2)&gt;" in index
    assert f'href="../../integrity/{ASSIGNMENT}/ivy--jon%3Cimg%20src%3Dx%20onerror%3Dalert%282%29%3E.html"' in index


def _graded(course: Course, student: str, scores: list[float]) -> None:
    """The autograded notebook as the grader leaves it: the ROC record it drew for a judged test."""
    record = {"schema": 1, "kind": "roc", "y_true": [i % 2 for i in range(len(scores))], "scores": scores}
    cell = new_code_cell("measured = checks.judged('test_probs', probs, ...)", metadata={
        "nbgrader": {"grade": True, "grade_id": "test_trained_accuracy", "points": 3, "solution": False},
        "medgrade": {"measured": [{"check": "judged", "name": "test AUC", "value": 0.9, "threshold": 0.8}]}})
    cell.outputs = [new_output("display_data", data={MIME: record, "text/plain": "[evidence]"})]
    folder = course.autograded / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=[cell]), folder / NOTEBOOK)


def test_a_rare_clue_from_grading_supports_a_pair_but_never_flags_alone(tmp_path: Path) -> None:
    course = copy_course(tmp_path / "course")
    submit_class(course)
    assert _pairs(course, threshold=0.25) == [("ada", "cyd")]  # ada and ben: too little code alone
    same = [round(0.01 * i, 2) for i in range(100)]
    for n, student in enumerate(STUDENTS):
        _graded(course, student, same if student in ("ada", "ben", "dan", "eve") else [0.5 + n / 100] * 100)
    for student in ("dan", "eve"):  # no code of their own: a clue alone reports nothing
        _graded(course, student, [0.3] * 100)
    result = compare_class(course, ASSIGNMENT, settings=Settings(threshold=0.25))
    flagged = {(f.match.a, f.match.b): f for f in result.flagged}
    assert set(flagged) == {("ada", "cyd"), ("ada", "ben")}
    assert flagged[("ada", "ben")].reason == "code and rare clues"
    texts = [c.text for c in flagged[("ada", "ben")].rare]
    assert ("test_trained_accuracy: scores: near-identical (100.0% of 100 held-out items agree); "
            "2 of 7 graded submissions agree this closely with ada's") in texts
    figures = [c for c in flagged[("ada", "ben")].clues if c.kind == "figures"]
    assert figures and not figures[0].rare  # every graded notebook measured 0.9: common, so no weight


def test_the_class_report_links_every_reported_pair(klass: Course) -> None:
    from medgrade.similarity.run import write_similarity

    write_similarity(klass, compare_class(klass, ASSIGNMENT))
    summary = read_summary(klass, ASSIGNMENT)
    assert summary is not None and json.dumps(summary)
    html = render_class_report(ASSIGNMENT, [SubmissionResult(s, ASSIGNMENT, "graded") for s in STUDENTS],
                               similarity=summary)
    assert "<h2>Similar submissions</h2>" in html
    assert f'<a href="../../integrity/{ASSIGNMENT}/ada--cyd.html">regions side by side</a>' in html
    assert '<a href="ada.html">ada</a> and <a href="cyd.html">cyd</a>' in html
    unrun = render_class_report(ASSIGNMENT, [SubmissionResult("ada", ASSIGNMENT, "graded")])
    assert f"Not compared yet: run <code>medgrade similarity {ASSIGNMENT}</code>" in unrun


def test_grading_runs_it_and_a_failure_costs_no_grade(klass: Course, monkeypatch, capsys) -> None:
    from medgrade import pipeline as report
    from medgrade.similarity import run

    report._compare_class(klass, ASSIGNMENT)
    assert "review ada and cyd" in capsys.readouterr().out

    def broken(*args: object, **kwargs: object) -> None:
        raise UsageError("the release notebook is missing")

    monkeypatch.setattr(run, "report_similarity", broken)
    report._compare_class(klass, ASSIGNMENT)
    assert (f"similarity: not compared (the release notebook is missing); grades are kept. Retry with "
            f"`medgrade similarity {ASSIGNMENT}`") in capsys.readouterr().out


def test_after_feedback_the_command_brings_the_class_report_up_to_date(tmp_path: Path) -> None:
    course = copy_course(tmp_path / "course")
    submit_class(course)
    results = course.gradebook_dir / "results" / ASSIGNMENT
    results.mkdir(parents=True)
    for s in STUDENTS:
        (results / f"{s}.json").write_text(SubmissionResult(s, ASSIGNMENT, "graded").to_json())
    index = course.gradebook_dir / "feedback" / ASSIGNMENT / "index.html"
    index.parent.mkdir(parents=True)
    index.write_text("<html>the report medgrade feedback wrote before</html>")
    before = {p.name: p.read_bytes() for p in results.iterdir()}
    out = CliRunner().invoke(cli, ["similarity", ASSIGNMENT, "--course-dir", str(course.root)])
    assert out.exit_code == 0, out.output
    assert {p.name: p.read_bytes() for p in results.iterdir()} == before  # scores never change
    assert f"class report updated: gradebook/feedback/{ASSIGNMENT}/index.html" in out.output
    assert f'<a href="../../integrity/{ASSIGNMENT}/ada--cyd.html">regions side by side</a>' in index.read_text()


def test_without_the_release_it_says_what_to_run(tmp_path: Path) -> None:
    course = copy_course(tmp_path / "course")
    submit_class(course)
    (course.release / ASSIGNMENT / NOTEBOOK).unlink()
    out = CliRunner().invoke(cli, ["similarity", ASSIGNMENT, "--course-dir", str(course.root)])
    assert out.exit_code == 2
    assert (f"medgrade: error: release/{ASSIGNMENT}/{NOTEBOOK} is missing: run `medgrade release {ASSIGNMENT}` "
            "first") in out.output
