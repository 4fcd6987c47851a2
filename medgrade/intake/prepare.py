"""Sanitize a submission: restore what the student may not change, note what they changed.

Locked cells and test cells are restored whole from the source notebook by grade id: source,
cell type and every piece of metadata, tags included (a ``skip-execution`` tag would otherwise
make nbclient skip a test), with their hidden parts (those run in place, sent over the kernel's
channel, never written to the sandbox). Nothing in a student cell's metadata changes how a test
cell runs. A test cell that was edited or deleted, or whose tags or nbgrader metadata were
changed, is restored and recorded as a finding, as nbgrader's checksums would.
Student cells keep their source, added cells included, but never their own say on grading: a
solution cell's nbgrader metadata is the release's again (a solution cell promoted to a graded
cell, or an answer's points raised, is recorded as a finding), a solution cell that lost its
metadata is found again by its cell id, and a cell whose nbgrader metadata claims a grade id the
assignment does not have, or repeats one, loses that metadata (it runs, it never earns points).
An answer a person grades that cannot be found is recorded as a finding; it counts as blank.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass

import nbformat
from nbformat import NotebookNode

from medgrade.intake.cells import is_answer
from medgrade.intake.scrub import NO_HIDDEN, Hidden, hidden_of
from medgrade.judge.grader import JudgeSpec, judge_specs

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
    _recover_by_cell_id(nb, releases, findings)
    for cell in nb.cells:
        gid = _gid(cell)
        if gid is not None and (gid in present or gid not in source_cells):
            _demote(cell, gid, findings, copy=gid in present)
            continue
        if gid is not None and not _protected(source_cells[gid]):  # the student's cell: source kept
            _restore_metadata(cell, releases.get(gid, source_cells[gid]), findings)
            present.add(gid)
        elif gid in source_cells and _protected(source_cells[gid]):
            if gid in released and _digest(cell.source) != released[gid]:
                findings.append(f"cell {gid} was edited; it was restored from the assignment")
            elif changed := _changed_metadata(cell, releases.get(gid, source_cells[gid])):
                findings.append(f"cell {gid} was edited (its {' and '.join(changed)}); "
                                "it was restored from the assignment")
            _restore(cell, source_cells[gid])
            present.add(gid)
    _reinsert_missing(nb, source, source_cells, present, findings)
    findings.extend(f"written answer {g} is missing (its cell was deleted, or lost its nbgrader metadata and its "
                    "cell id): it counts as blank; if the answer is elsewhere in the notebook, read it there"
                    for g, c in releases.items() if g not in present and is_answer(c))
    # Graded code cells as the source has them: a written answer the student turned into a code
    # cell keeps its grading metadata but is never run as a test.
    tests = tuple(
        TestCell(g, float(source_cells[g].metadata["nbgrader"].get("points", 0)), i,
                 judge_specs(source_cells[g].source, f"test cell {g}"), hidden_of(source_cells[g].source))
        for i, c in enumerate(nb.cells)
        if (g := _gid(c)) is not None and g in source_cells and _graded_code(source_cells[g])
    )
    return Prepared(nb, tests, tuple(findings))


def _graded_code(cell: NotebookNode) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("grade")) and cell.get("cell_type") == "code"


def _recover_by_cell_id(nb: NotebookNode, releases: dict[str, NotebookNode], findings: list[str]) -> None:
    """A released student cell whose nbgrader metadata is gone, found again by its Jupyter cell id."""
    kept = {g for c in nb.cells if (g := _gid(c)) is not None}
    by_id = {str(c["id"]): g for g, c in releases.items() if c.get("id") and g not in kept}
    for cell in nb.cells:
        gid = by_id.pop(str(cell.get("id")), None) if "nbgrader" not in cell.get("metadata", {}) else None
        if gid is not None and not _protected(releases[gid]):
            cell.metadata["nbgrader"] = copy.deepcopy(dict(releases[gid].metadata["nbgrader"]))
            findings.append(f"cell {gid} had lost its nbgrader metadata; it was found by its cell id and "
                            "its metadata restored")


def _restore_metadata(cell: NotebookNode, given: NotebookNode, findings: list[str]) -> None:
    """A student cell's nbgrader metadata becomes the assignment's again; its source stays the student's."""
    theirs, ours = cell.metadata.get("nbgrader"), dict(given.metadata["nbgrader"])
    if theirs != ours:
        findings.append(f"cell {_gid(cell)} had its nbgrader metadata edited (it decides what is graded and "
                        "for how many points); it was restored from the assignment")
        cell.metadata["nbgrader"] = copy.deepcopy(ours)


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
