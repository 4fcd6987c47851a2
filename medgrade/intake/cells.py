"""What an assignment's notebook asks for, read from its cells' nbgrader metadata.

Test cells (auto-graded, each worth its points) and answers a person grades (graded solution
cells). Read from the assignment's own notebooks, source or release, never from a submission's
metadata: a submission only holds what the student wrote (see :mod:`medgrade.intake.prepare`).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader.utils import determine_grade, is_grade, is_solution

from medgrade.results import AnswerResult

__all__ = ["answer_results", "grade_cells", "is_answer", "manual_cells"]


def is_answer(cell: nbformat.NotebookNode) -> bool:
    """A graded solution cell, written (markdown) or code: an answer a person grades, never a test.

    nbgrader's manually graded cell: its ``determine_grade`` leaves the score to a person.
    """
    return bool(is_grade(cell) and is_solution(cell))


def grade_cells(notebook: Path) -> list[tuple[str, float]]:
    """``(grade_id, points)`` of each auto-graded test cell, in notebook order.

    As nbgrader's ``determine_grade``: a graded code cell that is also a solution cell is an
    answer a person grades, not a test (see :func:`manual_cells`).
    """
    nb = nbformat.read(notebook, as_version=4)
    cells = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code" and not meta.get("solution"):
            cells.append((meta["grade_id"], float(meta.get("points", 0))))
    return cells


def manual_cells(nb: nbformat.NotebookNode) -> set[str]:
    """Grade ids of ``nb``'s answers in code cells (graded by hand in nbgrader, never run as tests)."""
    return {str(cell.metadata["nbgrader"]["grade_id"]) for cell in nb.cells
            if cell.cell_type == "code" and is_answer(cell)}


def answer_results(executed: nbformat.NotebookNode, release: nbformat.NotebookNode) -> list[AnswerResult]:
    """Each answer a person grades (a graded solution cell of ``release``), as found in ``executed``.

    Never a score: nbgrader's ``determine_grade`` says only whether the cell is as released
    (unanswered, worth 0) or holds an answer that awaits a TA. The answers and their points are
    the release's; the executed notebook only holds what the student wrote (a cell it lacks is
    unanswered, see :func:`medgrade.intake.prepare.prepare`).
    """
    found = {str(m["grade_id"]): c for c in executed.cells
             if (m := c.metadata.get("nbgrader", {})).get("grade_id") is not None}
    out = []
    for cell in release.cells:
        if is_answer(cell):
            meta = cell.metadata["nbgrader"]
            gid, points = str(meta["grade_id"]), float(meta.get("points", 0))
            theirs = found.get(gid)
            auto = 0 if theirs is None else determine_grade(theirs)[0]
            out.append(AnswerResult(gid, points, "unanswered" if auto == 0 else "awaiting"))
    return out
