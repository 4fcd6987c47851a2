"""Write a :class:`SubmissionResult` into nbgrader's gradebook through its own API.

nbgrader's ``export`` and formgrader read these rows unchanged. Writing is idempotent: a regrade
updates the same rows (no duplicates), so a rerun after a crash converges to one state.

Each grade row is set as ``nbgrader autograde`` sets it: a test's automatic score from medgrade's
verdict; an answer a person grades (a graded solution cell, written or code) gets nbgrader's own
``determine_grade`` (zero and "No response." when the student left the stub, else no score and
marked for manual grading); a grade a TA already entered is marked for review.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import nbformat
from nbgrader.api import MissingEntry
from nbgrader.utils import compute_checksum, determine_grade, is_grade, is_solution, is_task
from sqlalchemy.exc import SAWarning

from medgrade.course import Course
from medgrade.results import SubmissionResult

__all__ = ["record_result"]


def record_result(course: Course, result: SubmissionResult, notebooks: list[str]) -> None:
    """Create or update the submission of ``result`` and set each test's automatic score."""
    with warnings.catch_warnings(), course.gradebook() as gb:
        # nbgrader's own session handling warns on add_submission for an existing student.
        warnings.simplefilter("ignore", SAWarning)
        gb.update_or_create_student(result.student)
        try:
            submission = gb.find_submission(result.assignment, result.student)
        except MissingEntry:
            submission = gb.add_submission(result.assignment, result.student)
        by_id = {t.grade_id: t for t in result.tests}
        for nb_id in notebooks:
            notebook = gb.find_submission_notebook(nb_id, result.assignment, result.student)
            notebook.flagged = bool(result.findings)
            for grade in notebook.grades:
                test = by_id.get(grade.name)
                if test is not None:
                    grade.auto_score = test.points
                    grade.needs_manual_grade = grade.manual_score is not None
            graded = course.autograded / result.student / result.assignment / f"{nb_id}.ipynb"
            if result.outcome == "graded" and graded.is_file():
                _answers(gb, graded, nb_id, result, set(by_id))
        del submission
        gb.db.commit()


def _answers(gb: Any, graded: Path, nb_id: str, result: SubmissionResult, tests: set[str]) -> None:
    """Grade and comment rows of the answers a person grades, as nbgrader's SaveAutoGrades writes them."""
    nb = nbformat.read(graded, as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        if gid is None or gid in tests:
            continue
        try:
            if is_grade(cell):
                grade = gb.find_grade(gid, nb_id, result.assignment, result.student)
                grade.auto_score, _ = determine_grade(cell)
                grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
            if is_solution(cell) or is_task(cell):
                comment = gb.find_comment(gid, nb_id, result.assignment, result.student)
                unanswered = meta.get("checksum") == compute_checksum(cell) and not is_task(cell)
                comment.auto_comment = "No response." if unanswered else None
        except MissingEntry:  # a cell the assignment's gradebook entry does not have
            continue
