"""``medgrade check NOTEBOOK``: a student's public tests, run the way the grader runs them."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from medgrade.cli.options import profile_option, unconfined_option
from medgrade.course import Course
from medgrade.data.root import present_root
from medgrade.profiles import get_profile
from medgrade.student.check import run_check
from medgrade.student.selfcheck import format_report


@click.command()
@click.argument("notebook", type=click.Path(dir_okay=False, exists=True))
@click.option("--assignment", default=None, help="The assignment (default: inferred from the notebook's name).")
@click.option("--course-dir", type=click.Path(file_okay=False, exists=True), default=".", show_default=True,
              help="The course folder holding release/.")
@profile_option
@unconfined_option
def check(notebook: str, assignment: str | None, course_dir: str, profile: str, unconfined: bool) -> None:
    """Run NOTEBOOK's public tests in a sandboxed kernel with the grading profile's budgets.

    Prints each test's status and message, and first what would stop or flag grading (an
    invalid file, a wrong name, an edited test cell, a run over budget). Exits 1 unless all is well.
    """
    report = run_check(Course(Path(course_dir).resolve()), Path(notebook), profile=get_profile(profile),
                       assignment=assignment, data_root=present_root(), unconfined=unconfined)
    click.echo(format_report(report))
    if not report.ok:
        sys.exit(1)
