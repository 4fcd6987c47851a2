"""Which test source a feedback page may show: a per-test policy, hidden parts redacted by default.

The policy lives in ``source/<assignment>/feedback.yaml`` (not released)::

    due: 2026-12-01T23:59:00+00:00      # when after_due tests become visible
    tests:
      test_mlp: visible                 # the whole cell, hidden tests included
      test_trained_accuracy: after_due  # as `hidden` until the due date, then visible

A test not listed is ``hidden``: the page shows the cell as released (the public part the
student already has) and never the hidden region. Redaction does not edit the source text: a
hidden test's source is taken from the *release* notebook, which never held the hidden part.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

from medgrade.course import Course
from medgrade.errors import UsageError
from medgrade.intake.scrub import Hidden, hidden_of

__all__ = ["POLICIES", "Visibility", "load_visibility", "shown_sources", "hidden_sources"]

POLICIES = ("visible", "hidden", "after_due")


@dataclass(frozen=True)
class Visibility:
    tests: dict[str, str] = field(default_factory=dict)
    due: dt.datetime | None = None

    def shows_hidden(self, grade_id: str, now: dt.datetime) -> bool:
        """True when the page may show the hidden part of ``grade_id``'s cell."""
        policy = self.tests.get(grade_id, "hidden")
        return policy == "visible" or (policy == "after_due" and self.due is not None and now >= self.due)


def _due(value: object, where: Path) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, dt.date):
        when = dt.datetime.combine(value, dt.time(23, 59, 59))
    else:
        try:
            when = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise UsageError(f"{where}: due {value!r} is not a date (use 2026-12-01T23:59:00+00:00)") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def load_visibility(course: Course, assignment: str) -> Visibility:
    """The policy of ``assignment``; every test hidden when there is no ``feedback.yaml``."""
    path = course.source / assignment / "feedback.yaml"
    if not path.is_file():
        return Visibility()
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    tests = raw.get("tests") or {}
    if not isinstance(raw, dict) or not isinstance(tests, dict):
        raise UsageError(f"{path}: expected a mapping with `due` and `tests: {{test_id: policy}}`")
    bad = {k: v for k, v in tests.items() if v not in POLICIES}
    if bad:
        raise UsageError(f"{path}: unknown policy for {', '.join(map(str, bad))}; use one of {', '.join(POLICIES)}")
    if "after_due" in tests.values() and raw.get("due") is None:
        raise UsageError(f"{path}: after_due tests need a `due` date")
    return Visibility({str(k): str(v) for k, v in tests.items()}, _due(raw.get("due"), path))


def _test_cells(path: Path) -> dict[str, str]:
    nb = nbformat.read(path, as_version=4)
    return {str(meta["grade_id"]): c.source for c in nb.cells
            if (meta := c.get("metadata", {}).get("nbgrader", {})).get("grade") and "grade_id" in meta}


def shown_sources(course: Course, assignment: str, policy: Visibility, now: dt.datetime) -> dict[str, str]:
    """Each test's source as the feedback page may show it, by grade id."""
    shown: dict[str, str] = {}
    for src in course.source_notebooks(assignment):
        full = _test_cells(src)
        release = course.release / assignment / src.name
        public = _test_cells(release) if release.is_file() else {}
        for gid in full:
            shown[gid] = full[gid] if policy.shows_hidden(gid, now) else public.get(gid, "")
    return shown




def hidden_sources(course: Course, assignment: str) -> dict[str, Hidden]:
    """Each test's hidden source, by grade id: what no text a page shows may contain."""
    return {gid: hidden_of(text) for src in course.source_notebooks(assignment)
            for gid, text in _test_cells(src).items()}
