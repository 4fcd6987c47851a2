"""``medgrade demo``: the whole flow on a sample class, from data to grades.csv."""

from __future__ import annotations

import sys

import click

from medgrade.author.release import generate_release
from medgrade.cli.options import course_dir_option, profile_option, unconfined_option
from medgrade.course import Course
from medgrade.data import generate_all
from medgrade.data.root import resolve_root
from medgrade.demo import DEMO_ASSIGNMENT, place_class
from medgrade.errors import CourseError
from medgrade.nbgrader_cli import run_nbgrader
from medgrade.pipeline import grade_and_report
from medgrade.profiles import get_profile


@click.command()
@course_dir_option
@profile_option
@unconfined_option
def demo(course_dir: str | None, profile: str, unconfined: bool) -> None:
    """Generate data, release 01, grade a sample class of seven, write gradebook/grades.csv."""
    course = Course.at(course_dir)
    root = resolve_root()
    click.echo(f"1/5 data: MedNIST stand-in under {root}")
    (built,) = generate_all(root, ["mednist"])
    click.echo(f"      {built.status}: {built.files} files")
    click.echo(f"2/5 release: {DEMO_ASSIGNMENT}")
    generate_release(course, DEMO_ASSIGNMENT)
    students = place_class(course)
    click.echo(f"3/5 class: {len(students)} submissions placed in submitted/")
    for s in students:
        click.echo(f"      {s.name:<6} {s.story}")
    click.echo("4/5 grading")
    results = grade_and_report(
        course, DEMO_ASSIGNMENT, [s.name for s in students],
        profile=get_profile(profile), expected={s.name: s.expected for s in students},
        force=True,  # the demo shows grading; a TA's rerun would keep unchanged results
        unconfined=unconfined,
    )
    out = course.gradebook_dir / "grades.csv"
    run = run_nbgrader(course.root, "export", "--to", str(out))
    if not run.ok:
        raise CourseError(run.failure("nbgrader export"))
    click.echo(f"5/5 export: {out.relative_to(course.root)} (nbgrader export)")
    wrong = [r.student for r, s in zip(results, students, strict=True) if r.score != s.expected]
    if wrong:
        click.echo(f"unexpected grades for: {', '.join(wrong)}", err=True)
        sys.exit(1)
