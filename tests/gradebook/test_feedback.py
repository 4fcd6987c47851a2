"""Feedback pages of a graded class: points, messages, plots from evidence, and redaction."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from medgrade.gradebook.plot_evidence import read_evidence
from medgrade.gradebook.visibility import load_visibility, shown_sources
from medgrade.reports.feedback import load_results, render_feedback
from tests.feedback_course import HIDDEN_MARKER
from tests.gradebook.conftest import STUDENTS
from tests.tiny_course import ASSIGNMENT

pytestmark = pytest.mark.xdist_group("feedback")


def _page(feedback_class, student: str) -> str:
    return (feedback_class[1].folder / f"{student}.html").read_text(encoding="utf-8")


def test_one_page_per_submission_and_the_class_report(feedback_class) -> None:
    course, out = feedback_class
    assert out.folder == course.gradebook_dir / "feedback" / ASSIGNMENT
    assert sorted(p.stem for p in out.pages) == sorted(STUDENTS)
    assert out.report == out.folder / "index.html" and out.report.is_file()


def test_page_shows_score_and_each_message_the_student_reads(feedback_class) -> None:
    page = _page(feedback_class, "wrong")
    assert "Score <strong>2 / 8</strong>" in page
    assert "NameError: name &#x27;y&#x27; is not defined" in page
    assert "AssertionError: segment(image) should equal the true mask" in page
    assert "ran past the 4 s per-cell limit" in _page(feedback_class, "loops")
    assert "is not valid JSON" in _page(feedback_class, "broken")
    assert "cell test_double was edited; it was restored from the assignment" in _page(feedback_class, "tamper")


def test_plots_come_from_the_runs_evidence(feedback_class) -> None:
    right, wrong = _page(feedback_class, "right"), _page(feedback_class, "wrong")
    captions = ("loss over 30 steps of your run", "ROC curve of your scores", "confusion matrix of your predictions")
    for caption in captions:
        assert f'alt="{caption}"' in right
    # The overlay explains a failed segmentation test only.
    assert 'alt="predicted and true masks"' in wrong and "predicted and true masks" not in right
    assert right.count('src="data:image/png;base64,') == 3
    # No evidence, no plot: the invalid notebook never ran.
    assert "<img" not in _page(feedback_class, "broken")


def test_hidden_test_source_never_appears_while_hidden(feedback_class) -> None:
    for page in feedback_class[1].pages:
        raw = page.read_bytes()
        assert HIDDEN_MARKER.encode() not in raw, page.name
        assert b"double(-3)" not in raw, page.name  # test_double's hidden part (policy: default hidden)
    right = _page(feedback_class, "right")
    assert "assert double(2) == 4" in right  # the released, public part is shown
    assert "assert triple(5) == 15" in right  # test_triple: visible


def test_after_due_tests_are_shown_after_the_due_date(feedback_class) -> None:
    course, _ = feedback_class
    after = dt.datetime(2030, 2, 1, tzinfo=dt.timezone.utc)
    sources = shown_sources(course, ASSIGNMENT, load_visibility(course, ASSIGNMENT), after)
    result = next(r for r in load_results(course, ASSIGNMENT) if r.student == "right")
    evidence = read_evidence(sorted((course.autograded / "right" / ASSIGNMENT).glob("*.ipynb")))
    page = render_feedback(result, sources, evidence)
    assert HIDDEN_MARKER in page and "double(-3)" not in page


def test_policy_errors_name_the_file_and_the_fix(tmp_path) -> None:
    from medgrade.course import Course
    from medgrade.errors import UsageError

    (tmp_path / "source" / "a").mkdir(parents=True)
    (tmp_path / "source" / "a" / "feedback.yaml").write_text("tests:\n  t1: sometimes\n")
    with pytest.raises(UsageError, match="unknown policy for t1; use one of visible, hidden, after_due"):
        load_visibility(Course(tmp_path), "a")
    (tmp_path / "source" / "a" / "feedback.yaml").write_text("tests:\n  t1: after_due\n")
    with pytest.raises(UsageError, match="after_due tests need a `due` date"):
        load_visibility(Course(tmp_path), "a")


def test_cli_writes_pages_and_says_where(feedback_class) -> None:
    from medgrade.cli.main import cli

    course, out = feedback_class
    result = CliRunner().invoke(cli, ["feedback", ASSIGNMENT, "--course-dir", str(course.root)])
    assert result.exit_code == 0, result.output
    assert f"wrote 5 feedback page(s) to {out.folder}/<student>.html" in result.output
    assert f"class report: {out.report}" in result.output


def test_cli_without_results_says_to_grade_first(tmp_path) -> None:
    from medgrade.cli.main import cli
    from tests.feedback_course import make_feedback_course

    root = make_feedback_course(tmp_path / "course")
    result = CliRunner().invoke(cli, ["feedback", ASSIGNMENT, "--course-dir", str(root)])
    assert result.exit_code == 2
    assert f"run `medgrade grade {ASSIGNMENT}` first" in result.output
