"""The TA's half of a grade: scores, comments and rubric marks of the answers a person grades.

The engine only says whether an answer is there (:class:`medgrade.results.AnswerResult`); its
score is whatever a TA entered in nbgrader's gradebook, through formgrader or a grading sheet
(:mod:`medgrade.gradebook.sheets`). A sheet also keeps which rubric criteria each student met in
``gradebook/rubric/<a>/<question>.json``, for the feedback page and the class report. Until a
TA grades it, an answer is *awaiting grading* and adds nothing to a total.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbgrader.api import MissingEntry

from medgrade.course import Course
from medgrade.errors import UsageError
from medgrade.gradebook.rubric import Question, answer_cells
from medgrade.results import SubmissionResult

__all__ = ["ManualGrade", "Mark", "cell_text", "evidence_text", "load_marks", "manual_grades", "marks_path",
           "student_cells", "total_score"]

_EVIDENCE_CHARS = 2000


@dataclass(frozen=True)
class Mark:
    """What a grading sheet recorded for one student's answer: points per criterion and the comment."""

    criteria: dict[str, float]
    comment: str = ""


@dataclass(frozen=True)
class ManualGrade:
    grade_id: str
    max_points: float
    score: float | None  # None: awaiting grading
    comment: str = ""
    unanswered: bool = False
    criteria: dict[str, float] = field(default_factory=dict)  # empty unless graded with a sheet

    @property
    def awaiting(self) -> bool:
        return self.score is None


def marks_path(course: Course, assignment: str, question: str) -> Path:
    return course.gradebook_dir / "rubric" / assignment / f"{question}.json"


def load_marks(course: Course, assignment: str, question: str) -> dict[str, Mark]:
    """student -> the rubric marks a grading sheet recorded for ``question``."""
    path = marks_path(course, assignment, question)
    if not path.is_file():
        return {}
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
        return {s: Mark({k: float(v) for k, v in m["criteria"].items()}, str(m.get("comment", "")))
                for s, m in raw.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise UsageError(f"{path} is not a rubric record medgrade can read ({e}); record the sheet again") from e


def manual_grades(course: Course, assignment: str, results: list[SubmissionResult]) -> dict[str, list[ManualGrade]]:
    """student -> each answer's grade: the TA's score where one was entered, else 0 or awaiting."""
    cells = answer_cells(course, assignment)
    marks = {q: load_marks(course, assignment, q) for q in cells}
    out: dict[str, list[ManualGrade]] = {}
    if not any(r.answers for r in results):
        return {r.student: [] for r in results}
    with course.gradebook() as gb:
        for r in results:
            grades = []
            for a in r.answers:
                nb = Path(cells[a.grade_id][0]).stem if a.grade_id in cells else None
                score, comment = _entered(gb, a.grade_id, nb, assignment, r.student) if nb else (None, "")
                unanswered = a.status == "unanswered"
                if score is None and unanswered:
                    score = 0.0  # as nbgrader's determine_grade: nothing written, nothing to grade
                mark = marks.get(a.grade_id, {}).get(r.student)
                grades.append(ManualGrade(a.grade_id, a.max_points, score, comment, unanswered,
                                          dict(mark.criteria) if mark else {}))
            out[r.student] = grades
    return out


def _entered(gb: Any, gid: str, nb: str, assignment: str, student: str) -> tuple[float | None, str]:
    """The manual score and comment a TA entered in nbgrader's gradebook, if any."""
    try:
        grade = gb.find_grade(gid, nb, assignment, student)
    except MissingEntry:
        return None, ""
    try:
        comment = gb.find_comment(gid, nb, assignment, student).manual_comment or ""
    except MissingEntry:
        comment = ""
    score = grade.manual_score
    return (None if score is None else float(score)), comment


def cell_text(cell: Any) -> str:
    """What a cell printed or showed, as text (a figure is named, not drawn), cut to a readable length."""
    parts = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            parts.append(str(o.get("text", "")))
        elif o.get("output_type") in ("execute_result", "display_data"):
            data = o.get("data", {})
            parts.append(str(data["text/plain"]) if "text/plain" in data else "")
            if "image/png" in data:
                parts.append("[a figure: see the student's notebook]")
        elif o.get("output_type") == "error":
            parts.append(f"{o.get('ename')}: {o.get('evalue')}")
    text = "".join(p if p.endswith("\n") else p + "\n" for p in parts if p).strip()
    return text if len(text) <= _EVIDENCE_CHARS else text[:_EVIDENCE_CHARS] + " [...]"


def student_cells(course: Course, assignment: str, student: str, nb_name: str) -> dict[str, Any]:
    """grade_id -> cell of the student's graded (executed) notebook ``nb_name``."""
    path = course.autograded / student / assignment / nb_name
    if not path.is_file():
        return {}
    nb = nbformat.read(path, as_version=4)
    return {str(gid): c for c in nb.cells if (gid := c.metadata.get("nbgrader", {}).get("grade_id"))}


def evidence_text(q: Question, cells: dict[str, Any]) -> str:
    """The outputs of the cells ``q``'s rubric names as evidence, each under its id."""
    return "\n\n".join(f"[{e}]\n{cell_text(cells[e])}" for e in q.evidence if e in cells)


def total_score(result: SubmissionResult, grades: list[ManualGrade]) -> tuple[float, int]:
    """The automatic points plus the TA's, and how many answers still await grading."""
    return result.score + sum(g.score or 0.0 for g in grades), sum(g.awaiting for g in grades)
