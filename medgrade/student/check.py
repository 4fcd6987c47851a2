"""A student's self-check: the public tests of a notebook, run the way the grader runs them.

The student holds only the release, so the public tests are the release's test cells: the
submitted notebook is prepared against the release (never the source, whose hidden parts stay
with the instructor), executed in the same sandboxed kernel with the grading profile's budgets,
and every test is reported as passed, failed with its message, or not reached, by the same
verdicts and probes as at grading (:mod:`medgrade.runner.verdicts`). Before the tests, the check
reports what would stop or flag grading: a file that is not a valid notebook, a name the grader
will not look for, an edited or deleted test cell, a run over the budget, a kernel seen tampering
with its own verdicts.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from medgrade.course import Course
from medgrade.errors import SubmissionError, UsageError
from medgrade.intake.cells import answer_results
from medgrade.intake.prepare import Prepared, prepare
from medgrade.intake.submission import check_submission
from medgrade.profiles import Profile
from medgrade.results import Stop
from medgrade.runner.confine import Sandbox
from medgrade.runner.execute import Execution
from medgrade.runner.isolation import find_sandbox
from medgrade.runner.job import data_masks, run_sandboxed, supported_kernel

__all__ = ["CheckedTest", "CheckReport", "locate_release", "run_check"]


@dataclass(frozen=True)
class CheckedTest:
    grade_id: str
    points: float
    status: str  # "passed" | "failed" | "not_run" | "hidden" (no public part to run)
    message: str = ""


@dataclass(frozen=True)
class CheckReport:
    """What ``medgrade check`` found; ``problems`` would stop or flag grading."""

    notebook: str
    assignment: str
    profile: Profile
    tests: tuple[CheckedTest, ...] = ()
    problems: tuple[str, ...] = ()
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems and all(t.status in ("passed", "hidden") for t in self.tests)


def locate_release(course: Course, notebook: Path, assignment: str | None) -> tuple[str, Path, list[str]]:
    """The assignment, its release notebook for ``notebook``, and naming problems found."""
    if not course.release.is_dir():
        raise UsageError(f"{course.root} has no release/ folder: pass the course folder with --course-dir")
    released = sorted(p for p in course.release.glob("*/*.ipynb"))
    if assignment is not None:
        candidates = [p for p in released if p.parent.name == assignment]
        if not candidates:
            known = sorted({p.parent.name for p in released})
            raise UsageError(f"no released assignment {assignment!r}; released: {', '.join(known) or 'none'}")
    else:
        candidates = [p for p in released if p.name == notebook.name] or [
            p for p in released if p.parent.name in notebook.resolve().parts]
        if len({p.parent.name for p in candidates}) != 1:
            raise UsageError(f"cannot tell which assignment {notebook.name} belongs to; pass --assignment")
    same_name = [p for p in candidates if p.name == notebook.name]
    if same_name:
        return same_name[0].parent.name, same_name[0], []
    target = candidates[0]
    problem = (f"the file is named {notebook.name}, but the grader looks for {target.name}: "
               f"rename it to {target.name} before you submit")
    return target.parent.name, target, [problem]


def _read(notebook: Path, expected_name: str) -> nbformat.NotebookNode:
    """The notebook, checked exactly as the grader's intake checks it."""
    with tempfile.TemporaryDirectory(prefix="medgrade-check-") as tmp:
        shutil.copyfile(notebook, Path(tmp) / expected_name)
        check_submission("you", Path(tmp), [expected_name])
    nb = nbformat.read(notebook, as_version=4)
    problem = supported_kernel(nb)
    if problem:
        raise SubmissionError("you", notebook.name, problem)
    return nb


def _hidden_only(release: nbformat.NotebookNode) -> set[str]:
    """Test cells whose released source is only comments: passing them proves nothing."""
    return {str(meta["grade_id"]) for c in release.cells
            if (meta := c.get("metadata", {}).get("nbgrader", {})).get("grade") and "grade_id" in meta
            and not any(line.strip() and not line.strip().startswith("#") for line in c.source.splitlines())}


def _grading_findings(findings: tuple[str, ...]) -> list[str]:
    return [f"{f}; the grader would restore it too and report the change to your TA" for f in findings]


def run_check(
    course: Course, notebook: Path, *, profile: Profile, assignment: str | None = None,
    data_root: Path | None = None, unconfined: bool = False,
) -> CheckReport:
    """Run the public tests of ``notebook`` in a sandboxed kernel; never raises for student errors.

    Raises :class:`~medgrade.errors.SandboxUnavailable` where the sandbox cannot be built, unless
    ``unconfined`` (the student's own code, checked on the student's own machine).
    """
    sandbox = find_sandbox(unconfined=unconfined)
    start = time.monotonic()
    name, release_path, problems = locate_release(course, notebook, assignment)
    try:
        submitted = _read(notebook, release_path.name)
    except SubmissionError as e:
        return CheckReport(notebook.name, name, profile, problems=(*problems, e.reason),
                           seconds=time.monotonic() - start)
    release = nbformat.read(release_path, as_version=4)
    prepared = prepare(release, release, submitted)  # the release as source: public tests only
    problems.extend(_grading_findings(prepared.findings))
    run = _execute(course, prepared, release_path.parent, profile, data_root, sandbox)
    if run.stop is Stop.BUDGET:
        problems.append(f"{run.stopped}: the grader stops there too, and later tests score zero")
    problems.extend(f"{f}; the grader would see it too and your TA would review it" for f in run.notes + run.findings)
    hidden_only = _hidden_only(release)
    answers = answer_results(run.notebook, release)  # a TA grades these: never a test here either
    tests = tuple(CheckedTest(t.grade_id, t.points, "hidden", "the whole test is hidden: it runs only at grading")
                  if t.grade_id in hidden_only and run.outcomes[t.grade_id].status == "passed"
                  else CheckedTest(t.grade_id, t.points, run.outcomes[t.grade_id].status,
                                   run.outcomes[t.grade_id].message)
                  for t in prepared.tests if t.grade_id not in {a.grade_id for a in answers})
    notes: tuple[str, ...] = tuple(
        f"written answer {a.grade_id} ({a.max_points:g} points): "
        + ("still as released; write it before you submit (left as it is, it scores 0)" if a.status == "unanswered"
           else "your teaching assistant grades it with a rubric after the deadline") for a in answers)
    notes += (f"ran in {run.seconds:.1f} s of the {profile.notebook_budget} s notebook budget",)
    if not sandbox.confined:
        notes += ("ran without the grader's sandbox (--unconfined): the grader runs it sandboxed, where code "
                  "that reads the course or the network fails",)
    return CheckReport(notebook.name, name, profile, tests, tuple(problems), time.monotonic() - start, notes)


def _execute(course: Course, prepared: Prepared, release_dir: Path, profile: Profile,
             data_root: Path | None, sandbox: Sandbox) -> Execution:
    """Run ``prepared`` as :func:`medgrade.runner.job.run_job` does: own folder, sandbox, limits."""
    aux = [p for p in release_dir.iterdir() if p.is_file() and p.suffix != ".ipynb"]
    run, _ = run_sandboxed(course, prepared, sandbox, profile, aux, data_root,
                           data_masks(data_root, sandbox.confined))  # what the grader's kernel sees
    return run
