"""Plot evidence read back from an autograded notebook, validated, and drawn.

A notebook publishes records with :func:`medgrade.student.publish` (display data under
:data:`medgrade.publish.MIME`). They come from the student's kernel, so they are
untrusted: each is checked for shape and type, and one that is malformed is dropped (no plot),
never drawn from guessed data. Records are keyed by the grade id of the test cell that
published them (``""`` for any other cell).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

from medgrade.gradebook import plots
from medgrade.publish import KINDS, MIME

__all__ = ["read_evidence", "draw"]

MAX_VALUES = 1_000_000


def _numbers(value: Any) -> bool:
    flat = np.asarray(value, dtype=object).ravel() if isinstance(value, list) else None
    return (flat is not None and 0 < flat.size <= MAX_VALUES
            and all(type(v) in (int, float, bool) and math.isfinite(v) for v in flat))


def _valid(record: Any) -> bool:
    if not isinstance(record, dict) or record.get("schema") != 1 or record.get("kind") not in KINDS:
        return False
    try:
        return all(_numbers(record.get(f)) for f in KINDS[record["kind"]])
    except (ValueError, TypeError):  # ragged lists
        return False


def _records(cell: nbformat.NotebookNode) -> Iterator[dict[str, Any]]:
    for out in cell.get("outputs", []):
        record = out.get("data", {}).get(MIME) if out.get("output_type") == "display_data" else None
        if isinstance(record, dict) and _valid(record):
            yield dict(record)


def read_evidence(notebooks: list[Path]) -> dict[str, list[dict[str, Any]]]:
    """Valid records by the grade id of the cell that published them, in notebook order."""
    found: dict[str, list[dict[str, Any]]] = {}
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            gid = str(meta["grade_id"]) if meta.get("grade") and "grade_id" in meta else ""
            for record in _records(cell):
                found.setdefault(gid, []).append(record)
    return found


def draw(record: dict[str, Any], *, failed: bool) -> tuple[str, str] | None:
    """``(data URI, caption)`` for ``record``; None when it does not apply or cannot be drawn.

    A mask overlay is drawn only for a failed test: it shows where the prediction went wrong.
    """
    kind = record["kind"]
    labels = record.get("labels") if isinstance(record.get("labels"), list) else None
    try:
        if kind == "loss_curve":
            return plots.loss_curve(record["losses"]), f"loss over {len(record['losses'])} steps of your run"
        if kind == "confusion":
            return plots.confusion(record["y_true"], record["y_pred"], [str(x) for x in labels or []]), \
                "confusion matrix of your predictions"
        if kind == "roc" and len(set(record["y_true"])) == 2 and len(record["y_true"]) == len(record["scores"]):
            return plots.roc(record["y_true"], record["scores"]), "ROC curve of your scores"
        if kind == "masks" and failed:
            return plots.mask_overlay(record["pred"], record["true"]), "predicted and true masks"
        if kind == "roc_curve":
            return plots.roc_from_points(record["fpr"], record["tpr"]), "ROC curve of your scores on the hidden split"
        if kind == "confusion_counts":
            columns = record.get("columns") if isinstance(record.get("columns"), list) else labels
            return plots.confusion_matrix(record["matrix"], [str(x) for x in labels or []],
                                          [str(x) for x in columns or []]), "confusion matrix on the hidden split"
        if kind == "dice_cases" and failed:
            return plots.dice_per_case(record["dice"]), "Dice of each hidden case"
    except Exception:  # a record no drawing can be made of is dropped, never the page
        return None
    return None
