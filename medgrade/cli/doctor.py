"""``medgrade doctor``: check a grading machine before a class is graded."""

from __future__ import annotations

import sys

import click

from medgrade.cli.options import profile_option
from medgrade.course import Course
from medgrade.data.root import resolve_root
from medgrade.doctor import diagnose, format_findings
from medgrade.errors import CourseError


@click.command()
@click.option("--course-dir", type=click.Path(file_okay=False, exists=True), default=None,
              help="The course to grade (default: the current directory, when it is one).")
@profile_option
def doctor(course_dir: str | None, profile: str) -> None:
    """Check the interpreter and pinned libraries, the data, the sandbox, the GPUs and free disk.

    Prints each finding with what to fix; exits 1 when something would stop or spoil grading.
    Outside a course, the data of every assignment the kit ships is checked.
    """
    try:
        course: Course | None = Course.at(course_dir)
    except CourseError:
        if course_dir is not None:
            raise
        course = None
    data_root = resolve_root()
    where = f"the course {course.root}" if course else "the kit's assignments (not in a course directory)"
    click.echo(f"checking this machine for grading {where}, {profile} profile")
    findings = diagnose(course, data_root, profile=profile)
    click.echo(format_findings(findings))
    if any(f.status == "problem" for f in findings):
        sys.exit(1)
