"""Write a :class:`SubmissionResult` into nbgrader's gradebook through its own API.

nbgrader's ``export`` and formgrader read these rows unchanged. Writing is idempotent: a regrade
updates the same rows (no duplicates), so a rerun after a crash converges to one state.
"""

from __future__ import annotations

import warnings

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning

from medgrade.course import Course
from medgrade.results import SubmissionResult

__all__ = ["record_result"]


def record_result(course: Course, result: SubmissionResult, notebooks: list[str]) -> None:
    """Create or update the submission of ``result`` and set each test's automatic score."""
    with warnings.catch_warnings(), Gradebook(course.db_url) as gb:
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
                    grade.needs_manual_grade = False
        del submission
        gb.db.commit()
