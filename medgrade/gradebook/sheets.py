"""Grading sheets: rubric grading at scale, in any spreadsheet, recorded in nbgrader's gradebook.

``medgrade rubric sheet A`` writes, per answer a person grades, ``gradebook/rubric/<a>/<q>.csv``:
one row per graded student with their answer and, beside it, the outputs of the evidence cells
the rubric names; then one column per criterion (the points given, blank until graded) and a
comment (reusable comments are picked as ``#1``, ``#2``, listed with the criteria in
``<q>.md`` beside the sheet). ``medgrade rubric record A SHEET`` checks every row first and
refuses the whole sheet on any problem, naming the row and the fix; then it sets each graded
row's manual score (the sum of its criteria) and comment in nbgrader's gradebook in one
transaction, and keeps the criteria in ``<q>.json`` for the feedback page and class report.
A row whose criteria and comment are all blank is left ungraded.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import MissingEntry

from medgrade.course import Course
from medgrade.errors import UsageError
from medgrade.gradebook.exports import load_results
from medgrade.gradebook.files import atomic_write
from medgrade.gradebook.manual import Mark, evidence_text, load_marks, marks_path, student_cells
from medgrade.gradebook.rubric import Question, answer_cells, load_rubric

__all__ = ["SheetRecord", "write_sheets", "record_sheet", "FIXED"]

FIXED = ("question", "student", "answer", "evidence")
COMMENT = "comment"
_HEADER = re.compile(r"^(?P<id>[A-Za-z0-9_.-]+)(?: \(0-[0-9.]+\))?$")


@dataclass(frozen=True)
class SheetRecord:
    question: str
    graded: int
    skipped: int
    path: Path


def _header(q: Question) -> list[str]:
    return [*FIXED, *(f"{c.id} (0-{c.points:g})" for c in q.criteria), COMMENT]


def _guide(assignment: str, q: Question) -> str:
    lines = [f"# {assignment}: {q.grade_id} ({q.points:g} points)", "", "Criteria (a column each: the points given, "
             "0 when unmet):", ""]
    lines += [f"- `{c.id}` ({c.points:g}): {c.description}" for c in q.criteria]
    if q.comments:
        lines += ["", "Reusable comments (write `#n` in the comment column, alone or with your own words):", ""]
        lines += [f"{i}. {text}" for i, text in enumerate(q.comments, 1)]
    lines += ["", f"Record the sheet: `medgrade rubric record {assignment} {q.grade_id}.csv`", ""]
    return "\n".join(lines)


def write_sheets(course: Course, assignment: str, questions: tuple[str, ...] = ()) -> list[Path]:
    """One sheet (and its guide) per question; marks already recorded are filled in again."""
    rubric, cells = load_rubric(course, assignment), answer_cells(course, assignment)
    chosen = list(questions) or list(cells)
    if not chosen:
        raise UsageError(f"{assignment} has no answer a person grades (no graded solution cell): nothing to sheet")
    for name in chosen:
        if name not in cells:
            raise UsageError(f"{assignment} has no answer {name!r} to grade (answers: {', '.join(cells) or 'none'})")
        if name not in rubric:
            raise UsageError(f"{assignment} has no rubric for {name}: add its criteria to source/{assignment}"
                             "/rubric.yaml")
    results = [r for r in load_results(course, assignment) if r.outcome == "graded"]
    written = []
    for gid in chosen:
        q, nb_name = rubric[gid], cells[gid][0]
        marks = load_marks(course, assignment, gid)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(_header(q))
        for r in results:
            cells_of = student_cells(course, assignment, r.student, nb_name)
            answer = next((a for a in r.answers if a.grade_id == gid), None)
            text = "(no answer: left as released, scores 0)" if answer is None or answer.status == "unanswered" \
                else str(cells_of[gid].source).strip() if gid in cells_of else ""
            evidence = evidence_text(q, cells_of)
            mark = marks.get(r.student)
            points = [f"{mark.criteria[c.id]:g}" if mark and c.id in mark.criteria else "" for c in q.criteria]
            writer.writerow([gid, r.student, text, evidence, *points, mark.comment if mark else ""])
        sheet = marks_path(course, assignment, gid).with_suffix(".csv")
        atomic_write(sheet, out.getvalue())
        atomic_write(sheet.with_suffix(".md"), _guide(assignment, q))
        written.append(sheet)
    return written


def _read(path: Path) -> list[list[str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:  # a spreadsheet may add a byte-order mark
            return [row for row in csv.reader(f)]
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise UsageError(f"{path}: not a CSV file medgrade can read ({e}); save the sheet as CSV (UTF-8)") from e


def _columns(path: Path, header: list[str], q: Question) -> dict[str, int]:
    """Column index of each fixed column, criterion and the comment; refuses unknown criteria."""
    index: dict[str, int] = {}
    criteria = {c.id for c in q.criteria}
    for i, name in enumerate(h.strip() for h in header):
        m = _HEADER.match(name)
        key = m.group("id") if m else name
        if key in (*FIXED, COMMENT) or key in criteria:
            index[key] = i
        elif name:
            raise UsageError(f"{path}: column {name!r} is no criterion of {q.grade_id}'s rubric (criteria: "
                             f"{', '.join(sorted(criteria))}); fix the header or write a new sheet")
    missing = [k for k in ("question", "student", *sorted(criteria), COMMENT) if k not in index]
    if missing:
        raise UsageError(f"{path}: the header lacks {', '.join(missing)}; write a new sheet with medgrade rubric sheet")
    return index


def _comment(text: str, q: Question, where: str) -> str:
    def expand(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if not 1 <= n <= len(q.comments):
            raise ValueError(f"{where}: comment #{n} does not exist ({q.grade_id} has {len(q.comments)})")
        return q.comments[n - 1]
    return re.sub(r"#(\d+)\b", expand, text.strip())


def _row(row: list[str], index: dict[str, int], q: Question, where: str) -> Mark | None:
    """The row's marks, None when it is left ungraded; ValueError naming the fix."""
    def cell(key: str) -> str:
        return row[index[key]].strip() if index[key] < len(row) else ""
    raw = {c.id: cell(c.id) for c in q.criteria}
    comment = cell(COMMENT)
    if not any(raw.values()) and not comment:
        return None
    if not all(raw.values()):
        blank = ", ".join(k for k, v in raw.items() if not v)
        raise ValueError(f"{where}: criterion {blank} is blank; give each criterion its points (0 when unmet), "
                         "or leave the whole row blank to grade it later")
    criteria = {}
    for c in q.criteria:
        try:
            value = float(raw[c.id])
        except ValueError:
            raise ValueError(f"{where}: {c.id} is {raw[c.id]!r}, not a number of points") from None
        if not math.isfinite(value) or not 0 <= value <= c.points:
            raise ValueError(f"{where}: {c.id} is {raw[c.id]}, above its maximum {c.points:g} or below 0")
        criteria[c.id] = value
    return Mark(criteria, _comment(comment, q, where))


