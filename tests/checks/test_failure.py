from __future__ import annotations

import json
import math
import pickle

import pytest

from medgrade.checks import CheckFailure


def test_message_reads_expected_observed_hint() -> None:
    f = CheckFailure("check_shape", name="logits", expected="shape (8, 6)",
                     observed="(8, 1, 6)", hint="squeeze it.")
    assert str(f) == ("check_shape(logits): expected shape (8, 6); observed (8, 1, 6). "
                      "Hint: squeeze it.")
    assert isinstance(f, AssertionError)
    with pytest.raises(AssertionError, match=r"observed \(8, 1, 6\)"):
        raise f


def test_margin_is_value_minus_threshold_and_to_dict_is_json_safe() -> None:
    f = CheckFailure("check_auc", name="auc", expected="AUC >= 0.8", observed="0.7",
                     value=0.7, threshold=0.8)
    assert f.margin == pytest.approx(-0.1)
    d = f.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["check"] == "check_auc" and d["value"] == 0.7 and d["message"] == str(f)


def test_non_finite_numbers_become_null() -> None:
    d = CheckFailure("c", expected="e", observed="o", value=math.nan, threshold=1.0).to_dict()
    assert d["value"] is None and d["margin"] is None
    json.dumps(d, allow_nan=False)


def test_survives_pickling_for_worker_processes() -> None:
    f = CheckFailure("check_f1", name="f1", expected="F1 >= 0.5", observed="0.4", hint="h",
                     value=0.4, threshold=0.5)
    g = pickle.loads(pickle.dumps(f))
    assert g.to_dict() == f.to_dict()
