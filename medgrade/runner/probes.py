"""Probes: cells whose outcome the grader knows, run among the tests to catch a kernel that lies.

A test runs in the student's own process, so the student's code can change how every later cell
runs: an input or AST transformer that swaps a cell for ``pass``, a patched ``do_execute`` or
``session.send`` that answers ``ok``, a tracer that jumps over lines. No message the grader
receives can then tell a pass from a forged one. What the grader can do is ask questions whose
answer it already knows, dressed as tests, and see whether the kernel answers them truthfully:

- every test cell gets a **must-fail probe**: the test's own full source (public and hidden
  parts), with a first line that certainly raises. It runs just before or just after the test
  (a coin the kernel cannot see). Its first line fails before any of the test runs, so it has no
  side effect and costs one round trip: an honest student's state, and grade, are untouched;
- one **must-pass probe** per notebook: a cell that certainly runs clean, so a kernel cannot pass
  the must-fail probes by failing everything the grader sends;
- real tests get a first line too, from the same family as the probes' (``assert len is len``
  beside ``assert len is not len``), so the text of a test and of its probe differ only there.

A probe is sent exactly as a test is: reseeded first, with the same flags, the same records
forgotten and the same query after it. A kernel that answers ``ok`` to a must-fail probe, or
fails a must-pass one, has its tests scored 0 (:func:`misreport` says why, for the TA).

What this catches: tampering that forges every cell (transformers, patched kernel methods,
tracers, hooks), and tampering aimed at what looks like a test: the released test text (anywhere
in the cell, or at its start), the hidden-test markers, ``checks`` calls, the grader's reseeding
before a test, the order of cells (a test's probe comes first half of the time, so forging only
the first or only the second cell with a test's text is caught half the time, per test).

What it does not catch (the limit, honestly): a tamperer written against this module, that runs
each cell for real and lies only about failures raised after the grader's first line, or that
evaluates that first line before deciding. It has to patch the kernel to do so, which the
integrity scan flags with the cell and line (:mod:`medgrade.intake.integrity`); and a verdict
computed outside the kernel (``checks.judged``) cannot be forged at all. A test with no hidden
part is known word for word to the student: only its first line differs from its probe.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from medgrade import envvars
from medgrade.runner.verdicts import Observation

__all__ = ["Probe", "ProbePlan", "plan_probes", "first_line", "prefixed", "misreport", "OFF_FINDING",
           "probes_off"]

# For measuring what probes cost (benchmarks/grading_throughput.py --probe-cost) and nothing else:
# set in the grader's environment (a kernel cannot reach it), and said in every result it touches.
OFF_FINDING = (f"integrity: probes were off ({envvars.PROBES}=0): a kernel that forged its verdicts would not have "
               "been caught; grade again without it")

# (runs clean, certainly raises): the same shape, so only evaluating the line tells them apart.
# Identity only, no call: a notebook that rebinds a builtin's name (``sum = 0``) changes nothing.
_FORMS = (("assert {b} is {b}", "assert {b} is not {b}"),
          ("assert not {b} is not {b}", "assert not {b} is {b}"),
          ("assert [{b}][0] is {b}", "assert [{b}][0] is not {b}"))
_BUILTINS = ("len", "abs", "print", "min", "max", "sorted", "range", "repr", "isinstance", "sum", "zip", "round")


@dataclass(frozen=True)
class Probe:
    """A cell of known outcome, run beside the test ``beside``."""

    must_pass: bool
    source: str
    beside: str  # the grade id of the test it is placed next to

    @property
    def what(self) -> str:
        return (f"a cell that must run clean (beside {self.beside})" if self.must_pass
                else f"a copy of {self.beside} whose first line must fail")


@dataclass
class ProbePlan:
    """Which probes run before and after each test (by grade id)."""

    before: dict[str, list[Probe]] = field(default_factory=dict)
    after: dict[str, list[Probe]] = field(default_factory=dict)

    def probes(self) -> list[Probe]:
        return [p for side in (self.before, self.after) for ps in side.values() for p in ps]


def probes_off() -> bool:
    return os.environ.get(envvars.PROBES, "1") == "0"


def first_line(rng: random.Random, *, fails: bool) -> str:
    """A line of the probes' family: one that runs clean, or one that certainly raises."""
    form = rng.choice(_FORMS)[1 if fails else 0]
    return form.format(b=rng.choice(_BUILTINS))


def prefixed(source: str, line: str) -> str:
    """``source`` with ``line`` first, but after what must stay first: a cell magic, ``__future__`` imports."""
    lines = source.split("\n")
    at = 1 if lines[0].startswith("%%") else 0
    futures = [i for i, text in enumerate(lines) if text.startswith("from __future__ import")]
    at = max(at, futures[-1] + 1 if futures else 0)
    return "\n".join([*lines[:at], line, *lines[at:]])


def plan_probes(tests: Sequence[tuple[str, str]], rng: random.Random) -> ProbePlan:
    """A plan for ``tests`` (grade id, full source, in notebook order): where each probe runs."""
    plan = ProbePlan()
    for gid, source in tests:
        side = plan.before if rng.random() < 0.5 else plan.after
        side.setdefault(gid, []).append(Probe(False, prefixed(source, first_line(rng, fails=True)), gid))
    if tests:
        gid = rng.choice([g for g, _ in tests])
        body = "\n".join(first_line(rng, fails=False) for _ in range(2))
        source = f"{first_line(rng, fails=False)}\n### BEGIN HIDDEN TESTS\n{body}\n### END HIDDEN TESTS"
        probe = Probe(True, source, gid)
        side = plan.before if rng.random() < 0.5 else plan.after
        side.setdefault(gid, []).insert(rng.randrange(len(side.get(gid, [])) + 1), probe)
    return plan


def misreport(probe: Probe, obs: Observation) -> str | None:
    """Why the kernel's answer to ``probe`` is false; None when it told the truth (or could not say)."""
    if probe.must_pass:
        if obs.clean or obs.interrupted or not obs.status:
            return None  # ran clean, or stopped by the grader's limit: nothing was claimed
        return f"{probe.what}, reported failed ({obs.ename or 'no exception named'})"
    if obs.status == "ok":
        return f"{probe.what}, reported passed"
    return None
