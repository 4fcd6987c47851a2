from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from medgrade.checks import (
    CheckFailure,
    check_accuracy,
    check_at_least,
    check_auc,
    check_f1,
    check_metric_value,
    check_sensitivity,
    check_specificity,
    metric_value,
)

Y = np.array([0, 0, 0, 1, 1, 1, 1, 0])
SCORES = np.array([0.1, 0.4, 0.35, 0.8, 0.7, 0.2, 0.9, 0.3])
PRED = (SCORES >= 0.5).astype(int)  # tp=3 fn=1 tn=4 fp=0


class TestAccuracy:
    def test_pass_returns_value_and_accepts_tensors_and_n1_labels(self) -> None:
        assert check_accuracy(torch.tensor(Y).view(-1, 1), torch.tensor(PRED), at_least=0.8) \
            == pytest.approx(7 / 8)

    def test_below_threshold_fills_value_threshold_margin(self) -> None:
        with pytest.raises(CheckFailure, match=r"^check_accuracy\(accuracy\): expected accuracy "
                           r">= 0\.900; observed 0\.875 on 8 samples \(margin -0\.025\)") as e:
            check_accuracy(Y, PRED, at_least=0.9)
        assert (e.value.value, e.value.threshold) == (0.875, 0.9)
        assert e.value.margin == pytest.approx(-0.025)

    def test_collapsed_model(self) -> None:
        with pytest.raises(CheckFailure, match="every prediction is class 0.*class-weighted"):
            check_accuracy(Y, np.zeros(8, int), at_least=0.9)

    def test_scores_instead_of_labels(self) -> None:
        with pytest.raises(CheckFailure, match=r"observed y_pred of shape \(8, 2\).*argmax"):
            check_accuracy(Y, np.stack([1 - SCORES, SCORES], 1), at_least=0.5)

    def test_wrong_length(self) -> None:
        with pytest.raises(CheckFailure, match="one prediction per sample \\(8\\); observed 4"):
            check_accuracy(Y, PRED[:4], at_least=0.5)


