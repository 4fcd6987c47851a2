"""The self-check a student reads: in a terminal (``medgrade check``) or in the notebook.

``self_check()`` in a notebook cell checks the notebook *as last saved* (save first): it runs
the public tests in a fresh sandboxed kernel, exactly as ``medgrade check`` does, and prints the
same report. In a kernel the grader started (``MEDGRADE_PROFILE`` is set there) it does nothing,
so a submitted notebook that calls it is not checked twice or recursively.
"""

from __future__ import annotations

import os
from pathlib import Path

from medgrade import envvars
from medgrade.student.check import CheckReport

__all__ = ["format_report", "self_check"]

_MARK = {"passed": "passed", "failed": "FAILED", "not_run": "NOT RUN", "hidden": "hidden (checked at grading)"}


def format_report(report: CheckReport) -> str:
    """The report as text: one line per public test, problems first, then a summary."""
    p = report.profile
    lines = [f"medgrade check: {report.notebook} (assignment {report.assignment}, {p.name} profile: "
             f"{p.cell_timeout} s per cell, {p.notebook_budget} s per notebook)"]
    if report.problems:
        lines.append("")
        lines.append("Before you submit, fix what would stop or flag grading:")
        lines.extend(f"  ! {problem}" for problem in report.problems)
    if report.tests:
        lines.append("")
        width = max(len(t.grade_id) for t in report.tests)
        for t in report.tests:
            lines.append(f"  {t.grade_id:<{width}}  {t.points:>4g} pt  {_MARK.get(t.status, t.status)}")
            if t.status not in ("passed", "hidden") and t.message:
                lines.extend(f"      {line}" for line in t.message.splitlines())
        public = [t for t in report.tests if t.status != "hidden"]
        passed = [t for t in public if t.status == "passed"]
        lines.append("")
        lines.append(f"Public tests: {len(passed)} of {len(public)} passed. Hidden tests run only "
                     "when your notebook is graded: passing here is necessary, not sufficient.")
    lines.extend(report.notes)
    return "\n".join(lines)


def _saved_notebook() -> Path:
    """The notebook this kernel belongs to, as Jupyter and VS Code tell the kernel."""
    for variable in ("JPY_SESSION_NAME", "__vsc_ipynb_file__"):
        value = os.environ.get(variable)
        if value and value.endswith(".ipynb") and Path(value).is_file():
            return Path(value)
    raise FileNotFoundError("cannot tell which notebook this kernel runs; call self_check('name.ipynb')")


def _course_root(notebook: Path) -> Path:
    """The nearest folder above ``notebook`` that has a ``release/`` folder, else the current one."""
    for folder in notebook.resolve().parents:
        if (folder / "release").is_dir():
            return folder
    return Path.cwd()


def self_check(notebook: str | os.PathLike[str] | None = None, *, course_dir: str | None = None,
               assignment: str | None = None, unconfined: bool = False) -> CheckReport | None:
    """Check the saved ``notebook`` (default: this one) against the public tests and print the report.

    The check runs in the grader's sandbox; where this machine cannot build it (macOS, Windows,
    some containers) it says so, and ``unconfined=True`` checks without it (your own code).
    """
    if os.environ.get(envvars.PROFILE):
        print("medgrade self-check skipped: this kernel was started by the grader")
        return None
    from medgrade.course import Course
    from medgrade.data.root import present_root
    from medgrade.errors import SandboxUnavailable
    from medgrade.profiles import active_profile
    from medgrade.student.check import run_check

    path = Path(notebook) if notebook is not None else _saved_notebook()
    root = Path(course_dir) if course_dir is not None else _course_root(path)
    try:
        report = run_check(Course(root.resolve()), path, profile=active_profile(), assignment=assignment,
                           data_root=present_root(), unconfined=unconfined)
    except SandboxUnavailable as e:
        print(f"medgrade self-check: {e}.\nTo check your own notebook without the sandbox, run "
              "self_check(unconfined=True).")
        return None
    print(format_report(report))
    return report
