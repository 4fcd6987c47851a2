from __future__ import annotations

import json

import pytest

from medgrade.results import SCHEMA_VERSION, Measurement, Stop, SubmissionResult, TestResult, measurements


def _result() -> SubmissionResult:
    tests = (
        TestResult("test_a", 2.0, 2.0, "passed",
                   measured=(Measurement("check_accuracy", "test accuracy", 0.91, 0.7, ">=", True),
                             Measurement("judged", "auc", None, 0.8, ">=", False))),
        TestResult("test_b", 0.0, 3.0, "failed", "CheckFailure: expected (8, 6); observed (8, 1, 6)",
                   error="CheckFailure"),
        TestResult("test_c", 0.0, 1.0, "not_run", "not reached: the kernel ran out of memory", Stop.MEMORY),
    )
    return SubmissionResult("ada", "01_pytorch_basics", "graded", tests, seconds=1.5)


def test_scores_sum_the_tests() -> None:
    r = _result()
    assert (r.score, r.max_score) == (2.0, 6.0)


def test_json_round_trip_keeps_everything() -> None:
    r = _result()
    d = json.loads(r.to_json())
    assert d["schema_version"] == SCHEMA_VERSION and d["score"] == 2.0
    assert [(t["stop"], t["error"]) for t in d["tests"]] == [(None, ""), (None, "CheckFailure"), ("memory", "")]
    assert SubmissionResult.from_dict(d) == r


def test_a_result_written_before_stops_were_recorded_still_loads() -> None:
    d = _result().to_dict()
    for t in d["tests"]:
        del t["stop"], t["error"]
    old = SubmissionResult.from_dict(d)
    assert [(t.stop, t.error) for t in old.tests] == [(None, "")] * 3 and old.score == 2.0


def test_unknown_schema_version_is_refused() -> None:
    d = _result().to_dict()
    d["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(ValueError, match="schema version"):
        SubmissionResult.from_dict(d)


def test_measurements_travel_typed_and_a_malformed_record_is_dropped() -> None:
    """Calibration reads these from the result: a kernel-logged record that is not one is never a figure."""
    good = {"check": "check_dice", "name": "dice ET", "value": 0.41, "threshold": 0.2, "direction": ">=",
            "passed": True}
    bad = [{**good, "value": "0.9"}, {**good, "threshold": True}, {**good, "direction": "=="},
           {k: v for k, v in good.items() if k != "passed"}, "dice 0.9", None, {**good, "name": 3}]
    assert measurements([good, *bad, {**good, "value": None}]) == (
        Measurement("check_dice", "dice ET", 0.41, 0.2, ">=", True),
        Measurement("check_dice", "dice ET", None, 0.2, ">=", True))
    assert measurements("not a list") == ()
    d = json.loads(_result().to_json())
    assert d["tests"][0]["measured"][0] == {"check": "check_accuracy", "name": "test accuracy", "value": 0.91,
                                            "threshold": 0.7, "direction": ">=", "passed": True}
    del d["tests"][0]["measured"]  # a result written before measurements were kept
    assert SubmissionResult.from_dict(d).tests[0].measured == ()
