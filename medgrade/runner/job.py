"""Grade one submission: intake, sanitize, sandbox, execute, verdicts. Runs in a worker process.

The job returns JSON-safe data only (the result and the autograded notebooks as text); the
coordinator alone writes files and the gradebook.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from medgrade.course import Course
from medgrade.data.heldout import kernel_masks
from medgrade.errors import SubmissionError
from medgrade.intake.cells import answer_results, grade_cells, manual_cells
from medgrade.intake.integrity import scan_notebook
from medgrade.intake.prepare import Prepared, prepare
from medgrade.intake.submission import check_submission
from medgrade.profiles import Profile
from medgrade.results import AnswerResult, Stop, SubmissionResult, TestResult, TestStatus
from medgrade.runner.confine import Sandbox
from medgrade.runner.execute import Execution, execute
from medgrade.runner.isolation import find_sandbox
from medgrade.runner.sandbox import open_kernel
from medgrade.runner.slots import DeviceSlot, current_slot
from medgrade.scratch import private_dir

__all__ = ["Job", "JobOutput", "run_job", "supported_kernel", "withheld_labels", "data_masks"]


@dataclass(frozen=True)
class Job:
    course_root: str
    assignment: str
    student: str
    profile: dict[str, Any]  # a Profile as a dict: jobs cross process (and later machine) bounds
    data_root: str | None
    fingerprint: str = ""
    seed: int = 0  # 0 for students; medgrade calibrate varies it
    unconfined: bool = False  # grade even where the sandbox cannot be built (--unconfined)


@dataclass(frozen=True)
class JobOutput:
    result: SubmissionResult
    autograded: dict[str, str]  # notebook file name -> notebook JSON
    lost: str = ""  # the grader's side failed (a kernel that could not start): retried, never scored


def supported_kernel(nb: nbformat.NotebookNode) -> str | None:
    """None if the notebook's kernel is Python; else the problem, for the student."""
    spec = nb.metadata.get("kernelspec", {})
    language = spec.get("language") or nb.metadata.get("language_info", {}).get("name") or "python"
    if language != "python":
        return f"the notebook uses the {spec.get('name', language)!r} kernel; submit it with a Python 3 kernel"
    return None


def _all_tests(course: Course, assignment: str, status: TestStatus, message: str) -> tuple[TestResult, ...]:
    return tuple(
        TestResult(gid, 0.0, pts, status, message)
        for src in course.source_notebooks(assignment)
        for gid, pts in grade_cells(src)
    )


def withheld_labels(data_root: str | None, confined: bool) -> tuple[tuple[Path, Path], ...]:
    """The kernel's views of every data file holding answers (labels shuffled, masks zeroed), when confined.

    Every assignment's kernel gets them, not only those whose tests judge the answers: an assignment
    that explores the test split could otherwise print its labels into the feedback a student reads.
    """
    from medgrade.data.answers import present_keys, withheld_view

    if not (data_root and confined and Path(data_root).is_dir()):
        return ()
    return tuple(pair for a in present_keys(data_root) for pair in withheld_view(data_root, a))


def data_masks(data_root: str | os.PathLike[str] | None, confined: bool) -> tuple[tuple[Path, Path], ...]:
    """Everything the sandbox mounts over the data root: the answers' views, and an empty held-out key."""
    if not confined:
        return ()
    return withheld_labels(str(data_root) if data_root else None, confined) + kernel_masks(data_root)


def _locked_source(source: nbformat.NotebookNode) -> str:
    """The locked, non-test cells of the source notebook: their imports name what students use."""
    return "\n".join(c.source for c in source.cells if c.cell_type == "code"
                     and c.metadata.get("nbgrader", {}).get("locked") and not c.metadata["nbgrader"].get("grade")
                     and "### BEGIN" not in c.source)


def _intake(src: Path, released: nbformat.NotebookNode,
            submitted: nbformat.NotebookNode) -> tuple[Prepared, set[str], list[str]]:
    """The notebook to run, the source's answers in code cells, and what sanitizing and the scan flagged.

    The source notebook is read once for all three.
    """
    source = nbformat.read(src, as_version=4)
    prepared = prepare(source, released, submitted)
    changed = [f"{src.name}: {f}" for f in prepared.findings]
    changed += [f.message() for f in scan_notebook(prepared.notebook, locked_imports=_locked_source(source))]
    return prepared, manual_cells(source), changed


