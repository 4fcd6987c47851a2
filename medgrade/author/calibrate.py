"""``medgrade calibrate``: show that each threshold holds across seeds, for the correct solutions and the mutants.

The reference solution, every alternative (a correct solution in another style) and every mutant
are graded by the same engine as students, once per seed (``MEDGRADE_SEED``, read in hidden tests
with ``grading_seed()``). After each test cell the grader keeps what every threshold check measured
(:mod:`medgrade.checks.measure`); this module gathers those figures into
``reference_solutions/A/calibration.json`` and a PNG of each measurement's spread against its
threshold, and judges them:

Seed ``k`` also draws its own held-out data (:func:`medgrade.data.calibration.calibration_root`): a
threshold judged on held-out answers must hold across held-out samples, not only across training
runs, since every course's held-out split is drawn with its own secret key.

- the reference and every alternative must pass every test in every seed;
- a mutant must fail each test its YAML says it fails, passing it in at most one seed in 20;
- a threshold *separates* when every mutant it catches (one whose figure fell below it in some
  seed) stays below the worst seed of any correct solution (the reference or an alternative),
  its one-in-20 best seeds set aside (the outliers the rule above allows). The recommended
  threshold is halfway between the closest such mutant and that worst correct seed; with no
  mutant to separate, below the worst correct seed by the reference's spread across seeds or 5%,
  whichever is larger (for a positive figure, no lower than half the worst seed).

``medgrade validate`` (run in ``make test``) compares each threshold of a hidden test with the
committed record and names the figures when a change no longer separates.

A new or changed mutant or alternative need not cost a full run: :func:`add_columns` grades only
those columns at the record's seeds and merges their figures into it, once the reference graded
again at seed 0 shows the record still describes the assignment.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from medgrade import __version__
from medgrade.author.alternatives import Alternative, alternative_student, load_alternatives
from medgrade.author.columns import REFERENCE, full_points, must_fail, mutant_student, place_columns
from medgrade.author.figure import draw_record
from medgrade.author.mutants import Mutant, load_mutants
from medgrade.author.records import (
    SCHEMA,
    figure_name,
    load_record,
    measured_device,
    record_name,
)
from medgrade.author.thresholds import (
    allowed_passes,
    analyse,
    drift_problems,
    fmt,
    measured_for,
    record_problems,
    rerun_command,
)
from medgrade.coordinator.engine import grade_class
from medgrade.course import Course
from medgrade.data.calibration import calibration_root
from medgrade.data.root import present_root
from medgrade.errors import CourseError
from medgrade.kit import DATASETS
from medgrade.profiles import Profile
from medgrade.results import SubmissionResult
from medgrade.runner.slots import plan_slots

__all__ = ["Calibration", "calibrate_assignment", "add_columns", "reanalyse"]

_PACKAGES = ("torch", "torchvision", "numpy", "scikit-learn", "monai", "medmnist", "pyradiomics")


@dataclass(frozen=True)
class Calibration:
    record: dict[str, Any]
    path: Path
    figure: Path | None

    @property
    def problems(self) -> list[str]:
        return record_problems(self.record)

    def table(self) -> str:
        r = self.record
        lines = [f"{r['assignment']} ({r['profile']} profile on {r['device']}, {r['seeds']} seeds)"]
        for gid, t in r["tests"].items():
            rates = ", ".join(f"{c} {sum(p)}/{len(p)}" for c, p in t["passed"].items())
            lines.append(f"  {gid}: passes {rates}")
            for m in t["measurements"]:
                sep = "separates" if m["separates"] else "DOES NOT SEPARATE"
                alts = f"; alternatives' worst {fmt(m['alternatives_worst'])}" if m.get("alternatives") else ""
                lines.append(f"    {m['name']}: threshold {m['direction']} {m['threshold']:g}; reference "
                             f"{fmt(m['reference_worst'])}..{fmt(m['reference_best'])}{alts} (margin "
                             f"{fmt(m['margin'])}); closest caught mutant {fmt(m['closest_mutant'])}; "
                             f"recommended {fmt(m['recommended'])}; {sep}")
        lines.extend(f"  problem: {p}" for p in self.problems)
        lines.append(f"  wrote {self.path}" + (f" and {self.figure}" if self.figure else ""))
        return "\n".join(lines)


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "medgrade": __version__}
    for pkg in _PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


@dataclass
class _Figures:
    """What calibration gathers per seed: each column's pass or fail per test, each measurement's figures."""

    label: dict[str, str]  # student column -> reference, mutant or alternative name
    alternatives: set[str]  # the names that are alternatives (the rest but the reference are mutants)
    seeds: int
    passed: dict[str, dict[str, list[bool]]]
    values: dict[str, dict[str, dict[str, Any]]]

    def _slot(self, gid: str, m: dict[str, Any]) -> dict[str, Any]:
        others = [name for name in self.label.values() if name != REFERENCE]
        return self.values[gid].setdefault(m["name"], {
            "name": m["name"], "check": m["check"], "threshold": m["threshold"], "direction": m["direction"],
            "reference": [None] * self.seeds,
            "alternatives": {name: [None] * self.seeds for name in others if name in self.alternatives},
            "mutants": {name: [None] * self.seeds for name in others if name not in self.alternatives}})

    def add(self, results: list[SubmissionResult], seed: int) -> None:
        for r in results:
            col = self.label[r.student]
            for t in r.tests:
                self.passed[t.grade_id][col].append(t.status == "passed")
            for gid, logged in measured_for(r).items():
                for m in logged:
                    slot = self._slot(gid, m)
                    series = (slot["reference"] if col == REFERENCE else
                              slot["alternatives"][col] if col in self.alternatives else slot["mutants"][col])
                    series[seed] = m["value"]  # the last comparison of that name in the cell

    def keep(self, seeds: int) -> None:
        """Only the first ``seeds`` seeds (a deadline stopped the run)."""
        self.seeds = seeds
        for by_name in self.values.values():
            for m in by_name.values():
                m["reference"] = m["reference"][:seeds]
                for kind in ("alternatives", "mutants"):
                    m[kind] = {name: vals[:seeds] for name, vals in m[kind].items()}


def calibrate_assignment(
    course: Course, assignment: str, *, seeds: int, profile: Profile, workers: int | None = None,
    progress: Callable[[int, int], None] | None = None, unconfined: bool = False, slots_per_gpu: int = 1,
    deadline: float | None = None,
) -> Calibration:
    """Grade the reference and every mutant at seeds 0..``seeds``-1; write the record and figure.

    With ``deadline`` (a :func:`time.monotonic` time), stop after the last seed that ends before
    it, judging the slowest seed so far: the record then holds the seeds that fit.
    """
    course.require(assignment)
    if seeds < 1:
        raise CourseError("calibration needs at least one seed")
    mutants, alternatives = load_mutants(course, assignment), load_alternatives(course, assignment)
    label = {REFERENCE: REFERENCE, **{mutant_student(m.name): m.name for m in mutants},
             **{alternative_student(a.name): a.name for a in alternatives}}
    full = full_points(course, assignment)
    figures = _Figures(label, {a.name for a in alternatives}, seeds,
                       {gid: {name: [] for name in label.values()} for gid in full}, {gid: {} for gid in full})
    slots = plan_slots(profile, workers=workers, slots_per_gpu=slots_per_gpu)
    with tempfile.TemporaryDirectory(prefix=f"medgrade-calibrate-{assignment}-") as tmp:
        scratch = place_columns(course, assignment, Path(tmp), mutants, alternatives, blank=False)
        slowest, done = 0.0, 0
        for seed in range(seeds):
            if deadline is not None and done and time.monotonic() + slowest > deadline:
                break
            started = time.monotonic()
            results = _grade_seed(scratch, assignment, list(label), seed, Path(tmp), profile, slots, unconfined)
            figures.add(results, seed)
            done, slowest = seed + 1, max(slowest, time.monotonic() - started)
            if progress:
                progress(seed + 1, seeds)
    if done < seeds:  # the deadline came first: keep the seeds graded
        figures.keep(done)
    return _write(course, assignment, profile.name, _record(assignment, profile, mutants, alternatives, full, figures))


def _grade_seed(scratch: Course, assignment: str, students: list[str], seed: int, tmp: Path, profile: Profile,
                slots: list[Any], unconfined: bool) -> list[SubmissionResult]:
    """Grade ``students`` of the scratch course at ``seed``, on held-out splits drawn for that seed."""
    # seed k grades on held-out splits of its own; seed 0's copy is shared with validate
    into = tmp / f"data-seed-{seed}" if seed else None
    data_root = calibration_root(present_root(), seed, into, DATASETS.get(assignment))
    try:
        return grade_class(scratch, assignment, students, profile=profile, data_root=data_root,
                           workers=len(slots), slots=slots, seed=seed, unconfined=unconfined)
    finally:
        if into is not None:
            shutil.rmtree(into, ignore_errors=True)


def _write(course: Course, assignment: str, profile: str, record: dict[str, Any]) -> Calibration:
    target = course.reference / assignment
    target.mkdir(parents=True, exist_ok=True)
    path = target / record_name(profile)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return Calibration(record, path, draw_record(record, target / figure_name(profile)))


def add_columns(
    course: Course, assignment: str, names: list[str], *, profile: Profile, workers: int | None = None,
    progress: Callable[[int, int], None] | None = None, unconfined: bool = False, slots_per_gpu: int = 1,
) -> Calibration:
    """Grade only the mutants and alternatives ``names`` at the committed record's seeds; merge them in.

    For a mutant or alternative written (or changed) after the record: the rest of the record must
    still describe the assignment. Its tests, its other mutants and alternatives, what they must
    fail and the library versions must be as they were, and the reference, graded again at the
    record's first seed, must pass and fail as recorded with every figure within ``DRIFT`` of the
    recorded one. Otherwise nothing is written and the error names the full run to make.
    """
    course.require(assignment)
    record = _committed(course, assignment, profile.name)
    mutants, alternatives = load_mutants(course, assignment), load_alternatives(course, assignment)
    added_m, added_a = [m for m in mutants if m.name in names], [a for a in alternatives if a.name in names]
    unknown = sorted(set(names) - {m.name for m in added_m} - {a.name for a in added_a})
    if unknown:
        raise CourseError(f"{assignment} has no mutant or alternative named {', '.join(unknown)}: a name is a "
                          f"YAML file's in source/{assignment}/mutants/ or source/{assignment}/alternatives/")
    full = full_points(course, assignment)
    _require_current(record, full, mutants, alternatives, set(names))
    label = {**{mutant_student(m.name): m.name for m in added_m},
             **{alternative_student(a.name): a.name for a in added_a}}
    seeds = record["seeds"]
    figures = _Figures(label, {a.name for a in added_a}, seeds,
                       {gid: {name: [] for name in label.values()} for gid in full}, {gid: {} for gid in full})
    slots = plan_slots(profile, workers=workers, slots_per_gpu=slots_per_gpu)
    with tempfile.TemporaryDirectory(prefix=f"medgrade-calibrate-{assignment}-") as tmp:
        scratch = place_columns(course, assignment, Path(tmp), added_m, added_a, blank=False)
        for index, seed in enumerate(record["seed_list"]):
            witness = [REFERENCE] if index == 0 else []  # the reference again, once: does the record still hold?
            results = _grade_seed(scratch, assignment, list(label) + witness, seed, Path(tmp), profile, slots,
                                  unconfined)
            if witness:
                _require_reproduced(record, [r for r in results if r.student == REFERENCE], seed)
            figures.add([r for r in results if r.student != REFERENCE], index)
            if progress:
                progress(index + 1, seeds)
    _merge(record, figures, added_m, added_a, must_fail(mutants, full))
    record.setdefault("added", []).append(
        {"columns": sorted(names), "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")})
    return _write(course, assignment, profile.name, record)


def _committed(course: Course, assignment: str, profile: str) -> dict[str, Any]:
    record = load_record(course, assignment, profile)
    if record is None:
        which = "" if profile == "cpu" else f"{profile} "
        raise CourseError(f"no {which}calibration record for {assignment}: run "
                          f"{rerun_command({'assignment': assignment, 'profile': profile})}")
    return record


def _full_run(record: dict[str, Any]) -> str:
    return f"calibrate every column again: {rerun_command(record)}"


def _require_current(record: dict[str, Any], full: dict[str, float], mutants: list[Mutant],
                     alternatives: list[Alternative],
                     names: set[str]) -> None:
    """Refuse to extend a record that no longer describes the assignment apart from the columns ``names``."""
    why = []
    if set(full) != set(record["tests"]):
        why.append(f"its graded tests were {sorted(record['tests'])}, now {sorted(full)}")
    for what, now, then in [("mutants", {m.name for m in mutants}, set(record["mutants"])),
                            ("alternatives", {a.name for a in alternatives}, set(record.get("alternatives", {})))]:
        if now - names != then - names:
            why.append(f"its {what} were {sorted(then - names) or 'none'} besides the columns added, "
                       f"now {sorted(now - names) or 'none'}")
    for gid, expected in must_fail(mutants, full).items():
        then = record["tests"].get(gid, {}).get("must_fail", [])
        if gid in record["tests"] and set(expected) - names != set(then) - names:
            why.append(f"{gid}: the mutants that must fail it were {sorted(then) or 'none'}, now {expected or 'none'}")
    now_versions = _versions()
    moved = sorted(k for k in set(now_versions) | set(record["versions"])
                   if k != "medgrade" and now_versions.get(k) != record["versions"].get(k))
    if moved:
        why.append("its libraries changed: " + ", ".join(
            f"{k} {record['versions'].get(k, 'absent')} -> {now_versions.get(k, 'absent')}" for k in moved))
    if why:
        raise CourseError(f"the {record['profile']} calibration record of {record['assignment']} cannot be extended: "
                          + "; ".join(why) + f"; {_full_run(record)}")


def _require_reproduced(record: dict[str, Any], results: list[SubmissionResult], seed: int) -> None:
    """The reference graded again at the record's first seed must pass, fail and measure as recorded."""
    why = []
    for r in results:
        for t in r.tests:
            recorded = record["tests"].get(t.grade_id, {}).get("passed", {}).get(REFERENCE, [None])[0]
            if recorded is not None and recorded != (t.status == "passed"):
                now = "passes it now" if t.status == "passed" else f"fails it now ({t.message})"
                why.append(f"{t.grade_id}: the reference {now}, {'passed' if recorded else 'failed'} in the record")
        for gid, logged in measured_for(r).items():
            known = {m["name"]: m for m in record["tests"].get(gid, {}).get("measurements", [])}
            why += [f"{gid}: {m['name']!r} threshold is now {m['threshold']:g}, calibrated at "
                    f"{known[m['name']]['threshold']:g}" for m in logged
                    if m["name"] in known and m["threshold"] != known[m["name"]]["threshold"]]
            why += [p for m in logged for p in drift_problems(record, gid, m, advise=False)]
    if why:
        raise CourseError(f"the reference graded again at seed {seed} does not match the {record['profile']} "
                          f"calibration record of {record['assignment']}: " + "; ".join(why) + f"; {_full_run(record)}")


