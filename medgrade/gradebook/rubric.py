"""Rubrics of the answers a person grades: ``source/<a>/rubric.yaml``, never released.

One entry per manually graded answer cell (nbgrader's graded solution cell, usually a written
answer)::

    interpret_thresholds:               # grade_id of the answer cell
      evidence: [thresholds_evidence]   # cells whose outputs a TA sees beside the answer
      criteria:                         # their points add up to the cell's points
        - id: cites_own_figures
          points: 1
          description: quotes sensitivity and specificity at two thresholds from their own table
      comments:                         # reusable comments, picked in a grading sheet as #1, #2...
        - Quote your own numbers.

``medgrade validate`` refuses an assignment whose rubric does not match its answer cells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from medgrade.course import Course, read_yaml
from medgrade.errors import CourseError

__all__ = ["Criterion", "Question", "RUBRIC", "answer_cells", "load_rubric", "rubric_problems"]

RUBRIC = "rubric.yaml"


@dataclass(frozen=True)
class Criterion:
    id: str
    points: float
    description: str


@dataclass(frozen=True)
class Question:
    """One answer's rubric: what a TA checks, the comments they reuse, the cells they look at."""

    grade_id: str
    criteria: tuple[Criterion, ...]
    comments: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()

    @property
    def points(self) -> float:
        return sum(c.points for c in self.criteria)


def answer_cells(course: Course, assignment: str) -> dict[str, tuple[str, float]]:
    """grade_id -> (notebook name, points) of every answer a person grades, in notebook order."""
    out: dict[str, tuple[str, float]] = {}
    for src in course.source_notebooks(assignment):
        for cell in nbformat.read(src, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and meta.get("solution"):
                out[str(meta["grade_id"])] = (src.name, float(meta.get("points", 0)))
    return out


def _criterion(where: str, i: int, raw: Any) -> Criterion:
    if not isinstance(raw, dict) or not {"id", "points", "description"} <= set(raw):
        raise CourseError(f"{where}: criterion {i} needs 'id', 'points' and 'description'")
    points = raw["points"]
    if isinstance(points, bool) or not isinstance(points, int | float) or not math.isfinite(points) or points <= 0:
        raise CourseError(f"{where}: criterion {raw['id']!r} needs positive points, not {points!r}")
    return Criterion(str(raw["id"]), float(points), str(raw["description"]).strip())


def _question(path: Path, gid: str, raw: Any) -> Question:
    where = f"{path.parent.name}/{RUBRIC}: {gid}"
    if not isinstance(raw, dict) or not isinstance(raw.get("criteria"), list) or not raw["criteria"]:
        raise CourseError(f"{where} needs a non-empty 'criteria' list")
    criteria = tuple(_criterion(where, i, c) for i, c in enumerate(raw["criteria"], 1))
    ids = [c.id for c in criteria]
    if len(set(ids)) != len(ids):
        raise CourseError(f"{where}: criterion ids must be unique ({', '.join(ids)})")
    comments, evidence = raw.get("comments") or [], raw.get("evidence") or []
    if not isinstance(comments, list) or not isinstance(evidence, list):
        raise CourseError(f"{where}: 'comments' and 'evidence' are lists")
    return Question(gid, criteria, tuple(str(c).strip() for c in comments), tuple(str(e) for e in evidence))


def load_rubric(course: Course, assignment: str) -> dict[str, Question]:
    """The rubric of every answer of ``assignment`` (empty when it has no rubric file)."""
    path = course.source / assignment / RUBRIC
    if not path.is_file():
        return {}
    raw = read_yaml(path, f"{assignment}/{RUBRIC}")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise CourseError(f"{assignment}/{RUBRIC}: maps each answer cell's grade_id to its rubric")
    return {str(gid): _question(path, str(gid), q) for gid, q in raw.items()}


def rubric_problems(course: Course, assignment: str) -> list[str]:
    """Where the rubric and the answer cells disagree: a missing rubric, points, unknown cells."""
    answers = answer_cells(course, assignment)
    try:
        rubric = load_rubric(course, assignment)
    except CourseError as e:
        return [str(e)]
    known = {str(c.metadata["nbgrader"]["grade_id"]) for src in course.source_notebooks(assignment)
             for c in nbformat.read(src, as_version=4).cells if c.metadata.get("nbgrader", {}).get("grade_id")}
    where = f"{assignment}/{RUBRIC}"
    problems = [f"{where}: answer {gid} ({nb}, {pts:g} points) has no rubric; add its criteria"
                for gid, (nb, pts) in answers.items() if gid not in rubric]
    for gid, q in rubric.items():
        if gid not in answers:
            problems.append(f"{where}: {gid} is not a manually graded answer cell (answers: "
                            f"{', '.join(answers) or 'none'})")
            continue
        if not math.isclose(q.points, answers[gid][1]):
            problems.append(f"{where}: {gid}'s criteria add up to {q.points:g} points, its cell is worth "
                            f"{answers[gid][1]:g}")
        problems.extend(f"{where}: {gid}'s evidence {e} is no cell of the notebook" for e in q.evidence
                        if e not in known)
    return problems
