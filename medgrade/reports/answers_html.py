"""The written answers on the feedback page and in the class report: the TA's grade, never the engine's.

A student sees each answer's points (or *awaiting grading*), the rubric criteria met, the TA's
comment and the evidence their answer referred to; the class report counts, per criterion, how
many students met it.
"""

from __future__ import annotations

from medgrade.gradebook.manual import ManualGrade
from medgrade.gradebook.rubric import Question
from medgrade.html import esc, table

__all__ = ["AWAITING", "answers_section", "answers_summary", "score_line"]

AWAITING = "awaiting grading"


def score_line(auto: float, auto_max: float, grades: list[ManualGrade]) -> str:
    """``12 / 30`` plus what the TA has still to grade, e.g. ``(4 points awaiting grading)``."""
    total = auto + sum(g.score or 0.0 for g in grades)
    top = auto_max + sum(g.max_points for g in grades)
    waiting = sum(g.max_points for g in grades if g.awaiting)
    return f"{total:g} / {top:g}" + (f" ({waiting:g} points {AWAITING})" if waiting else "")


def _criteria(g: ManualGrade, q: Question | None) -> str:
    if q is None or not g.criteria:
        return ""
    rows = [[("&#10003; " if g.criteria.get(c.id, 0) >= c.points else "&#10007; ") + esc(c.description),
             f"{g.criteria.get(c.id, 0):g} / {c.points:g}"] for c in q.criteria]
    return table(["criterion", "points"], rows, numeric=(1,))


def answers_section(grades: list[ManualGrade], rubric: dict[str, Question], evidence: dict[str, str]) -> str:
    """One block per answer; ``evidence`` is the text of the cells its rubric names, by answer."""
    if not grades:
        return ""
    parts = ["<h2>Written answers</h2>",
             '<p class="muted">Graded by your teaching assistants with a rubric, not by the autograder.</p>']
    for g in grades:
        if g.awaiting:
            status = f'<span class="muted">{AWAITING}</span>'
        elif g.unanswered and not g.comment:
            status = f"{g.score:g} / {g.max_points:g} points (no answer)"
        else:
            status = f"{g.score:g} / {g.max_points:g} points"
        parts.append(f'<h3 id="{esc(g.grade_id)}">{esc(g.grade_id)}: {status}</h3>')
        parts.append(_criteria(g, rubric.get(g.grade_id)))
        if g.comment:
            parts.append(f'<div class="note">{esc(g.comment)}</div>')
        if evidence.get(g.grade_id):
            parts.append(f"<details><summary>the evidence your answer refers to</summary>"
                         f"<pre>{esc(evidence[g.grade_id])}</pre></details>")
    return "\n".join(parts)


def answers_summary(grades: dict[str, list[ManualGrade]], rubric: dict[str, Question]) -> str:
    """Per answer: graded, awaiting and unanswered counts; per criterion, how many met it."""
    by_question: dict[str, list[ManualGrade]] = {}
    for student_grades in grades.values():
        for g in student_grades:
            by_question.setdefault(g.grade_id, []).append(g)
    if not by_question:
        return ""
    parts = ["<h2>Written answers</h2>"]
    for gid, gs in by_question.items():
        graded = [g for g in gs if not g.awaiting and not g.unanswered]
        parts.append(f"<h3>{esc(gid)}</h3><p>graded {len(graded)} &middot; {AWAITING} "
                     f"{sum(g.awaiting for g in gs)} &middot; no answer {sum(g.unanswered for g in gs)}</p>")
        q = rubric.get(gid)
        marked = [g for g in graded if g.criteria]
        if q and marked:
            rows = [[esc(c.id), esc(c.description),
                     f"{sum(g.criteria.get(c.id, 0) >= c.points for g in marked)} / {len(marked)}"]
                    for c in q.criteria]
            parts.append(table(["criterion", "description", "met"], rows, numeric=(2,)))
    return "\n".join(parts)
