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
from medgrade.errors import SubmissionError
from medgrade.grading.intake import check_submission
from medgrade.grading.integrity import scan_notebook
from medgrade.profiles import Profile
from medgrade.results import SubmissionResult, TestResult, TestStatus
from medgrade.runner.confine import WRITABLE, Confinement, sandbox_parent
from medgrade.runner.execute import execute
from medgrade.runner.prepare import prepare
from medgrade.runner.sandbox import detect_protections, populate, sandbox_env, write_kernelspec
from medgrade.runner.slots import current_slot

__all__ = ["Job", "JobOutput", "run_job", "supported_kernel", "confinement_for", "withheld_labels"]


@dataclass(frozen=True)
class Job:
    course_root: str
    assignment: str
    student: str
    profile: dict[str, Any]  # a Profile as a dict: jobs cross process (and later machine) bounds
    data_root: str | None
    fingerprint: str = ""
    seed: int = 0  # 0 for students; medgrade calibrate varies it


@dataclass(frozen=True)
class JobOutput:
    result: SubmissionResult
    autograded: dict[str, str]  # notebook file name -> notebook JSON


def supported_kernel(nb: nbformat.NotebookNode) -> str | None:
    """None if the notebook's kernel is Python; else the problem, for the student."""
    spec = nb.metadata.get("kernelspec", {})
    language = spec.get("language") or nb.metadata.get("language_info", {}).get("name") or "python"
    if language != "python":
        return f"the notebook uses the {spec.get('name', language)!r} kernel; submit it with a Python 3 kernel"
    return None


def _all_tests(course: Course, assignment: str, status: TestStatus, message: str) -> tuple[TestResult, ...]:
    from medgrade.grading.nbgrader_backend import grade_cells

    return tuple(
        TestResult(gid, 0.0, pts, status, message)
        for src in course.source_notebooks(assignment)
        for gid, pts in grade_cells(src)
    )


def confinement_for(course: Course, own: Path, data_root: str | Path | None,
                    masked: tuple[tuple[Path, Path], ...] = ()) -> Confinement:
    """Hide what a student must not read; the data may be read, never written; labels withheld."""
    from jupyter_core.paths import jupyter_runtime_dir

    hidden = (course.source, course.reference, course.gradebook_dir, course.submitted, course.autograded,
              Path(jupyter_runtime_dir()))
    return Confinement(own, hidden, (Path(data_root),) if data_root else (), masked)


def withheld_labels(answers: set[str], data_root: str | None, contained: bool) -> tuple[tuple[Path, Path], ...]:
    """The kernel's views of the data files holding ``answers``, labels zeroed (when it can be done)."""
    from medgrade.data.answers import withheld_view

    if not (answers and data_root and contained and Path(data_root).is_dir()):
        return ()
    return tuple(pair for a in sorted(answers) for pair in withheld_view(data_root, a))


def _locked_source(source: Path) -> str:
    """The locked, non-test cells of the source notebook: their imports name what students use."""
    nb = nbformat.read(source, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code"
                     and c.metadata.get("nbgrader", {}).get("locked") and not c.metadata["nbgrader"].get("grade")
                     and "### BEGIN" not in c.source)


def _left_writable(own: Path) -> list[str]:
    """The launcher's report of mounts left writable, read as a file the kernel could have planted.

    (verdicts branch) The kernel owns ``own``: a link there to a grader-only file, or a FIFO, must
    neither be published in a finding nor hang the grader; only real mount points are believed.
    The sandbox rewrite is to move this report to a channel the kernel cannot touch.
    """
    from medgrade.grading.planted import Refused, read_planted

    try:
        text = read_planted(own.parent, (own.name,), WRITABLE, max_bytes=4096).decode("utf-8", "replace")
    except Refused:
        return []
    return [p for p in text.split() if p.startswith("/") and os.path.ismount(p)][:20]


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
    protections = detect_protections()
    tests: list[TestResult] = []
    findings: list[str] = list(protections.missing)
    autograded: dict[str, str] = {}
    release_dir = course.release / job.assignment
    aux = [p for p in release_dir.iterdir() if p.is_file() and p.suffix != ".ipynb"] if release_dir.is_dir() else []
    for src in sources:
        prepared = prepare(nbformat.read(src, as_version=4),
                           nbformat.read(release_dir / src.name, as_version=4), notebooks[src.name])
        findings.extend(f"{src.name}: {f}" for f in prepared.findings)
        findings.extend(f.message() for f in scan_notebook(prepared.notebook, locked_imports=_locked_source(src)))
        answers = {spec.answers for t in prepared.tests for spec in t.judges}  # read from the source by prepare
        masked = withheld_labels(answers, job.data_root, protections.contained)
        if answers and not masked:
            findings.append(f"{src.name}: the labels of {', '.join(sorted(answers))} were readable by the kernel "
                            "(withholding them needs a mount namespace and the data root)")
        with tempfile.TemporaryDirectory(prefix="medgrade-sandbox-", dir=sandbox_parent()) as tmp:
            workdir, spec_dir = Path(tmp) / "work", Path(tmp) / "spec"
            workdir.mkdir()
            link = populate(workdir, aux, Path(job.data_root) if job.data_root else None)
            write_kernelspec(spec_dir, protections, confinement_for(course, Path(tmp), job.data_root, masked))
            run = execute(prepared, workdir=workdir, spec_dir=spec_dir, profile=profile, seed=job.seed,
                          env=sandbox_env(profile, workdir, link, current_slot(), seed=job.seed),
                          data_root=Path(job.data_root) if job.data_root else None)
            findings.extend(f"{src.name}: {f}" for f in run.findings)  # verdicts: what the kernel was seen to do
            left = _left_writable(Path(tmp))
            if left:
                findings.append(f"{src.name}: the kernel could write outside its folder, to {', '.join(left)} "
                                "(these mounts refused to become read-only)")
        for t in prepared.tests:
            o = run.outcomes[t.grade_id]
            tests.append(TestResult(t.grade_id, t.points if o.status == "passed" else 0.0, t.points,
                                    o.status, o.message))  # type: ignore[arg-type]
        autograded[src.name] = nbformat.writes(run.notebook)
    result = SubmissionResult(job.student, job.assignment, "graded", tuple(tests), seconds=time.monotonic() - start,
                              findings=tuple(findings), fingerprint=job.fingerprint)
    return JobOutput(result, autograded)
