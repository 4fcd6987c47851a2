"""The plots of feedback pages and class reports, as PNG ``data:`` URIs (pages stay offline).

Each function takes plain data (lists or arrays), draws on its own :class:`Figure` (no pyplot
state, no display needed) and returns ``data:image/png;base64,...``. Data comes from a result
or from evidence a notebook published; a function never makes data up.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

__all__ = ["loss_curve", "confusion", "roc", "mask_overlay", "score_histogram", "pass_rates",
           "best_slice", "roc_points", "confusion_matrix", "roc_from_points", "dice_per_case", "MAX_CLASSES"]

MAX_CLASSES = 50  # a confusion matrix wider than this is not drawn (a record could ask for 10**9 classes)


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def loss_curve(losses: Sequence[float], title: str = "loss during training") -> str:
    fig = Figure(figsize=(4.5, 3))
    ax = fig.subplots()
    ax.plot(np.arange(1, len(losses) + 1), np.asarray(losses, dtype=float), marker="." if len(losses) < 50 else "")
    ax.set(xlabel="step", ylabel="loss", title=title)
    ax.grid(alpha=0.3)
    return _png(fig)


def confusion(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str] | None = None) -> str:
    """Counts of (true, predicted) classes; rows are the true class."""
    t, p = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    if t.size and min(t.min(), p.min(initial=0)) < 0:
        raise ValueError("class labels must not be negative")
    n = int(max(t.max(initial=0), p.max(initial=0))) + 1
    n = max(n, len(labels or ()))
    if n > MAX_CLASSES:
        raise ValueError(f"{n} classes: too many to draw")
    matrix = np.zeros((n, n), dtype=int)
    np.add.at(matrix, (t, p), 1)
    names = list(labels) if labels else [str(i) for i in range(n)]
    return confusion_matrix(matrix.tolist(), names, names)


def confusion_matrix(matrix: Sequence[Sequence[int]], rows: Sequence[str], columns: Sequence[str]) -> str:
    """Counts already made (rows: true classes, columns: predicted), as a confusion matrix."""
    m = np.asarray(matrix, dtype=np.int64)
    if m.ndim != 2 or not 0 < m.shape[0] <= MAX_CLASSES or not 0 < m.shape[1] <= MAX_CLASSES + 1:
        raise ValueError(f"a confusion matrix of shape {m.shape} cannot be drawn")
    rows = [str(r)[:40] for r in rows][:m.shape[0]] + [str(i) for i in range(len(rows), m.shape[0])]
    columns = [str(c)[:40] for c in columns][:m.shape[1]] + [str(i) for i in range(len(columns), m.shape[1])]
    fig = Figure(figsize=(1.2 + 0.6 * m.shape[1], 1.0 + 0.6 * m.shape[0]))
    ax = fig.subplots()
    ax.imshow(m, cmap="Blues")
    for (i, j), v in np.ndenumerate(m):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > m.max() / 2 else "black")
    ax.set_xticks(range(m.shape[1]), columns, rotation=45, ha="right")
    ax.set_yticks(range(m.shape[0]), rows)
    ax.set(xlabel="predicted", ylabel="true", title="confusion matrix")
    return _png(fig)


def roc_points(y_true: Sequence[int], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray, float]:
    """False- and true-positive rates at every threshold, and the area under the curve."""
    t, s = np.asarray(y_true, dtype=int), np.asarray(scores, dtype=float)
    order = np.argsort(-s, kind="mergesort")
    t, s = t[order], s[order]
    distinct = np.r_[np.flatnonzero(np.diff(s)), t.size - 1]
    tps, fps = np.cumsum(t)[distinct], (distinct + 1) - np.cumsum(t)[distinct]
    pos, neg = max(int(t.sum()), 1), max(int(t.size - t.sum()), 1)
    fpr, tpr = np.r_[0.0, fps / neg], np.r_[0.0, tps / pos]
    return fpr, tpr, float(np.trapezoid(tpr, fpr))


def roc(y_true: Sequence[int], scores: Sequence[float]) -> str:
    fpr, tpr, auc = roc_points(y_true, scores)
    return _roc_figure(fpr, tpr, f"AUC {auc:.3f}")


def roc_from_points(fpr: Sequence[float], tpr: Sequence[float]) -> str:
    """An ROC curve through points already made (coarse thresholds on held-out data)."""
    f, t = np.asarray(fpr, dtype=float), np.asarray(tpr, dtype=float)
    if f.shape != t.shape or f.ndim != 1 or not 2 <= f.size <= 1000 or ((f < 0) | (f > 1) | (t < 0) | (t > 1)).any():
        raise ValueError("ROC points must be two lists of rates of one length")
    return _roc_figure(f, t, f"area {float(np.trapezoid(t, f)):.3f} (coarse)")


def _roc_figure(fpr: np.ndarray, tpr: np.ndarray, label: str) -> str:
    fig = Figure(figsize=(3.6, 3.4))
    ax = fig.subplots()
    ax.plot(fpr, tpr, label=label)
    ax.plot([0, 1], [0, 1], "--", color="grey", linewidth=0.8, label="chance")
    ax.set(xlabel="false-positive rate", ylabel="true-positive rate", title="ROC curve", xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(loc="lower right")
    return _png(fig)


def best_slice(pred: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray, int | None]:
    """2-D masks to draw: the slice (last axis) where the masks disagree most, for a 3-D pair."""
    if pred.shape != true.shape or pred.ndim not in (2, 3):
        raise ValueError(f"masks must share a 2-D or 3-D shape; got {pred.shape} and {true.shape}")
    if pred.ndim == 2:
        return pred, true, None
    disagreement = (pred != true).reshape(-1, pred.shape[-1]).sum(axis=0)
    k = int(disagreement.argmax()) if disagreement.any() else int(true.reshape(-1, true.shape[-1]).sum(0).argmax())
    return pred[..., k], true[..., k], k


def mask_overlay(pred: Any, true: Any) -> str:
    """True mask green, predicted red, their overlap yellow, on one slice."""
    p2, t2, k = best_slice(np.asarray(pred) > 0, np.asarray(true) > 0)
    rgb = np.zeros((*p2.shape, 3))
    rgb[..., 0] = p2
    rgb[..., 1] = t2
    fig = Figure(figsize=(3.6, 3.6))
    ax = fig.subplots()
    ax.imshow(rgb, interpolation="nearest")
    where = "" if k is None else f" (slice {k})"
    ax.set(title=f"green: true, red: predicted, yellow: both{where}", xticks=[], yticks=[])
    ax.title.set_fontsize(9)
    return _png(fig)


def dice_per_case(dice: Sequence[float]) -> str:
    """One bar per hidden case: its Dice (worst channel)."""
    d = np.asarray(dice, dtype=float)
    if d.ndim != 1 or not 0 < d.size <= 200 or ((d < 0) | (d > 1)).any():
        raise ValueError("Dice per case must be up to 200 figures in [0, 1]")
    fig = Figure(figsize=(1.5 + 0.25 * d.size, 3))
    ax = fig.subplots()
    ax.bar(np.arange(1, d.size + 1), d, color="#cf222e")
    ax.set(xlabel="hidden case", ylabel="Dice", ylim=(0, 1), title="Dice per hidden case")
    return _png(fig)


def score_histogram(scores: Sequence[float], max_score: float) -> str:
    fig = Figure(figsize=(5, 3))
    ax = fig.subplots()
    bins = list(np.linspace(0, max_score, int(min(max_score, 20)) + 1)) if max_score > 0 else 10
    ax.hist(np.asarray(scores, dtype=float), bins=bins, color="#0969da", edgecolor="white")
    ax.set(xlabel=f"score (of {max_score:g})", ylabel="submissions", title="score distribution")
    return _png(fig)


def pass_rates(names: Sequence[str], rates: Sequence[float]) -> str:
    fig = Figure(figsize=(5.5, 0.6 + 0.3 * len(names)))
    ax = fig.subplots()
    ax.barh(list(names)[::-1], [100 * r for r in rates][::-1], color="#1a7f37")
    ax.set(xlabel="% of submissions passing", xlim=(0, 100), title="pass rate per test")
    return _png(fig)
