"""``medgrade quickstart DIR``: start a new course with the kit's assignments."""

from __future__ import annotations

from pathlib import Path

import click

from medgrade.kit import choose
from medgrade.quickstart import create_course


@click.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--assignments", default=None, metavar="01,03,...",
              help="The assignments to include, by number or name (default: all).")
@click.option("--course-id", default=None, help="nbgrader's course id (default: the folder's name).")
def quickstart(directory: str, assignments: str | None, course_id: str | None) -> None:
    """Create DIRECTORY: an nbgrader course with the chosen assignments, their config and a README.

    Each assignment comes with its source (hidden tests, mutants), student release, reference
    solution and calibration record. DIRECTORY must be new or empty, outside medgrade's repository.
    """
    made = create_course(Path(directory), choose(assignments), course_id=course_id)
    click.echo(f"created the course {made.course_id!r} in {made.root}")
    for a in made.assignments:
        click.echo(f"  {a}")
    click.echo(f"next: cd {made.root} and follow README.md (data first: {', '.join(made.datasets)})")
