from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.metrics import DiceMetric

from medgrade.checks import CheckFailure, check_dice, check_lesion_detection, dice_score


def masks() -> tuple[torch.Tensor, torch.Tensor]:
    """(B=3, C=2, 4, 4): item 0 half-overlap, item 1 both empty in channel 1, item 2 FP only."""
    p, t = torch.zeros(3, 2, 4, 4), torch.zeros(3, 2, 4, 4)
    p[0, 0, :2], t[0, 0, 1:3] = 1, 1
    p[1, 0, 0, 0], t[1, 0, 0, 0] = 1, 1
    p[2, 1, 3, 3] = 1  # target empty, prediction not
    p[0, 1], t[0, 1] = 1, 1
    return p, t


class TestDiceScore:
    def test_hand_computed_and_empty_rule(self) -> None:
        p, t = masks()
        d = dice_score(p, t)
        assert d.shape == (3, 2)
        assert d[0, 0] == pytest.approx(0.5)  # |P&T|=4, |P|+|T|=16
        assert d[1, 1] == 1.0  # both empty
        assert d[2, 1] == 0.0  # target empty, prediction not

    def test_agrees_with_monai_dicemetric_ignore_empty_false(self) -> None:
        p, t = masks()
        metric = DiceMetric(include_background=True, reduction="none", ignore_empty=False)
        metric(p, t)
        np.testing.assert_allclose(dice_score(p, t), metric.aggregate().numpy())

    def test_monai_default_ignores_empty_targets_where_we_score(self) -> None:
        p, t = masks()
        metric = DiceMetric(include_background=True, reduction="none")  # ignore_empty=True
        metric(p, t)
        monai = metric.aggregate().numpy()
        assert np.isnan(monai[1, 1]) and np.isnan(monai[2, 1])
        ours = dice_score(p, t)
        np.testing.assert_allclose(ours[~np.isnan(monai)], monai[~np.isnan(monai)])

    def test_numpy_3d_volumes(self) -> None:
        v = np.zeros((1, 1, 2, 3, 4), np.uint8)
        v[..., 0] = 1
        assert dice_score(v, v).tolist() == [[1.0]]


class TestCheckDice:
    def test_good_prediction_passes(self) -> None:
        p, t = masks()
        assert check_dice(t, t, at_least=0.99).tolist() == [1.0, 1.0]

    def test_below_threshold_names_channel_and_rule(self) -> None:
        p, t = masks()
        with pytest.raises(CheckFailure, match=r"^check_dice\(dice\): expected mean Dice >= "
                           r"0\.700 in channel lesion \(empty-mask rule: target and prediction "
                           r"both empty -> 1\.0; target empty, prediction not -> 0\.0\); "
                           r"observed 0\.667 \(per channel bg: 0\.833, lesion: 0\.667") as e:
            check_dice(p, t, at_least=0.7, channel_names=["bg", "lesion"])
        assert e.value.value == pytest.approx(2 / 3) and e.value.threshold == 0.7

    def test_empty_prediction(self) -> None:
        _, t = masks()
        with pytest.raises(CheckFailure, match="prediction is empty in channel 0"):
            check_dice(torch.zeros_like(t), t, at_least=0.5)

    def test_lost_channel_dimension(self) -> None:
        _, t = masks()
        with pytest.raises(CheckFailure, match=r"target's shape \(3, 2, 4, 4\); observed "
                           r"\(3, 4, 4\).*one-hot"):
            check_dice(t[:, 1], t, at_least=0.5)

    def test_probabilities_instead_of_masks(self) -> None:
        _, t = masks()
        with pytest.raises(CheckFailure, match="binary prediction mask.*threshold"):
            check_dice(t * 0.7, t, at_least=0.5)

    def test_per_channel_thresholds(self) -> None:
        p, t = masks()
        check_dice(p, t, at_least=[0.8, 0.6])


class TestLesionDetection:
    def target(self) -> np.ndarray:
        t = np.zeros((1, 1, 8, 8), np.uint8)
        t[0, 0, 0:2, 0:2] = 1  # lesion A
        t[0, 0, 5:7, 5:7] = 1  # lesion B
        return t

    def test_all_found(self) -> None:
        c = check_lesion_detection(self.target(), self.target(), min_tpf=1.0, min_ppv=1.0)
        assert (c.n_target, c.detected, c.n_pred, c.true_pred) == (2, 2, 2, 2)

    def test_missed_lesion(self) -> None:
        p = self.target().copy()
        p[0, 0, 5:7, 5:7] = 0
        with pytest.raises(CheckFailure, match=r"lesion TPF >= 0\.900; observed 0\.500 \(1 of 2"
                           r" lesions detected\)") as e:
            check_lesion_detection(p, self.target(), min_tpf=0.9)
        assert e.value.margin == pytest.approx(-0.4)

    def test_false_positive_blobs(self) -> None:
        p = self.target().copy()
        p[0, 0, 0, 7] = p[0, 0, 7, 0] = 1
        with pytest.raises(CheckFailure, match=r"PPV >= 0\.800; observed 0\.500 \(2 of 4 "
                           r"predicted lesions are real\)"):
            check_lesion_detection(p, self.target(), min_ppv=0.8)

    def test_empty_cases_and_connectivity(self) -> None:
        empty = np.zeros((4, 4), np.uint8)
        c = check_lesion_detection(empty, empty, min_tpf=1.0, min_ppv=1.0)
        assert (c.tpf, c.ppv) == (1.0, 1.0)
        diag = np.eye(3, dtype=np.uint8)
        assert check_lesion_detection(diag, diag, min_tpf=1, connectivity=1).n_target == 3
        assert check_lesion_detection(diag, diag, min_tpf=1, connectivity=2).n_target == 1
