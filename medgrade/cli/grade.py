"""``medgrade grade A``: autograde the submissions of a class into the gradebook."""

from __future__ import annotations

import click

from medgrade.cli.options import course_dir_option, profile_option, unconfined_option
from medgrade.course import Course
from medgrade.gradebook.manual import manual_grades
from medgrade.pipeline import grade_and_report
from medgrade.profiles import get_profile

NOT_TAMPER_RESISTANT = (  # printed by every run of --engine nbgrader
    "warning: --engine nbgrader is not tamper-resistant. nbgrader autograde runs every test in the student's own "
    "kernel, unsandboxed, and decides a test passed when its cell shows no error, which the notebook controls: "
    "one line of tampering earns a blank notebook full marks, and a hidden test's text can reach the student's "
    "feedback. Use it to compare engines, never to grade a class.")


@click.command()
@click.argument("assignment")
@click.option("--student", "students", multiple=True, help="Grade only this student (repeatable).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Submissions graded at once (default: one per CPU core).")
@click.option("--force", is_flag=True, help="Regrade submissions that have not changed since they were graded.")
@click.option("--engine", type=click.Choice(["medgrade", "nbgrader"]), default="medgrade", show_default=True,
              help="medgrade: sandboxed, resumable, verdicts decided by the grader; nbgrader: `nbgrader autograde` "
                   "per student, for comparison only: it is not tamper-resistant.")
@click.option("--gpus", default=None, metavar="IDS",
              help="CUDA devices to grade on with a GPU profile, e.g. 0,1 (default: every visible GPU).")
@click.option("--slots-per-gpu", type=click.IntRange(min=1), default=1, show_default=True,
              help="Submissions graded at once on each GPU, each capped to that share of its memory.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Grade on the Dask cluster whose scheduler is at ADDRESS (tcp://HOST:8786); its workers "
                   "must see the course and data at the same paths. Default: this machine's pool.")
@course_dir_option
@profile_option
@unconfined_option
def grade(
    assignment: str, students: tuple[str, ...], workers: int | None, force: bool, engine: str,
    gpus: str | None, slots_per_gpu: int, scheduler: str | None, course_dir: str | None, profile: str,
    unconfined: bool,
) -> None:
    """Grade submitted/*/ASSIGNMENT; write autograded/, the gradebook and result JSON.

    Each submission runs in a fresh kernel, sandboxed (no network, nothing of the course but
    its own folder, an unprivileged user), with a memory cap and the profile's time budgets;
    where the sandbox cannot be built, grading stops unless --unconfined. A rerun skips
    unchanged submissions and resumes an interrupted batch.
    """
    course = Course.at(course_dir)
    if engine == "nbgrader":
        click.echo(NOT_TAMPER_RESISTANT, err=True)
    devices = [g.strip() for g in gpus.split(",") if g.strip()] if gpus else None
    results = grade_and_report(course, assignment, list(students), profile=get_profile(profile), workers=workers,
                               force=force, engine=engine, gpus=devices, slots_per_gpu=slots_per_gpu,
                               scheduler=scheduler, unconfined=unconfined)
    waiting = sum(g.awaiting for gs in manual_grades(course, assignment, results).values() for g in gs)
    if waiting:  # the scores above are the tests'; a TA adds the written answers' points
        click.echo(f"{waiting} written answer(s) await a TA (scores above are the tests' points): "
                   f"medgrade rubric sheet {assignment}, or nbgrader formgrader")
