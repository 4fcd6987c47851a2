"""What only an ML grader sees, shown beside a pair that the code already links; never a flag alone.

After grading, each autograded notebook keeps, per test cell:

- the **predictions on held-out data** the grader drew for a judged test with ``plot=``: every
  score (``roc``), every predicted label (``confusion``), or one slice of the predicted masks
  (``masks``). Predictions of judged tests without a plot are judged and discarded with the
  sandbox: they are not available;
- the **figures measured** by threshold checks (``metadata.medgrade.measured``: a judged metric,
  an accuracy, a loss drop). The kernel can write to that log, so it is a clue, not a record.

From the code itself come **odd choices**: numeric constants a student chose (``Adam(lr=0.0037)``,
``Dropout(0.37)``) that no code of the course uses.

Under the grader's fixed seeds, equivalent code trains to identical predictions and figures.
So each clue says how many of the class share it: two students alone in a class of 40 with the
same predictions is worth a look; twelve is what a correct, standard solution gives.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np

from medgrade.course import Course
from medgrade.gradebook.plot_evidence import read_evidence
from medgrade.similarity.compare import PairMatch
from medgrade.similarity.documents import Snippet
from medgrade.similarity.fingerprints import python_only

__all__ = ["Observed", "Clue", "ClassEvidence", "Flagged", "observe", "numeric_constants", "rare_limit"]

AGREE = 0.99  # predictions agreeing on this fraction of items are "near-identical"
SCORE_TOLERANCE = 1e-3  # two scores closer than this agree
_FIELDS = {"roc": "scores", "confusion": "y_pred", "masks": "pred"}
_WHAT = {"roc": "scores", "confusion": "predicted labels", "masks": "predicted mask slice"}


def rare_limit(n: int) -> int:
    """A clue shared by at most this many submissions of ``n`` is rare: 2, or one in twenty of a large class."""
    return max(2, n // 20)


@dataclass
class Observed:
    """One student's clues: predictions by ``test: kind``, measured figures by test, odd choices."""

    predictions: dict[str, np.ndarray] = field(default_factory=dict)
    figures: dict[str, tuple[tuple[str, float], ...]] = field(default_factory=dict)
    choices: set[str] = field(default_factory=set)
    graded: bool = False  # an autograded notebook was found


@dataclass(frozen=True)
class Clue:
    kind: str  # "predictions" | "figures" | "choice"
    text: str  # what the TA reads
    rare: bool  # shared by few enough of the class to be worth a look


def _number(node: ast.AST) -> str | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return None if inner is None else f"-{inner}"
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return repr(node.value)
    return None


def _callee(func: ast.AST) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else "call"


def numeric_constants(sources: Iterable[str]) -> list[tuple[str, str]]:
    """``(value, where)`` for each number in ``sources``: ``("0.0037", "Adam(lr=0.0037)")``."""
    out: list[tuple[str, str]] = []
    for source in sources:
        try:
            tree = ast.parse(python_only(source))
        except (SyntaxError, ValueError):
            continue
        nodes = list(ast.walk(tree))
        skip = {id(n.operand) for n in nodes if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub)}
        for node in nodes:  # a negative number is counted once, as itself
            if isinstance(node, ast.Call):
                name = _callee(node.func)
                values = [(arg, f"{name}({{}})") for arg in node.args]
                values += [(kw.value, f"{name}({kw.arg}={{}})") for kw in node.keywords]
                for arg, form in values:
                    if (v := _number(arg)) is not None:
                        out.append((v, form.format(v)))
                        skip.add(id(arg))
        for node in nodes:
            if id(node) not in skip and (v := _number(node)) is not None:
                out.append((v, f"the constant {v}"))
    return out


def _odd(value: str, course_values: set[str]) -> bool:
    try:
        number = float(value)
    except ValueError:
        return False
    return value not in course_values and not (number.is_integer() and abs(number) <= 2)


