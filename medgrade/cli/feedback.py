"""``medgrade feedback A``: an HTML page per graded submission and the class report."""

from __future__ import annotations

import click

from medgrade.cli.options import course_dir_option
from medgrade.course import Course
from medgrade.reports.feedback import write_feedback


@click.command()
@click.argument("assignment")
@course_dir_option
def feedback(assignment: str, course_dir: str | None) -> None:
    """Write gradebook/feedback/ASSIGNMENT/: STUDENT.html per submission and index.html, the class report.

    Pages are self-contained (images embedded, no network needed). Test sources are shown as
    source/ASSIGNMENT/feedback.yaml allows; hidden tests stay hidden by default.
    """
    course = Course.at(course_dir)
    out = write_feedback(course, assignment)
    click.echo(f"wrote {len(out.pages)} feedback page(s) to {out.folder}/<student>.html")
    click.echo(f"class report: {out.report}")
