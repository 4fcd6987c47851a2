"""Grade a class and tell the TA what happened: progress, a table, result JSON per student."""

from __future__ import annotations

import time
from collections.abc import Callable

import click
from nbgrader.api import MissingEntry

from medgrade.author.release import generate_release
from medgrade.coordinator.engine import grade_class
from medgrade.coordinator.nbgrader_backend import autograde_class
from medgrade.course import Course
from medgrade.data.root import present_root
from medgrade.errors import UsageError
from medgrade.gradebook.files import atomic_write, write_result
from medgrade.intake.integrity import integrity_csv
from medgrade.profiles import Profile
from medgrade.results import SubmissionResult
from medgrade.runner.isolation import find_sandbox
from medgrade.runner.slots import DeviceSlot, plan_slots

__all__ = ["grade_and_report", "summary_table"]


def _ensure_in_gradebook(course: Course, assignment: str) -> None:
    """nbgrader grades against the gradebook's copy of the test cells; add it if absent."""
    with course.gradebook() as gb:
        try:
            gb.find_assignment(assignment)
            return
        except MissingEntry:
            pass
    generate_release(course, assignment)


def summary_table(results: list[SubmissionResult], expected: dict[str, float] | None = None) -> str:
    """One line per student: score, time, outcome, and the first reason for lost points."""
    head = f"{'student':<10} {'score':>11} {'time':>7}  outcome"
    if expected is not None:
        head = f"{'student':<10} {'score':>11} {'expected':>9} {'time':>7}  outcome"
    lines = [head, "-" * len(head)]
    for r in results:
        score = f"{r.score:g}/{r.max_score:g}"
        reason = r.message.splitlines()[0] if r.message else next(
            (f"{t.grade_id}: {t.message.splitlines()[0]}" for t in r.tests if t.status != "passed" and t.message),
            "",
        )
        outcome = r.outcome if not reason else f"{r.outcome}: {reason}"
        if len(outcome) > 90:
            outcome = outcome[:87] + "..."
        exp = f" {expected.get(r.student, float('nan')):>9g}" if expected is not None else ""
        lines.append(f"{r.student:<10} {score:>11}{exp} {r.seconds:>6.1f}s  {outcome}")
    return "\n".join(lines)


def _check_cluster_options(engine: str, workers: int | None, gpus: list[str] | None, slots_per_gpu: int) -> None:
    """On a Dask cluster the workers bring the devices: local sizing options would be ignored."""
    if engine != "medgrade":
        raise UsageError("--scheduler grades with the medgrade engine only; leave out --engine nbgrader")
    given = [o for o, v in (("--workers", workers), ("--gpus", gpus), ("--slots-per-gpu", slots_per_gpu != 1)) if v]
    if given:
        raise UsageError(f"{', '.join(given)} size the local pool and do not apply with --scheduler; size the "
                         "cluster instead (its number of workers, and `--resources GPU=N` on each GPU worker)")


def grade_and_report(
    course: Course,
    assignment: str,
    students: list[str],
    *,
    profile: Profile,
    workers: int | None = None,
    force: bool = False,
    engine: str = "medgrade",
    expected: dict[str, float] | None = None,
    gpus: list[str] | None = None,
    slots_per_gpu: int = 1,
    scheduler: str | None = None,
    unconfined: bool = False,
) -> list[SubmissionResult]:
    """Grade ``students`` (default: everyone who submitted), print progress and a summary.

    ``engine="medgrade"`` is the sandboxed, resumable engine; ``"nbgrader"`` runs
    ``nbgrader autograde`` per student, kept for comparison. On a CUDA profile each worker gets
    one of ``slots_per_gpu`` shares of a GPU in ``gpus`` (default: every visible GPU). With
    ``scheduler`` the jobs run on that Dask cluster, whose workers bring their own devices.
    """
    todo = _students_to_grade(course, assignment, students)
    slots, where = _plan(profile, engine, scheduler, workers, gpus, slots_per_gpu)
    if engine == "medgrade" and scheduler is None:
        find_sandbox(unconfined=unconfined)  # before anything is written: no sandbox, no grading
    _ensure_in_gradebook(course, assignment)
    click.echo(f"grading {len(todo)} submission(s) of {assignment} on the {profile.name} profile "
               f"{where}, engine {engine}")
    progress = _progress_printer()
    if engine == "nbgrader":
        def nb_progress(i: int, n: int, r: SubmissionResult) -> None:
            write_result(course, r)
            progress(i, n, r)

        results = autograde_class(course, assignment, todo, profile=profile, workers=len(slots),
                                  progress=nb_progress)
    else:
        results = grade_class(course, assignment, todo, profile=profile, data_root=present_root(),
                              workers=len(slots), force=force, progress=progress, slots=slots,
                              scheduler=scheduler, unconfined=unconfined)
    click.echo("")
    click.echo(summary_table(results, expected))
    for r in results:
        for f in r.findings:
            click.echo(f"  review {r.student}: {f}")
    _write_integrity(course, assignment, results)
    _compare_class(course, assignment)
    return results


