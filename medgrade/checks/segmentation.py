"""Segmentation checks: per-channel Dice and lesion-wise detection on binary masks.

Masks are ``(B, C, H, W[, D])`` binary tensors or arrays (one-hot for multi-class; a
prediction must be thresholded or arg-maxed first).

Empty-mask rule, per batch item and channel, identical to MONAI
``compute_dice(..., ignore_empty=False)`` / ``DiceMetric(ignore_empty=False)``:

* target empty and prediction empty  -> Dice 1.0 (nothing to find, nothing found);
* target empty and prediction not    -> Dice 0.0 (every predicted voxel is a false positive).

MONAI's default ``ignore_empty=True`` instead returns NaN for an empty target and leaves it out
of the mean; a grader cannot give points for NaN, and a student who predicts nothing on a
lesion-free case has done the right thing, so medgrade scores it 1.0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from medgrade.checks._util import describe, fmt_shape, to_numpy
from medgrade.checks.failure import CheckFailure
from medgrade.checks.measure import note

__all__ = ["EMPTY_RULE", "dice_score", "check_dice", "LesionCounts", "lesion_counts",
           "check_lesion_detection"]

EMPTY_RULE = "empty-mask rule: target and prediction both empty -> 1.0; target empty, " \
    "prediction not -> 0.0"


def _binary_masks(pred: Any, target: Any, check: str, name: str,
                  min_ndim: int = 4) -> tuple[np.ndarray, np.ndarray]:
    p, t = to_numpy(pred), to_numpy(target)
    if p.shape != t.shape:
        raise CheckFailure(check, name=name, expected=f"prediction of the target's shape "
                           f"{fmt_shape(t.shape)}", observed=fmt_shape(p.shape),
                           hint="one-hot encode the arg-max prediction so it has one channel "
                           "per class (B, C, H, W[, D]), like the target.")
    if p.ndim < min_ndim:
        raise CheckFailure(check, name=name, expected="masks of shape (B, C, H, W[, D])",
                           observed=fmt_shape(p.shape),
                           hint="keep the batch and channel dimensions (unsqueeze(1)).")
    for what, arr, src in (("prediction", p, pred), ("target", t, target)):
        if arr.dtype.kind not in "biuf" or not np.isin(arr, (0, 1)).all():
            raise CheckFailure(check, name=name, expected=f"a binary {what} mask (0/1 values)",
                               observed=describe(src) + " with other values",
                               hint="threshold probabilities (p > 0.5) or one-hot the arg-max "
                               "(monai.transforms.AsDiscrete(argmax=True, to_onehot=C)).")
    return p.astype(np.float32), t.astype(np.float32)


def dice_score(pred: Any, target: Any) -> np.ndarray:
    """Dice per batch item and channel, shape ``(B, C)``, for binary ``(B, C, H, W[, D])`` masks.

    ``2 |P & T| / (|P| + |T|)`` computed by MONAI ``compute_dice(ignore_empty=False)``; see the
    module docstring for the empty-mask rule.

    >>> dice_score(torch.ones(1, 1, 2, 2), torch.ones(1, 1, 2, 2)).tolist()
    [[1.0]]
    """
    from monai.metrics import compute_dice  # lazy: importing MONAI takes seconds

    p, t = _binary_masks(pred, target, "dice_score", "dice")
    d = compute_dice(torch.from_numpy(p), torch.from_numpy(t), include_background=True,
                     ignore_empty=False)
    return np.asarray(d.numpy(), dtype=np.float64)


def _dice_hint(p: np.ndarray, t: np.ndarray, worst: int) -> str:
    axes = (0,) + tuple(range(2, p.ndim))
    pred_sum, target_sum = p.sum(axis=axes), t.sum(axis=axes)
    if pred_sum[worst] == 0 and target_sum[worst] > 0:
        return f"the prediction is empty in channel {worst}: check the threshold or arg-max, " \
            "the channel order, and class imbalance (Dice loss helps)."
    if pred_sum[worst] > 4 * max(target_sum[worst], 1):
        return f"channel {worst} predicts far more foreground than the target: lower the " \
            "foreground weight or raise the threshold; check which channel is background."
    return "train longer, use a Dice (+ cross-entropy) loss, and check the channel order " \
        "(include the background channel only if the target has it)."


def check_dice(pred: Any, target: Any, *, at_least: float | Sequence[float],
               name: str = "dice", channel_names: Sequence[str] | None = None) -> np.ndarray:
    """Raise unless the mean Dice over the batch is ``>= at_least`` in every channel.

    ``at_least`` is one threshold or one per channel. Returns the per-channel mean Dice.
    """
    p, t = _binary_masks(pred, target, "check_dice", name)
    per_channel = dice_score(p, t).mean(axis=0)
    limits = np.broadcast_to(np.asarray(at_least, dtype=np.float64), per_channel.shape)
    margins = per_channel - limits
    worst = int(np.argmin(margins))
    note("check_dice", name, float(per_channel[worst]), float(limits[worst]))
    if margins[worst] < 0:
        labels = list(channel_names) if channel_names else [str(c) for c in
                                                            range(per_channel.size)]
        values = ", ".join(f"{lab}: {v:.3f}" for lab, v in zip(labels, per_channel, strict=True))
        raise CheckFailure(
            "check_dice", name=name,
            expected=f"mean Dice >= {limits[worst]:.3f} in channel {labels[worst]} "
            f"({EMPTY_RULE})",
            observed=f"{per_channel[worst]:.3f} (per channel {values}; "
            f"margin {margins[worst]:+.3f})",
            hint=_dice_hint(p, t, worst), value=float(per_channel[worst]),
            threshold=float(limits[worst]),
        )
    return per_channel


@dataclass(frozen=True)
class LesionCounts:
    """Lesion-wise detection counts; a lesion is a connected component of a binary mask."""

    n_target: int  # lesions in the target
    detected: int  # target lesions touched by at least one predicted voxel
    n_pred: int  # lesions in the prediction
    true_pred: int  # predicted lesions touching at least one target voxel

    @property
    def tpf(self) -> float:
        """True-positive fraction (lesion-wise sensitivity); 1.0 when there is no lesion."""
        return self.detected / self.n_target if self.n_target else 1.0

    @property
    def ppv(self) -> float:
        """Positive predictive value (lesion-wise precision); 1.0 when nothing is predicted."""
        return self.true_pred / self.n_pred if self.n_pred else 1.0


def _overlapping(labels: np.ndarray, other: np.ndarray) -> int:
    """How many labelled components share at least one voxel with ``other``."""
    return int(np.unique(labels[(labels > 0) & (other > 0)]).size)


def lesion_counts(pred: Any, target: Any, *, connectivity: int = 1) -> LesionCounts:
    """Count lesions (connected components) over masks ``(H, W[, D])`` or ``(B, 1, H, W[, D])``.

    ``connectivity`` 1 joins voxels sharing a face; ``ndim`` joins any touching voxels.
    """
    from scipy import ndimage

    p, t = _binary_masks(pred, target, "check_lesion_detection", "lesions", min_ndim=2)
    if p.ndim >= 4:
        if p.shape[1] != 1:
            raise CheckFailure("check_lesion_detection", name="lesions",
                               expected="one lesion channel (B, 1, H, W[, D])",
                               observed=fmt_shape(p.shape),
                               hint="pass the lesion channel only, e.g. pred[:, 1:2].")
        cases = [(p[i, 0], t[i, 0]) for i in range(p.shape[0])]
    else:
        cases = [(p, t)]
    totals = np.zeros(4, dtype=np.int64)
    for pc, tc in cases:
        structure = ndimage.generate_binary_structure(pc.ndim, connectivity)
        lt, nt = ndimage.label(tc, structure=structure)
        lp, np_ = ndimage.label(pc, structure=structure)
        totals += (nt, _overlapping(lt, pc), np_, _overlapping(lp, tc))
    return LesionCounts(*(int(v) for v in totals))


def check_lesion_detection(pred: Any, target: Any, *, min_tpf: float | None = None,
                           min_ppv: float | None = None, connectivity: int = 1,
                           name: str = "lesions") -> LesionCounts:
    """Raise unless the lesion-wise TPF and/or PPV reach ``min_tpf`` / ``min_ppv``.

    A target lesion is detected when a predicted voxel overlaps it; a predicted lesion is a true
    positive when it overlaps a target voxel. TPF is 1.0 without target lesions and PPV is 1.0
    without predicted lesions.
    """
    if min_tpf is None and min_ppv is None:
        raise TypeError("give min_tpf, min_ppv or both")
    c = lesion_counts(pred, target, connectivity=connectivity)
    if min_tpf is not None:
        note("check_lesion_detection", f"{name} (TPF)", c.tpf, min_tpf)
    if min_ppv is not None:
        note("check_lesion_detection", f"{name} (PPV)", c.ppv, min_ppv)
    if min_tpf is not None and c.tpf < min_tpf:
        raise CheckFailure(
            "check_lesion_detection", name=name, expected=f"lesion TPF >= {min_tpf:.3f}",
            observed=f"{c.tpf:.3f} ({c.detected} of {c.n_target} lesions detected)",
            value=c.tpf, threshold=min_tpf,
            hint="small lesions are missed: lower the threshold, weight the foreground, or "
            "train on patches that contain lesions.",
        )
    if min_ppv is not None and c.ppv < min_ppv:
        raise CheckFailure(
            "check_lesion_detection", name=name, expected=f"lesion PPV >= {min_ppv:.3f}",
            observed=f"{c.ppv:.3f} ({c.true_pred} of {c.n_pred} predicted lesions are real)",
            value=c.ppv, threshold=min_ppv,
            hint="many false-positive blobs: raise the threshold or remove components smaller "
            "than a few voxels.",
        )
    return c
