"""Sanitize a submission: restore what the student may not change, note what they changed.

Locked cells and test cells are restored from the source notebook by grade id (with their hidden
parts: those run in place, sent over the kernel's channel, never written to the sandbox). A test
cell that was edited or deleted is restored and recorded as a finding, as nbgrader's
checksums would. Student cells are kept as they are, added cells included; a cell whose nbgrader
metadata claims a grade id the assignment does not have, or repeats one, loses that metadata (it
runs, it never earns points) and is recorded as a finding.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import nbformat
from nbformat import NotebookNode

from medgrade.grading.judge import JudgeSpec, judge_specs

__all__ = ["TestCell", "Prepared", "prepare"]


@dataclass(frozen=True)
class TestCell:
    grade_id: str
    points: float
    index: int  # position in the prepared notebook
    judges: tuple[JudgeSpec, ...] = ()  # its checks.judged calls, read from the source notebook


@dataclass(frozen=True)
class Prepared:
    notebook: NotebookNode
    tests: tuple[TestCell, ...]
    findings: tuple[str, ...]


def _gid(cell: NotebookNode) -> str | None:
    gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return str(gid) if gid is not None else None


def _protected(cell: NotebookNode) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("locked") or meta.get("grade")) and not meta.get("solution")


def _digest(text: str) -> str:
    return hashlib.sha256(text.strip().encode()).hexdigest()


def prepare(source: NotebookNode, release: NotebookNode, submitted: NotebookNode) -> Prepared:
    """The notebook to execute (a copy), its test cells in order, and the findings."""
    nb = nbformat.from_dict(submitted)
    source_cells = {g: c for c in source.cells if (g := _gid(c)) is not None}
    released = {g: _digest(c.source) for c in release.cells if (g := _gid(c)) is not None}
    findings: list[str] = []
    present: set[str] = set()
    for cell in nb.cells:
        gid = _gid(cell)
        if gid is not None and (gid in present or gid not in source_cells):
            _demote(cell, gid, findings, copy=gid in present)
            continue
        if gid in source_cells and _protected(source_cells[gid]):
            if gid in released and _digest(cell.source) != released[gid]:
                findings.append(f"cell {gid} was edited; it was restored from the assignment")
            original = source_cells[gid]
            cell.source = original.source
            cell.cell_type = original.cell_type
            cell.metadata["nbgrader"] = dict(original.metadata["nbgrader"])
            present.add(gid)
    _reinsert_missing(nb, source, source_cells, present, findings)
    tests = tuple(
        TestCell(g, float(c.metadata["nbgrader"].get("points", 0)), i,
                 judge_specs(source_cells[g].source, f"test cell {g}") if g in source_cells else ())
        for i, c in enumerate(nb.cells)
        if (g := _gid(c)) is not None and c.metadata["nbgrader"].get("grade") and c.cell_type == "code"
    )
    return Prepared(nb, tests, tuple(findings))


def _demote(cell: NotebookNode, gid: str, findings: list[str], *, copy: bool) -> None:
    """A cell claiming a grade id the assignment lacks, or a second copy of one: run, never graded."""
    meta = cell.metadata.pop("nbgrader")
    if meta.get("grade") or meta.get("locked"):
        what = "a second copy of cell" if copy else "a graded or locked cell the assignment does not have:"
        findings.append(f"{what} {gid}; it was run as an ordinary cell, without points")


def _reinsert_missing(
    nb: NotebookNode,
    source: NotebookNode,
    source_cells: dict[str, NotebookNode],
    present: set[str],
    findings: list[str],
) -> None:
    """Put deleted protected cells back after the nearest earlier cell the submission has."""
    for pos, cell in enumerate(source.cells):
        gid = _gid(cell)
        if gid is None or gid in present or not _protected(cell):
            continue
        anchor = -1
        for earlier in reversed(source.cells[:pos]):
            eg = _gid(earlier)
            if eg is not None:
                found = [i for i, c in enumerate(nb.cells) if _gid(c) == eg]
                if found:
                    anchor = found[0]
                    break
        restored = nbformat.from_dict(source_cells[gid])
        if restored.cell_type == "code":
            restored.outputs = []
            restored.execution_count = None
        nb.cells.insert(anchor + 1, restored)
        present.add(gid)
        findings.append(f"cell {gid} was deleted; it was restored from the assignment")
