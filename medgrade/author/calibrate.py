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
from medgrade.author.alternatives import alternative_student, load_alternatives
from medgrade.author.columns import REFERENCE, full_points, must_fail, mutant_student, place_columns
from medgrade.author.mutants import load_mutants
from medgrade.author.records import (
    MIN_SEEDS,
    SCHEMA,
    figure_name,
    load_record,
    measured_device,
    record_name,
)
from medgrade.author.thresholds import allowed_passes, analyse, fmt, measured_for, record_problems
from medgrade.course import Course
from medgrade.data.calibration import calibration_root
from medgrade.data.root import present_root
from medgrade.errors import CourseError
from medgrade.grading.engine import grade_class
from medgrade.kit import DATASETS
from medgrade.profiles import Profile
from medgrade.results import SubmissionResult
from medgrade.runner.slots import plan_slots

__all__ = ["Calibration", "calibrate_assignment", "reanalyse"]

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
            # seed k grades on held-out splits of its own; seed 0's copy is shared with validate
            into = Path(tmp) / f"data-seed-{seed}" if seed else None
            data_root = calibration_root(present_root(), seed, into, DATASETS.get(assignment))
            results = grade_class(scratch, assignment, list(label), profile=profile, data_root=data_root,
                                  workers=len(slots), slots=slots, seed=seed, unconfined=unconfined)
            if into is not None:
                shutil.rmtree(into, ignore_errors=True)
            figures.add(results, seed)
            done, slowest = seed + 1, max(slowest, time.monotonic() - started)
            if progress:
                progress(seed + 1, seeds)
    if done < seeds:  # the deadline came first: keep the seeds graded
        figures.keep(done)
    record = _record(assignment, profile, mutants, alternatives, full, figures)
    target = course.reference / assignment
    target.mkdir(parents=True, exist_ok=True)
    path = target / record_name(profile.name)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return Calibration(record, path, _draw(record, target / figure_name(profile.name)))


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
    record = load_record(course, assignment, profile)
    if record is None:
        which, option = ("", "") if profile == "cpu" else (f"{profile} ", f" --profile {profile}")
        raise CourseError(f"no {which}calibration record for {assignment}: run medgrade calibrate {assignment}"
                          f"{option} --seeds {MIN_SEEDS}")
    allowed = allowed_passes(record["seeds"])
    for test in record["tests"].values():
        test["measurements"] = [analyse(m, test["must_fail"], allowed) for m in test["measurements"]]
    record["analysed"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    target = course.reference / assignment
    path = target / record_name(profile)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return Calibration(record, path, _draw(record, target / figure_name(profile)))


def _draw(record: dict[str, Any], path: Path) -> Path | None:
    """One panel per measurement: each seed's figure per submission, and the threshold."""
    panels = [(gid, m) for gid, t in record["tests"].items() for m in t["measurements"]]
    if not panels:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = 1 + len(record["mutants"]) + len(record.get("alternatives", {}))
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 1.2 + 0.35 * columns * len(panels)),
                             squeeze=False)
    for ax, (gid, m) in zip(axes[:, 0], panels, strict=True):
        correct = [(REFERENCE, m["reference"])] + sorted(m.get("alternatives", {}).items())
        rows = correct + sorted(m["mutants"].items())
        must_fail = record["tests"][gid]["must_fail"]
        for y, (name, vals) in enumerate(rows):
            xs = [v for v in vals if v is not None]
            colour = "tab:green" if y < len(correct) else "tab:red" if name in must_fail else "tab:gray"
            ax.scatter(xs, [y] * len(xs), s=12, alpha=0.7, color=colour)
        ax.axvline(m["threshold"], color="black", linestyle="--", linewidth=1, label="threshold")
        if m.get("recommended") is not None:
            ax.axvline(m["recommended"], color="tab:blue", linestyle=":", linewidth=1, label="recommended")
        ax.set_yticks(range(len(rows)), [n for n, _ in rows], fontsize=7)
        ax.set_title(f"{gid}: {m['name']} ({m['direction']} {m['threshold']:g})", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    axes[0, 0].legend(fontsize=7, loc="best")
    fig.suptitle(f"{record['assignment']}: {record['seeds']} seeds, {record['profile']} profile on "
                 f"{record['device']}\n"
                 "(green: reference and alternatives; red: mutants that must fail the test; "
                 "grey: mutants that need not)", fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
