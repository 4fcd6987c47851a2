"""Sanitize a submission: restore what the student may not change, note what they changed.

Locked cells and test cells are restored whole from the source notebook by grade id: source,
cell type and every piece of metadata, tags included (a ``skip-execution`` tag would otherwise
make nbclient skip a test), with their hidden parts (those run in place, sent over the kernel's
channel, never written to the sandbox). Nothing in a student cell's metadata changes how a test
cell runs. A test cell that was edited or deleted, or whose tags or nbgrader metadata were
changed, is restored and recorded as a finding, as nbgrader's checksums would.
Student cells are kept as they are, added cells included; a cell whose nbgrader
metadata claims a grade id the assignment does not have, or repeats one, loses that metadata (it
runs, it never earns points) and is recorded as a finding.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass

import nbformat
from nbformat import NotebookNode

from medgrade.grading.judge import JudgeSpec, judge_specs
from medgrade.grading.scrub import NO_HIDDEN, Hidden, hidden_of

__all__ = ["TestCell", "Prepared", "prepare"]


@dataclass(frozen=True)
class TestCell:
    grade_id: str
    points: float
    index: int  # position in the prepared notebook
    judges: tuple[JudgeSpec, ...] = ()  # its checks.judged calls, read from the source notebook
    hidden: Hidden = NO_HIDDEN  # its hidden source, never to reach a student's message


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
    releases = {g: c for c in release.cells if (g := _gid(c)) is not None}
    released = {g: _digest(c.source) for g, c in releases.items()}
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
            elif changed := _changed_metadata(cell, releases.get(gid, source_cells[gid])):
                findings.append(f"cell {gid} was edited (its {' and '.join(changed)}); "
                                "it was restored from the assignment")
            _restore(cell, source_cells[gid])
            present.add(gid)
    _reinsert_missing(nb, source, source_cells, present, findings)
    tests = tuple(
        TestCell(g, float(c.metadata["nbgrader"].get("points", 0)), i,
                 judge_specs(source_cells[g].source, f"test cell {g}") if g in source_cells else (),
                 hidden_of(source_cells[g].source) if g in source_cells else NO_HIDDEN)
        for i, c in enumerate(nb.cells)
        if (g := _gid(c)) is not None and c.metadata["nbgrader"].get("grade") and c.cell_type == "code"
    )
    return Prepared(nb, tests, tuple(findings))


def _changed_metadata(cell: NotebookNode, given: NotebookNode) -> list[str]:
    """What of a protected cell's metadata that matters the student changed (the rest is Jupyter's)."""
    changed = []
    if cell.get("metadata", {}).get("tags", []) != given.get("metadata", {}).get("tags", []):
        changed.append("tags")
    if cell.get("metadata", {}).get("nbgrader") != given.get("metadata", {}).get("nbgrader"):
        changed.append("nbgrader metadata")
    if cell.get("cell_type") != given.get("cell_type"):
        changed.append("cell type")
    return changed


def _restore(cell: NotebookNode, original: NotebookNode) -> None:
    """``cell`` becomes ``original`` whole (its id kept): source, type and all metadata."""
    cell.source = original.source
    cell.metadata = nbformat.from_dict(copy.deepcopy(dict(original.metadata)))
    if original.cell_type == "code":
        cell.setdefault("outputs", [])
        cell.setdefault("execution_count", None)
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
    cell.cell_type = original.cell_type


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
