"""The class report of one assignment: scores, pass rates, why tests failed, who was slow.

Computed from the result JSON files alone. A failed test's cause is read from what the grader
recorded of it (:class:`medgrade.results.TestResult`: why it stopped the cell, which exception
the cell raised), never from the message, which a student's exception can fill with anything.
"""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any
from urllib.parse import quote

from medgrade.gradebook import plots
from medgrade.gradebook.manual import ManualGrade
from medgrade.gradebook.rubric import Question
from medgrade.html import STATUS_CLASS, esc, img, page, table
from medgrade.reports.answers_html import answers_summary, score_line
from medgrade.results import Stop, SubmissionResult, TestResult

__all__ = ["CAUSES", "failure_cause", "integrity_flags", "render_class_report"]

CAUSES = ("wrong answer", "timeout", "crash", "out of memory", "out of space or processes", "not gradable", "other")
# An integrity flag is a finding about the student's notebook (a protected cell changed, or the
# integrity scan's "integrity: ..." findings), not a protection the grading machine lacked.
_WRONG = {"AssertionError", "CheckFailure"}  # a check said the answer is wrong
_CAUSE_OF_STOP = {Stop.MEMORY: "out of memory", Stop.SPACE: "out of space or processes",
                  Stop.PROCESSES: "out of space or processes", Stop.BUDGET: "timeout", Stop.CELL_LIMIT: "timeout",
                  Stop.DIED: "crash", Stop.NO_START: "crash", Stop.LOST: "not gradable"}


def failure_cause(result: SubmissionResult, test: TestResult) -> str | None:
    """Why ``test`` lost its points: one of :data:`CAUSES`; None when it passed."""
    if test.status == "passed":
        return None
    if result.outcome == "error":
        return "not gradable"
    if test.stop is not None:
        return _CAUSE_OF_STOP[test.stop]
    if test.error == "BudgetExceeded":  # a hidden test's time limit around a call into student code
        return "timeout"
    if test.error in _WRONG:
        return "wrong answer"
    return "crash" if test.error else "other"


def integrity_flags(result: SubmissionResult) -> list[str]:
    """What the notebook did that a TA reviews for integrity, as grading flagged it (never parsed from a finding)."""
    return list(result.flags)


def _summary(results: list[SubmissionResult], manual: dict[str, list[ManualGrade]]) -> str:
    """Scores are the tests' points plus the TA's where entered (answers awaiting grading add 0)."""
    scores = [r.score + sum(g.score or 0.0 for g in manual.get(r.student, [])) for r in results]
    top = max((r.max_score + sum(g.max_points for g in manual.get(r.student, [])) for r in results), default=0.0)
    mean = sum(scores) / len(scores)
    median = statistics.median(scores)
    waiting = sum(g.awaiting for gs in manual.values() for g in gs)
    return (f"<p>{len(results)} submissions &middot; mean {mean:.1f} / {top:g} &middot; median {median:g} "
            f"&middot; full marks {sum(s == top for s in scores)} &middot; not gradable "
            f"{sum(r.outcome == 'error' for r in results)}"
            + (f" &middot; answers awaiting grading {waiting}" if waiting else "") + "</p>"
            + img(plots.score_histogram(scores, top), "score distribution"))


def _pass_rates(results: list[SubmissionResult]) -> str:
    order = list(dict.fromkeys(t.grade_id for r in results for t in r.tests))
    rows, rates = [], []
    for gid in order:
        tests = [t for r in results for t in r.tests if t.grade_id == gid]
        rate = sum(t.status == "passed" for t in tests) / len(tests)
        rates.append(rate)
        rows.append([esc(gid), f"{tests[0].max_points:g}", f"{sum(t.status == 'passed' for t in tests)} / {len(tests)}",
                     f"{100 * rate:.0f}%"])
    return ("<h2>Pass rate per test</h2>" + img(plots.pass_rates(order, rates), "pass rate per test")
            + table(["test", "points", "passed", "rate"], rows, numeric=(1, 2, 3)))


def _causes(results: list[SubmissionResult]) -> str:
    counts: Counter[str] = Counter()
    who: dict[str, set[str]] = {}
    for r in results:
        for t in r.tests:
            cause = failure_cause(r, t)
            if cause:
                counts[cause] += 1
                who.setdefault(cause, set()).add(r.student)
        if integrity_flags(r):
            counts["integrity flag"] += len(integrity_flags(r))
            who.setdefault("integrity flag", set()).add(r.student)
    rows = [[esc(c), str(counts[c]), ", ".join(_link(s) for s in sorted(who[c]))]
            for c in (*CAUSES, "integrity flag") if counts[c]]
    flags = "".join(f"<li>{_link(r.student)}: {esc(f)}</li>" for r in results for f in integrity_flags(r))
    return ("<h2>Failures by cause</h2>" + (table(["cause", "tests", "students"], rows, numeric=(1,))
                                             if rows else "<p>No test failed.</p>")
            + (f"<h3>Integrity flags to review</h3><ul>{flags}</ul>" if flags else ""))


def _link(student: str) -> str:
    return f'<a href="{quote(student)}.html">{esc(student)}</a>'


def _students(results: list[SubmissionResult], slowest: int, manual: dict[str, list[ManualGrade]]) -> str:
    def score(r: SubmissionResult) -> str:
        return score_line(r.score, r.max_score, manual.get(r.student, []))
    slow = sorted(results, key=lambda r: r.seconds, reverse=True)[:slowest]
    slow_rows = [[_link(r.student), f"{r.seconds:.1f} s", score(r)] for r in slow]
    rows = [[_link(r.student), score(r),
             f'<span class="{STATUS_CLASS[r.outcome]}">{esc(r.outcome)}</span>', f"{r.seconds:.1f} s",
             esc((r.message or "").splitlines()[0] if r.message else "")] for r in results]
    return (f"<h2>Slowest submissions</h2>{table(['student', 'time', 'score'], slow_rows, numeric=(1, 2))}"
            f"<h2>Every submission</h2>{table(['student', 'score', 'outcome', 'time', 'note'], rows, numeric=(1, 3))}")


def render_class_report(assignment: str, results: list[SubmissionResult], *, slowest: int = 5,
                        similarity: dict[str, Any] | None = None, manual: dict[str, list[ManualGrade]] | None = None,
                        rubric: dict[str, Question] | None = None) -> str:
    """The whole report page; links point at ``<student>.html`` in the same folder.

    ``similarity`` is the class similarity run's summary (``gradebook/integrity/A/similarity.json``):
    its reported pairs are listed with links to their pages.
    """
    from medgrade.similarity.pages import similarity_section

    manual = manual or {}
    body = (f"<h1>{esc(assignment)}: class report</h1>" + _summary(results, manual) + _pass_rates(results)
            + _causes(results) + answers_summary(manual, rubric or {}) + similarity_section(similarity, assignment)
            + _students(results, slowest, manual))
    return page(f"{assignment} class report", body)
