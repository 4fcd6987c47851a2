"""The result model that flows grader -> gradebook -> exports, as JSON.

Frozen dataclasses with a schema version. A :class:`TestResult` is one graded test (an nbgrader
grade cell); an :class:`AnswerResult` is one answer a person grades (a graded solution cell,
written or code), which the engine never scores; a :class:`SubmissionResult` is one student's
notebook for one assignment.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, Literal

__all__ = ["SCHEMA_VERSION", "Measurement", "measurements", "TestResult", "AnswerResult", "SubmissionResult", "Outcome",
           "TestStatus", "AnswerStatus", "Stop", "PLOT_MIME"]

SCHEMA_VERSION = 1
# A result written before flags were recorded: its flags are the findings worded as these were.
_FLAGGED_BEFORE = re.compile(r"\bcell \S+ was (edited|deleted)\b|(^|: )integrity: ")

# The MIME type of the plot evidence a cell displays (medgrade.publish.publish), which
# the autograded notebook carries to the feedback page.
PLOT_MIME = "application/vnd.medgrade.plot+json"

# graded: the notebook ran and every test has a verdict; error: the submission could not be
# graded at all (invalid notebook, missing file) and scores zero with the reason in `message`.
Outcome = Literal["graded", "error"]
TestStatus = Literal["passed", "failed", "not_run"]
# unanswered: left as released (nbgrader's determine_grade gives it 0); awaiting: a TA grades it
AnswerStatus = Literal["unanswered", "awaiting"]


class Stop(str, Enum):
    """Why the grader stopped a test's cell, or never reached it: set by the grader, never read from a message."""

    MEMORY = "memory"  # the watchdog killed the kernel over its memory cap
    SPACE = "space"  # its folder, /tmp or /dev/shm filled up
    PROCESSES = "processes"  # it reached its cap of processes and threads
    BUDGET = "budget"  # the notebook ran past its time budget
    CELL_LIMIT = "cell_limit"  # the cell ran past the per-cell limit and was interrupted
    DIED = "died"  # the kernel died for another reason
    NO_START = "no_start"  # the kernel could not start
    LOST = "lost"  # the grading worker was lost (an infrastructure failure)


@dataclass(frozen=True)
class Measurement:
    """One threshold comparison a test made (a metric, a Dice, a loss drop), kept for calibration.

    Logged by a check in the kernel (:mod:`medgrade.checks.measure`) or made by the grader's
    judge. Evidence for ``medgrade calibrate`` and ``validate``, which grade trusted notebooks;
    never a verdict (a kernel can log anything). ``value`` is None when it was not finite.
    """

    check: str
    name: str
    value: float | None
    threshold: float
    direction: str  # ">=" or "<="
    passed: bool

    @classmethod
    def parse(cls, record: Any) -> Measurement | None:
        """From a logged record (a dict); None for anything malformed."""
        if not isinstance(record, dict):
            return None
        value, threshold = record.get("value"), record.get("threshold")
        texts = [record.get(k) for k in ("check", "name", "direction")]
        if not all(isinstance(t, str) for t in texts) or texts[2] not in (">=", "<=") or \
                not isinstance(threshold, int | float) or isinstance(threshold, bool) or \
                not (value is None or isinstance(value, int | float) and not isinstance(value, bool)) or \
                not isinstance(record.get("passed"), bool):
            return None
        return cls(str(texts[0]), str(texts[1]), None if value is None else float(value), float(threshold),
                   str(texts[2]), bool(record["passed"]))


def measurements(records: Any) -> tuple[Measurement, ...]:
    """The well-formed :class:`Measurement` of ``records`` (a list), in order."""
    return tuple(m for r in (records if isinstance(records, list) else []) if (m := Measurement.parse(r)))


@dataclass(frozen=True)
class TestResult:
    """One graded test: its points, the message a student reads, and what the grader observed.

    ``stop`` is set when the grader stopped the cell or never reached it; ``error`` names the
    exception the failed cell raised (``CheckFailure``, ``AssertionError``, ``NameError``...).
    Reports read these, never the message.
    """

    __test__ = False  # not a pytest test class

    grade_id: str
    points: float
    max_points: float
    status: TestStatus
    message: str = ""
    stop: Stop | None = None
    error: str = ""
    measured: tuple[Measurement, ...] = ()  # its threshold comparisons: what calibration reads

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["stop"] = self.stop.value if self.stop else None
        d["measured"] = [asdict(m) for m in self.measured]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TestResult:
        """From JSON; a result written before ``stop``, ``error`` or ``measured`` existed has none."""
        return cls(d["grade_id"], float(d["points"]), float(d["max_points"]), d["status"], d.get("message", ""),
                   Stop(d["stop"]) if d.get("stop") else None, str(d.get("error") or ""),
                   measurements(d.get("measured")))


@dataclass(frozen=True)
class AnswerResult:
    """An answer a person grades: the engine only says whether there is one to grade.

    Its score is the TA's, kept in nbgrader's gradebook (formgrader or ``medgrade rubric record``).
    """

    grade_id: str
    max_points: float
    status: AnswerStatus

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AnswerResult:
        return cls(str(d["grade_id"]), float(d["max_points"]), d["status"])


@dataclass(frozen=True)
class SubmissionResult:
    """The verdict on one submission; ``tests`` is ordered as in the notebook."""

    student: str
    assignment: str
    outcome: Outcome
    tests: tuple[TestResult, ...] = ()
    message: str = ""
    seconds: float = 0.0
    # What the grader noticed but did not score (edited test cells, missing protections).
    findings: tuple[str, ...] = ()
    # Hash of the submission, the assignment and the profile: unchanged means no regrade.
    fingerprint: str = ""
    # The answers a person grades, in notebook order: never scored here (see AnswerResult).
    answers: tuple[AnswerResult, ...] = ()
    # The findings that say what the notebook did (a cell edited, deleted or claimed, tampering,
    # patching), set where each was found: what a TA reviews for integrity. The other findings
    # are the conditions of grading (no sandbox, probes off), not the student's doing.
    flags: tuple[str, ...] = ()
    schema_version: int = field(default=SCHEMA_VERSION)

    @property
    def score(self) -> float:
        """The automatic points: the tests' (manual points are the TA's, in the gradebook)."""
        return sum(t.points for t in self.tests)

    @property
    def max_score(self) -> float:
        """The tests' maximum; :attr:`manual_max` is the rest of the assignment's points."""
        return sum(t.max_points for t in self.tests)

    @property
    def manual_max(self) -> float:
        return sum(a.max_points for a in self.answers)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["tests"] = [t.to_dict() for t in self.tests]
        d["answers"] = [a.to_dict() for a in self.answers]
        d["score"] = self.score
        d["max_score"] = self.max_score
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SubmissionResult:
        if d.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(
                f"result schema version {d.get('schema_version')!r} is not {SCHEMA_VERSION}"
            )
        tests = tuple(TestResult.from_dict(t) for t in d["tests"])
        return cls(
            student=d["student"],
            assignment=d["assignment"],
            outcome=d["outcome"],
            tests=tests,
            message=d.get("message", ""),
            seconds=float(d.get("seconds", 0.0)),
            findings=tuple(d.get("findings", ())),
            fingerprint=d.get("fingerprint", ""),
            answers=tuple(AnswerResult.from_dict(a) for a in d.get("answers", ())),
            flags=tuple(d["flags"]) if "flags" in d else tuple(
                f for f in d.get("findings", ()) if _FLAGGED_BEFORE.search(f)),
        )
