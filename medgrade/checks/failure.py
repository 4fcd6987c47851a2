"""``CheckFailure``: the verdict a failing check raises, readable by a student and a grader.

A failure has three parts a student reads (what was *expected*, what was *observed*, a *hint*
naming the usual cause) and, for threshold checks, three numbers a grader records (*value*,
*threshold*, *margin* = value - threshold, negative when the check failed).

It subclasses ``AssertionError`` on purpose: a test cell that raises it fails like any other
assertion in nbgrader and pytest, and it is a verdict about student work, not a tool error (so it
is not part of :mod:`medgrade.errors`).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["CheckFailure"]


def _json_number(x: float | None) -> float | None:
    """A float JSON can hold: NaN and infinities become ``None``."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


class CheckFailure(AssertionError):
    """A check did not hold.

    ``str(failure)`` reads ``"check_shape(logits): expected shape (8, 6); observed (8, 1, 6).
    Hint: ..."``; :meth:`to_dict` gives the same content as JSON-safe fields for the grader.
    """

    def __init__(
        self,
        check: str,
        *,
        expected: str,
        observed: str,
        hint: str = "",
        name: str | None = None,
        value: float | None = None,
        threshold: float | None = None,
        margin: float | None = None,
    ) -> None:
        self.check = check
        self.name = name
        self.expected = expected
        self.observed = observed
        self.hint = hint
        self.value = None if value is None else float(value)
        self.threshold = None if threshold is None else float(threshold)
        if margin is None and self.value is not None and self.threshold is not None:
            margin = self.value - self.threshold
        self.margin = None if margin is None else float(margin)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The one-paragraph text a student reads."""
        where = f"{self.check}({self.name})" if self.name else self.check
        text = f"{where}: expected {self.expected}; observed {self.observed}."
        if self.hint:
            text += f" Hint: {self.hint}"
        return text

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"CheckFailure({self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only __init__ arguments do not survive the default exception pickling,
        # which multiprocessing and some test runners use.
        return (_rebuild, (self.to_dict(),))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields (strings and finite floats or ``None``) plus the full message."""
        return {
            "check": self.check,
            "name": self.name,
            "expected": self.expected,
            "observed": self.observed,
            "hint": self.hint,
            "value": _json_number(self.value),
            "threshold": _json_number(self.threshold),
            "margin": _json_number(self.margin),
            "message": self.message,
        }


def _rebuild(fields: dict[str, Any]) -> CheckFailure:
    keys = ("name", "expected", "observed", "hint", "value", "threshold", "margin")
    return CheckFailure(fields["check"], **{k: fields[k] for k in keys})
