"""Probes and verdicts as pure functions: the lines they rely on, the plan, what counts as a lie."""

from __future__ import annotations

import random

import pytest

from medgrade.intake.scrub import NO_HIDDEN, hidden_of
from medgrade.runner.probes import _BUILTINS, _FORMS, first_line, misreport, plan_probes
from medgrade.runner.verdicts import Observation, anomalies, verdict_of

TESTS = [("test_a", "assert f(1) == 2"), ("test_b", "assert g(1) == 3\n### BEGIN HIDDEN TESTS\nassert g(2) == 6\n"
                                                   "### END HIDDEN TESTS")]


@pytest.mark.parametrize(("clean", "raises"), _FORMS)
def test_first_lines_run_clean_or_raise_even_where_the_builtin_is_rebound(clean: str, raises: str) -> None:
    for name in _BUILTINS:
        for prelude in ("", f"{name} = 0\n"):
            exec(prelude + clean.format(b=name), {})
            with pytest.raises(AssertionError):
                exec(prelude + raises.format(b=name), {})


def test_every_test_gets_a_must_fail_copy_of_itself_and_the_notebook_one_must_pass_cell() -> None:
    sides = set()
    for seed in range(20):
        plan = plan_probes(TESTS, random.Random(seed))
        probes = plan.probes()
        assert sorted(p.beside for p in probes if not p.must_pass) == ["test_a", "test_b"]
        assert len([p for p in probes if p.must_pass]) == 1
        for p in probes:
            line, _, rest = p.source.partition("\n")
            if not p.must_pass:
                assert rest == dict(TESTS)[p.beside] and line in {f[1].format(b=b) for f in _FORMS for b in _BUILTINS}
        sides |= {("before", g) for g in plan.before} | {("after", g) for g in plan.after}
    assert sides == {(s, g) for s in ("before", "after") for g in ("test_a", "test_b")}  # both sides, at random
    assert first_line(random.Random(1), fails=False) != first_line(random.Random(1), fails=True)


def test_a_lie_is_an_ok_to_a_must_fail_probe_or_an_error_to_a_must_pass_one() -> None:
    fail, ok = (p for p in sorted(plan_probes(TESTS[:1], random.Random(0)).probes(), key=lambda p: p.must_pass))
    clean = Observation("ok", began=True)
    raised = Observation("error", "AssertionError", "", True, ("AssertionError", ""))
    assert misreport(fail, raised) is None and misreport(ok, clean) is None
    assert misreport(fail, clean) == "a copy of test_a whose first line must fail, reported passed"
    assert misreport(fail, Observation("ok")) is not None  # an ok never seen to run is a lie too
    assert misreport(ok, raised) == "a cell that must run clean (beside test_a), reported failed (AssertionError)"
    assert misreport(ok, Observation("error", "CellTimeout")) is None  # stopped by the grader: no claim made


def test_the_verdict_needs_the_reply_the_start_and_no_error() -> None:
    hidden = hidden_of("x\n### BEGIN HIDDEN TESTS\nassert double(-3) == -6\n### END HIDDEN TESTS")
    kw = {"cell_timeout": 4, "hidden": hidden}
    assert verdict_of(Observation("ok", began=True), **kw) == ("passed", "")
    assert verdict_of(Observation("ok", began=False), **kw) == (
        "failed", "the grader did not see this test run: the kernel answered without running it")
    assert verdict_of(Observation(""), **kw)[0] == "failed"
    hidden_display = Observation("error", "ValueError", "leaked: assert double(-3) == -6", True, None)
    assert verdict_of(hidden_display, **kw) == ("failed", "ValueError: leaked: [hidden test text]")
    assert anomalies(hidden_display) == [
        "the kernel reported an exception without sending its traceback (error display patched)"]
    after_error = Observation("ok", began=True, error_output=("NameError", "x"))
    assert verdict_of(after_error, **kw) == ("failed", "NameError: x")
    assert anomalies(after_error) == ["the kernel answered ok after sending an error"]
    assert verdict_of(Observation("error", "CellTimeout"), **kw) == (
        "failed", "the test ran past the 4 s per-cell limit and was interrupted")
    assert anomalies(Observation("error", "CellTimeout")) == []


def test_a_check_failure_is_rebuilt_from_its_fields_only_when_they_match_the_error() -> None:
    fields = {"check": "check_shape", "name": "t", "expected": "shape (1, 2)", "observed": "(2, 1)", "hint": "h",
              "message": "check_shape(t): expected shape (1, 2); observed (2, 1). Hint: h"}
    obs = Observation("error", "CheckFailure", fields["message"], True, ("CheckFailure", fields["message"]))
    assert verdict_of(obs, cell_timeout=4, hidden=NO_HIDDEN, structured=fields) == (
        "failed", "CheckFailure: check_shape(t): expected shape (1, 2); observed (2, 1). Hint: h")
    stale = {**fields, "observed": "something else", "message": "an earlier failure"}
    stale_message = verdict_of(obs, cell_timeout=4, hidden=NO_HIDDEN, structured=stale)[1]
    assert stale_message == f"CheckFailure: {fields['message']}"  # the error's own text, not the stale fields
    odd = Observation("error", "<bad name>\nx", "v", True, ("x", "v"))
    assert verdict_of(odd, cell_timeout=4, hidden=NO_HIDDEN)[1] == "Error: v"


def test_the_first_line_goes_after_what_must_stay_first() -> None:
    from medgrade.runner.probes import prefixed

    assert prefixed("x = 1\ny = 2", "L") == "L\nx = 1\ny = 2"
    assert prefixed("%%capture\nx = 1", "L") == "%%capture\nL\nx = 1"
    assert prefixed("# why\nfrom __future__ import annotations\nx = 1", "L") == \
           "# why\nfrom __future__ import annotations\nL\nx = 1"
    compile(prefixed("from __future__ import annotations\nx: int = 1", "assert len is len"), "<cell>", "exec")