def record_sheet(course: Course, assignment: str, path: Path) -> SheetRecord:
    """Check the whole sheet, then record every graded row in one transaction (or nothing)."""
    rows = _read(path)
    if not rows:
        raise UsageError(f"{path}: the sheet is empty; write one with medgrade rubric sheet {assignment}")
    rubric = load_rubric(course, assignment)
    questions = {r[0].strip() for r in rows[1:] if r and r[0].strip()}
    gid = questions.pop() if len(questions) == 1 else None
    if gid is None or gid not in rubric:
        raise UsageError(f"{path}: every row's question must be one answer of {assignment} with a rubric "
                         f"({', '.join(rubric) or 'none'}); found {', '.join(sorted(questions)) or 'none'}")
    q = rubric[gid]
    index = _columns(path, rows[0], q)
    students = {r.student for r in load_results(course, assignment) if r.outcome == "graded"}
    marks: dict[str, Mark] = {}
    problems = []
    for n, row in enumerate(rows[1:], 2):  # row 1 is the header, as a spreadsheet numbers it
        if not any(c.strip() for c in row):
            continue
        student = row[index["student"]].strip() if index["student"] < len(row) else ""
        where = f"row {n} ({student or 'no student'})"
        if student not in students:
            problems.append(f"{where}: no graded submission of {assignment} by {student!r}; fix the student id")
        elif student in marks:
            problems.append(f"{where}: {student} has two rows; keep one")
        try:
            mark = _row(row, index, q, where)
        except ValueError as e:
            problems.append(str(e))
            continue
        if mark is not None and student in students:
            marks[student] = mark
    if problems:
        raise UsageError(f"{path}: nothing recorded, {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    _write(course, assignment, q, answer_cells(course, assignment)[gid][0], marks)
    graded_rows = sum(1 for r in rows[1:] if any(c.strip() for c in r))
    return SheetRecord(gid, len(marks), graded_rows - len(marks), path)


def _write(course: Course, assignment: str, q: Question, nb_name: str, marks: dict[str, Mark]) -> None:
    """The scores and comments in nbgrader's gradebook (one commit), then the criteria beside them."""
    nb = Path(nb_name).stem
    kept = {**load_marks(course, assignment, q.grade_id), **marks}
    with course.gradebook() as gb:
        try:
            for student, mark in marks.items():
                grade = gb.find_grade(q.grade_id, nb, assignment, student)
                grade.manual_score = sum(mark.criteria.values())
                grade.needs_manual_grade = False
                gb.find_comment(q.grade_id, nb, assignment, student).manual_comment = mark.comment or None
        except MissingEntry as e:
            gb.db.rollback()
            raise UsageError(f"nbgrader's gradebook has no {q.grade_id} for {student} in {assignment} ({e}); "
                             f"grade the submission again: medgrade grade {assignment} --force") from e
        gb.db.commit()
    atomic_write(marks_path(course, assignment, q.grade_id),
                 json.dumps({s: {"criteria": m.criteria, "comment": m.comment} for s, m in sorted(kept.items())},
                            indent=1) + "\n")