def run_sandboxed(course: Course, prepared: Prepared, sandbox: Sandbox, profile: Profile, aux: list[Path],
                  data_root: str | Path | None, masked: tuple[tuple[Path, Path], ...], *,
                  slot: DeviceSlot | None = None, seed: int = 0) -> tuple[Execution, tuple[str, ...]]:
    """Run ``prepared`` in a fresh kernel confined by ``sandbox``, in a folder of its own that is gone after.

    What ``medgrade grade`` and ``medgrade check`` both do. Returns the execution and what opening
    the kernel found.
    """
    with tempfile.TemporaryDirectory(prefix="medgrade-sandbox-", dir=private_dir("sandboxes")) as tmp:
        kernel = open_kernel(course, Path(tmp), sandbox, profile, aux, data_root, masked, slot, seed)
        run = execute(prepared, workdir=kernel.workdir, spec_dir=kernel.spec_dir, profile=profile, seed=seed,
                      env=kernel.env, caps=kernel.caps, confined=kernel.confined,
                      data_root=Path(data_root) if data_root else None)
    return run, tuple(kernel.findings)


def run_job(job: Job) -> JobOutput:
    """Grade ``job``'s submission; student problems become results, never exceptions."""
    start = time.monotonic()
    course = Course(Path(job.course_root))
    profile = Profile(**job.profile)
    folder = course.submitted / job.student / job.assignment
    sources = course.source_notebooks(job.assignment)
    try:
        check_submission(job.student, folder, [s.name for s in sources])
        notebooks = {s.name: nbformat.read(folder / s.name, as_version=4) for s in sources}
        for name, nb in notebooks.items():
            problem = supported_kernel(nb)
            if problem:
                raise SubmissionError(job.student, name, problem)
    except SubmissionError as e:
        not_run = _all_tests(course, job.assignment, "not_run", e.reason)
        result = SubmissionResult(job.student, job.assignment, "error", not_run, message=e.reason,
                                  seconds=time.monotonic() - start, fingerprint=job.fingerprint)
        return JobOutput(result, {})
    sandbox = find_sandbox(unconfined=job.unconfined)
    tests: list[TestResult] = []
    answers: list[AnswerResult] = []
    findings: list[str] = [f for f in [sandbox.finding()] if f]
    flags: list[str] = []  # the findings that are the notebook's doing (see SubmissionResult.flags)
    autograded: dict[str, str] = {}
    release_dir = course.release / job.assignment
    aux = course.aux_files(job.assignment)
    for src in sources:
        released = nbformat.read(release_dir / src.name, as_version=4)
        prepared, manual, changed = _intake(src, released, notebooks[src.name])
        findings.extend(changed)
        flags.extend(changed)
        keys = {spec.answers for t in prepared.tests for spec in t.judges}  # read from the source by prepare
        masked = data_masks(job.data_root, sandbox.confined)
        if keys and not masked:
            findings.append(f"{src.name}: the labels of {', '.join(sorted(keys))} were readable by the kernel "
                            "(withholding them needs the sandbox and the data root)")
        run, opened = run_sandboxed(course, prepared, sandbox, profile, aux, job.data_root, masked,
                                    slot=current_slot(), seed=job.seed)
        findings.extend(f"{src.name}: {f}" for f in opened)
        findings.extend(f"{src.name}: {f}" for f in run.notes + run.findings)
        flags.extend(f"{src.name}: {f}" for f in run.findings)  # verdicts: what the kernel was seen to do
        if run.stop is Stop.NO_START:  # before any student code ran: the grader's failure, not the student's
            return JobOutput(SubmissionResult(job.student, job.assignment, "error", (), message=run.stopped or ""),
                             {}, lost=run.stopped or "the kernel could not start")
        for t in prepared.tests:
            if t.grade_id in manual:  # nbgrader's manually graded answer: its score is the TA's
                continue
            o = run.outcomes[t.grade_id]
            tests.append(TestResult(t.grade_id, t.points if o.status == "passed" else 0.0, t.points,
                                    o.status, o.message, o.stop, o.error, o.measured))  # type: ignore[arg-type]
        answers.extend(answer_results(run.notebook, released))
        autograded[src.name] = nbformat.writes(run.notebook)
    result = SubmissionResult(job.student, job.assignment, "graded", tuple(tests), seconds=time.monotonic() - start,
                              findings=tuple(findings), fingerprint=job.fingerprint, answers=tuple(answers),
                              flags=tuple(flags))
    return JobOutput(result, autograded)
