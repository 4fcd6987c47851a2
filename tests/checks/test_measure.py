"""The measurement log that calibration reads: every threshold check notes its figure, pass or fail."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from medgrade import checks
from medgrade.checks import measure


@pytest.fixture(autouse=True)
def _empty_log():
    measure.drain()
    yield
    measure.drain()


def test_a_passing_metric_is_noted_with_its_threshold() -> None:
    checks.check_auc([0, 1, 1, 0], [0.2, 0.9, 0.6, 0.4], at_least=0.9, name="val AUC")
    assert measure.drain() == [{"check": "check_auc", "name": "val AUC", "value": 1.0, "threshold": 0.9,
                                "direction": ">=", "passed": True}]
    assert measure.drain() == []  # drained


def test_a_failing_check_is_noted_before_it_raises() -> None:
    with pytest.raises(checks.CheckFailure):
        checks.check_loss_decreasing([1.0, 1.0, 1.0, 1.0, 1.0], min_relative_drop=0.2, name="flat")
    with pytest.raises(checks.CheckFailure):
        checks.check_sensitivity([0, 1, 1, 0], [0, 0, 1, 0], at_least=0.9)
    (flat, sens) = measure.drain()
    assert (flat["name"], flat["value"], flat["passed"]) == ("flat", 0.0, False)
    assert (sens["check"], sens["value"], sens["threshold"], sens["passed"]) == ("check_sensitivity", 0.5, 0.9, False)


def test_a_loss_ceiling_is_noted_lower_is_better() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(8, 4), torch.randint(0, 2, (8,))
    checks.check_overfit_one_batch(nn.Linear(4, 2), loss_fn=nn.CrossEntropyLoss(), x=x, y=y, steps=60, lr=0.1,
                                   at_most_loss=5.0)
    (m,) = measure.drain()
    assert m["direction"] == "<=" and m["threshold"] == 5.0 and m["value"] < 5.0 and m["passed"]


def test_segmentation_checks_note_dice_and_each_lesion_rate() -> None:
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2, :2] = 1
    checks.check_dice(mask, mask, at_least=0.9, name="lesion Dice")
    checks.check_lesion_detection(mask[0, 0], mask[0, 0], min_tpf=0.5, min_ppv=0.5, name="lesions")
    assert [(m["name"], m["value"]) for m in measure.drain()] == [
        ("lesion Dice", 1.0), ("lesions (TPF)", 1.0), ("lesions (PPV)", 1.0)]


def test_a_figure_computed_by_the_test_is_noted_pass_or_fail() -> None:
    checks.check_at_least(0.7, 0.62, name="mean AUC over 3 splits")
    with pytest.raises(checks.CheckFailure):
        checks.check_at_least(0.1, 0.3, name="TC Dice")
    assert [(m["check"], m["name"], m["value"], m["passed"]) for m in measure.drain()] == [
        ("check_at_least", "mean AUC over 3 splits", 0.7, True), ("check_at_least", "TC Dice", 0.1, False)]


def test_a_loop_of_checks_cannot_grow_the_log_without_bound() -> None:
    for _ in range(1500):
        checks.check_accuracy([1], [1], at_least=0.5)
    assert len(measure.drain()) == 1000
