"""Plot evidence a notebook publishes for the feedback page: a loss curve, a confusion matrix...

A test cell (or the student's own code) calls :func:`publish`, which displays a small JSON record
under :data:`MIME` beside a one-line text form. The record stays in the cell's outputs, so the
autograded notebook carries it to ``medgrade feedback``, which draws the plot in the grader.
Nothing here imports matplotlib, torch or numpy: publishing costs the kernel nothing.

Kinds and their fields (lists of numbers; tensors and arrays are converted with ``tolist``):
``loss_curve`` (losses), ``confusion`` (y_true, y_pred, optional labels), ``roc`` (y_true,
scores), ``masks`` (pred, true: 2-D or 3-D binary masks; only drawn for a failed test); and,
for held-out data, aggregates that hold no item's label: ``roc_curve`` (fpr, tpr at coarse
thresholds), ``confusion_counts`` (matrix, labels, columns), ``dice_cases`` (dice per case).
"""

from __future__ import annotations

from typing import Any

from medgrade.results import PLOT_MIME

__all__ = ["MIME", "KINDS", "publish"]

MIME = PLOT_MIME
KINDS: dict[str, tuple[str, ...]] = {
    "loss_curve": ("losses",),
    "confusion": ("y_true", "y_pred"),
    "roc": ("y_true", "scores"),
    "masks": ("pred", "true"),
    # Drawn from aggregates only: what a judged test on held-out data publishes (medgrade.checks.heldout).
    "roc_curve": ("fpr", "tpr"),
    "confusion_counts": ("matrix",),
    "dice_cases": ("dice",),
}
_OPTIONAL = {"labels", "title", "columns"}


def _plain(value: Any) -> Any:
    """Lists and numbers JSON can hold, from tensors, arrays, tuples or lists."""
    if hasattr(value, "detach"):
        value = value.detach().cpu()
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def publish(kind: str, **fields: Any) -> None:
    """Display ``fields`` as ``kind`` evidence, e.g. ``publish("loss_curve", losses=losses)``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")
    missing = [f for f in KINDS[kind] if f not in fields]
    unknown = sorted(set(fields) - set(KINDS[kind]) - _OPTIONAL)
    if missing or unknown:
        raise ValueError(f"{kind} evidence needs {', '.join(KINDS[kind])}; missing {missing}, unknown {unknown}")
    from IPython.display import display

    record = {"schema": 1, "kind": kind, **{k: _plain(v) for k, v in fields.items()}}
    display({MIME: record, "text/plain": f"[medgrade {kind} evidence for the feedback page]"}, raw=True)
