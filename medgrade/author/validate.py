"""``medgrade validate``: prove an assignment's autograder fair before students see it.

The reference solution (the source notebook) must score full marks and the blank release zero,
graded by the same engine and profile as students. A table shows every test.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from medgrade.author.release import scratch_course
from medgrade.course import Course
from medgrade.errors import CourseError
from medgrade.grading.nbgrader_backend import autograde_class
from medgrade.profiles import Profile
from medgrade.results import SubmissionResult

__all__ = ["ValidationRow", "ValidationReport", "validate_assignment"]

REFERENCE, BLANK = "reference", "blank-release"


@dataclass(frozen=True)
class ValidationRow:
    grade_id: str
    max_points: float
    reference: float
    blank: float
    reference_message: str
    blank_message: str

    @property
    def ok(self) -> bool:
        return self.reference == self.max_points and self.blank == 0


@dataclass(frozen=True)
class ValidationReport:
    assignment: str
    profile: str
    rows: tuple[ValidationRow, ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems and all(r.ok for r in self.rows)

    def table(self) -> str:
        lines = [f"{self.assignment} ({self.profile} profile)",
                 f"  {'test':<28} {'max':>5} {'reference':>10} {'blank':>6}  verdict"]
        for r in self.rows:
            verdict = "ok" if r.ok else "MISMATCH"
            lines.append(f"  {r.grade_id:<28} {r.max_points:>5g} {r.reference:>10g} {r.blank:>6g}  {verdict}")
            if r.reference != r.max_points and r.reference_message:
                lines.append(f"      reference lost points: {r.reference_message}")
            if r.blank != 0:
                lines.append("      the blank release scored points: the test passes without any work")
        lines.extend(f"  problem: {p}" for p in self.problems)
        return "\n".join(lines)


def _place_reference_and_blank(course: Course, assignment: str, root: Path) -> Course:
    scratch = scratch_course(course, assignment, root)
    released = course.release / assignment
    if not released.is_dir():
        raise CourseError(f"release/{assignment} does not exist; run: medgrade release {assignment}")
    for student, origin in ((REFERENCE, course.source / assignment), (BLANK, released)):
        dest = root / "submitted" / student / assignment
        dest.mkdir(parents=True)
        for nb in origin.glob("*.ipynb"):
            shutil.copy2(nb, dest / nb.name)
    return scratch


def validate_assignment(course: Course, assignment: str, *, profile: Profile) -> ValidationReport:
    """Grade the reference and the blank release in a scratch course; compare per test."""
    course.require(assignment)
    with tempfile.TemporaryDirectory(prefix=f"medgrade-validate-{assignment}-") as tmp:
        scratch = _place_reference_and_blank(course, assignment, Path(tmp))
        results = autograde_class(scratch, assignment, [REFERENCE, BLANK], profile=profile)
    by_student: dict[str, SubmissionResult] = {r.student: r for r in results}
    ref, blank = by_student[REFERENCE], by_student[BLANK]
    problems = [f"{r.student}: {r.message}" for r in results if r.outcome == "error"]
    rows = tuple(
        ValidationRow(a.grade_id, a.max_points, a.points, b.points, a.message, b.message)
        for a, b in zip(ref.tests, blank.tests, strict=True)
    )
    return ValidationReport(assignment, profile.name, rows, tuple(problems))
