"""Compare a class: an index of fingerprints picks the pairs worth comparing, then each in full.

1. **Excluded** k-grams count for nobody: the course's boilerplate, and *common* code, found in
   more than ``common_limit`` submissions (MOSS's ``-m``: what most of a class writes, such as the
   canonical five lines of a training step, says nothing about who copied from whom).
2. **Index**: each submission's winnowed fingerprints, less the excluded ones, map to the
   submissions that hold them. Counting shared fingerprints over these posting lists (each at
   most ``common_limit`` long) costs far less than comparing every pair, and a pair sharing fewer
   than half the fingerprints the threshold asks for is not compared further.
3. **Full comparison** of a candidate pair: every k-gram (not only the winnowed ones) they share,
   grown into maximal matching blocks along diagonals and tiled greedily (longest first, no token
   used twice), as JPlag's greedy string tiling does. A student's *share* is the fraction of their
   own tokens (those not excluded) that lie in a tile; the pair's *score* is the larger share.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations

from medgrade.similarity.documents import Document
from medgrade.similarity.fingerprints import SEPARATOR, K, winnow

__all__ = ["Region", "PairMatch", "ClassIndex", "default_common_limit"]

MIN_TILE = 16  # own tokens in a matching block for it to count (about two lines of code)
MAX_POSITIONS = 8  # of one k-gram in one document: a line repeated 40 times is not 1,600 matches


def default_common_limit(n: int) -> int:
    """Code in more submissions than this is common: 10 (MOSS's default), or a tenth of a large class."""
    return max(10, n // 10)


@dataclass(frozen=True)
class Region:
    """One matching block: tokens ``[a_start, a_end)`` of the first document, ``[b_start, b_end)`` of the second."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int

    @property
    def size(self) -> int:
        return self.a_end - self.a_start


@dataclass(frozen=True)
class PairMatch:
    a: str
    b: str
    a_share: float  # of a's own tokens, the fraction in a matching block
    b_share: float
    tokens: int  # tokens in matching blocks
    regions: tuple[Region, ...]

    @property
    def score(self) -> float:
        return max(self.a_share, self.b_share)


class ClassIndex:
    """The fingerprint index of one class's documents (see the module docstring)."""

    def __init__(self, docs: list[Document], boilerplate: frozenset[int], *, common_limit: int | None = None,
                 progress: Callable[[int, int], None] | None = None) -> None:
        self.docs = docs
        self.common_limit = default_common_limit(len(docs)) if common_limit is None else common_limit
        frequency: Counter[int] = Counter()
        for doc in docs:
            frequency.update({h for h in doc.hashes if h is not None and h not in boilerplate})
        self.common = frozenset(h for h, n in frequency.items() if n > self.common_limit)
        self.excluded = boilerplate | self.common
        self.positions: list[dict[int, list[int]]] = []
        # 1 where a token is the student's own: in a k-gram that is not excluded, and in no boilerplate
        self.owned: list[bytearray] = []
        self.postings: dict[int, list[int]] = defaultdict(list)
        for i, doc in enumerate(docs):
            where: dict[int, list[int]] = defaultdict(list)
            owned = bytearray(len(doc.words))
            for start, h in enumerate(doc.hashes):
                if h is not None and h not in self.excluded:
                    where[h].append(start)
                    owned[start:start + K] = b"\x01" * K
            for start, h in enumerate(doc.hashes):
                if h is not None and h in boilerplate:  # the course's text, even where a k-gram runs past it
                    owned[start:start + K] = bytes(K)
            self.positions.append(where)
            self.owned.append(owned)
            for h in winnow(doc.hashes):
                if h not in self.excluded:
                    self.postings[h].append(i)
            if progress:
                progress(i + 1, len(docs))
        self.fingerprints: Counter[int] = Counter(i for docs_of in self.postings.values() for i in docs_of)

    def candidates(self, threshold: float) -> list[tuple[int, int]]:
        """Pairs that share at least half the fingerprints ``threshold`` asks of the smaller (and 2)."""
        shared: Counter[tuple[int, int]] = Counter()
        for holders in self.postings.values():
            if len(holders) > 1:
                shared.update(combinations(holders, 2))
        out = []
        for (i, j), n in shared.items():
            smaller = min(self.fingerprints[i], self.fingerprints[j])
            if n >= 2 and n >= 0.5 * threshold * smaller:
                out.append((i, j))
        return sorted(out)

    def compare(self, i: int, j: int) -> PairMatch:
        """The full comparison of documents ``i`` and ``j``: tiles of matching tokens and each one's share."""
        blocks = _blocks(self.positions[i], self.positions[j])
        used_a, used_b = bytearray(len(self.owned[i])), bytearray(len(self.owned[j]))
        regions = []
        for size, x, y in sorted(blocks, key=lambda b: (-b[0], b[1], b[2])):
            for start, end in _free_segments(used_a, used_b, x, y, size):
                if self.owned[i][x + start:x + end].count(1) < MIN_TILE:
                    continue  # a short run, mostly course code around it: what anyone would write
                used_a[x + start:x + end] = b"\x01" * (end - start)
                used_b[y + start:y + end] = b"\x01" * (end - start)
                regions.append(Region(x + start, x + end, y + start, y + end))
        regions = _merged(sorted(regions, key=lambda r: r.a_start), self.docs[i], self.docs[j])
        a_tokens = _and(used_a, self.owned[i])
        b_tokens = _and(used_b, self.owned[j])
        a, b = self.docs[i], self.docs[j]
        return PairMatch(a.student, b.student, a_tokens / max(self.own(i), 1), b_tokens / max(self.own(j), 1),
                         max(a_tokens, b_tokens), tuple(regions))

    def own(self, i: int) -> int:
        """How many of document ``i``'s tokens are the student's own: in no boilerplate or common code."""
        return self.owned[i].count(1)


def _blocks(pa: dict[int, list[int]], pb: dict[int, list[int]]) -> list[tuple[int, int, int]]:
    """Maximal runs of shared k-grams on one diagonal: ``(length in tokens, a start, b start)``."""
    diagonals: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for h in pa.keys() & pb.keys():
        for x in pa[h][:MAX_POSITIONS]:
            for y in pb[h][:MAX_POSITIONS]:
                diagonals[x - y].append((x, y))
    blocks: list[tuple[int, int, int]] = []
    for runs in diagonals.values():
        runs.sort()
        (x0, y0), length = runs[0], 1
        for prev, cur in zip(runs, runs[1:], strict=False):
            if cur[0] == prev[0] + 1:
                length += 1
            else:
                blocks.append((length + K - 1, x0, y0))
                (x0, y0), length = cur, 1
        blocks.append((length + K - 1, x0, y0))
    return blocks


def _merged(regions: list[Region], a: Document, b: Document) -> list[Region]:
    """Tiles of one cell one short gap apart on both sides alike (starter code between them), as one region."""
    out: list[Region] = []
    for r in regions:
        last = out[-1] if out else None
        if (last and 0 <= r.a_start - last.a_end <= K and r.b_start - last.b_end == r.a_start - last.a_end
                and SEPARATOR not in a.words[last.a_start:r.a_end] and SEPARATOR not in b.words[last.b_start:r.b_end]):
            out[-1] = Region(last.a_start, r.a_end, last.b_start, r.b_end)
        else:
            out.append(r)
    return out


def _free_segments(used_a: bytearray, used_b: bytearray, x: int, y: int, size: int) -> list[tuple[int, int]]:
    """Offsets ``[start, end)`` of the block at ``x``/``y`` whose tokens no earlier tile took, on either side."""
    out, start = [], None
    for o in range(size + 1):
        free = o < size and not used_a[x + o] and not used_b[y + o]
        if free and start is None:
            start = o
        elif not free and start is not None:
            out.append((start, o))
            start = None
    return out


def _and(a: bytearray, b: bytearray) -> int:
    return sum(x & y for x, y in zip(a, b, strict=True))
