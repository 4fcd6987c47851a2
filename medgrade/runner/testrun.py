"""The grader's side of one test cell, and of each probe: reseed, run, observe, query, judge.

A test and a probe go through the same steps, so the kernel cannot tell them apart by what
surrounds them: the grader reseeds, forgets the test's evidence records, sends the cell with a
first line of the probes' family, then asks the kernel for its measurement log and its account
of the last check failure. For a test the grader then decides (:func:`verdict_of`), keeps the
measurements and judges its records outside the kernel; for a probe it compares the answer with
the one it knew (:func:`misreport`).
"""

from __future__ import annotations

import ast
import json
import random
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_output

from medgrade.intake.prepare import TestCell
from medgrade.intake.scrub import scrub
from medgrade.judge.grader import forget_records, judge_cell
from medgrade.profiles import Profile
from medgrade.results import Measurement, Stop, measurements
from medgrade.runner.kernel import Client
from medgrade.runner.probes import Probe, first_line, misreport, prefixed
from medgrade.runner.seeding import seed_code
from medgrade.runner.verdicts import Observation, anomalies, verdict_of

__all__ = ["TestOutcome", "Execution", "TestRun", "MEASURE_EXPRESSION", "FAILURE_EXPRESSION", "LIED"]

LIED = "integrity: tampering: the kernel lied about"

# Evaluated in the kernel after a test cell: medgrade.checks.measure's log, drained, if the
# notebook loaded it. Never imported here: medgrade.checks loads torch (about 700 MB), which
# would blow a small memory cap and cost seconds in notebooks that do not use it.
MEASURE_EXPRESSION = ("(lambda m: m.drain_json() if m else '[]')"
                      "(__import__('sys').modules.get('medgrade.checks.measure'))")
# The kernel's account of the check that just failed (a CheckFailure's fields), '' for anything else.
FAILURE_EXPRESSION = ("(lambda e: __import__('json').dumps(e.to_dict()) if type(e).__name__ == 'CheckFailure' "
                      "and callable(getattr(e, 'to_dict', None)) else '')"
                      "(getattr(__import__('sys'), 'last_value', None))")


@dataclass(frozen=True)
class TestOutcome:
    __test__ = False  # not a pytest test class

    grade_id: str
    status: str  # "passed" | "failed" | "not_run"
    message: str = ""
    stop: Stop | None = None  # the grader stopped the cell, or never reached it
    error: str = ""  # the exception the failed cell raised, as the grader saw it
    measured: tuple[Measurement, ...] = ()  # the cell's threshold comparisons, for calibration


@dataclass
class Execution:
    notebook: NotebookNode
    outcomes: dict[str, TestOutcome] = field(default_factory=dict)
    stopped: str | None = None  # why the run stopped early, for the student
    stop: Stop | None = None  # the same, for reports
    seconds: float = 0.0
    peak_memory_mb: float = 0.0
    findings: list[str] = field(default_factory=list)  # "integrity: ..." lines: what the kernel was seen to do
    notes: list[str] = field(default_factory=list)  # the conditions it ran under (probes off)


def _expression(reply: dict[str, Any] | None, name: str, cap: int) -> Any:
    """The JSON value of user expression ``name`` in ``reply``; None when absent or malformed."""
    try:
        found = reply["content"]["user_expressions"][name]  # type: ignore[index]
        if found.get("status") != "ok":
            return None
        text = ast.literal_eval(found["data"]["text/plain"][:cap])
        return json.loads(text) if isinstance(text, str) and text else None
    except Exception:  # a dead or busy kernel, or a log the student broke: nothing to keep
        return None


def _listed(where: list[str]) -> str:
    unique = sorted(set(where))  # sorted: the probes' places are random, the finding must not be
    return ", ".join(unique[:6]) + (f" and {len(unique) - 6} more" if len(unique) > 6 else "")


