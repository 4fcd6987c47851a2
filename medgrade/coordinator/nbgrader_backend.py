"""Grade submissions with ``nbgrader autograde``, one student per child process.

This is the comparison engine: sequential and not sandboxed, but each student's run is isolated
from the others, bad files are caught before nbgrader sees them, and every student ends with a
:class:`SubmissionResult` and a row in the gradebook. It is not tamper-resistant: nbgrader reads
a test's verdict from the cell's outputs, which the student's kernel controls (``medgrade grade
--engine nbgrader`` says so on every run); see :mod:`medgrade.runner.verdicts` for what the
medgrade engine does instead.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import nbformat
from nbgrader.api import MissingEntry

from medgrade.course import Course, kernel_env
from medgrade.errors import SubmissionError
from medgrade.intake.cells import grade_cells
from medgrade.intake.submission import check_submission
from medgrade.nbgrader_cli import run_nbgrader
from medgrade.profiles import Profile
from medgrade.results import Stop, SubmissionResult, TestResult, TestStatus

__all__ = ["autograde_class"]

Progress = Callable[[int, int, SubmissionResult], None]


def _errors(autograded: Path) -> dict[str, tuple[str, str]]:
    """``(exception name, "Name: message")`` of the error each test cell raised, keyed by grade id."""
    if not autograded.exists():
        return {}
    nb = nbformat.read(autograded, as_version=4)
    out: dict[str, tuple[str, str]] = {}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if gid and errors:
            e = errors[-1]
            ename, evalue = str(e.get("ename")), str(e.get("evalue", "")).strip()
            if ename == "CellTimeoutError":
                evalue = "the test ran past the per-cell time limit"
            out[gid] = ename, f"{ename}: {evalue}" if evalue else ename
    return out


def _collect(course: Course, assignment: str, student: str, seconds: float) -> SubmissionResult:
    tests: list[TestResult] = []
    with course.gradebook() as gb:
        for src in course.source_notebooks(assignment):
            nb_id = src.stem
            errors = _errors(course.autograded / student / assignment / src.name)
            for gid, points in grade_cells(src):
                try:
                    grade = gb.find_grade(gid, nb_id, assignment, student)
                    score = float(grade.score)
                except MissingEntry:
                    score = 0.0
                status: TestStatus = "passed" if score >= points else "failed"
                ename, message = errors.get(gid, ("", ""))
                stop = Stop.CELL_LIMIT if ename == "CellTimeoutError" else None
                tests.append(TestResult(gid, score, points, status, message, stop,
                                        ename if status == "failed" and stop is None else ""))
    return SubmissionResult(student, assignment, "graded", tuple(tests), seconds=seconds)


def _error_result(course: Course, assignment: str, student: str, message: str) -> SubmissionResult:
    tests = tuple(
        TestResult(gid, 0.0, points, "not_run", message)
        for src in course.source_notebooks(assignment)
        for gid, points in grade_cells(src)
    )
    with course.gradebook() as gb:
        gb.update_or_create_student(student)
    return SubmissionResult(student, assignment, "error", tests, message=message)


def grade_one(course: Course, assignment: str, student: str, profile: Profile) -> SubmissionResult:
    start = time.monotonic()
    expected = [p.name for p in course.source_notebooks(assignment)]
    try:
        check_submission(student, course.submitted / student / assignment, expected)
    except SubmissionError as e:
        return _error_result(course, assignment, student, e.reason)
    run = run_nbgrader(
        course.root,
        "autograde", assignment, "--student", student, "--force",
        f"--Execute.timeout={profile.cell_timeout}",
        env=kernel_env(profile=profile.name),
        timeout=profile.notebook_budget,
    )
    if not run.ok:
        return _error_result(
            course, assignment, student, f"nbgrader could not grade this submission: {run.summary()}"
        )
    return _collect(course, assignment, student, time.monotonic() - start)


def default_workers() -> int:
    """One grading kernel per core: each cpu-profile kernel runs one thread."""
    return max(1, os.cpu_count() or 1)


def autograde_class(
    course: Course,
    assignment: str,
    students: list[str],
    *,
    profile: Profile,
    workers: int | None = None,
    progress: Progress | None = None,
) -> list[SubmissionResult]:
    """Grade every student, ``workers`` at a time; one result per student, in input order.

    Each student is its own ``nbgrader autograde`` process; they share the gradebook, which
    SQLite serialises (each process writes briefly, at its start and end).
    """
    n = workers or default_workers()
    done: dict[str, SubmissionResult] = {}
    with ThreadPoolExecutor(max_workers=n) as pool:
        futures = {pool.submit(grade_one, course, assignment, s, profile): s for s in students}
        for future in as_completed(futures):
            result = future.result()
            done[result.student] = result
            if progress is not None:
                progress(len(done), len(students), result)
    return [done[s] for s in students]
