"""Plot evidence read back from a notebook: valid records kept by test, forged ones dropped."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_notebook, new_output

from medgrade.gradebook.plot_evidence import draw, read_evidence
from medgrade.publish import MIME, publish
from tests.tiny_course import cell


def _with(records: list, gid: str | None = None, points: int = 1):
    c = cell("pass", gid, points=points)
    c.outputs = [new_output("display_data", data={MIME: r, "text/plain": "x"}) for r in records]
    return c


def test_records_are_keyed_by_the_test_cell_and_malformed_ones_dropped(tmp_path) -> None:
    good = {"schema": 1, "kind": "loss_curve", "losses": [3.0, 2.0, 1.0]}
    forged = [
        {"schema": 1, "kind": "loss_curve", "losses": "3,2,1"},
        {"schema": 1, "kind": "loss_curve", "losses": [1.0, float("nan")]},
        {"schema": 1, "kind": "roc", "y_true": [0, 1]},  # no scores
        {"schema": 2, "kind": "loss_curve", "losses": [1.0]},
        {"schema": 1, "kind": "masks", "pred": [[1, 0], [1]], "true": [[1, 0], [0, 1]]},  # ragged
        ["not", "a", "record"],
    ]
    nb = new_notebook(cells=[_with([good]), _with([good, *forged], "test_train")])
    path = tmp_path / "a.ipynb"
    nbformat.write(nb, path)
    assert read_evidence([path]) == {"": [good], "test_train": [good]}


def test_mask_overlay_only_for_a_failed_test_and_roc_needs_two_classes() -> None:
    masks = {"schema": 1, "kind": "masks", "pred": [[1, 0], [0, 0]], "true": [[1, 1], [0, 0]]}
    assert draw(masks, failed=False) is None
    assert draw(masks, failed=True) is not None
    assert draw({"schema": 1, "kind": "roc", "y_true": [1, 1], "scores": [0.2, 0.9]}, failed=False) is None
    shapes = {"schema": 1, "kind": "masks", "pred": [[1, 0]], "true": [[1, 1], [0, 0]]}
    assert draw(shapes, failed=True) is None  # mismatched shapes: no plot, no crash


def test_publish_refuses_unknown_kinds_and_missing_fields() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        publish("histogram", values=[1])
    with pytest.raises(ValueError, match=r"roc evidence needs y_true, scores; missing \['scores'\]"):
        publish("roc", y_true=[0, 1])


def test_held_out_aggregates_are_drawn_and_impossible_ones_dropped() -> None:
    from medgrade.checks.heldout import confusion_counts, roc_curve

    curve = roc_curve([0] * 20 + [1] * 20, [i / 40 for i in range(40)])
    assert draw(curve, failed=False)[1] == "ROC curve of your scores on the hidden split"
    counts = confusion_counts([0, 1, 1], [0, 1, 0], ("benign", "tumour"))
    assert draw(counts, failed=False)[1] == "confusion matrix on the hidden split"
    dice = {"schema": 1, "kind": "dice_cases", "dice": [0.5, 0.9]}
    assert draw(dice, failed=False) is None and draw(dice, failed=True)[1] == "Dice of each hidden case"
    for impossible in (
        {"schema": 1, "kind": "confusion", "y_true": [0], "y_pred": [10**9]},  # a 10**9-class matrix
        {"schema": 1, "kind": "confusion", "y_true": [0], "y_pred": [1e300]},
        {"schema": 1, "kind": "confusion_counts", "matrix": [[1] * 500] * 500},
        {"schema": 1, "kind": "roc_curve", "fpr": [0.0, 2.0], "tpr": [0.0, 1.0]},
        {"schema": 1, "kind": "dice_cases", "dice": [1.5]},
    ):
        assert draw(impossible, failed=True) is None, impossible
