"""The measurement log: what every threshold check measured, for ``medgrade calibrate``.

Each check that compares a measured figure with a threshold (a metric, a Dice, a loss drop)
notes the figure here before it passes or raises. After each test cell the grader reads and
clears the log (:func:`drain_json`) and keeps it in the autograded notebook's cell metadata
(``metadata.medgrade.measured``). Calibration reads those records to show, across seeds, how
far the reference and each mutant land from each threshold.

The log lives in the student's kernel, so a submission could write to it: it is evidence for
the instructor's calibration of trusted notebooks (reference and mutants), never for a grade.
"""

from __future__ import annotations

import json
import math

__all__ = ["note", "comparison", "drain", "drain_json"]

_LOG: list[dict[str, object]] = []
_MAX = 1000  # a loop of checks cannot grow the log without bound


def note(check: str, name: str, value: float, threshold: float, *, higher_is_better: bool = True) -> None:
    """Log one comparison of ``value`` with ``threshold``."""
    if len(_LOG) >= _MAX:
        return
    _LOG.append(comparison(check, name, value, threshold, higher_is_better=higher_is_better))


def comparison(check: str, name: str, value: float, threshold: float, *,
               higher_is_better: bool = True) -> dict[str, object]:
    """One logged comparison, as calibration reads it (the grader's own judgements use it too)."""
    value, threshold = float(value), float(threshold)
    passed = value >= threshold if higher_is_better else value <= threshold
    return {"check": check, "name": name, "value": value if math.isfinite(value) else None,
            "threshold": threshold, "direction": ">=" if higher_is_better else "<=",
            "passed": bool(passed and math.isfinite(value))}


def drain() -> list[dict[str, object]]:
    """The comparisons logged since the last drain; the log is then empty."""
    out = list(_LOG)
    _LOG.clear()
    return out


def drain_json() -> str:
    return json.dumps(drain())
