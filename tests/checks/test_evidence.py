from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from medgrade.checks import (
    CheckFailure,
    clear_evidence,
    collected_evidence,
    judge_predictions,
    load_evidence,
    record_predictions,
)

Y = [0, 0, 1, 1, 1, 0]
P = [0.1, 0.6, 0.8, 0.7, 0.4, 0.2]


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDGRADE_EVIDENCE_DIR", raising=False)
    clear_evidence()


def test_round_trip_through_json_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDGRADE_EVIDENCE_DIR", str(tmp_path))
    rec = record_predictions("a03.hidden_auc", torch.tensor(P, dtype=torch.float64))
    record_predictions("a03_labels", torch.tensor([[0], [1]]), kind="labels")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a03.hidden_auc.json",
                                                          "a03_labels.json"]
    loaded = load_evidence(tmp_path)
    assert loaded["a03.hidden_auc"] == rec == collected_evidence()["a03.hidden_auc"]
    assert loaded["a03_labels"]["shape"] == [2, 1] and loaded["a03_labels"]["values"] == [0, 1]
    result = judge_predictions(loaded["a03.hidden_auc"], Y, metric="auc", at_least=0.7)
    assert result.value == pytest.approx(roc_auc_score(Y, P))
    assert json.loads(json.dumps(result.to_dict()))["passed"] is True


def test_below_threshold_fills_margin() -> None:
    rec = record_predictions("acc", np.array([0, 1, 1, 1, 0, 0]), kind="labels")
    with pytest.raises(CheckFailure, match=r"^judge_predictions\(acc\): expected accuracy >= "
                       r"0\.900; observed 0\.667 on the hidden labels") as e:
        judge_predictions(rec, Y, metric="accuracy", at_least=0.9)
    assert e.value.margin == pytest.approx(2 / 3 - 0.9)


def test_kappa_is_judged_on_hard_labels_and_refuses_scores() -> None:
    rec = record_predictions("study_kappa", np.array([0, 1, 1, 1, 0, 0]), kind="labels")
    with pytest.raises(CheckFailure, match=r"expected kappa >= 0\.500; observed 0\.333 on the hidden labels"):
        judge_predictions(rec, Y, metric="kappa", at_least=0.5)
    judged = judge_predictions(rec, Y, metric="kappa", at_least=0.3)
    assert judged.value == pytest.approx(cohen_kappa_score(Y, rec["values"]))
    with pytest.raises(CheckFailure, match="expected labels for kappa; observed scores"):
        judge_predictions(record_predictions("kappa_scores", P), Y, metric="kappa", at_least=0.3)


def test_hard_labels_recorded_for_auc() -> None:
    rec = record_predictions("auc_labels", [0, 1, 1, 1, 0, 0], kind="labels")
    with pytest.raises(CheckFailure, match="expected scores for auc; observed labels.*use "
                       "predicted probabilities, not hard predictions"):
        judge_predictions(rec, Y, metric="auc", at_least=0.5)
    rec = record_predictions("auc_hard", [0.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    with pytest.raises(CheckFailure, match="not hard predictions"):
        judge_predictions(rec, Y, metric="auc", at_least=0.5)


def test_invalid_predictions_refused_in_the_sandbox() -> None:
    with pytest.raises(CheckFailure, match="finite scores; observed 1 NaN"):
        record_predictions("nan", [0.1, float("nan")])
    with pytest.raises(CheckFailure, match="integer class labels.*kind='scores'"):
        record_predictions("probs_as_labels", [0.1, 0.9], kind="labels")
    with pytest.raises(CheckFailure, match="binary mask"):
        record_predictions("soft_mask", np.full((1, 1, 2, 2), 0.5), kind="mask")
    with pytest.raises(ValueError, match="evidence key"):
        record_predictions("../escape", [0.5])
    assert collected_evidence() == {}


def test_forged_records_refused_by_the_grader() -> None:
    good = record_predictions("k", P)
    for forged in ({**good, "schema": 0}, {**good, "values": good["values"][:-1]},
                   {**good, "values": ["0.5"] * 6}, {**good, "kind": "pickle"}, [1, 2]):
        with pytest.raises(CheckFailure, match="valid evidence record"):
            judge_predictions(forged, Y, metric="auc", at_least=0.5)


def test_dice_evidence_uses_the_empty_mask_rule() -> None:
    target = np.zeros((2, 1, 3, 3), np.uint8)
    target[0, 0, 0] = 1
    rec = record_predictions("seg", target, kind="mask")
    assert judge_predictions(rec, target, metric="dice", at_least=1.0).value == 1.0
    pred = target.copy()
    pred[1, 0, 2, 2] = 1  # false positive on a lesion-free case
    rec = record_predictions("seg_fp", pred, kind="mask")
    with pytest.raises(CheckFailure, match=r"dice >= 0\.900 \(empty-mask rule.*observed 0\.500"):
        judge_predictions(rec, target, metric="dice", at_least=0.9)
