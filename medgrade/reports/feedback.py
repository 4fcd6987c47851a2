"""``medgrade feedback A``: one HTML page per graded submission, and the class report.

A page shows the score, each test's points and the message the student reads, the test's source
as the visibility policy allows (:mod:`medgrade.gradebook.visibility`: hidden parts are never
shown unless the policy says so), and plots drawn from evidence the run published. Everything is
computed from ``gradebook/results/<a>/*.json`` and ``autograded/``; pages are written to
``gradebook/feedback/<a>/<student>.html`` beside ``index.html``, the class report.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medgrade.course import Course
from medgrade.errors import UsageError
from medgrade.gradebook.files import atomic_write
from medgrade.gradebook.manual import ManualGrade, evidence_text, manual_grades, student_cells
from medgrade.gradebook.plot_evidence import draw, read_evidence
from medgrade.gradebook.rubric import Question, answer_cells, load_rubric
from medgrade.html import STATUS_CLASS, esc, img, page
from medgrade.intake.scrub import NO_HIDDEN, Hidden, scrub
from medgrade.reports.answers_html import answers_section, score_line
from medgrade.results import SubmissionResult, TestResult

__all__ = ["FeedbackOutput", "feedback_dir", "load_results", "render_feedback", "write_feedback"]

_STATUS_TEXT = {"passed": "passed", "failed": "failed", "not_run": "not run"}


@dataclass(frozen=True)
class FeedbackOutput:
    folder: Path
    pages: tuple[Path, ...]
    report: Path


def feedback_dir(course: Course, assignment: str) -> Path:
    return course.gradebook_dir / "feedback" / assignment


def load_results(course: Course, assignment: str) -> list[SubmissionResult]:
    """Every result JSON of ``assignment``, by student name."""
    folder = course.gradebook_dir / "results" / assignment
    results = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            results.append(SubmissionResult.from_dict(json.loads(path.read_text(encoding="utf-8"))))
        except (ValueError, KeyError, TypeError) as e:
            raise UsageError(f"{path} is not a result file this version can read ({e}); regrade with --force") from e
    return results


def _test_section(t: TestResult, source: str, evidence: list[dict[str, Any]], hidden: Hidden = NO_HIDDEN) -> str:
    status = f'<span class="{STATUS_CLASS[t.status]}">{_STATUS_TEXT[t.status]}</span>'
    parts = [f'<h3 id="{esc(t.grade_id)}">{esc(t.grade_id)}: {t.points:g} / {t.max_points:g} points, {status}</h3>']
    if t.message:
        parts.append(f"<pre>{esc(scrub(t.message, hidden))}</pre>")
    figures = [d for record in evidence if (d := draw(record, failed=t.status != "passed"))]
    parts.extend(img(uri, caption) for uri, caption in figures)
    if source.strip():
        parts.append(f"<details><summary>test source</summary><pre>{esc(source)}</pre></details>")
    return "\n".join(parts)


def _scrubbed(record: dict[str, Any], hidden: Hidden) -> dict[str, Any]:
    """A published plot record with the hidden source scrubbed from its texts (labels, title)."""
    out = dict(record)
    if isinstance(out.get("labels"), list):
        out["labels"] = [scrub(str(label), hidden)[:80] for label in out["labels"]]
    if isinstance(out.get("title"), str):
        out["title"] = scrub(out["title"], hidden)[:200]
    return out


def render_feedback(result: SubmissionResult, sources: dict[str, str],
                    evidence: dict[str, list[dict[str, Any]]], hidden: dict[str, Hidden] | None = None,
                    manual: list[ManualGrade] | None = None, rubric: dict[str, Question] | None = None,
                    answer_evidence: dict[str, str] | None = None) -> str:
    """The feedback page of one submission. ``sources`` is what the policy allows to show.

    ``hidden`` (by grade id) is scrubbed from every text the kernel could have made: the
    messages, and the labels and titles of the plots it published (drawn into the images).
    ``manual`` holds the TA's grades of the written answers (:mod:`medgrade.gradebook.manual`).
    """
    manual = manual or []
    hidden = hidden or {}
    evidence = {gid: [_scrubbed(record, hidden.get(gid, NO_HIDDEN)) for record in records]
                for gid, records in evidence.items()}
    r = result
    head = [f"<h1>{esc(r.assignment)}: feedback for {esc(r.student)}</h1>",
            f'<p>Score <strong>{score_line(r.score, r.max_score, manual)}</strong> &middot; '
            f'<span class="{STATUS_CLASS[r.outcome]}">{esc(r.outcome)}</span> &middot; '
            f'graded in {r.seconds:.1f} s</p>']
    if r.message:
        head.append(f'<div class="note">{esc(r.message)}</div>')
    if r.findings:
        items = "".join(f"<li>{esc(f)}</li>" for f in r.findings)
        head.append(f"<h2>Notes from the grader</h2><ul>{items}</ul>")
    overall = [d for record in evidence.get("", []) if (d := draw(record, failed=False))]
    if overall:
        head.append("<h2>Your run</h2>" + "".join(img(uri, caption) for uri, caption in overall))
    head.append("<h2>Tests</h2>")
    head.append('<p class="muted">Test sources show what you were given; hidden tests are not shown '
                "unless your instructor released them.</p>")
    tests = [_test_section(t, sources.get(t.grade_id, ""), evidence.get(t.grade_id, []),
                           hidden.get(t.grade_id, NO_HIDDEN)) for t in r.tests]
    written = answers_section(manual, rubric or {}, answer_evidence or {})
    return page(f"{r.assignment} feedback: {r.student}", "\n".join([*head, *tests, written]))


def _answer_evidence(course: Course, assignment: str, r: SubmissionResult, rubric: dict[str, Question],
                     cells: dict[str, tuple[str, float]]) -> dict[str, str]:
    """By answer: the text of the evidence cells its rubric names, from the student's graded notebook.

    ``cells`` is :func:`answer_cells` of the assignment, read once for the whole class.
    """
    out = {}
    for a in r.answers:
        if a.grade_id in rubric and a.grade_id in cells:
            out[a.grade_id] = evidence_text(rubric[a.grade_id],
                                            student_cells(course, assignment, r.student, cells[a.grade_id][0]))
    return out


def write_feedback(course: Course, assignment: str, *, now: dt.datetime | None = None) -> FeedbackOutput:
    """Write every graded submission's page and the class report; return where they went."""
    from medgrade.gradebook.visibility import hidden_sources, load_visibility, shown_sources
    from medgrade.reports.class_report import render_class_report
    from medgrade.similarity.run import read_summary

    course.require(assignment)
    results = load_results(course, assignment)
    if not results:
        raise UsageError(f"no results for {assignment} under gradebook/results/: "
                         f"run `medgrade grade {assignment}` first")
    when = now or dt.datetime.now(dt.timezone.utc)
    sources = shown_sources(course, assignment, load_visibility(course, assignment), when)
    hidden = hidden_sources(course, assignment)
    folder = feedback_dir(course, assignment)
    manual, rubric = manual_grades(course, assignment, results), load_rubric(course, assignment)
    cells = answer_cells(course, assignment)
    pages = []
    for r in results:
        graded = sorted((course.autograded / r.student / assignment).glob("*.ipynb"))
        dest = folder / f"{r.student}.html"
        atomic_write(dest, render_feedback(r, sources, read_evidence(graded), hidden, manual.get(r.student, []),
                                           rubric, _answer_evidence(course, assignment, r, rubric, cells)))
        pages.append(dest)
    report = folder / "index.html"
    atomic_write(report, render_class_report(assignment, results, similarity=read_summary(course, assignment),
                                             manual=manual, rubric=rubric))
    return FeedbackOutput(folder, tuple(pages), report)