def _students_to_grade(course: Course, assignment: str, students: list[str]) -> list[str]:
    """``students``, or everyone who submitted; refused with the fix when one has no submission."""
    course.require(assignment)
    present = course.students(assignment)
    unknown = [s for s in students if s not in present]
    if unknown:
        raise UsageError(
            f"no submission of {assignment} for {', '.join(unknown)} under submitted/; "
            f"students with one: {', '.join(present) or 'none'}"
        )
    todo = students or present
    if not todo:
        raise UsageError(f"nothing to grade: no submitted/<student>/{assignment}/ folder")
    return todo


def _plan(profile: Profile, engine: str, scheduler: str | None, workers: int | None, gpus: list[str] | None,
          slots_per_gpu: int) -> tuple[list[DeviceSlot], str]:
    """The local pool's slots (none on a cluster) and where the batch runs, in words."""
    if scheduler is not None:
        _check_cluster_options(engine, workers, gpus, slots_per_gpu)
        return [], f"on the Dask cluster at {scheduler}"
    slots = plan_slots(profile, workers=workers, gpus=gpus, slots_per_gpu=slots_per_gpu)  # cpu: one per core
    where = f"with {len(slots)} worker(s) on {', '.join(sorted({slot.describe() for slot in slots}))}"
    if len(slots) > 1 and all(slot.cpus for slot in slots):
        own = len({c for s in slots for c in s.cpus}) == sum(len(s.cpus) for s in slots)
        where += ", each pinned to its own core(s)" if own else ", pinned to shared cores"
    return slots, where


def _progress_printer() -> Callable[..., None]:
    """A progress callback: one line per submission, with the time left."""
    started = time.monotonic()

    def progress(i: int, n: int, r: SubmissionResult, reused: bool = False) -> None:
        elapsed = time.monotonic() - started
        eta = elapsed / i * (n - i) if i else 0.0
        note = "unchanged, kept" if reused else f"{r.outcome}, {r.seconds:.1f} s"
        click.echo(f"  [{i}/{n}] {r.student:<10} {r.score:g}/{r.max_score:g} ({note})"
                   + (f"  eta {eta:.0f} s" if i < n else ""))

    return progress


def _compare_class(course: Course, assignment: str) -> None:
    """The class similarity report after every batch (it reads submissions, so it also covers the
    students this batch did not regrade); a failure here costs no grade and says how to retry."""
    from medgrade.errors import MedgradeError
    from medgrade.similarity.run import report_similarity

    if len(course.students(assignment)) < 2:
        return
    try:
        report_similarity(course, assignment, say=click.echo)
    except (MedgradeError, OSError, ValueError) as e:
        click.echo(f"similarity: not compared ({e}); grades are kept. Retry with `medgrade similarity {assignment}`")


def _write_integrity(course: Course, assignment: str, results: list[SubmissionResult]) -> None:
    """``gradebook/integrity/A.csv``: every finding of this batch: flags, conditions of grading, runtime stops."""
    csv = integrity_csv(results)
    dest = course.gradebook_dir / "integrity" / f"{assignment}.csv"
    atomic_write(dest, csv)
    rows = csv.splitlines()[1:]
    students = len({row.split(",", 1)[0] for row in rows})
    click.echo(f"integrity report: {dest.relative_to(course.root)} "
               f"({len(rows)} finding(s) for {students} of {len(results)} submission(s))")
