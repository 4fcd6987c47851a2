"""The submissions validate and calibrate grade: the reference, the blank release, each mutant and alternative.

Both build a scratch course whose students are these columns (:func:`place_columns`) and grade
it with the engine students are graded by.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from medgrade.author.alternatives import Alternative, alternative_student
from medgrade.author.mutants import Mutant, write_submission
from medgrade.author.release import scratch_course
from medgrade.course import Course
from medgrade.errors import CourseError
from medgrade.intake.cells import grade_cells

__all__ = ["REFERENCE", "BLANK", "full_points", "must_fail", "mutant_student", "place_columns"]

REFERENCE, BLANK = "reference", "blank-release"


def full_points(course: Course, assignment: str) -> dict[str, float]:
    """grade_id -> its points, for every graded test cell of the assignment's source notebooks."""
    return {gid: pts for src in course.source_notebooks(assignment) for gid, pts in grade_cells(src)}


def must_fail(mutants: list[Mutant], full: dict[str, float]) -> dict[str, list[str]]:
    """grade_id -> the names of the mutants expected to lose points on it."""
    return {gid: sorted(m.name for m in mutants if m.expected.get(gid, pts) < pts) for gid, pts in full.items()}


def mutant_student(name: str) -> str:
    """The student id a mutant is graded under in a scratch course."""
    return f"mutant-{name}"


def place_columns(course: Course, assignment: str, root: Path, mutants: list[Mutant],
                  alternatives: Sequence[Alternative] = (), *, blank: bool = True) -> Course:
    """A scratch course at ``root`` whose students are the reference, blank release, mutants and alternatives."""
    scratch = scratch_course(course, assignment, root)
    released = course.release / assignment
    if not released.is_dir():
        raise CourseError(f"release/{assignment} does not exist; run: medgrade release {assignment}")
    for student, origin in ((REFERENCE, course.source / assignment), (BLANK, released))[:2 if blank else 1]:
        dest = root / "submitted" / student / assignment
        dest.mkdir(parents=True)
        for item in origin.iterdir():
            if item.is_file():
                shutil.copy2(item, dest / item.name)
    for m in mutants:
        write_submission(course, assignment, root / "submitted" / mutant_student(m.name) / assignment,
                         m.edits, who=f"{assignment}/mutants/{m.name}.yaml")
    for a in alternatives:
        write_submission(course, assignment, root / "submitted" / alternative_student(a.name) / assignment,
                         who=f"{assignment}/alternatives/{a.name}.yaml", cells=a.cells)
    return scratch
