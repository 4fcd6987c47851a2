"""``medgrade rubric sheet|record A``: grade written answers with their rubric, in any spreadsheet."""

from __future__ import annotations

from pathlib import Path

import click

from medgrade.cli.options import course_dir_option
from medgrade.course import Course
from medgrade.gradebook.sheets import record_sheet, write_sheets


@click.group()
def rubric() -> None:
    """Grade the answers a person grades with their rubric: write sheets, record them."""


@rubric.command()
@click.argument("assignment")
@click.argument("questions", nargs=-1)
@course_dir_option
def sheet(assignment: str, questions: tuple[str, ...], course_dir: str | None) -> None:
    """Write a grading sheet per answer of ASSIGNMENT (default: every one) under gradebook/rubric/A/.

    One row per graded student: the answer, the outputs of the evidence cells the rubric names,
    a column per criterion (points given) and a comment. Marks already recorded are filled in.
    """
    course = Course.at(course_dir)
    name = course.require(assignment)
    for path in write_sheets(course, name, questions):
        click.echo(f"wrote {path} (criteria and reusable comments: {path.with_suffix('.md').name})")


@rubric.command()
@click.argument("assignment")
@click.argument("sheet_file", metavar="SHEET", type=click.Path(dir_okay=False, path_type=Path))
@course_dir_option
def record(assignment: str, sheet_file: Path, course_dir: str | None) -> None:
    """Record a filled grading SHEET (CSV) of ASSIGNMENT in nbgrader's gradebook: all of it or nothing."""
    course = Course.at(course_dir)
    name = course.require(assignment)
    done = record_sheet(course, name, sheet_file)
    click.echo(f"recorded {done.graded} grade(s) of {done.question} from {sheet_file}"
               + (f"; {done.skipped} blank row(s) left to grade" if done.skipped else ""))