class TestAuc:
    def test_agrees_with_sklearn(self) -> None:
        assert check_auc(Y, SCORES, at_least=0.5) == pytest.approx(roc_auc_score(Y, SCORES))

    def test_two_column_probabilities_and_logits(self) -> None:
        two = np.stack([1 - SCORES, SCORES], 1)
        assert check_auc(Y, torch.tensor(two), at_least=0.5) == pytest.approx(
            roc_auc_score(Y, SCORES))
        assert check_auc(Y, np.log(SCORES / (1 - SCORES)), at_least=0.5) == pytest.approx(
            roc_auc_score(Y, SCORES))

    def test_multiclass_ovr(self) -> None:
        rng = np.random.default_rng(0)
        y = np.array([0, 1, 2] * 4)
        p = rng.dirichlet(np.ones(3), size=12)
        expected = roc_auc_score(y, p, multi_class="ovr")
        with pytest.raises(CheckFailure) as e:
            check_auc(y, p, at_least=1.0)
        assert e.value.value == pytest.approx(expected)

    def test_hard_labels_refused(self) -> None:
        with pytest.raises(CheckFailure, match=r"continuous scores \(probabilities\); observed "
                           r"only the values \[0, 1\].*use predicted probabilities, not hard "
                           r"predictions"):
            check_auc(Y, PRED, at_least=0.5)
        with pytest.raises(CheckFailure, match="not hard predictions"):
            check_auc(Y, PRED.astype(float), at_least=0.5)

    def test_integer_multiclass_labels_refused(self) -> None:
        with pytest.raises(CheckFailure, match="not hard predictions"):
            check_auc([0, 1, 2, 2], np.array([0, 2, 2, 1]), at_least=0.5)

    def test_one_class_is_undefined_like_sklearn(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert np.isnan(roc_auc_score([1, 1, 1], [0.2, 0.5, 0.9]))
        with pytest.raises(CheckFailure, match=r"at least two classes; observed only class 1 in"
                           r" 3 samples.*stratified"):
            check_auc([1, 1, 1], [0.2, 0.5, 0.9], at_least=0.5)

    def test_below_threshold(self) -> None:
        with pytest.raises(CheckFailure, match="expected AUC >= 0.990") as e:
            check_auc(Y, SCORES, at_least=0.99)
        assert e.value.margin == pytest.approx(roc_auc_score(Y, SCORES) - 0.99)


class TestF1SensitivitySpecificity:
    def test_values(self) -> None:
        assert check_f1(Y, PRED, at_least=0.5) == pytest.approx(6 / 7)
        assert check_sensitivity(Y, PRED, at_least=0.5) == pytest.approx(0.75)
        assert check_specificity(Y, PRED, at_least=0.5) == pytest.approx(1.0)

    def test_threshold_failures(self) -> None:
        with pytest.raises(CheckFailure, match="sensitivity >= 0.900; observed 0.750.*missed"):
            check_sensitivity(Y, PRED, at_least=0.9)
        with pytest.raises(CheckFailure, match="specificity >= 0.900; observed 0.000.*false pos"):
            check_specificity(Y, np.ones(8, int), at_least=0.9)
        with pytest.raises(CheckFailure, match="F1 >= 0.900"):
            check_f1(Y, PRED, at_least=0.9)

    def test_probabilities_instead_of_labels(self) -> None:
        with pytest.raises(CheckFailure, match="non-integer values such as 0.1.*threshold"):
            check_f1(Y, SCORES, at_least=0.5)

    def test_undefined_without_positives(self) -> None:
        with pytest.raises(CheckFailure, match="sensitivity is undefined without positive"):
            check_sensitivity([0, 0], [0, 1], at_least=0.5)
        with pytest.raises(CheckFailure, match="specificity is undefined without negative"):
            check_specificity([1, 1], [0, 1], at_least=0.5)


class TestMetricValue:
    def test_correct_value(self) -> None:
        check_metric_value(0.75, Y, PRED, metric="sensitivity")
        check_metric_value(torch.tensor(roc_auc_score(Y, SCORES)), Y, SCORES, metric="auc")

    def test_percentage(self) -> None:
        with pytest.raises(CheckFailure, match="accuracy = 0.875000.*observed 87.500000.*not a "
                           "percentage") as e:
            check_metric_value(87.5, Y, PRED, metric="accuracy")
        assert e.value.threshold == 0.875

    def test_sensitivity_and_specificity_swapped(self) -> None:
        with pytest.raises(CheckFailure, match="equals the sensitivity"):
            check_metric_value(0.75, Y, PRED, metric="specificity")

    def test_complement(self) -> None:
        with pytest.raises(CheckFailure, match="1 minus the reference"):
            check_metric_value(0.125, Y, PRED, metric="accuracy")

    def test_kappa_of_a_hand_computed_formula_passes(self) -> None:
        y, p = np.array(Y), np.array(PRED)
        p_o = float((y == p).mean())
        p_e = float(y.mean() * p.mean() + (1 - y.mean()) * (1 - p.mean()))
        check_metric_value((p_o - p_e) / (1 - p_e), torch.tensor(Y), PRED, metric="kappa")
        assert metric_value("kappa", Y, PRED) == pytest.approx(cohen_kappa_score(Y, PRED))

    def test_kappa_given_as_the_accuracy_is_named_as_such(self) -> None:
        with pytest.raises(CheckFailure, match=r"kappa = .*observed 0\.875000.*observed agreement "
                           r"\(the accuracy\).*\(p_o - p_e\) / \(1 - p_e\)"):
            check_metric_value(0.875, Y, PRED, metric="kappa")

    def test_kappa_with_chance_agreement_left_at_one_half_fails(self) -> None:
        y, p = [1, 1, 1, 1, 1, 1, 0, 0, 1, 0], [1, 1, 1, 0, 1, 1, 0, 1, 1, 1]  # chance agreement 0.54
        p_o = float((np.array(y) == np.array(p)).mean())
        with pytest.raises(CheckFailure, match="definition on a tiny hand-made example"):
            check_metric_value((p_o - 0.5) / 0.5, y, p, metric="kappa")

    def test_kappa_of_constant_predictions_is_zero_and_undefined_on_one_label_is_nan(self) -> None:
        assert metric_value("kappa", Y, [1] * len(Y)) == 0.0
        assert np.isnan(metric_value("kappa", [1, 1, 1], [1, 1, 1]))

    def test_unknown_metric_is_instructor_error(self) -> None:
        with pytest.raises(ValueError, match="unknown metric"):
            metric_value("iou", Y, PRED)


class TestAtLeast:
    """A figure the hidden test computed itself: a mean AUC over splits, a Dice per region."""

    def test_pass_returns_the_figure_from_a_number_or_a_0d_tensor(self) -> None:
        assert check_at_least(0.71, 0.62, name="mean AUC") == pytest.approx(0.71)
        assert check_at_least(torch.tensor(0.5), 0.3, name="TC Dice", metric="Dice") == pytest.approx(0.5)
        assert check_at_least(np.array([0.62]), 0.62, name="on the threshold") == pytest.approx(0.62)

    def test_below_threshold_names_the_metric_margin_and_detail(self) -> None:
        with pytest.raises(CheckFailure, match=r"^check_at_least\(TC after 120 steps\): expected Dice >= 0\.300; "
                           r"observed 0\.21 \(margin -0\.090\); all regions \[0\.21, 0\.6, 0\.3\]") as e:
            check_at_least(0.21, 0.30, name="TC after 120 steps", metric="Dice", detail="all regions [0.21, 0.6, 0.3]",
                           hint="sigmoid before the threshold")
        assert (e.value.value, e.value.threshold) == (0.21, 0.30)
        assert "sigmoid before the threshold" in str(e.value)

    def test_nan_fails_whatever_the_threshold(self) -> None:
        with pytest.raises(CheckFailure, match=r"expected AUC >= -1\.000; observed nan"):
            check_at_least(float("nan"), -1.0, name="mean AUC", metric="AUC")

    def test_several_numbers_or_text_are_refused_with_what_was_given(self) -> None:
        with pytest.raises(CheckFailure, match=r"expected one number \(Dice\); observed a tensor of shape \(3,\)"):
            check_at_least(torch.tensor([0.5, 0.6, 0.7]), 0.3, name="Dice", metric="Dice")
        with pytest.raises(CheckFailure, match=r"expected one number \(value\); observed str 'high'"):
            check_at_least("high", 0.3, name="score")
