"""Alternatives: correct solutions written in another style, which must keep every point.

Mutants prove the hidden tests catch real bugs; alternatives prove they do not punish a correct
answer the reference happens not to use (``nn.Sequential`` instead of attributes,
``torch.autograd.grad`` instead of ``.backward()``, vectorised instead of loops). One lives in
``source/<a>/alternatives/<name>.yaml``::

    style: the network as nn.Sequential; class weights from np.bincount
    cells:                      # grade_id of a solution cell -> that cell's whole source
      small_cnn: |
        def make_model():
            return nn.Sequential(...)

Each named solution cell is replaced in full (as a student would leave it, no solution
markers); the others keep the reference's solution. ``validate`` requires full marks of it, and
``calibrate`` grades it in every seed beside the reference, so that no threshold is set where a
correct alternative could fall below it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from medgrade.author.mutants import load_mutants, solution_and_test_ids
from medgrade.course import Course, read_yaml
from medgrade.errors import CourseError

__all__ = ["Alternative", "load_alternatives", "alternative_student"]


@dataclass(frozen=True)
class Alternative:
    name: str
    style: str
    cells: dict[str, str]


def alternative_student(name: str) -> str:
    """The student id an alternative is graded under in a scratch course."""
    return f"alternative-{name}"


def _parse(path: Path) -> Alternative:
    where = f"{path.parent.parent.name}/alternatives/{path.name}"
    raw = read_yaml(path, where)
    cells = raw.get("cells") if isinstance(raw, dict) else None
    if not isinstance(raw, dict) or not isinstance(raw.get("style"), str) or not isinstance(cells, dict) or not cells:
        raise CourseError(f"{where}: needs a 'style' sentence and 'cells', a map from solution cell grade ids "
                          "to each cell's whole source")
    bad = sorted(str(k) for k, v in cells.items() if not isinstance(v, str) or not v.strip())
    if bad:
        raise CourseError(f"{where}: cell {', '.join(bad)} has no source (give the cell's whole code as text)")
    return Alternative(path.stem, raw["style"].strip(), {str(k): v for k, v in cells.items()})


def load_alternatives(course: Course, assignment: str) -> list[Alternative]:
    """Every alternative of ``assignment``, checked against its solution cells and mutant names."""
    folder = course.source / assignment / "alternatives"
    alternatives = [_parse(p) for p in sorted(folder.glob("*.yaml"))] if folder.is_dir() else []
    solutions, _ = solution_and_test_ids(course, assignment)
    mutants = {m.name for m in load_mutants(course, assignment)}
    for alt in alternatives:
        where = f"{assignment}/alternatives/{alt.name}.yaml"
        unknown = sorted(set(alt.cells) - solutions)
        if unknown:
            raise CourseError(f"{where} names no solution cell {', '.join(unknown)} "
                              f"(solution cells: {', '.join(sorted(solutions))})")
        if alt.name in mutants or alt.name in ("reference", "blank-release"):
            raise CourseError(f"{where}: the name {alt.name!r} is taken by a mutant or column of its own; "
                              "rename the file")
    return alternatives
