"""Plots of a judged test on held-out data, drawn from aggregates that reveal no item's label.

The grader judges a test's predictions against labels the kernel never sees; the plot it adds to
the autograded notebook (and so to the feedback page) must not carry them back, and a judged
call run in place (Otter, nbgrader, a student's own run) publishes the same. A record holds only

- ``roc_curve``: false- and true-positive rates at thresholds that each separate at least
  :data:`MIN_ITEMS` items from the next (quantiles of the student's own scores), so no step of
  the curve is one item's label;
- ``confusion_counts``: the counts of (true, predicted) classes;
- ``dice_cases``: the Dice of each hidden case, never a voxel of its mask.

What remains, and is inherent to reporting any figure on held-out data: a student who crafts
predictions (all items but one alike) and submits repeatedly learns about single items from the
metric itself, as from a leaderboard. Keep the number of graded submissions bounded.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["MIN_ITEMS", "roc_curve", "confusion_counts", "dice_cases", "publish_plot"]

MIN_ITEMS = 10
STEPS = 50


def _thresholds(scores: np.ndarray) -> list[float]:
    """Score thresholds, highest first, each keeping at least MIN_ITEMS items above it that the last did not."""
    candidates = sorted(set(np.quantile(scores, np.linspace(1, 0, STEPS + 1)).tolist()), reverse=True)
    kept: list[float] = []
    above = 0
    for t in candidates:
        count = int((scores >= t).sum())
        if count - above >= MIN_ITEMS and len(scores) - count >= MIN_ITEMS:
            kept.append(t)
            above = count
    return kept


def roc_curve(y_true: Any, scores: Any) -> dict[str, Any]:
    """The ROC record of binary ``y_true`` and ``scores``: rates at coarse thresholds only."""
    t, s = np.asarray(y_true, dtype=int).ravel(), np.asarray(scores, dtype=float).ravel()
    pos, neg = max(int(t.sum()), 1), max(int(t.size - t.sum()), 1)
    fpr, tpr = [0.0], [0.0]
    for threshold in _thresholds(s):
        hit = s >= threshold
        tpr.append(float((hit & (t == 1)).sum() / pos))
        fpr.append(float((hit & (t == 0)).sum() / neg))
    fpr.append(1.0)
    tpr.append(1.0)
    return {"schema": 1, "kind": "roc_curve", "fpr": fpr, "tpr": tpr}


def confusion_counts(y_true: Any, y_pred: Any, labels: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The confusion record: counts per (true, predicted) class; predictions outside the classes are 'other'."""
    t, p = np.asarray(y_true, dtype=np.int64).ravel(), np.asarray(y_pred, dtype=np.int64).ravel()
    n = max(int(t.max(initial=0)) + 1, len(labels or ()))
    names = [*(labels or [str(i) for i in range(n)])][:n]
    other = (p < 0) | (p >= n)
    columns = n + int(other.any())
    matrix = np.zeros((n, columns), dtype=int)
    np.add.at(matrix, (t, np.where(other, n, p)), 1)
    return {"schema": 1, "kind": "confusion_counts", "matrix": matrix.tolist(),
            "labels": names, **({"columns": [*names, "other"]} if other.any() else {})}


def dice_cases(dice_per_case: Any) -> dict[str, Any]:
    """The Dice record: one figure per hidden case (worst channel), nothing of the masks."""
    values = np.asarray(dice_per_case, dtype=float)
    per_case = values.min(axis=1) if values.ndim == 2 else values.ravel()
    return {"schema": 1, "kind": "dice_cases", "dice": [round(float(v), 4) for v in per_case]}


def publish_plot(plot: str, y_true: Any, values: Any, classes: list[str] | None) -> None:
    """Publish the feedback page's ``plot`` of a metric judged in place (``values`` already scored)."""
    from medgrade.checks.segmentation import dice_score
    from medgrade.publish import publish

    if plot == "masks":
        if values.shape != y_true.shape or values.ndim < 4:
            return
        record = dice_cases(dice_score(values, y_true))
    elif plot == "roc":
        record = roc_curve(y_true, values)
    elif plot == "confusion":
        record = confusion_counts(y_true, values, tuple(classes) if classes else None)
    else:
        return
    publish(record.pop("kind"), **{k: v for k, v in record.items() if k != "schema"})
