"""``medgrade validate [A ...]``: reference full marks, blank release zero, per test."""

from __future__ import annotations

import sys

import click

from medgrade.author.validate import validate_assignment
from medgrade.cli.options import course_dir_option, profile_option, slots_per_gpu_option, unconfined_option
from medgrade.course import Course
from medgrade.profiles import get_profile


@click.command()
@click.argument("assignments", nargs=-1)
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Submissions graded at once (default: one per CPU core).")
@course_dir_option
@profile_option
@slots_per_gpu_option
@unconfined_option
def validate(assignments: tuple[str, ...], workers: int | None, course_dir: str | None, profile: str,
             unconfined: bool, slots_per_gpu: int) -> None:
    """Grade the reference, blank release, mutants and alternatives of each ASSIGNMENT (default: all).

    On a GPU profile the thresholds are held to the CUDA calibration record where one is
    committed, and called provisional where none is.
    """
    course = Course.at(course_dir)
    names = [course.require(a) for a in assignments] or course.assignments()
    failed = []
    for name in names:
        click.echo(f"validating {name} ...")
        report = validate_assignment(course, name, profile=get_profile(profile), workers=workers,
                                     unconfined=unconfined, slots_per_gpu=slots_per_gpu)
        click.echo(report.table())
        if not report.ok:
            failed.append(name)
    if failed:
        click.echo(f"validation failed: {', '.join(failed)}", err=True)
        sys.exit(1)
    click.echo(f"validation passed: {', '.join(names)}")
