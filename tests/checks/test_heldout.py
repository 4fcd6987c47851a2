"""Plots of held-out data: aggregates from which no item's label can be read back."""

from __future__ import annotations

import numpy as np

from medgrade.checks.heldout import MIN_ITEMS, confusion_counts, dice_cases, roc_curve


def _steps(record: dict, labels: np.ndarray) -> list[int]:
    """How many items each step of the curve moves past (from the counts it implies)."""
    pos, neg = int(labels.sum()), int(labels.size - labels.sum())
    counts = [round(t * pos + f * neg) for f, t in zip(record["fpr"], record["tpr"], strict=True)]
    return [b - a for a, b in zip(counts, counts[1:], strict=False)]


def test_the_roc_curve_moves_at_least_min_items_per_step_even_for_crafted_scores() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    honest = roc_curve(labels, labels * 0.5 + rng.random(200) * 0.6)
    assert sorted(honest) == ["fpr", "kind", "schema", "tpr"] and 10 <= len(honest["fpr"]) <= 52
    assert min(_steps(honest, labels)) >= MIN_ITEMS
    # A student isolates one item (all other scores equal) to read its label off the curve.
    crafted = np.full(200, 0.5)
    crafted[17] = 0.9
    probe = roc_curve(labels, crafted)
    assert (probe["fpr"], probe["tpr"]) == ([0.0, 1.0], [0.0, 1.0])  # no step isolates item 17
    spread = roc_curve(labels, np.arange(200) / 200)  # every item its own score: steps still hold >= 10 items
    assert min(_steps(spread, labels)) >= MIN_ITEMS


def test_the_confusion_record_holds_counts_and_puts_strange_predictions_in_other() -> None:
    record = confusion_counts([0, 1, 1, 0], [0, 1, 7, -1], ("benign", "tumour"))
    assert record == {"schema": 1, "kind": "confusion_counts", "matrix": [[1, 0, 1], [0, 1, 1]],
                      "labels": ["benign", "tumour"], "columns": ["benign", "tumour", "other"]}


def test_the_dice_record_is_one_figure_per_case() -> None:
    assert dice_cases([[0.5], [0.25]]) == {"schema": 1, "kind": "dice_cases", "dice": [0.5, 0.25]}
    assert dice_cases([[0.9, 0.1]]) == {"schema": 1, "kind": "dice_cases", "dice": [0.1]}  # worst channel
