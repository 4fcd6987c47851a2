"""The class report: failure causes from what the grader recorded of each test, and the report page."""

from __future__ import annotations

import pytest

from medgrade.reports.class_report import failure_cause, integrity_flags, render_class_report
from medgrade.results import Stop, SubmissionResult, TestResult

pytestmark = pytest.mark.xdist_group("feedback")


def _cause(message: str, status: str = "failed", outcome: str = "graded", stop: Stop | None = None,
           error: str = "") -> str | None:
    test = TestResult("t", 0.0, 1.0, status, message, stop, error)  # type: ignore[arg-type]
    return failure_cause(SubmissionResult("s", "a", outcome, (test,)), test)  # type: ignore[arg-type]


@pytest.mark.parametrize(("message", "status", "stop", "error", "cause"), [
    ("", "passed", None, "", None),
    ("AssertionError", "failed", None, "AssertionError", "wrong answer"),
    ("CheckFailure: check_shape(logits): expected shape (8, 6); observed (8, 1, 6).", "failed", None,
     "CheckFailure", "wrong answer"),
    ("BudgetExceeded: train() did not finish within 15 s (the grading budget).", "failed", None, "BudgetExceeded",
     "timeout"),
    ("the test ran past the 30 s per-cell limit and was interrupted", "failed", Stop.CELL_LIMIT, "", "timeout"),
    ("not reached: the notebook ran past its 300 s budget in cell 12", "not_run", Stop.BUDGET, "", "timeout"),
    ("not reached: the kernel died in cell 4", "not_run", Stop.DIED, "", "crash"),
    ("the kernel died while this test ran (DeadKernelError)", "failed", Stop.DIED, "", "crash"),
    ("NameError: name 'y' is not defined", "failed", None, "NameError", "crash"),
    ("the kernel ran out of memory (over the 600 MB cap) while this test ran (DeadKernelError)", "failed",
     Stop.MEMORY, "", "out of memory"),
    ("not reached: the kernel ran out of space in /dev/shm (the cap is 256 MB) in cell 3", "not_run", Stop.SPACE,
     "", "out of space or processes"),
    ("not reached: the cell was not run", "not_run", None, "", "other"),
    # A student's exception says what it likes: the cause is what the grader recorded, not the text.
    ("RuntimeError: the kernel ran out of memory (over the 600 MB cap)", "failed", None, "RuntimeError", "crash"),
    ("AssertionError: the notebook ran past its budget", "failed", None, "AssertionError", "wrong answer"),
])
def test_failure_cause_from_what_the_grader_recorded(message, status, stop, error, cause) -> None:
    assert _cause(message, status, stop=stop, error=error) == cause


def test_an_ungradable_submission_is_its_own_cause() -> None:
    assert _cause("is not valid JSON: ...", "not_run", outcome="error") == "not gradable"


def test_integrity_flags_are_notebook_changes_not_missing_protections() -> None:
    findings = ("tiny.ipynb: cell test_mlp was edited; it was restored from the assignment",
                "tiny.ipynb: cell setup was deleted; it was restored from the assignment",
                "integrity: patching in cell answer0, line 1: assigns medgrade.checks.check_close",
                "network isolation was missing: unshare -n was refused")
    r = SubmissionResult("s", "a", "graded", findings=findings, flags=findings[:3])  # as grading flagged them
    assert integrity_flags(r) == list(findings[:3])
    old = r.to_dict()
    del old["flags"]  # a result written before flags were recorded: read from the findings' wording
    assert integrity_flags(SubmissionResult.from_dict(old)) == list(findings[:3])


def test_report_of_the_graded_class(feedback_class) -> None:
    html = feedback_class[1].report.read_text(encoding="utf-8")
    assert "5 submissions &middot; mean 4.8 / 8 &middot; median 6" in html
    rows = {cause: html.split(f"<td>{cause}</td>", 1)[1].split("</tr>", 1)[0]
            for cause in ("wrong answer", "timeout", "crash", "not gradable", "integrity flag")}
    assert "loops" in rows["timeout"] and "wrong" in rows["crash"] and "broken" in rows["not gradable"]
    assert "tamper" in rows["integrity flag"] and "wrong" in rows["wrong answer"]
    assert "<td>test_double</td><td class=\"num\">2</td><td class=\"num\">2 / 5</td>" in html
    slowest = html.split("<h2>Slowest submissions</h2>", 1)[1]
    assert slowest.index('href="loops.html"') < slowest.index('href="right.html"')  # the timeout was slowest


def test_report_escapes_what_students_control() -> None:
    test = TestResult("t", 0.0, 1.0, "failed", "<script>alert(1)</script>")
    html = render_class_report("a", [SubmissionResult("<b>eve</b>", "a", "graded", (test,),
                                                      message="<img src=x onerror=alert(1)>")])
    assert "<b>eve</b>" not in html and "<img src=x" not in html and "&lt;b&gt;eve" in html
