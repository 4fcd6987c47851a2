"""Every file grading writes into the gradebook folder, each written whole or not at all.

A crash or a kill mid-write leaves the previous file (or none), never half of one: each write goes
to a temporary file in the same folder, then replaces the destination in one rename.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from medgrade.course import Course
from medgrade.results import SubmissionResult

__all__ = ["atomic_write", "result_path", "write_result"]


def atomic_write(dest: Path, text: str) -> None:
    """Write ``text`` to ``dest`` (its folders made) in one rename."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, dest)


def result_path(course: Course, assignment: str, student: str) -> Path:
    """``gradebook/results/A/STUDENT.json``: one submission's result."""
    return course.gradebook_dir / "results" / assignment / f"{student}.json"


def write_result(course: Course, result: SubmissionResult) -> Path:
    """Write ``result`` to its :func:`result_path`; return that path."""
    dest = result_path(course, result.assignment, result.student)
    atomic_write(dest, result.to_json())
    return dest
