"""``medgrade export A --format gradescope-csv|nbgrader-csv``: grades as CSV for upload."""

from __future__ import annotations

from pathlib import Path

import click

from medgrade.cli.options import course_dir_option
from medgrade.course import Course
from medgrade.gradebook.exports import awaiting_grading, class_grades, gradescope_csv, nbgrader_csv

_FORMATS = ("gradescope-csv", "nbgrader-csv")


@click.command()
@click.argument("assignment")
@click.option("--format", "fmt", type=click.Choice(_FORMATS), required=True, help="What to write.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="File to write (default: gradebook/exports/ASSIGNMENT-FORMAT.csv).")
@course_dir_option
def export(assignment: str, fmt: str, output: str | None, course_dir: str | None) -> None:
    """Write ASSIGNMENT's grades as CSV: Gradescope's score upload, or nbgrader's export."""
    course = Course.at(course_dir)
    grades = class_grades(course, assignment)  # once: for the CSV and for the note below
    text = gradescope_csv(course, assignment, grades) if fmt == "gradescope-csv" else nbgrader_csv(course, assignment)
    dest = Path(output) if output else course.gradebook_dir / "exports" / f"{assignment}-{fmt}.csv"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text)
    click.echo(f"wrote {len(text.splitlines()) - 1} row(s) to {dest}")
    waiting = awaiting_grading(grades[1])
    if waiting:
        click.echo(f"note: {sum(waiting.values())} written answer(s) of {len(waiting)} student(s) await grading; "
                   f"their points are not in the totals yet (medgrade rubric sheet {assignment}, or formgrader)",
                   err=True)
