"""Plots: PNG data URIs drawn from given data; the mask overlay checked pixel by pixel."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from matplotlib.image import imread
from sklearn.metrics import roc_auc_score

from medgrade.gradebook import plots


def _pixels(uri: str) -> np.ndarray:
    assert uri.startswith("data:image/png;base64,")
    return imread(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])), format="png")[..., :3]


def _has(rgb: np.ndarray, colour: tuple[float, float, float]) -> bool:
    return bool((np.abs(rgb - np.asarray(colour)).max(axis=-1) < 0.05).any())


def test_mask_overlay_colours_true_predicted_and_both() -> None:
    true = np.zeros((16, 16), dtype=int)
    true[2:10, 2:10] = 1
    pred = np.zeros_like(true)
    pred[6:14, 6:14] = 1  # overlaps the true square in [6:10, 6:10]
    rgb = _pixels(plots.mask_overlay(pred, true))
    assert _has(rgb, (0, 1, 0)) and _has(rgb, (1, 0, 0)) and _has(rgb, (1, 1, 0))


def test_mask_overlay_of_a_perfect_prediction_has_no_red_or_green() -> None:
    true = np.zeros((16, 16), dtype=int)
    true[4:8, 4:8] = 1
    rgb = _pixels(plots.mask_overlay(true, true))
    assert _has(rgb, (1, 1, 0)) and not _has(rgb, (1, 0, 0)) and not _has(rgb, (0, 1, 0))


def test_best_slice_of_a_volume_is_where_the_masks_disagree_most() -> None:
    true = np.zeros((8, 8, 5), dtype=bool)
    pred = true.copy()
    true[2:6, 2:6, 1] = True
    pred[2:6, 2:6, 1] = True  # agrees on slice 1
    pred[0:3, 0:3, 3] = True  # 9 wrong voxels on slice 3
    assert plots.best_slice(pred, true)[2] == 3
    with pytest.raises(ValueError, match="masks must share a 2-D or 3-D shape"):
        plots.best_slice(pred, true[..., 0])


def test_roc_area_matches_scikit_learn_with_ties() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = np.round(y * 0.3 + rng.random(200), 1)  # rounded: many ties
    assert plots.roc_points(y, s)[2] == pytest.approx(roc_auc_score(y, s))


@pytest.mark.parametrize("uri", [
    lambda: plots.loss_curve([3.0, 2.0, 1.5, 1.2]),
    lambda: plots.confusion([0, 1, 2, 2], [0, 2, 2, 1], ["a", "b", "c"]),
    lambda: plots.score_histogram([0, 3.5, 5, 5], 5),
    lambda: plots.pass_rates(["t1", "t2"], [0.5, 1.0]),
])
def test_every_plot_is_a_decodable_png(uri) -> None:
    assert _pixels(uri()).shape[0] > 50
