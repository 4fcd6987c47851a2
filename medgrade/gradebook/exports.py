"""Grade exports for upload elsewhere: Gradescope's score CSV and nbgrader's CSV.

Gradescope's "Upload scores" CSV (chosen format): one row per student with the columns
``Name, SID, Email, Total Score``; Gradescope matches rows to its roster by Email or SID. SID is
the medgrade student id (the folder under ``submitted/``); Name and Email come from nbgrader's
gradebook when it holds them (empty otherwise). The total is the tests' points, from the result
JSON files under ``gradebook/results/<assignment>/``, plus the points a TA gave the written
answers in nbgrader's gradebook (an answer awaiting grading adds nothing yet). The nbgrader CSV
is nbgrader's own ``export``, limited to the assignment (it adds the TA's points itself).
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

from medgrade.course import Course
from medgrade.errors import MedgradeError
from medgrade.gradebook.manual import ManualGrade, manual_grades, total_score
from medgrade.nbgrader_cli import run_nbgrader
from medgrade.results import SubmissionResult

__all__ = ["GRADESCOPE_COLUMNS", "ClassGrades", "awaiting_grading", "class_grades", "gradescope_csv", "load_results",
           "nbgrader_csv"]

GRADESCOPE_COLUMNS = ("Name", "SID", "Email", "Total Score")
# The graded results of an assignment, and student -> the TA's grades of their answers.
ClassGrades = tuple[list[SubmissionResult], dict[str, list[ManualGrade]]]


def load_results(course: Course, assignment: str) -> list[SubmissionResult]:
    """The graded results of ``assignment``, by student id; an error if there are none."""
    folder = course.gradebook_dir / "results" / course.require(assignment)
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not paths:
        raise MedgradeError(f"no graded results in {folder}: run `medgrade grade {assignment}` first")
    return [SubmissionResult.from_dict(json.loads(p.read_text())) for p in paths]


def _roster(course: Course) -> dict[str, tuple[str, str]]:
    """Student id -> (name, email) from nbgrader's gradebook, where it exists."""
    if course.db_path is not None and not course.db_path.is_file():
        return {}
    with course.gradebook() as gb:
        return {s.id: (" ".join(p for p in (s.first_name, s.last_name) if p), s.email or "") for s in gb.students}


def class_grades(course: Course, assignment: str) -> ClassGrades:
    """The results and the TA's grades of ``assignment``, read once for everything an export says."""
    results = load_results(course, assignment)
    return results, manual_grades(course, assignment, results)


def gradescope_csv(course: Course, assignment: str, grades: ClassGrades | None = None) -> str:
    """The CSV text for Gradescope's manual score upload (columns in :data:`GRADESCOPE_COLUMNS`)."""
    roster = _roster(course)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(GRADESCOPE_COLUMNS)
    results, manual = grades or class_grades(course, assignment)
    for r in results:
        name, email = roster.get(r.student, ("", ""))
        total, _ = total_score(r, manual.get(r.student, []))
        writer.writerow([name or r.student, r.student, email, f"{total:g}"])
    return out.getvalue()


def awaiting_grading(manual: dict[str, list[ManualGrade]]) -> dict[str, int]:
    """student -> how many of their answers await a TA's grade (their points are not in a total yet)."""
    return {s: n for s, gs in manual.items() if (n := sum(g.awaiting for g in gs))}


def nbgrader_csv(course: Course, assignment: str) -> str:
    """nbgrader's own CSV export of ``assignment`` (one row per student, nbgrader's columns)."""
    course.require(assignment)
    with tempfile.TemporaryDirectory(prefix="medgrade-export-") as tmp:
        dest = Path(tmp) / "grades.csv"
        run = run_nbgrader(course.root, "export", f"--to={dest}", f"--assignment={assignment}", timeout=300)
        if not run.ok or not dest.is_file():
            raise MedgradeError(run.failure("nbgrader export"))
        return dest.read_text()
