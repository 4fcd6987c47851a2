"""Inside Gradescope's container: grade ``/autograder/submission`` and write ``results.json``.

``run_autograder`` calls ``python -m medgrade.interop.gradescope_run``; it copies the submitted
notebook(s) into a scratch copy of the zip's course, grades them with :func:`run_job` (the same
sandboxed path as ``medgrade grade``) and writes Gradescope's results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from medgrade import envvars
from medgrade.course import Course
from medgrade.errors import SandboxUnavailable
from medgrade.interop.gradescope import hidden_test_ids, results_json
from medgrade.profiles import get_profile
from medgrade.runner.job import Job, run_job

__all__ = ["collect_submission", "main"]

STUDENT = "gradescope"


def collect_submission(submission: Path, expected: list[str], into: Path) -> None:
    """Copy the expected notebooks from ``submission`` into ``into``.

    A lone notebook under another name is taken for a lone expected one (students rename files);
    anything missing is left out, and the grader reports it as the student's error.
    """
    into.mkdir(parents=True, exist_ok=True)
    found = {p.name: p for p in sorted(submission.rglob("*.ipynb")) if ".ipynb_checkpoints" not in p.parts}
    if len(expected) == 1 and expected[0] not in found and len(found) == 1:
        found = {expected[0]: next(iter(found.values()))}
    for name in expected:
        if name in found:
            shutil.copy(found[name], into / name)
    for path in submission.iterdir() if submission.is_dir() else []:
        if path.is_file() and path.suffix != ".ipynb" and not (into / path.name).exists():
            shutil.copy(path, into / path.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medgrade.interop.gradescope_run")
    parser.add_argument("--root", default=os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    parser.add_argument("--course", required=True)
    parser.add_argument("--assignment", required=True)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--unconfined", action="store_true")
    args = parser.parse_args(argv)
    root = Path(args.root)
    try:
        out = _grade(root, args)
    except SandboxUnavailable as e:  # nothing of the student's ran: say so, to the student and the instructor
        out = {"score": 0.0, "execution_time": 0.0,
               "output": f"The autograder could not build its sandbox, so nothing was graded: {e}. "
                         "Tell your instructor; your submission is kept.",
               "visibility": "visible", "stdout_visibility": "hidden", "tests": []}
        _write(root, out)
        print(out["output"])
        return 1
    _write(root, out)
    print(out["output"])
    return 0


def _write(root: Path, out: dict[str, Any]) -> None:
    (root / "results").mkdir(parents=True, exist_ok=True)
    (root / "results" / "results.json").write_text(json.dumps(out, indent=2))


def _grade(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="medgrade-gs-course-") as tmp:
        course = Course(Path(tmp) / "course")
        shutil.copytree(args.course, course.root)
        sources = course.source_notebooks(args.assignment)
        collect_submission(root / "submission", [s.name for s in sources],
                           course.submitted / STUDENT / args.assignment)
        data = os.environ.get(envvars.DATA)
        job = Job(str(course.root), args.assignment, STUDENT, asdict(get_profile(args.profile)),
                  data if data and Path(data).is_dir() else None, unconfined=args.unconfined)
        result = run_job(job).result
        return results_json(result, hidden_test_ids(sources))


if __name__ == "__main__":
    raise SystemExit(main())
