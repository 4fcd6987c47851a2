"""``medgrade export-autograder A --format gradescope|otter``: an autograder zip for another platform."""

from __future__ import annotations

from pathlib import Path

import click

from medgrade.cli.options import course_dir_option, profile_option, unconfined_option
from medgrade.course import Course
from medgrade.errors import MedgradeError
from medgrade.interop.gradescope import build_gradescope_autograder
from medgrade.interop.otter import build_otter_autograder


@click.command("export-autograder")
@click.argument("assignment")
@click.option("--format", "fmt", type=click.Choice(["gradescope", "otter"]), required=True,
              help="gradescope: autograder.zip for a Gradescope programming assignment; "
                   "otter: a zip for `otter run -a`.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Zip to write (default: gradebook/exports/ASSIGNMENT-FORMAT-autograder.zip).")
@profile_option
@course_dir_option
@unconfined_option
def export_autograder(assignment: str, fmt: str, output: str | None, profile: str, course_dir: str | None,
                      unconfined: bool) -> None:
    """Write an autograder zip that grades one submission of ASSIGNMENT elsewhere.

    gradescope: medgrade's own engine runs inside Gradescope's container and writes results.json
    (hidden tests visible after publishing); with --unconfined it grades even where Gradescope's
    container cannot build the sandbox. otter: the tests as Otter test files (they run in the
    student's kernel: no sandbox).
    """
    course = Course.at(course_dir)
    course.require(assignment)
    dest = Path(output) if output else course.gradebook_dir / "exports" / f"{assignment}-{fmt}-autograder.zip"
    try:
        if fmt == "gradescope":
            build_gradescope_autograder(course, assignment, dest, profile=profile, unconfined=unconfined)
        else:
            build_otter_autograder(course, assignment, dest)
    except (ValueError, FileNotFoundError) as e:
        raise MedgradeError(str(e)) from e
    click.echo(f"wrote {dest}")
