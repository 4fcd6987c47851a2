"""``medgrade similarity A``: find copied work across a class, with evidence a TA can judge."""

from __future__ import annotations

import click

from medgrade.cli.options import course_dir_option
from medgrade.course import Course
from medgrade.similarity.run import Settings, report_similarity


@click.command()
@click.argument("assignment")
@click.option("--threshold", type=click.FloatRange(0.05, 1.0), default=Settings.threshold, show_default=True,
              help="Report a pair when this fraction of one student's own code matches the other's.")
@click.option("--min-tokens", type=click.IntRange(min=1), default=Settings.min_tokens, show_default=True,
              help="Report no pair whose matching code is shorter than this many tokens (about ten a line).")
@course_dir_option
def similarity(assignment: str, threshold: float, min_tokens: int, course_dir: str | None) -> None:
    """Compare every pair of submissions of ASSIGNMENT on the code the students wrote.

    Starter code, test cells and code most of the class shares are left out; renamed names,
    comments, layout and the order of functions do not hide a copy. Writes a 'similarity' row
    per student of each reported pair to gradebook/integrity/ASSIGNMENT.csv and a page per pair,
    matching regions side by side, to gradebook/integrity/ASSIGNMENT/; `medgrade feedback`
    links them from the class report. Scores never change. `medgrade grade` runs this too.
    """
    course = Course.at(course_dir)
    report_similarity(course, assignment, settings=Settings(threshold=threshold, min_tokens=min_tokens),
                      say=click.echo)
    _refresh_class_report(course, assignment)


def _refresh_class_report(course: Course, assignment: str) -> None:
    """Rewrite an existing class report so that it lists the pairs just found."""
    from medgrade.gradebook.files import atomic_write
    from medgrade.reports.class_report import render_class_report
    from medgrade.reports.feedback import feedback_dir, load_results
    from medgrade.similarity.run import read_summary

    report = feedback_dir(course, assignment) / "index.html"
    results = load_results(course, assignment) if report.is_file() else []
    if results:
        atomic_write(report, render_class_report(assignment, results, similarity=read_summary(course, assignment)))
        click.echo(f"class report updated: {report.relative_to(course.root)}")