def _merge(record: dict[str, Any], figures: _Figures, mutants: list[Mutant], alternatives: list[Alternative],
           failing: dict[str, list[str]]) -> None:
    """Put the new columns' pass rates and figures into ``record`` (replacing theirs) and judge it again."""
    for m in mutants:
        record.get("alternatives", {}).pop(m.name, None)
        record["mutants"][m.name] = m.bug
    for a in alternatives:
        record["mutants"].pop(a.name, None)
        record.setdefault("alternatives", {})[a.name] = a.style
    names, allowed = set(figures.label.values()), allowed_passes(record["seeds"])
    for gid, test in record["tests"].items():
        test["must_fail"] = failing[gid]
        test["passed"].update(figures.passed[gid])
        new = figures.values[gid]
        unknown = sorted(set(new) - {m["name"] for m in test["measurements"]})
        if unknown:
            raise CourseError(f"{gid}: the columns added measure {unknown}, which the record of "
                              f"{record['assignment']} does not hold; {_full_run(record)}")
        for m in test["measurements"]:
            kinds = {"mutants": m["mutants"], "alternatives": m.setdefault("alternatives", {})}
            for name in names:
                for series in kinds.values():
                    series.pop(name, None)
                kind = "alternatives" if name in figures.alternatives else "mutants"
                measured = new.get(m["name"], {}).get(kind, {}).get(name)
                kinds[kind][name] = measured if measured is not None else [None] * record["seeds"]
        test["measurements"] = [analyse(m, test["must_fail"], allowed) for m in test["measurements"]]