def observe(course: Course, assignment: str, student: str, snippets: Iterable[Snippet],
            course_values: set[str]) -> Observed:
    """The clues of one student: from ``autograded/`` (if graded) and from the code they wrote."""
    seen = Observed(choices={where for value, where in numeric_constants(s.source for s in snippets)
                             if _odd(value, course_values)})
    graded = sorted((course.autograded / student / assignment).glob("*.ipynb"))
    seen.graded = bool(graded)
    try:
        records = read_evidence(graded)
    except Exception:  # an autograded notebook that does not read: no clues from it
        return seen
    for gid, found in records.items():
        for record in found:
            kind = record["kind"]
            if gid and kind in _FIELDS:
                seen.predictions[f"{gid}: {_WHAT[kind]}"] = np.asarray(record[_FIELDS[kind]], dtype=float).ravel()
    for path in graded:
        seen.figures.update(_figures(path))
    return seen


def _figures(path: Path) -> dict[str, tuple[tuple[str, float], ...]]:
    out = {}
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:
        return {}
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        measured = cell.get("metadata", {}).get("medgrade", {}).get("measured")
        if gid and isinstance(measured, list):
            values = tuple((str(m.get("name")), round(float(m["value"]), 6)) for m in measured[:50]
                           if isinstance(m, dict) and isinstance(m.get("value"), (int, float)))
            if values:
                out[str(gid)] = values
    return out


def _agreement(a: np.ndarray, b: np.ndarray, kind: str) -> float:
    if kind.endswith("scores"):
        return float(np.mean(np.abs(a - b) <= SCORE_TOLERANCE))
    return float(np.mean(a == b))


class ClassEvidence:
    """Every student's clues, and how many of the class share each one."""

    def __init__(self, observed: dict[str, Observed]) -> None:
        self.observed = observed
        self.graded = sum(o.graded for o in observed.values())
        self.limit = rare_limit(len(observed))

    def _sharing(self, student: str, key: str) -> int:
        mine = self.observed[student].predictions[key]
        return sum(1 for o in self.observed.values()
                   if key in o.predictions and o.predictions[key].shape == mine.shape
                   and _agreement(o.predictions[key], mine, key) >= AGREE)

    def clues(self, a: str, b: str) -> list[Clue]:
        """What the grader saw that links ``a`` and ``b``, each with how common it is in the class."""
        oa, ob = self.observed[a], self.observed[b]
        out = []
        for key in sorted(oa.predictions.keys() & ob.predictions.keys()):
            pa, pb = oa.predictions[key], ob.predictions[key]
            if pa.shape != pb.shape or (agree := _agreement(pa, pb, key)) < AGREE:
                continue
            n = self._sharing(a, key)
            out.append(Clue("predictions", f"{key}: near-identical ({agree:.1%} of {pa.size} held-out items agree); "
                                           f"{n} of {self.graded} graded submissions agree this closely with {a}'s",
                            n <= self.limit))
        for gid in sorted(oa.figures.keys() & ob.figures.keys()):
            if oa.figures[gid] == ob.figures[gid]:
                n = sum(o.figures.get(gid) == oa.figures[gid] for o in self.observed.values())
                shown = ", ".join(f"{name} {value:g}" for name, value in oa.figures[gid][:3])
                out.append(Clue("figures", f"{gid}: the same measured figures ({shown}); {n} of {self.graded} "
                                           "graded submissions measured exactly these", n <= self.limit))
        for choice in sorted(oa.choices & ob.choices):
            n = sum(choice in o.choices for o in self.observed.values())
            out.append(Clue("choice", f"both wrote {choice}, which no code of the course uses; {n} of "
                                      f"{len(self.observed)} submissions do", n <= self.limit))
        return out


@dataclass(frozen=True)
class Flagged:
    match: PairMatch
    clues: tuple[Clue, ...]

    @property
    def rare(self) -> tuple[Clue, ...]:
        return tuple(c for c in self.clues if c.rare)

    @property
    def reason(self) -> str:
        return "code" if not self.rare else "code and rare clues"
