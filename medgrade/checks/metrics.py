"""Classification metric checks built on scikit-learn's implementations.

Each ``check_<metric>`` computes the metric with scikit-learn, compares it with a threshold
and, on failure, fills ``value``, ``threshold`` and ``margin`` of the :class:`CheckFailure`.
Inputs may be tensors (CPU or CUDA), arrays or lists; ``y_true`` of shape ``(N, 1)`` (MedMNIST)
is flattened. :func:`metric_value` is the single place a metric is computed, so the in-kernel
checks and the grader's :func:`medgrade.checks.evidence.judge_predictions` agree.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from medgrade.checks._util import describe, fmt_num, to_numpy
from medgrade.checks.failure import CheckFailure
from medgrade.checks.measure import note

__all__ = [
    "METRICS",
    "metric_value",
    "check_accuracy",
    "check_auc",
    "check_f1",
    "check_sensitivity",
    "check_specificity",
    "check_metric_value",
    "check_at_least",
]

METRICS = ("accuracy", "balanced_accuracy", "auc", "f1", "precision", "sensitivity",
           "specificity", "kappa")


def _fail(check: str, name: str, expected: str, observed: str, hint: str) -> CheckFailure:
    return CheckFailure(check, name=name, expected=expected, observed=observed, hint=hint)


def _labels(y: Any, check: str, name: str, what: str) -> np.ndarray:
    """1-D integer labels; accepts (N, 1) and integer-valued floats, refuses scores."""
    arr = to_numpy(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim == 2 and what == "y_pred":
        raise _fail(check, name, "predicted class labels of shape (N,)",
                    f"{what} of shape {arr.shape}",
                    "these are per-class scores: take predictions = scores.argmax(dim=1).")
    if arr.ndim != 1 or arr.size == 0:
        raise _fail(check, name, f"{what} as labels of shape (N,)", describe(y),
                    "pass one label per sample.")
    if arr.dtype.kind == "f" and not (np.isfinite(arr).all() and (arr == np.round(arr)).all()):
        raise _fail(check, name, f"{what} as class labels (integers)",
                    f"non-integer values such as {fmt_num(float(arr[arr != np.round(arr)][0]))}",
                    "threshold probabilities (p >= 0.5) or take argmax to get labels.")
    if arr.dtype.kind not in "biuf":
        raise _fail(check, name, f"{what} as class labels", f"dtype {arr.dtype}",
                    "use integer class indices.")
    return arr.astype(np.int64)


def _same_length(y_true: np.ndarray, y: np.ndarray, check: str, name: str) -> None:
    if len(y_true) != len(y):
        raise _fail(check, name, f"one prediction per sample ({len(y_true)})",
                    f"{len(y)} predictions",
                    "predict on the whole evaluation set, in order, without shuffling.")


def _binary_negative(y_true: np.ndarray, metric: str, pos_label: int, check: str,
                     name: str) -> int:
    """The negative class of a binary task; raises when the metric is undefined on y_true."""
    classes = sorted(set(np.unique(y_true).tolist()))
    if len(classes) > 2:
        raise _fail(check, name, "binary labels", f"classes {classes} in y_true",
                    f"{metric} is defined for a binary task; pick the positive class first.")
    others = [c for c in classes if c != pos_label]
    negative = others[0] if others else (0 if pos_label != 0 else 1)
    missing = pos_label if metric == "sensitivity" else negative
    if missing not in classes:
        kind = "positive" if metric == "sensitivity" else "negative"
        raise _fail(check, name, f"y_true with {kind} samples (class {missing})",
                    f"only class {classes[0]} in {y_true.size} samples",
                    f"{metric} is undefined without {kind} samples; evaluate on a split that "
                    "contains both classes.")
    return int(negative)


def _scores(y_score: Any, n_classes: int, check: str, name: str) -> np.ndarray:
    """Continuous scores: (N,) for binary (or (N, 2), column 1 used), (N, C) for multi-class."""
    arr = to_numpy(y_score)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    hard = "use predicted probabilities, not hard predictions: e.g. " \
        "torch.softmax(logits, dim=1) (or sigmoid for one output), not argmax or a threshold."
    if arr.dtype.kind in "biu" or (arr.size and set(np.unique(arr).tolist()) <= {0.0, 1.0}):
        raise _fail(check, name, "continuous scores (probabilities)",
                    f"only the values {sorted(set(np.unique(arr).tolist()))[:5]} "
                    f"(dtype {arr.dtype})", hard)
    if not np.isfinite(arr).all():
        raise _fail(check, name, "finite scores", "NaN or infinite scores",
                    "the model diverged or log(0) was taken; check training.")
    if n_classes <= 2 and arr.ndim == 2 and arr.shape[1] == 2:
        arr = arr[:, 1]
    if n_classes > 2 and (arr.ndim != 2 or arr.shape[1] != n_classes):
        raise _fail(check, name, f"scores of shape (N, {n_classes})", f"shape {arr.shape}",
                    "pass one probability per class (softmax of the logits).")
    if n_classes > 2 and not np.allclose(arr.sum(axis=1), 1.0, atol=1e-3):
        raise _fail(check, name, "class probabilities summing to 1 per row",
                    f"row sums from {fmt_num(arr.sum(1).min())} to {fmt_num(arr.sum(1).max())}",
                    "apply torch.softmax(logits, dim=1) before computing a multi-class AUC.")
    return arr


def metric_value(metric: str, y_true: Any, y: Any, *, pos_label: int = 1,
                 average: str | None = None, check: str = "metric_value",
                 name: str = "metric") -> float:
    """Compute ``metric`` with scikit-learn after validating the inputs (raises CheckFailure).

    ``y`` holds scores for ``"auc"`` and hard labels for every other metric.
    """
    from sklearn import metrics as skm  # lazy: keeps `import medgrade.checks` fast

    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
    t = _labels(y_true, check, name, "y_true")
    n_classes = len(np.unique(t))
    if metric == "auc":
        if n_classes < 2:
            raise _fail(check, name, "y_true with at least two classes",
                        f"only class {int(t[0])} in {t.size} samples",
                        "AUC is undefined when one class is missing: evaluate on a split that "
                        "contains both classes (e.g. a stratified split).")
        s = _scores(y, n_classes, check, name)
        _same_length(t, s, check, name)
        if n_classes > 2:
            return float(skm.roc_auc_score(t, s, multi_class="ovr", average=average or "macro"))
        return float(skm.roc_auc_score(t, s))
    p = _labels(y, check, name, "y_pred")
    _same_length(t, p, check, name)
    if metric == "accuracy":
        return float(skm.accuracy_score(t, p))
    if metric == "balanced_accuracy":
        return float(skm.balanced_accuracy_score(t, p))
    if metric == "kappa":  # Cohen's: agreement beyond chance; 0 for constant predictions
        with warnings.catch_warnings():  # one label on both sides: undefined, nan (fails any threshold)
            warnings.simplefilter("ignore")
            return float(skm.cohen_kappa_score(t, p))
    if metric in ("f1", "precision"):
        avg = average or ("binary" if set(np.unique(np.r_[t, p])) <= {0, 1} else "macro")
        fn = skm.f1_score if metric == "f1" else skm.precision_score
        return float(fn(t, p, average=avg, pos_label=pos_label, zero_division=0))
    negative = _binary_negative(t, metric, pos_label, check, name)
    label = pos_label if metric == "sensitivity" else negative
    return float(skm.recall_score(t, p, pos_label=label, average="binary", zero_division=0))


def _threshold_check(check: str, metric: str, value: float, at_least: float, name: str,
                     hint: str, n: int) -> None:
    note(check, name, value, at_least)
    if value < at_least:
        raise CheckFailure(
            check, name=name, expected=f"{metric} >= {at_least:.3f}",
            observed=f"{value:.3f} on {n} samples (margin {value - at_least:+.3f})",
            hint=hint, value=value, threshold=at_least,
        )


def check_at_least(value: Any, at_least: float, *, name: str, metric: str = "value", detail: str = "",
                   hint: str = "") -> float:
    """Raise unless ``value`` >= ``at_least``; return the value as a float.

    For a figure the test computes itself (a mean AUC over several splits, a per-region Dice
    returned by the student's own evaluation loop). The comparison is logged for ``medgrade
    calibrate`` like every other threshold check. ``detail`` adds context to the observed value
    (the per-split figures, the other regions); NaN or infinity always fails.
    """
    try:
        arr = to_numpy(value)
        figure = float(arr.reshape(-1)[0]) if arr.size == 1 else None
    except (TypeError, ValueError):
        figure = None
    if figure is None:
        raise CheckFailure("check_at_least", name=name, expected=f"one number ({metric})",
                           observed=describe(value), hint=hint or f"return the {metric} as a single number")
    note("check_at_least", name, figure, at_least)
    if not figure >= at_least:  # NaN fails too
        observed = f"{fmt_num(figure)} (margin {figure - at_least:+.3f})" if np.isfinite(figure) else fmt_num(figure)
        raise CheckFailure(
            "check_at_least", name=name, expected=f"{metric} >= {at_least:.3f}",
            observed=f"{observed}; {detail}" if detail else observed,
            hint=hint, value=figure, threshold=float(at_least),
        )
    return figure


def _collapse_hint(y_pred: Any) -> str:
    p = to_numpy(y_pred).reshape(-1)
    if p.size and len(np.unique(p)) == 1:
        return f"every prediction is class {p[0].item()!r}: the model collapsed to one " \
            "class; use a class-weighted loss for imbalance, check the learning rate and " \
            "that training ran."
    return "train longer or tune the learning rate; evaluate in model.eval() mode and check " \
        "that predictions and labels are in the same order."


def check_accuracy(y_true: Any, y_pred: Any, *, at_least: float, name: str = "accuracy") -> float:
    """Raise unless accuracy(y_true, y_pred) >= ``at_least``; return the accuracy."""
    value = metric_value("accuracy", y_true, y_pred, check="check_accuracy", name=name)
    _threshold_check("check_accuracy", "accuracy", value, at_least, name,
                     _collapse_hint(y_pred), len(to_numpy(y_true).reshape(-1)))
    return value


def check_auc(y_true: Any, y_score: Any, *, at_least: float, name: str = "auc",
              average: str | None = None) -> float:
    """Raise unless ROC AUC >= ``at_least``; refuse hard labels and one-class ``y_true``.

    Binary: scores of shape (N,) or (N, 2) (column 1 is the positive class). Multi-class:
    (N, C) probabilities, one-vs-rest macro AUC.
    """
    value = metric_value("auc", y_true, y_score, average=average, check="check_auc", name=name)
    _threshold_check("check_auc", "AUC", value, at_least, name,
                     "an AUC near 0.5 means the scores do not rank positives above negatives; "
                     "below 0.5, check that you passed the positive-class column.",
                     len(to_numpy(y_true).reshape(-1)))
    return value


def check_f1(y_true: Any, y_pred: Any, *, at_least: float, average: str | None = None,
             pos_label: int = 1, name: str = "f1") -> float:
    """Raise unless F1 >= ``at_least`` (binary F1 for 0/1 labels, else macro unless given)."""
    value = metric_value("f1", y_true, y_pred, pos_label=pos_label, average=average,
                         check="check_f1", name=name)
    _threshold_check("check_f1", "F1", value, at_least, name, _collapse_hint(y_pred),
                     len(to_numpy(y_true).reshape(-1)))
    return value


def check_sensitivity(y_true: Any, y_pred: Any, *, at_least: float, pos_label: int = 1,
                      name: str = "sensitivity") -> float:
    """Raise unless sensitivity (recall of ``pos_label``, TP / (TP + FN)) >= ``at_least``."""
    value = metric_value("sensitivity", y_true, y_pred, pos_label=pos_label,
                         check="check_sensitivity", name=name)
    _threshold_check("check_sensitivity", "sensitivity", value, at_least, name,
                     "positives are missed: weight the positive class in the loss or lower the "
                     "decision threshold.", len(to_numpy(y_true).reshape(-1)))
    return value


def check_specificity(y_true: Any, y_pred: Any, *, at_least: float, pos_label: int = 1,
                      name: str = "specificity") -> float:
    """Raise unless specificity (recall of the negative class, TN / (TN + FP)) >= ``at_least``."""
    value = metric_value("specificity", y_true, y_pred, pos_label=pos_label,
                         check="check_specificity", name=name)
    _threshold_check("check_specificity", "specificity", value, at_least, name,
                     "too many false positives: raise the decision threshold or reduce the "
                     "positive class weight.", len(to_numpy(y_true).reshape(-1)))
    return value


def _value_hint(student: float, ref: float, metric: str, others: dict[str, float]) -> str:
    if abs(student - 100 * ref) <= 1e-3 * max(1.0, abs(student)):
        return "return a fraction in [0, 1], not a percentage."
    if metric == "kappa" and abs(student - others.get("accuracy", np.nan)) <= 1e-9:
        return "your value is the observed agreement (the accuracy): kappa subtracts the agreement " \
            "expected by chance, (p_o - p_e) / (1 - p_e), with p_e from the two label frequencies."
    for other, v in others.items():
        if other != metric and abs(student - v) <= 1e-9:
            return f"your value equals the {other}: check which cells of the confusion matrix " \
                "go in the numerator and the denominator."
    if abs(student - (1 - ref)) <= 1e-6:
        return "your value is 1 minus the reference: the positive and negative classes are " \
            "probably swapped."
    if metric == "auc":
        return "compute the AUC from probabilities of the positive class, not from labels."
    return "compare your formula with the definition on a tiny hand-made example."


def check_metric_value(student_value: Any, y_true: Any, y_pred_or_score: Any, *,
                       metric: str = "accuracy", atol: float = 1e-6, pos_label: int = 1,
                       name: str | None = None) -> None:
    """Raise unless a student's own metric computation equals scikit-learn's within ``atol``."""
    label = name or metric
    check = "check_metric_value"
    try:
        student = float(student_value)
    except (TypeError, ValueError, RuntimeError) as e:
        raise _fail(check, label, f"the {metric} as a number", describe(student_value),
                    "return a Python float (use .item() on a one-element tensor).") from e
    ref = metric_value(metric, y_true, y_pred_or_score, pos_label=pos_label, check=check,
                       name=label)
    if not abs(student - ref) <= atol:
        others: dict[str, float] = {}
        if metric in ("sensitivity", "specificity", "precision"):
            for m in ("sensitivity", "specificity", "precision"):
                others[m] = metric_value(m, y_true, y_pred_or_score, pos_label=pos_label)
        if metric == "kappa":
            others["accuracy"] = metric_value("accuracy", y_true, y_pred_or_score)
        raise CheckFailure(
            check, name=label, expected=f"{metric} = {ref:.6f} (scikit-learn, atol {atol:g})",
            observed=f"{student:.6f}", hint=_value_hint(student, ref, metric, others),
            value=student, threshold=ref,
        )
