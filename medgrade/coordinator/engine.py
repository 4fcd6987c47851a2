"""The batch coordinator: fingerprints, a pool of workers, resume, and the only writer.

Each submission is a :class:`Job` graded in a worker process, of the local pool or of a Dask
cluster (a lost worker, or a kernel that could not start, costs that job a retry, never the batch
nor the student's points). The coordinator writes, per
finished job and in this order: the autograded notebooks, the gradebook rows, then the result
JSON. The result JSON is the journal: a submission whose JSON holds the current fingerprint is
done, so a rerun after a kill resumes with what is missing, and an unchanged submission is not
graded twice (``force`` regrades).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict
from pathlib import Path

from medgrade import __version__
from medgrade.course import Course
from medgrade.gradebook.files import atomic_write, result_path, write_result
from medgrade.gradebook.nbgrader_db import record_result
from medgrade.profiles import Profile
from medgrade.results import Stop, SubmissionResult, TestResult
from medgrade.runner.isolation import find_sandbox
from medgrade.runner.job import Job, JobOutput, run_job
from medgrade.runner.sandbox import check_data_access
from medgrade.runner.slots import DeviceSlot, claim_slot, cpu_slots

__all__ = ["fingerprint", "grade_class", "Rounds", "RETRIES"]

Progress = Callable[[int, int, SubmissionResult, bool], None]
# One round of a backend: run the jobs, yield each with its output, or with why it was lost.
Rounds = Callable[[list[Job]], Iterator[tuple[Job, JobOutput | str]]]
RETRIES = 1  # a worker lost to infrastructure is retried once, then reported as such


def fingerprint(course: Course, assignment: str, student: str, profile: Profile, seed: int = 0,
                unconfined: bool = False) -> str:
    """Hash of everything a grade depends on: submission, source, release, profile, seed, version.

    A grade made ``unconfined`` is made again once the sandbox can be built.
    """
    h = hashlib.sha256(f"{__version__}\0{profile}\0".encode() + (f"seed {seed}\0".encode() if seed else b"")
                       + (b"unconfined\0" if unconfined else b""))
    folders = [course.submitted / student / assignment, course.source / assignment, course.release / assignment]
    for folder in folders:
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.is_file():
                h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _previous(course: Course, assignment: str, student: str) -> SubmissionResult | None:
    try:
        return SubmissionResult.from_dict(json.loads(result_path(course, assignment, student).read_text()))
    except (OSError, ValueError, KeyError):
        return None


def _commit(course: Course, out: JobOutput) -> None:
    r = out.result
    for name, text in out.autograded.items():
        atomic_write(course.autograded / r.student / r.assignment / name, text)
    notebooks = [p.stem for p in course.source_notebooks(r.assignment)]
    record_result(course, r, notebooks)
    write_result(course, r)


def _infrastructure_failure(job: Job, course: Course, why: str) -> JobOutput:
    from medgrade.intake.cells import grade_cells

    message = f"not graded: the grading worker was lost twice ({why}); an infrastructure failure, not yours"
    tests = tuple(TestResult(g, 0.0, p, "not_run", message, Stop.LOST)
                  for src in course.source_notebooks(job.assignment) for g, p in grade_cells(src))
    return JobOutput(SubmissionResult(job.student, job.assignment, "error", tests, message=message,
                                      fingerprint=""), {})


def _local_rounds(slots: list[DeviceSlot]) -> Rounds:
    """The embedded pool: spawn-context worker processes, each holding one device slot."""
    ctx = multiprocessing.get_context("spawn")  # no fork of a threaded coordinator

    def run(jobs: list[Job]) -> Iterator[tuple[Job, JobOutput | str]]:
        free = ctx.Queue()
        for slot in slots:
            free.put(slot)
        with ProcessPoolExecutor(max_workers=len(slots), mp_context=ctx, initializer=claim_slot,
                                 initargs=(free,)) as pool:
            futures: dict[Future[JobOutput], Job] = {pool.submit(run_job, j): j for j in jobs}
            for future in as_completed(futures):
                try:
                    yield futures[future], future.result()
                except BrokenProcessPool as e:
                    yield futures[future], type(e).__name__

    return run


def _drive(course: Course, jobs: list[Job], rounds: Rounds, done: Callable[[SubmissionResult, bool], None]) -> None:
    """Run ``jobs`` round after round; commit each output; retry a lost job once, then report it."""
    attempts: dict[str, int] = {}
    while jobs:
        lost: list[tuple[Job, str]] = []
        for job, out in rounds(jobs):
            if isinstance(out, str) or out.lost:  # a lost worker, or a kernel that could not start
                lost.append((job, out if isinstance(out, str) else out.lost))
                continue
            _commit(course, out)
            done(out.result, False)
        jobs = []
        for job, why in lost:
            attempts[job.student] = attempts.get(job.student, 0) + 1
            if attempts[job.student] > RETRIES:
                out = _infrastructure_failure(job, course, why)
                _commit(course, out)
                done(out.result, False)
            else:
                jobs.append(job)


def grade_class(
    course: Course,
    assignment: str,
    students: list[str],
    *,
    profile: Profile,
    data_root: Path | None,
    workers: int,
    force: bool = False,
    progress: Progress | None = None,
    slots: list[DeviceSlot] | None = None,
    scheduler: str | None = None,
    seed: int = 0,
    unconfined: bool = False,
) -> list[SubmissionResult]:
    """Grade ``students``; return their results in input order, reused ones included.

    ``slots`` gives each worker process its device (see :mod:`medgrade.runner.slots`); the
    default is ``workers`` CPU slots, each pinned to its share of the cores. With ``scheduler``
    (a Dask scheduler's address) the jobs run on that cluster instead
    (:mod:`medgrade.coordinator.dask_backend`); ``workers`` and ``slots`` are then ignored, and this
    process still writes every result. ``seed`` (0 for
    students) seeds the kernel and is what hidden tests read with ``grading_seed()``.

    Before any student code runs, the kernel's sandbox must be buildable here (and on every Dask
    worker); otherwise :class:`~medgrade.errors.SandboxUnavailable` says why, unless
    ``unconfined`` allows grading without it (each result then says so).
    """
    if scheduler is None:
        check_data_access(find_sandbox(unconfined=unconfined), data_root)
    results: dict[str, SubmissionResult] = {}

    def done(result: SubmissionResult, reused: bool) -> None:
        results[result.student] = result
        if progress:
            progress(len(results), len(students), result, reused)

    jobs: list[Job] = []
    for s in students:
        fp = fingerprint(course, assignment, s, profile, seed, unconfined)
        prev = None if force else _previous(course, assignment, s)
        if prev is not None and prev.fingerprint == fp:
            done(prev, True)
        else:
            data = str(data_root) if data_root else None
            jobs.append(Job(str(course.root), assignment, s, asdict(profile), data, fp, seed, unconfined))
    if jobs and scheduler is not None:
        from medgrade.coordinator.dask_backend import dask_rounds  # Dask is optional: imported only here

        shared = [course.root] + ([data_root] if data_root else [])  # every worker must see these
        with dask_rounds(scheduler, profile=profile, shared=shared, unconfined=unconfined) as rounds:
            _drive(course, jobs, rounds, done)
    elif jobs:
        _drive(course, jobs, _local_rounds(slots or cpu_slots(workers)), done)
    return [results[s] for s in students]