def _record(assignment: str, profile: Profile, mutants: list[Any], alternatives: list[Any], full: dict[str, float],
            figures: _Figures) -> dict[str, Any]:
    seeds, failing = figures.seeds, must_fail(mutants, full)
    return {
        "schema": SCHEMA, "assignment": assignment, "profile": profile.name, "device": measured_device(profile),
        "seeds": seeds, "seed_list": list(range(seeds)), "machine": f"{platform.machine()}, {platform.system()}",
        "versions": _versions(), "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "mutants": {m.name: m.bug for m in mutants}, "alternatives": {a.name: a.style for a in alternatives},
        "tests": {gid: {"points": full[gid], "must_fail": failing[gid], "passed": figures.passed[gid],
                        "measurements": [analyse(m, failing[gid], allowed_passes(seeds))
                                         for m in figures.values[gid].values()]} for gid in full},
    }


def reanalyse(course: Course, assignment: str, profile: str = "cpu") -> Calibration:
    """Re-derive the committed record's summaries and figure from its measured figures, grading nothing.

    For when the analysis changes (how a threshold is judged to catch a mutant, the advice), not
    the assignment: stale tests or mutants still need a new calibration run.
    """
    record = _committed(course, assignment, profile)
    allowed = allowed_passes(record["seeds"])
    for test in record["tests"].values():
        test["measurements"] = [analyse(m, test["must_fail"], allowed) for m in test["measurements"]]
    record["analysed"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    target = course.reference / assignment
    path = target / record_name(profile)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return Calibration(record, path, draw_record(record, target / figure_name(profile)))
