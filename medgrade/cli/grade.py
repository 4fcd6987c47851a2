"""``medgrade grade A``: autograde the submissions of a class into the gradebook."""

from __future__ import annotations

import click

from medgrade.cli.options import course_dir_option, profile_option
from medgrade.course import Course
from medgrade.grading.report import grade_and_report
from medgrade.profiles import get_profile


@click.command()
@click.argument("assignment")
@click.option("--student", "students", multiple=True, help="Grade only this student (repeatable).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Submissions graded at once (default: one per CPU core).")
@course_dir_option
@profile_option
def grade(
    assignment: str, students: tuple[str, ...], workers: int | None, course_dir: str | None,
    profile: str,
) -> None:
    """Grade submitted/*/ASSIGNMENT; write autograded/, the gradebook and result JSON."""
    course = Course.at(course_dir)
    grade_and_report(
        course, assignment, list(students), profile=get_profile(profile), workers=workers
    )
