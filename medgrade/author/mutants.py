"""Mutants: realistic wrong submissions that prove the hidden tests catch real bugs.

A mutant lives in ``source/<a>/mutants/<name>.yaml``::

    bug: softmax applied before CrossEntropyLoss, so training stalls
    edits:                      # applied in order to the completed solution cells
      - cell: train_step        # grade_id of a solution cell
        replace: "loss = loss_fn(outputs, labels)"
        with: "loss = loss_fn(outputs.softmax(dim=1), labels)"
    expected:                   # points of the tests that differ from full marks
      test_train_step: 0

It is built from the committed release with every solution cell filled from the source (as a
student's correct submission would be), then edited. Edits are text replacements, so a source
change that makes one stale fails loudly instead of grading a mutant that no longer has its bug.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from medgrade.course import Course, read_yaml
from medgrade.errors import CourseError

__all__ = ["Edit", "Mutant", "load_mutants", "solution_and_test_ids", "completed_notebook", "apply_edits",
           "replace_cells", "write_submission"]

MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.M)


@dataclass(frozen=True)
class Edit:
    cell: str
    replace: str
    with_: str


@dataclass(frozen=True)
class Mutant:
    name: str
    bug: str
    edits: tuple[Edit, ...]
    expected: dict[str, float] = field(default_factory=dict)


def _parse(path: Path) -> Mutant:
    where = f"{path.parent.parent.name}/mutants/{path.name}"
    raw = read_yaml(path, where)
    if not isinstance(raw, dict) or not isinstance(raw.get("bug"), str) or not raw.get("edits"):
        raise CourseError(f"{where}: needs a 'bug' sentence and a non-empty 'edits' list")
    edits = []
    for i, item in enumerate(raw["edits"], 1):
        if not isinstance(item, dict) or not {"cell", "replace", "with"} <= set(item):
            raise CourseError(f"{where}: edit {i} needs the keys 'cell', 'replace' and 'with'")
        edits.append(Edit(str(item["cell"]), str(item["replace"]), str(item["with"])))
    expected = raw.get("expected") or {}
    if not isinstance(expected, dict):
        raise CourseError(f"{where}: 'expected' maps test grade ids to points")
    return Mutant(path.stem, raw["bug"].strip(), tuple(edits), {str(k): float(v) for k, v in expected.items()})


def load_mutants(course: Course, assignment: str) -> list[Mutant]:
    """Every mutant of ``assignment``, checked against the source's solution and test cells."""
    folder = course.source / assignment / "mutants"
    mutants = [_parse(p) for p in sorted(folder.glob("*.yaml"))] if folder.is_dir() else []
    solutions, tests = solution_and_test_ids(course, assignment)
    for m in mutants:
        bad_cells = sorted({e.cell for e in m.edits} - solutions)
        bad_tests = sorted(set(m.expected) - tests)
        if bad_cells or bad_tests:
            raise CourseError(
                f"{assignment}/mutants/{m.name}.yaml names "
                + "; ".join(
                    ([f"no solution cell {', '.join(bad_cells)}"] if bad_cells else [])
                    + ([f"no test {', '.join(bad_tests)}"] if bad_tests else [])
                )
                + f" (solution cells: {', '.join(sorted(solutions))}; tests: {', '.join(sorted(tests))})"
            )
    return mutants


def solution_and_test_ids(course: Course, assignment: str) -> tuple[set[str], set[str]]:
    """The grade ids of the source's solution cells and of its graded test cells."""
    solutions: set[str] = set()
    tests: set[str] = set()
    for src in course.source_notebooks(assignment):
        for cell in nbformat.read(src, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                solutions.add(meta["grade_id"])
            elif meta.get("grade"):
                tests.add(meta["grade_id"])
    return solutions, tests


def completed_notebook(course: Course, assignment: str, nb_name: str) -> nbformat.NotebookNode:
    """The release notebook with every solution cell filled in from the source, markers removed."""
    release = nbformat.read(course.release / assignment / nb_name, as_version=4)
    source = nbformat.read(course.source / assignment / nb_name, as_version=4)
    answers = {
        c.metadata["nbgrader"]["grade_id"]: MARKER.sub("", c.source)
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    for cell in release.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") in answers:
            cell.source = answers[meta["grade_id"]]
    return release


def apply_edits(nb: nbformat.NotebookNode, edits: tuple[Edit, ...], *, who: str) -> int:
    """Apply ``edits`` to the cells they name; return how many applied. Stale edits raise."""
    applied = 0
    for edit in edits:
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == edit.cell:
                if edit.replace not in cell.source:
                    raise CourseError(
                        f"{who}: the text to replace is not in cell {edit.cell}: {edit.replace!r} "
                        "(did the source change? update the edit)"
                    )
                cell.source = cell.source.replace(edit.replace, edit.with_)
                applied += 1
    return applied


def replace_cells(nb: nbformat.NotebookNode, cells: Mapping[str, str]) -> set[str]:
    """Replace the whole source of the solution cells ``cells`` names; return the ids replaced."""
    replaced = set()
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and gid in cells:
            cell.source = cells[gid].rstrip("\n")
            replaced.add(gid)
    return replaced


def write_submission(
    course: Course, assignment: str, folder: Path, edits: tuple[Edit, ...] = (), *, who: str,
    cells: Mapping[str, str] | None = None,
) -> None:
    """Write ``assignment``'s release files into ``folder``, notebooks completed and edited.

    ``cells`` (an alternative's) replaces whole solution cells before ``edits`` apply.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for item in (course.release / assignment).iterdir():
        if item.is_file() and item.suffix != ".ipynb":
            shutil.copy2(item, folder / item.name)  # data files a student's notebook reads
    applied, replaced = 0, set()
    for src in course.source_notebooks(assignment):
        nb = completed_notebook(course, assignment, src.name)
        replaced |= replace_cells(nb, cells or {})
        applied += apply_edits(nb, edits, who=who)
        nbformat.write(nb, folder / src.name)
    if applied != len(edits):
        raise CourseError(f"{who}: {len(edits) - applied} edit(s) name a cell no notebook has")
    missing = sorted(set(cells or {}) - replaced)
    if missing:
        raise CourseError(f"{who}: no released notebook has solution cell {', '.join(missing)}")
