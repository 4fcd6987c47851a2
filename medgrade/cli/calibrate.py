"""``medgrade calibrate A --seeds N``: each threshold across seeds, for the correct solutions and the mutants."""

from __future__ import annotations

import sys
import time

import click

from medgrade.author.calibrate import add_columns, calibrate_assignment
from medgrade.author.calibrate import reanalyse as reanalyse_record
from medgrade.cli.options import course_dir_option, profile_option, slots_per_gpu_option, unconfined_option
from medgrade.course import Course
from medgrade.profiles import get_profile


@click.command()
@click.argument("assignment")
@click.option("--seeds", type=click.IntRange(min=1), default=None,
              help="Grade the reference, every alternative and every mutant at seeds 0..N-1.  [default: 20]")
@click.option("--only", "only", multiple=True, metavar="NAME",
              help="Grade only this mutant or alternative (repeatable) at the committed record's seeds and merge "
                   "its figures into the record, once the reference graded again at seed 0 matches it.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Submissions graded at once (default: one per CPU core).")
@click.option("--time-limit", "time_limit", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="MINUTES", help="Stop after the last seed that fits in MINUTES; the record holds those seeds.")
@click.option("--reanalyse", is_flag=True,
              help="Grade nothing: re-derive the committed record's verdicts and figure from its figures.")
@course_dir_option
@profile_option
@slots_per_gpu_option
@unconfined_option
def calibrate(assignment: str, seeds: int | None, only: tuple[str, ...], workers: int | None, course_dir: str | None,
              profile: str, reanalyse: bool, unconfined: bool, slots_per_gpu: int, time_limit: float | None) -> None:
    """Measure ASSIGNMENT's thresholds across seeds; write reference_solutions/A/calibration.json.

    Each profile's thresholds are calibrated on its own device: ``--profile gpu`` runs on the
    GPUs here and writes calibration-gpu.json, naming the GPU.

    With ``--only NAME`` a new or changed mutant or alternative is added to the committed record
    without grading the others again; it refuses, naming the full run, when the record no longer
    describes the rest of the assignment.

    Exits 1 when the reference or an alternative fails a test in some seed, a mutant passes a
    test it must fail in more than one seed in 20, or a threshold does not separate the two.
    """
    course = Course.at(course_dir)
    name = course.require(assignment)

    def progress(done: int, total: int) -> None:
        click.echo(f"  seed {done - 1} graded ({done}/{total})", err=True)

    clash = [opt for opt, given in (("--reanalyse", reanalyse), ("--seeds", seeds is not None),
                                    ("--time-limit", time_limit is not None)) if given]
    if only and clash:
        raise click.UsageError(f"--only grades at the committed record's seeds: it cannot be combined with "
                               f"{', '.join(clash)}")
    if reanalyse:
        click.echo(f"re-analysing {name}'s {profile} calibration record (nothing graded) ...", err=True)
        result = reanalyse_record(course, name, profile)
    elif only:
        click.echo(f"calibrating {', '.join(only)} of {name} at the seeds of its {profile} record, and the reference "
                   "again at seed 0 ...", err=True)
        result = add_columns(course, name, list(only), profile=get_profile(profile), workers=workers,
                             progress=progress, unconfined=unconfined, slots_per_gpu=slots_per_gpu)
    else:
        seeds = 20 if seeds is None else seeds
        click.echo(f"calibrating {name}: reference, alternatives and mutants at {seeds} seeds ({profile} profile) ...",
                   err=True)
        result = calibrate_assignment(course, name, seeds=seeds, profile=get_profile(profile), workers=workers,
                                      progress=progress, unconfined=unconfined, slots_per_gpu=slots_per_gpu,
                                      deadline=None if time_limit is None else time.monotonic() + 60 * time_limit)
    click.echo(result.table())
    if result.problems:
        click.echo(f"calibration found {len(result.problems)} problem(s) in {name}", err=True)
        sys.exit(1)
    click.echo(f"calibration passed: {name}")
