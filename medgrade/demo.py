"""The demo class: seven students of assignment 01, each deserving a different grade.

Submissions are built from the committed release, as a student's would be: solution cells are
filled from the source notebook, then each student's mistakes are applied as text edits to
named cells. The edits are real bugs students make, and each comes with the points it costs,
so the demo shows the expected and the measured grade side by side.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field

import nbformat

from medgrade.author.mutants import Edit, apply_edits, completed_notebook
from medgrade.course import Course

__all__ = ["DEMO_ASSIGNMENT", "DemoStudent", "DEMO_CLASS", "place_class"]

DEMO_ASSIGNMENT = "01_pytorch_basics"


@dataclass(frozen=True)
class DemoStudent:
    name: str
    story: str
    expected: float
    # grade_id of a solution cell -> (old, new) replacements in its completed source
    edits: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    blank: bool = False
    corrupt: bool = False
    renamed: bool = False


DEMO_CLASS: tuple[DemoStudent, ...] = (
    DemoStudent("ada", "correct throughout", 26),
    DemoStudent(
        "ben",
        "partly wrong: forgets the 1/n of the mean; transposes the confusion matrix",
        23,
        edits={
            "grad_f": (("return 6 * (x + 2) / x.numel()", "return 6 * (x + 2)"),),
            "evaluation": (("matrix[t, p] += 1", "matrix[p, t] += 1"),),
        },
    ),
    DemoStudent("cara", "blank: submitted the release untouched", 0, blank=True),
    DemoStudent(
        "dan",
        "crashing: a typo in make_loaders raises NameError, so nothing that needs data runs",
        15,
        edits={"make_loaders": (("transform=transform)", "transform=transfrom)"),)},
    ),
    DemoStudent(
        "eve",
        "training never ends: train() loops forever and ignores max_steps",
        19,
        edits={
            "train": (
                ("    for _ in range(epochs):\n", "    while True:\n"),
                ("            if max_steps is not None and len(losses) >= max_steps:\n"
                 "                return losses\n", ""),
            )
        },
    ),
    DemoStudent("finn", "the notebook file is not valid JSON (a truncated upload)", 0, corrupt=True),
    DemoStudent("gus", "submitted the notebook under another name", 0, renamed=True),
)


def place_class(course: Course, assignment: str = DEMO_ASSIGNMENT) -> list[DemoStudent]:
    """Write each demo student's submission under ``submitted/``, replacing earlier ones."""
    for student in DEMO_CLASS:
        folder = course.submitted / student.name / assignment
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for src in course.source_notebooks(assignment):
            dest = folder / (f"my_{src.name}" if student.renamed else src.name)
            if student.blank:
                shutil.copy2(course.release / assignment / src.name, dest)
                continue
            nb = completed_notebook(course, assignment, src.name)
            edits = tuple(Edit(cell, old, new) for cell, pairs in student.edits.items() for old, new in pairs)
            apply_edits(nb, edits, who=f"demo student {student.name}")
            text = nbformat.writes(nb)
            if student.corrupt:
                text = text[: len(text) // 2]
            dest.write_text(text, encoding="utf-8")
    return list(DEMO_CLASS)
