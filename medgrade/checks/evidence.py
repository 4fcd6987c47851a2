"""Evidence for a trusted grader: record predictions in the sandbox, judge them outside it.

DESIGN.md principle 2: hidden labels never enter the student's kernel. A metric test there
only calls :func:`record_predictions`, which validates the predictions and stores a JSON-safe
record (kept in this module's registry and, when ``MEDGRADE_EVIDENCE_DIR`` is set, written
atomically to ``<dir>/<key>.json``). The grader reads the records with :func:`load_evidence`
and calls :func:`judge_predictions` with the labels only it holds. JSON only, never pickle.

A hidden metric test calls :func:`judged` with its predictions and the answer key they are
judged against (``answers="pathmnist:test"``). In medgrade's sandbox (``MEDGRADE_JUDGE=grader``)
that only records them: the grader reads the call's literal arguments from the trusted source
notebook, never from the kernel, and judges the record against labels the kernel cannot read
(:mod:`medgrade.judge.grader`). Run anywhere else (a student's own run, ``medgrade release``,
Otter, nbgrader), the same call judges in place against the labels in the data root.

Record format (schema 1): ``{"schema": 1, "key": str, "kind": "scores" | "labels" | "mask",
"shape": [int, ...], "values": [number, ...]}`` with ``values`` flattened in C order.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medgrade import envvars
from medgrade.checks._util import describe, to_numpy
from medgrade.checks.failure import CheckFailure
from medgrade.checks.metrics import METRICS, metric_value
from medgrade.checks.segmentation import EMPTY_RULE, dice_score
from medgrade.profiles import for_profile

__all__ = ["SCHEMA_VERSION", "KINDS", "record_predictions", "collected_evidence",
           "clear_evidence", "load_evidence", "parse_record", "judge_predictions",
           "Judgement", "judged", "kind_for", "PLOTS", "judge_gain", "gain_name", "baseline_key",
           "evaluate", "Outcome", "scored", "make_record"]

SCHEMA_VERSION = 1
PLOTS = ("roc", "confusion", "masks")
KINDS = ("scores", "labels", "mask")
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
MAX_MAGNITUDE = {"scores": 1e12, "labels": 2**31 - 1, "mask": 2**31 - 1}  # beyond: not a prediction, and overflows
MAX_DIMS = 8
_REGISTRY: dict[str, dict[str, Any]] = {}


def _bad(check: str, key: str, expected: str, observed: str, hint: str) -> CheckFailure:
    return CheckFailure(check, name=key, expected=expected, observed=observed, hint=hint)


def _values(arr: np.ndarray, kind: str, key: str) -> list[Any]:
    check = "record_predictions"
    if arr.dtype.kind not in "biuf" or arr.size == 0:
        raise _bad(check, key, f"a non-empty numeric array of {kind}", describe(arr),
                   "pass a tensor or array of predictions for the whole evaluation set.")
    if not np.isfinite(arr).all():
        raise _bad(check, key, f"finite {kind}", f"{int((~np.isfinite(arr)).sum())} NaN or "
                   "infinite values", "the model diverged or log(0) was taken.")
    if kind != "mask" and float(np.abs(arr).max()) > MAX_MAGNITUDE[kind]:
        raise _bad(check, key, f"{kind} of magnitude at most {MAX_MAGNITUDE[kind]:g}",
                   f"{float(np.abs(arr).max()):g}", "record probabilities, logits or class indices, nothing larger.")
    if kind == "scores":
        return [float(v) for v in arr.ravel()]
    if kind == "mask" and not np.isin(arr, (0, 1)).all():
        raise _bad(check, key, "a binary mask (0/1)", "other values",
                   "threshold probabilities (p > 0.5) or one-hot the arg-max.")
    if (arr != np.round(arr)).any():
        raise _bad(check, key, "integer class labels", "non-integer values",
                   "record probabilities with kind='scores', or take argmax for labels.")
    return [int(v) for v in arr.ravel()]


def _write_atomically(directory: Path, key: str, record: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{key}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(record, f, allow_nan=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, directory / f"{key}.json")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def make_record(key: str, values: Any, kind: str) -> dict[str, Any]:
    """The record of ``values`` under ``key``, stored nowhere (the grader's own baselines)."""
    arr = to_numpy(values)
    return {"schema": SCHEMA_VERSION, "key": key, "kind": kind,
            "shape": [int(s) for s in arr.shape], "values": _values(arr, kind, key)}


def record_predictions(key: str, values: Any, *, kind: str = "scores") -> dict[str, Any]:
    """Validate predictions and store them as evidence under ``key``; return the record.

    ``kind``: ``"scores"`` (probabilities or logits, for AUC), ``"labels"`` (class indices)
    or ``"mask"`` (binary segmentation ``(B, C, H, W[, D])``).

    >>> record_predictions("demo_probs", torch.tensor([0.25, 0.75]))["values"]
    [0.25, 0.75]
    """
    if not isinstance(key, str) or not _KEY.match(key):
        raise ValueError(f"evidence key must match {_KEY.pattern}, got {key!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    record = make_record(key, values, kind)
    _REGISTRY[key] = record
    directory = os.environ.get(envvars.EVIDENCE_DIR)
    if directory:
        _write_atomically(Path(directory), key, record)
    return copy.deepcopy(record)


def collected_evidence() -> dict[str, dict[str, Any]]:
    """A copy of every record made in this process, by key."""
    return copy.deepcopy(_REGISTRY)


def clear_evidence() -> None:
    """Forget the records of this process (files already written stay)."""
    _REGISTRY.clear()


def parse_record(record: Any) -> tuple[str, np.ndarray]:
    """Validate an untrusted record strictly; return its kind and the array it holds."""
    def bad(observed: str) -> CheckFailure:
        return _bad("judge_predictions", "evidence", "a valid evidence record (schema 1)",
                    observed, "record predictions only with record_predictions().")

    if not isinstance(record, dict) or record.get("schema") != SCHEMA_VERSION:
        raise bad(f"a {type(record).__name__} without schema {SCHEMA_VERSION}")
    kind, shape, values = record.get("kind"), record.get("shape"), record.get("values")
    if kind not in KINDS:
        raise bad(f"kind {kind!r}")
    if not isinstance(shape, list) or not 0 < len(shape) <= MAX_DIMS or not all(type(s) is int and s >= 0
                                                                               for s in shape):
        raise bad(f"shape {str(shape)[:60]}")
    number = float if kind == "scores" else int
    if not isinstance(values, list) or len(values) != math.prod(shape) or not all(
        type(v) in (int, float) and (type(v) is int or math.isfinite(v)) and (number is float or type(v) is int)
        for v in values
    ):
        raise bad(f"values that do not fill shape {shape} with finite {kind}")
    if any(abs(v) > MAX_MAGNITUDE[kind] for v in values):
        raise bad(f"{kind} of magnitude above {MAX_MAGNITUDE[kind]:g}")
    dtype = np.float64 if kind == "scores" else np.int64
    return str(kind), np.asarray(values, dtype=dtype).reshape(shape)


def load_evidence(directory: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Read every ``<key>.json`` record in ``directory`` (temporary files are skipped)."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(directory).glob("*.json")):
        with path.open(encoding="utf-8") as f:
            out[path.stem] = json.load(f)
    return out


@dataclass(frozen=True)
class Judgement:
    """The grader's verdict on one record that met its threshold."""

    key: str
    metric: str
    value: float
    threshold: float
    margin: float
    passed: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_NEEDS = {"auc": "scores", "dice": "mask"}


def judge_predictions(record: Any, y_true: Any, *, metric: str, at_least: float,
                      name: str | None = None, ignore: Any = None, hint: str | None = None) -> Judgement:
    """In the grader: compute ``metric`` of an evidence record against ``y_true``.

    Returns a :class:`Judgement`, or raises :class:`CheckFailure` (with value, threshold and
    margin) when the metric is below ``at_least`` or the record is invalid. ``metric`` is one of
    :data:`medgrade.checks.metrics.METRICS` or ``"dice"`` (worst channel's mean Dice); for Dice,
    ``ignore`` (same shape as ``y_true``) marks voxels not scored: they are taken out of the
    prediction, as the answer key holds none of them.
    """
    label = _label(record, name)
    value = _metric_of(record, y_true, metric, label, ignore)
    if value < at_least:
        rule = f" ({EMPTY_RULE})" if metric == "dice" else ""
        raise CheckFailure("judge_predictions", name=label,
                           expected=f"{metric} >= {at_least:.3f}{rule}",
                           observed=f"{value:.3f} on the hidden labels "
                           f"(margin {value - at_least:+.3f})",
                           hint=hint or "improve the model; the hidden split is scored like the public one.",
                           value=value, threshold=at_least)
    return Judgement(label, metric, value, float(at_least), value - float(at_least))


def gain_name(label: str) -> str:
    """The name a gain over a baseline is reported and calibrated under."""
    return f"{label}: gain over the baseline"


def judge_gain(record: Any, baseline: Any, y_true: Any, *, metric: str, gain: float, name: str | None = None,
               ignore: Any = None, hint: str | None = None) -> Judgement:
    """In the grader: ``metric`` of ``record`` minus that of ``baseline`` must be at least ``gain``.

    A gain is the fair threshold where the seed moves both figures together: 05's probe on a
    pre-trained encoder against the same probe on the random encoder it started from.
    """
    label = gain_name(_label(record, name))
    value = _metric_of(record, y_true, metric, label, ignore)
    base = _metric_of(baseline, y_true, metric, label, ignore)
    diff = value - base
    if diff < gain:
        raise CheckFailure("judge_predictions", name=label,
                           expected=f"{metric} at least {gain:.3f} above the baseline's",
                           observed=f"{value:.3f} against the baseline's {base:.3f} on the hidden labels "
                           f"(gain {diff:+.3f}, margin {diff - gain:+.3f})",
                           hint=hint or "the model must earn more over the baseline the test compares it with.",
                           value=diff, threshold=gain)
    return Judgement(label, f"{metric} gain", diff, float(gain), diff - float(gain))


def _label(record: Any, name: str | None) -> str:
    """What a judgement is reported under: the test's name, else the record's key."""
    return name or str(record.get("key", "evidence") if isinstance(record, dict) else "evidence")


def scored(arr: np.ndarray, ignore: Any) -> np.ndarray:
    """A mask without the voxels the answer key does not score (``ignore``, where it fits)."""
    if ignore is not None and np.shape(ignore) == arr.shape:
        return np.where(np.asarray(ignore, dtype=bool), 0, arr)
    return arr


def _metric_of(record: Any, y_true: Any, metric: str, label: str, ignore: Any) -> float:
    if metric not in METRICS and metric != "dice":
        raise ValueError(f"unknown metric {metric!r}")
    kind, arr = parse_record(record)
    needed = kind_for(metric)
    if kind != needed:
        raise _bad("judge_predictions", label, f"{needed} for {metric}", f"{kind}",
                   f"record_predictions(key, ..., kind={needed!r})" + (
                       ": use predicted probabilities, not hard predictions."
                       if metric == "auc" else "."))
    if metric == "dice":
        if arr.shape != np.shape(y_true):
            raise _bad("judge_predictions", label, f"masks of shape {tuple(np.shape(y_true))}, one per hidden case",
                       f"shape {tuple(arr.shape)}", "predict a binary mask (n, 1, *spatial) for every case, in order.")
        return float(dice_score(scored(arr, ignore), y_true).mean(axis=0).min())
    if arr.ndim != 1 and not (metric == "auc" and arr.ndim == 2):
        raise _bad("judge_predictions", label, f"one {kind} per item, shape ({arr.shape[0]},)",
                   f"shape {tuple(arr.shape)}", "flatten the predictions to one value per item.")
    return metric_value(metric, y_true, arr, check="judge_predictions", name=label)


def kind_for(metric: str) -> str:
    """The record kind a metric is computed from: scores for AUC, a mask for Dice, else labels."""
    return _NEEDS.get(metric, "labels")


def judged(key: str, values: Any, *, metric: str, at_least: Any, answers: str, n: Any,
           positive: int | None = None, name: str | None = None, plot: str | None = None,
           classes: list[str] | None = None, baseline: Any = None, gain: Any = None,
           hint: str | None = None) -> Any:
    """Predictions of a hidden metric test, judged against ``answers`` by whoever holds them.

    ``values``: one prediction per item of the first ``n`` of ``answers`` (scores for
    ``metric="auc"``, binary masks ``(n, 1, *spatial)`` for ``metric="dice"``, class labels
    otherwise); ``positive`` makes the labels binary (1 where the label equals it). ``at_least``
    and ``n`` may be dicts of values per profile. ``plot`` (``"roc"``, ``"confusion"`` with
    ``classes`` names, or ``"masks"``: the Dice of each case) adds a plot to the feedback page,
    drawn from aggregates that hold no item's label (:mod:`medgrade.checks.heldout`).
    ``baseline`` with ``gain`` asks the metric to beat a baseline's by ``gain`` too: the name of
    one the grader trains (:data:`medgrade.data.baselines.BASELINES`), or predictions on the same
    items where it needs the student's code (evidence, like ``values``). ``hint`` is what a
    student reads when a threshold is missed. Every other argument must be a literal: the grader
    reads them from the source.

    Inside medgrade's sandbox this only records the predictions (the grader judges them after
    the cell); elsewhere it judges here and returns the :class:`Judgement`.
    """
    from medgrade.profiles import active_profile

    profile = active_profile().name
    label = name or key
    count = int(for_profile(n, profile, f"n of {label}"))  # type: ignore[call-overload]
    bound = float(for_profile(at_least, profile, f"at_least of {label}"))  # type: ignore[arg-type]
    kind = kind_for(metric)
    if (baseline is None) != (gain is None):
        raise ValueError(f"judged({label}): baseline= and gain= go together")
    arr = _counted(values, count, answers, label)
    record = record_predictions(key, arr, kind=kind)
    base_record = None
    if baseline is not None and not isinstance(baseline, str):
        base_record = record_predictions(baseline_key(key), _counted(baseline, count, answers, f"{label} (baseline)"),
                                         kind=kind)
    if os.environ.get(envvars.JUDGE) == "grader":
        return record  # a named baseline is the grader's to train
    from medgrade.checks.measure import note
    from medgrade.data.answers import load_answer
    from medgrade.data.root import resolve_root

    answer = load_answer(resolve_root(), answers, count, positive)
    if isinstance(baseline, str):  # outside the grader (a reference run): train it the grader's way
        base_record = _trained(baseline, key, count, answers, label, kind, profile)
    y_true = answer.truth
    least = None if gain is None else float(for_profile(gain, profile, f"gain of {label}"))  # type: ignore[arg-type]
    outcome = evaluate(record, y_true, metric=metric, at_least=bound, name=label, ignore=answer.ignore, hint=hint,
                       baseline=base_record, gain=least)
    for figure, value, threshold in outcome.measured:
        note("judged", figure, value, threshold)
    if plot is not None:
        from medgrade.checks.heldout import publish_plot

        publish_plot(plot, y_true, scored(arr, answer.ignore), classes)
    if outcome.failure is not None:
        raise outcome.failure
    return outcome.judgement


@dataclass
class Outcome:
    """Every figure a ``judged`` call measured (name, value, threshold) and its first failure."""

    judgement: Judgement | None = None
    measured: list[tuple[str, float, float]] = field(default_factory=list)
    failure: CheckFailure | None = None


def evaluate(record: Any, y_true: Any, *, metric: str, at_least: float, name: str, ignore: Any = None,
             hint: str | None = None, baseline: Any = None, gain: float | None = None) -> Outcome:
    """Judge a record (and its gain over ``baseline``) as the kernel's ``judged`` and the grader both do.

    Each figure is measured even when another fails, so a calibration sees all of them.
    """
    outcome = Outcome()
    steps: list[tuple[str, float, Any]] = [(name, at_least, lambda: judge_predictions(
        record, y_true, metric=metric, at_least=at_least, name=name, ignore=ignore, hint=hint))]
    if baseline is not None and gain is not None:
        steps.append((gain_name(name), gain, lambda: judge_gain(
            record, baseline, y_true, metric=metric, gain=gain, name=name, ignore=ignore, hint=hint)))
    for figure, threshold, judge in steps:
        try:
            judgement = judge()
        except CheckFailure as e:
            outcome.failure = outcome.failure or e
            if e.value is None:
                break  # an invalid record: nothing further to measure
            outcome.measured.append((figure, e.value, threshold))
            continue
        outcome.judgement = outcome.judgement or judgement
        outcome.measured.append((figure, judgement.value, threshold))
    return outcome


def baseline_key(key: str) -> str:
    """The record key a ``judged`` call's baseline predictions are stored under."""
    return f"{key}.baseline"


def _trained(name: str, key: str, count: int, answers: str, label: str, kind: str, profile: str) -> dict[str, Any]:
    """The record of baseline ``name``, trained (or cached) as the grader does, at the grading seed."""
    from medgrade.data.baselines import baseline_predictions
    from medgrade.data.root import resolve_root
    from medgrade.profiles import grading_seed

    trained = baseline_predictions(name, resolve_root(), profile, grading_seed())
    return make_record(baseline_key(key), _counted(trained, count, answers, f"{label} (baseline)"), kind)


def _counted(values: Any, count: int, answers: str, label: str) -> np.ndarray:
    arr = to_numpy(values)
    if arr.ndim == 0 or arr.shape[0] != count:
        raise _bad("judged", label, f"{count} predictions (the first {count} items of {answers})",
                   describe(values), "predict on every image the test passes, in order.")
    return arr