class TestRun:
    """Runs tests and probes in one kernel, recording outcomes and findings in ``run``."""

    __test__ = False  # not a pytest test class

    def __init__(self, client: Client, run: Execution, profile: Profile, seed: int, evidence: Path,
                 data_root: Path | None, rng: random.Random) -> None:
        self.client, self.run, self.profile, self.seed_value = client, run, profile, seed
        self.evidence, self.data_root, self.rng = evidence, data_root, rng
        self.anomalies: dict[str, list[str]] = {}  # what no honest kernel sends -> where it was seen
        self.lies: list[str] = []  # why each probe's answer was false

    def seed(self) -> None:
        self.client.quiet(seed_code(self.seed_value, deterministic=self.profile.deterministic))

    def _before(self, test: TestCell) -> None:
        self.seed()
        if test.judges:  # a record left from an earlier cell must not stand in for this one's
            forget_records(self.evidence, [k for spec in test.judges for k in spec.keys])

    def _after(self) -> tuple[Any, Any]:
        """The kernel's measurement log (drained) and its account of the last check failure."""
        reply = self.client.quiet("", {"m": MEASURE_EXPRESSION, "f": FAILURE_EXPRESSION})
        return _expression(reply, "m", 1_000_000), _expression(reply, "f", 100_000)

    def _note(self, obs: Observation, what: str) -> None:
        for anomaly in anomalies(obs):
            self.anomalies.setdefault(anomaly, []).append(what)

    def findings(self) -> list[str]:
        """What the kernel was seen to do, one line per kind, naming where (for the TA)."""
        found = [f"integrity: tampering: {anomaly} ({_listed(where)})" for anomaly, where in self.anomalies.items()]
        if self.lies:
            lies = "; ".join(sorted(self.lies))
            found.append(f"{LIED} {len(self.lies)} cell(s) whose outcome the grader knew ({lies}): "
                         "none of its verdicts was trusted and every test scored 0")
        return found

    def test(self, test: TestCell, cell: NotebookNode, index: int) -> None:
        """Run ``test``'s cell in place; the grader's verdict goes to ``run.outcomes``."""
        self._before(test)
        obs = self.client.observe_cell(cell, index, prefixed(cell.source, first_line(self.rng, fails=False)))
        records, structured = self._after()
        kept = measurements(records)
        if kept:  # also in the autograded notebook: the class similarity report reads it there
            cell.metadata.setdefault("medgrade", {})["measured"] = [asdict(m) for m in kept]
        self._note(obs, f"test {test.grade_id}")
        status, message = verdict_of(obs, cell_timeout=self.profile.cell_timeout, hidden=test.hidden,
                                     structured=structured)
        stop = Stop.CELL_LIMIT if obs.interrupted else None
        error = obs.raised if status == "failed" and stop is None else ""
        self.run.outcomes[test.grade_id] = TestOutcome(test.grade_id, status, message, stop, error, kept)
        if status == "passed" and test.judges:
            self._judge_outside(test, cell)

    def probe(self, probe: Probe, test: TestCell) -> None:
        """Run ``probe`` beside ``test`` exactly as a test is run; a false answer becomes a finding."""
        self._before(test)
        obs = self.client.observe_code(probe.source)
        self._after()
        self._note(obs, probe.what)
        lie = misreport(probe, obs)
        if lie:
            self.lies.append(lie)

    def _judge_outside(self, test: TestCell, cell: NotebookNode) -> None:
        """The grader's judgement of a judged test that ran without error (see medgrade.judge.grader)."""
        verdict = judge_cell(test.judges, self.evidence, self.data_root, self.profile.name, self.seed_value)
        judged = measurements(verdict.measured)
        if judged:
            cell.metadata.setdefault("medgrade", {}).setdefault("measured", []).extend(asdict(m) for m in judged)
            before = self.run.outcomes[test.grade_id]
            self.run.outcomes[test.grade_id] = replace(before, measured=before.measured + judged)
        cell.outputs.extend(nbformat.from_dict(o) for o in verdict.outputs)
        if verdict.message:
            message = scrub(verdict.message, test.hidden)
            ename, _, evalue = message.partition(": ")
            cell.outputs.append(new_output("error", ename=ename, evalue=evalue, traceback=[message]))
            self.run.outcomes[test.grade_id] = TestOutcome(test.grade_id, "failed", message, error=ename,
                                                           measured=self.run.outcomes[test.grade_id].measured)
