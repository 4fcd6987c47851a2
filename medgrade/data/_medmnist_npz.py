"""What the MedMNIST stand-ins share: the npz file, its label draw, and its random streams.

A file holds ``{split}_images`` (uint8, (N, *shape)) and ``{split}_labels`` (uint8, (N, 1)) for each
split. Labels take the real class proportions (largest remainders), shuffled by
``default_rng([seed, s, 999_999])``; images are rendered in chunks, chunk k of split s from
``default_rng([seed, s, k])``. The ``test`` split, held out, appends the key's words to both
(:func:`medgrade.data.heldout.stream_words`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from medgrade.data.heldout import stream_words

__all__ = ["HELDOUT", "MedmnistNpz"]

HELDOUT = "test"
LABEL_STREAM = 999_999  # the label order's stream: above any chunk number
Render = Callable[[NDArray[np.integer], np.random.Generator], NDArray[np.uint8]]


@dataclass(frozen=True)
class MedmnistNpz:
    """One MedMNIST stand-in's file: its splits, class counts, image shape and renderer."""

    file: str
    splits: Mapping[str, int]  # split sizes, in stream order
    class_counts: Mapping[str, tuple[int, ...]]  # per class, of "train+val" and of "test"
    shape: tuple[int, ...]  # one image's
    chunk: int  # images rendered per stream
    render: Render

    def stream(self, seed: int, split: str, k: int, key: bytes) -> list[int]:
        """The ``default_rng`` seed of chunk ``k`` of ``split``: the held-out split's depends on the key."""
        return stream_words(seed, self.splits, split, k, key, HELDOUT)

    def split_labels(self, split: str, seed: int, key: bytes = b"") -> NDArray[np.uint8]:
        """Shuffled labels of ``split`` with the real class proportions, uint8 (N, 1)."""
        n = self.splits[split]
        counts = np.array(self.class_counts["test" if split == "test" else "train+val"], dtype=float)
        exact = counts / counts.sum() * n
        alloc = np.floor(exact).astype(int)
        alloc[np.argsort(-(exact - alloc), kind="stable")[: n - alloc.sum()]] += 1
        labels = np.repeat(np.arange(len(counts), dtype=np.uint8), alloc)
        np.random.default_rng(self.stream(seed, split, LABEL_STREAM, key)).shuffle(labels)
        return labels[:, None]

    def write(self, stage: Path, *, seed: int, key: bytes) -> None:
        """The store's writer: every split into ``stage/<file>``."""
        arrays: dict[str, Any] = {}
        for split in self.splits:
            labels = self.split_labels(split, seed, key)
            images = np.empty((labels.shape[0], *self.shape), dtype=np.uint8)
            for k, start in enumerate(range(0, labels.shape[0], self.chunk)):
                rng = np.random.default_rng(self.stream(seed, split, k, key))
                images[start : start + self.chunk] = self.render(labels[start : start + self.chunk, 0], rng)
            arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels
        with open(stage / self.file, "wb") as f:
            np.savez(f, **arrays)
