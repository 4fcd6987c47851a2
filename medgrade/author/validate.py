"""``medgrade validate``: prove an assignment's autograder fair before students see it.

Graded by the same engine and profile as students, in a scratch course: the reference solution
(the source notebook) must score full marks, the blank release zero, every mutant in
``source/A/mutants/`` exactly the points its YAML file expects, and every alternative in
``source/A/alternatives/`` (a correct solution in another style) full marks. A table shows every test.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from medgrade.author.alternatives import Alternative, alternative_student, load_alternatives
from medgrade.author.columns import BLANK, REFERENCE, full_points, mutant_student, place_columns
from medgrade.author.mutants import Mutant, load_mutants
from medgrade.author.records import load_record, provisional_note, record_name
from medgrade.author.thresholds import (
    drift_problems,
    measured_for,
    record_problems,
    stale_problems,
    threshold_problems,
)
from medgrade.coordinator.engine import grade_class
from medgrade.course import Course
from medgrade.data.calibration import calibration_root
from medgrade.data.root import present_root
from medgrade.gradebook.rubric import rubric_problems
from medgrade.intake.cells import grade_cells
from medgrade.profiles import Profile
from medgrade.results import SubmissionResult
from medgrade.runner.slots import plan_slots

__all__ = ["Column", "ValidationRow", "ValidationReport", "validate_assignment", "calibration_problems"]

@dataclass(frozen=True)
class Column:
    """One graded submission of the validation: its label, student id and expected points."""

    label: str
    student: str
    expected: dict[str, float]
    description: str = ""


@dataclass(frozen=True)
class ValidationRow:
    grade_id: str
    max_points: float
    observed: dict[str, float]
    expected: dict[str, float]
    messages: dict[str, str] = field(default_factory=dict)

    def mismatches(self) -> list[str]:
        return [c for c in self.expected if self.observed.get(c) != self.expected[c]]

    @property
    def ok(self) -> bool:
        return not self.mismatches()


@dataclass(frozen=True)
class ValidationReport:
    assignment: str
    profile: str
    columns: tuple[Column, ...]
    rows: tuple[ValidationRow, ...]
    problems: tuple[str, ...]
    notes: tuple[str, ...] = ()  # shown, never failing: a profile's thresholds still provisional

    @property
    def ok(self) -> bool:
        return not self.problems and all(r.ok for r in self.rows)

    def table(self) -> str:
        labels = [c.label for c in self.columns]
        width = max(6, *(len(x) for x in labels))
        lines = [f"{self.assignment} ({self.profile} profile)",
                 f"  {'test':<28} {'max':>5} " + " ".join(f"{x:>{width}}" for x in labels) + "  verdict"]
        for r in self.rows:
            cells = " ".join(
                f"{r.observed.get(c, float('nan')):>{width - 1}g}{'!' if c in r.mismatches() else ' '}"
                for c in labels
            )
            lines.append(f"  {r.grade_id:<28} {r.max_points:>5g} {cells}  {'ok' if r.ok else 'MISMATCH'}")
        for r in self.rows:
            for c in r.mismatches():
                got, want = r.observed.get(c), r.expected[c]
                line = f"  {c}: {r.grade_id} scored {got:g}, expected {want:g}"
                if c == BLANK and got:
                    line += " (the test passes without any work)"
                elif r.messages.get(c):
                    line += f": {r.messages[c].splitlines()[0]}"
                lines.append(line)
        described = [c for c in self.columns if c.description]
        if described:
            lines.append("  mutants and alternatives:")
            lines.extend(f"    {c.label}: {c.description}" for c in described)
        lines.extend(f"  note: {n}" for n in self.notes)
        lines.extend(f"  problem: {p}" for p in self.problems)
        return "\n".join(lines)


def _columns(course: Course, assignment: str, mutants: list[Mutant], alternatives: list[Alternative]) -> list[Column]:
    full = full_points(course, assignment)
    columns = [Column(REFERENCE, REFERENCE, dict(full)), Column(BLANK, BLANK, dict.fromkeys(full, 0.0))]
    for m in mutants:
        columns.append(Column(m.name, mutant_student(m.name), {**full, **m.expected}, m.bug))
    for a in alternatives:
        columns.append(Column(a.name, alternative_student(a.name), dict(full), f"(correct, another style) {a.style}"))
    return columns


def calibration_problems(course: Course, assignment: str, reference: SubmissionResult, profile: Profile) -> list[str]:
    """The committed calibration record against the thresholds ``reference`` (its grade) just met."""
    record = load_record(course, assignment, profile.name)
    if record is None:
        return []
    name = record_name(profile.name)
    if record.get("profile") != profile.name:
        return [f"{name}: records the {record.get('profile')!r} profile, not {profile.name!r}; rerun: medgrade "
                f"calibrate {assignment} --profile {profile.name}"]
    problems = [f"{name}: {p}" for p in record_problems(record) + stale_problems(course, assignment, record)]
    for gid, logged in measured_for(reference).items():
        for m in logged:
            problems.extend(threshold_problems(record, gid, m) or drift_problems(record, gid, m))
    return problems


def validate_assignment(
    course: Course, assignment: str, *, profile: Profile, workers: int | None = None, unconfined: bool = False,
    slots_per_gpu: int = 1,
) -> ValidationReport:
    """Grade reference, blank release, mutants and alternatives in a scratch course; compare per test."""
    course.require(assignment)
    mutants, alternatives = load_mutants(course, assignment), load_alternatives(course, assignment)
    columns = _columns(course, assignment, mutants, alternatives)
    slots = plan_slots(profile, workers=workers, slots_per_gpu=slots_per_gpu)  # CPU: one per core by default
    with tempfile.TemporaryDirectory(prefix=f"medgrade-validate-{assignment}-") as tmp:
        scratch = place_columns(course, assignment, Path(tmp), mutants, alternatives)
        # The same engine and profile as students get; the data of calibration's seed 0 (held-out
        # splits drawn with its public key), so that seed 0 is measured on what the record measured.
        results = grade_class(scratch, assignment, [c.student for c in columns], profile=profile,
                              data_root=calibration_root(present_root(), 0), workers=len(slots), slots=slots,
                              unconfined=unconfined)
        problems = [f"{r.student}: {r.message}" for r in results if r.outcome == "error"]
        problems += rubric_problems(course, assignment)
        problems += calibration_problems(course, assignment, next(r for r in results if r.student == REFERENCE),
                                         profile)
    note = provisional_note(course, assignment, profile)
    by_student = {r.student: r for r in results}
    rows = []
    for i, (gid, points) in enumerate(
        (gid, pts) for src in course.source_notebooks(assignment) for gid, pts in grade_cells(src)
    ):
        observed, messages = {}, {}
        for c in columns:
            test = by_student[c.student].tests[i]
            observed[c.label], messages[c.label] = test.points, test.message
        rows.append(ValidationRow(gid, points, observed, {c.label: c.expected[gid] for c in columns}, messages))
    return ValidationReport(assignment, profile.name, tuple(columns), tuple(rows), tuple(problems),
                            (note,) if note else ())
