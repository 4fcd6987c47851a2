"""Sanity checks on a submission before any code runs: is it there, is it a notebook?

Each problem becomes a :class:`SubmissionError` that names the student, the file and the fix,
so one bad file never stops the batch.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

from medgrade.errors import SubmissionError

__all__ = ["check_submission"]


def check_submission(student: str, folder: Path, expected: list[str]) -> None:
    """Raise :class:`SubmissionError` unless ``folder`` holds each expected notebook, readable."""
    for name in expected:
        path = folder / name
        shown = f"submitted/{student}/{folder.name}/{name}"
        if not path.exists():
            present = sorted(p.name for p in folder.glob("*.ipynb"))
            found = f"found {', '.join(present)}" if present else "the folder has no notebook"
            raise SubmissionError(
                student, shown, f"missing ({found}); submit the released notebook under its own name"
            )
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise SubmissionError(student, shown, "is not a text file; submit the .ipynb notebook") from None
        except json.JSONDecodeError as e:
            raise SubmissionError(
                student,
                shown,
                f"is not valid JSON: {e.msg} (line {e.lineno}, column {e.colno}); "
                "the file was damaged: re-open it in Jupyter, save, and submit again",
            ) from None
        try:
            nb = nbformat.reads(json.dumps(raw), as_version=4)
            nbformat.validate(nb)
        except Exception as e:  # nbformat raises several unrelated types
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise SubmissionError(
                student, shown, f"is not a valid Jupyter notebook ({first}); submit the .ipynb file"
            ) from None
