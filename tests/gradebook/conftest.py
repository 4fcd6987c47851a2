"""A small class graded once for the feedback tests: every failure cause the report knows."""

from __future__ import annotations

import datetime as dt

import pytest

from medgrade.coordinator.engine import grade_class
from medgrade.course import Course
from medgrade.reports.feedback import FeedbackOutput, write_feedback
from tests.feedback_course import make_feedback_course
from tests.gradebook.browser import find_chromium
from tests.tiny_course import ASSIGNMENT, TINY_PROFILE, submit

POLICY = """\
due: 2030-01-31T23:59:00+00:00
tests:
  test_triple: visible
  test_classify: after_due
"""
BEFORE_DUE = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
STUDENTS = ["right", "wrong", "loops", "tamper", "broken"]


@pytest.fixture(scope="session")
def feedback_class(tmp_path_factory) -> tuple[Course, FeedbackOutput]:
    root = make_feedback_course(tmp_path_factory.mktemp("feedback") / "course", POLICY)
    submit(root, "right")
    submit(root, "wrong", {"double": "def double(x):\n    return abs(2 * x)",
                           "triple": "def triple(x):\n    return y",  # NameError: a crash
                           "segment": "def segment(image):\n    return [[1 - round(v) for v in r] for r in image]"})
    submit(root, "loops", {"double": "def double(x):\n    while True:\n        pass"})
    submit(root, "tamper", {"test_double": "pass  # my own test"})
    (root / "submitted" / "broken" / ASSIGNMENT).mkdir(parents=True)
    (root / "submitted" / "broken" / ASSIGNMENT / "tiny.ipynb").write_text("{not json")
    course = Course(root)
    grade_class(course, ASSIGNMENT, STUDENTS, profile=TINY_PROFILE, data_root=None, workers=2)
    return course, write_feedback(course, ASSIGNMENT, now=BEFORE_DUE)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, for the tests that open pages in a browser; skipped where it cannot be had."""
    found = find_chromium()
    if found is None:
        pytest.skip("Debian's chromium is not installed and `apt-get install -y chromium` failed here "
                    "(`make test` installs it first)")
    return found
