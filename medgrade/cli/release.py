"""``medgrade release A``: write the student release and the executed reference solution."""

from __future__ import annotations

import click

from medgrade.author.release import release as do_release
from medgrade.cli.options import course_dir_option, profile_option
from medgrade.course import Course


@click.command()
@click.argument("assignment")
@click.option("--no-execute", is_flag=True, help="Skip executing the reference solution.")
@course_dir_option
@profile_option
def release(assignment: str, no_execute: bool, course_dir: str | None, profile: str) -> None:
    """Generate release/ASSIGNMENT and reference_solutions/ASSIGNMENT from source/."""
    course = Course.at(course_dir)
    course.require(assignment)
    click.echo(f"releasing {assignment} ...")
    report = do_release(course, assignment, execute=not no_execute, profile=profile)
    for nb in report.release_notebooks:
        click.echo(f"  release:   {nb.relative_to(course.root)}")
    for nb, secs in zip(report.reference_notebooks, report.seconds_per_reference, strict=True):
        click.echo(f"  reference: {nb.relative_to(course.root)} (executed in {secs:.1f} s, {profile})")
