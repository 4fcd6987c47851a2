"""``medgrade calibrate``: show that each threshold holds across seeds, for the reference and the mutants.

The reference solution and every mutant are graded by the same engine as students, once per
seed (``MEDGRADE_SEED``, read in hidden tests with ``grading_seed()``). After each test cell the
grader keeps what every threshold check measured (:mod:`medgrade.checks.measure`); this module
gathers those figures into ``reference_solutions/A/calibration.json`` and a PNG of each
measurement's spread against its threshold, and judges them:

Seed ``k`` also draws its own held-out data (:func:`medgrade.data.heldout.calibration_root`): a
threshold judged on held-out answers must hold across held-out samples, not only across training
runs, since every course's held-out split is drawn with its own secret key.

- the reference must pass every test in every seed;
- a mutant must fail each test its YAML says it fails, passing it in at most one seed in 20;
- a threshold *separates* when every mutant it catches (one whose figure fell below it in some
  seed) stays below the reference's worst seed, its one-in-20 best seeds set aside (the
  outliers the rule above allows). The recommended threshold is halfway between the closest
  such mutant and the reference's worst seed; with no mutant to separate, below the
  reference's worst seed by its spread across seeds or 5%, whichever is larger (for a
  positive figure, no lower than half the worst seed).

``medgrade validate`` (run in ``make test``) compares each threshold of a hidden test with the
committed record and names the figures when a change no longer separates.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import nbformat

from medgrade import __version__
from medgrade.author.mutants import load_mutants
from medgrade.author.records import (
    FIGURE,
    MIN_SEEDS,
    RECORD,
    SCHEMA,
    figure_name,
    load_record,
    measured_device,
    provisional_note,
    record_name,
)
from medgrade.author.validate import REFERENCE, full_points, must_fail, mutant_student, place_columns
from medgrade.course import Course
from medgrade.data.heldout import calibration_root, drop_calibration_root
from medgrade.data.root import present_root
from medgrade.errors import CourseError
from medgrade.grading.engine import grade_class
from medgrade.profiles import Profile
from medgrade.runner.slots import plan_slots

__all__ = ["SCHEMA", "RECORD", "FIGURE", "calibrate_assignment", "reanalyse", "load_record", "threshold_problems",
           "drift_problems", "record_name", "figure_name", "measured_device", "provisional_note",
           "record_problems", "stale_problems", "measured_for", "allowed_passes", "MIN_SEEDS"]

_PACKAGES = ("torch", "torchvision", "numpy", "scikit-learn", "monai", "medmnist", "pyradiomics")


def allowed_passes(seeds: int) -> int:
    """How many seeds a mutant may pass a test it must fail: one in 20."""
    return seeds // 20


def measured_for(course: Course, assignment: str, student: str) -> dict[str, list[dict[str, Any]]]:
    """grade_id -> the threshold comparisons its test cell logged, from the student's autograded notebooks."""
    out: dict[str, list[dict[str, Any]]] = {}
    for src in course.source_notebooks(assignment):
        path = course.autograded / student / assignment / src.name
        if not path.is_file():
            continue
        for cell in nbformat.read(path, as_version=4).cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            measured = cell.metadata.get("medgrade", {}).get("measured")
            if gid and measured:
                out[gid] = list(measured)
    return out


def _passes(value: float | None, threshold: float, direction: str) -> bool:
    if value is None:
        return False
    return value >= threshold if direction == ">=" else value <= threshold


def _fmt(v: float | None) -> str:
    return "none" if v is None else f"{v:.3f}"


def _closest(vals: list[float | None], up: bool, allowed: int) -> float | None:
    """A mutant's best seed once its ``allowed`` best seeds (the one-in-20 outliers) are set aside."""
    ranked = sorted((v for v in vals if v is not None), reverse=up)
    return ranked[allowed] if len(ranked) > allowed else None


def _caught(vals: list[float | None], m: dict[str, Any]) -> bool:
    """Whether this threshold is what catches a mutant: it fails it in most seeds it was measured in.

    A mutant another check of the test catches may dip below this threshold in a seed or two (a
    missing zero_grad() fails on specificity, and once in 20 seeds on sensitivity too); that
    does not make this threshold responsible for separating it.
    """
    measured = [v for v in vals if v is not None]
    return 2 * sum(not _passes(v, m["threshold"], m["direction"]) for v in measured) > len(measured)


def _analyse(m: dict[str, Any], must_fail: list[str], allowed: int) -> dict[str, Any]:
    """Fill a measurement's summary: the reference's range, margin, recommendation, separation."""
    up = m["direction"] == ">="
    worst, best = (min, max) if up else (max, min)
    ref = [v for v in m["reference"] if v is not None]
    caught = {name: vals for name, vals in m["mutants"].items() if name in must_fail and _caught(vals, m)}
    m["reference_worst"] = worst(ref) if ref else None
    m["reference_best"] = best(ref) if ref else None
    m["caught"] = sorted(caught)
    closest = best((c for vals in caught.values() if (c := _closest(vals, up, allowed)) is not None), default=None)
    m["closest_mutant"] = closest
    if not ref:
        m.update(margin=None, recommended=None, separates=False)
        return m
    r_worst = m["reference_worst"]
    m["margin"] = (r_worst - m["threshold"]) if up else (m["threshold"] - r_worst)
    if closest is None:
        room = max(abs(m["reference_best"] - r_worst), 0.05 * abs(r_worst)) or 0.01
        if up and r_worst > 0:  # a positive figure (a drop, an accuracy): never advise less than half of it
            room = min(room, r_worst / 2)
        m["recommended"] = r_worst - room if up else r_worst + room
        m["separates"] = True
    else:
        m["recommended"] = (r_worst + closest) / 2
        m["separates"] = (closest < r_worst) if up else (closest > r_worst)
    return m


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
                lines.append(f"    {m['name']}: threshold {m['direction']} {m['threshold']:g}; reference "
                             f"{_fmt(m['reference_worst'])}..{_fmt(m['reference_best'])} (margin "
                             f"{_fmt(m['margin'])}); closest caught mutant {_fmt(m['closest_mutant'])}; "
                             f"recommended {_fmt(m['recommended'])}; {sep}")
        lines.extend(f"  problem: {p}" for p in self.problems)
        lines.append(f"  wrote {self.path}" + (f" and {self.figure}" if self.figure else ""))
        return "\n".join(lines)


def record_problems(record: dict[str, Any]) -> list[str]:
    """What makes a calibration record unfair: reference failures, mutants passing, no separation."""
    problems = []
    seeds = record["seeds"]
    for gid, t in record["tests"].items():
        ref = t["passed"].get(REFERENCE, [])
        failed = [s for s, ok in zip(record["seed_list"], ref, strict=True) if not ok]
        if failed:
            problems.append(f"{gid}: the reference failed in {len(failed)} of {seeds} seeds (seeds {failed})")
        for name in t["must_fail"]:
            n = sum(t["passed"].get(name, []))
            if n > allowed_passes(seeds):
                problems.append(f"{gid}: mutant {name} passed in {n} of {seeds} seeds; it must fail "
                                f"(at most {allowed_passes(seeds)} allowed)")
        for m in t["measurements"]:
            if not m["separates"]:
                problems.append(f"{gid}: {m['name']!r} threshold {m['threshold']:g} does not separate: the "
                                f"reference's worst seed {_fmt(m['reference_worst'])} vs the closest caught "
                                f"mutant {_fmt(m['closest_mutant'])}")
    return problems


def _rerun(record: dict[str, Any]) -> str:
    """The command that replaces ``record``: never fewer seeds than a committed record needs."""
    profile = "" if record.get("profile", "cpu") == "cpu" else f" --profile {record['profile']}"
    return (f"rerun: medgrade calibrate {record['assignment']}{profile} "
            f"--seeds {max(MIN_SEEDS, record.get('seeds', 0))}")


def stale_problems(course: Course, assignment: str, record: dict[str, Any]) -> list[str]:
    """Where the record no longer describes the assignment: tests, mutants or expected failures changed."""
    mutants = load_mutants(course, assignment)
    full = full_points(course, assignment)
    rerun = _rerun(record)
    problems = []
    for what, now, then in [("graded tests", set(full), set(record["tests"])),
                            ("mutants", {m.name for m in mutants}, set(record["mutants"]))]:
        if now != then:
            problems.append(f"the {what} changed since calibration (new: {sorted(now - then) or 'none'}; "
                            f"gone: {sorted(then - now) or 'none'}); {rerun}")
    expected = must_fail(mutants, full)
    for gid, test in record["tests"].items():
        if gid in expected and sorted(test["must_fail"]) != expected[gid]:
            problems.append(f"{gid}: the mutants that must fail it are now {expected[gid] or 'none'}, "
                            f"calibrated with {sorted(test['must_fail']) or 'none'}; {rerun}")
    return problems


def threshold_problems(record: dict[str, Any], gid: str, measurement: dict[str, Any]) -> list[str]:
    """Problems with a threshold now in a hidden test, judged on the recorded figures."""
    test = record["tests"].get(gid)
    if test is None:
        return []
    known = next((m for m in test["measurements"] if m["name"] == measurement["name"]), None)
    if known is None:
        return [f"{gid}: {measurement['name']!r} is measured now but not in the calibration record (a new or "
                f"renamed threshold check); {_rerun(record)}"]
    if math.isclose(known["threshold"], measurement["threshold"], rel_tol=0, abs_tol=1e-12):
        return []
    new, d, seeds = float(measurement["threshold"]), known["direction"], record["seeds"]
    head = (f"{gid}: {known['name']!r} threshold is now {new:g}, calibrated at {known['threshold']:g} "
            f"({record['profile']} profile, {seeds} seeds)")
    ref_fail = sum(not _passes(v, new, d) for v in known["reference"])
    problems = []
    if ref_fail:
        problems.append(f"{head}: the reference would fail in {ref_fail} of {seeds} recorded seeds "
                        f"(worst {_fmt(known['reference_worst'])})")
    for name, vals in known["mutants"].items():
        if name in known["caught"]:
            n = sum(_passes(v, new, d) for v in vals)
            if n > allowed_passes(seeds):
                best = max if d == ">=" else min
                problems.append(f"{head}: mutant {name} would pass in {n} of {seeds} recorded seeds "
                                f"(best {_fmt(best((v for v in vals if v is not None), default=None))})")
    if not problems:
        problems.append(f"{head}: the recorded figures still separate, but the record is stale; {_rerun(record)}")
    return problems


DRIFT = 0.05  # how far seed 0 may move from the record before it is called stale


def drift_problems(record: dict[str, Any], gid: str, measurement: dict[str, Any]) -> list[str]:
    """Seed 0 re-measured (as ``validate`` does) against the record's seed 0: is the record stale?"""
    test = record["tests"].get(gid)
    known = next((m for m in test["measurements"] if m["name"] == measurement["name"]), None) if test else None
    if known is None or not record["seed_list"] or record["seed_list"][0] != 0:
        return []
    then, now = known["reference"][0], measurement["value"]
    if then is None or now is None or abs(now - then) <= DRIFT:
        return []
    return [f"{gid}: {known['name']!r} measured {now:.3f} at seed 0 now, {then:.3f} in the record: the "
            f"notebook, data or libraries changed since calibration; {_rerun(record)}"]


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "medgrade": __version__}
    for pkg in _PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


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
    mutants = load_mutants(course, assignment)
    label = {REFERENCE: REFERENCE, **{mutant_student(m.name): m.name for m in mutants}}
    columns = list(label)
    full = full_points(course, assignment)
    passed: dict[str, dict[str, list[bool]]] = {gid: {label[c]: [] for c in columns} for gid in full}
    values: dict[str, dict[str, dict[str, Any]]] = {gid: {} for gid in full}
    slots = plan_slots(profile, workers=workers, slots_per_gpu=slots_per_gpu)
    with tempfile.TemporaryDirectory(prefix=f"medgrade-calibrate-{assignment}-") as tmp:
        scratch = place_columns(course, assignment, Path(tmp), mutants, blank=False)
        slowest, done = 0.0, 0
        for seed in range(seeds):
            if deadline is not None and done and time.monotonic() + slowest > deadline:
                break
            started = time.monotonic()
            data_root = calibration_root(present_root(), seed)  # held-out splits of this seed's own
            results = grade_class(scratch, assignment, columns, profile=profile, data_root=data_root,
                                  workers=len(slots), slots=slots, seed=seed, unconfined=unconfined)
            if seed:  # seed 0's is kept: validate grades on it
                drop_calibration_root(present_root(), seed)
            for r in results:
                col = label[r.student]
                for t in r.tests:
                    passed[t.grade_id][col].append(t.status == "passed")
                for gid, logged in measured_for(scratch, assignment, r.student).items():
                    for m in logged:
                        slot = values[gid].setdefault(m["name"], {
                            "name": m["name"], "check": m["check"], "threshold": m["threshold"],
                            "direction": m["direction"], "reference": [None] * seeds,
                            "mutants": {label[c]: [None] * seeds for c in columns if c != REFERENCE}})
                        series = slot["reference"] if col == REFERENCE else slot["mutants"][col]
                        series[seed] = m["value"]  # the last comparison of that name in the cell
            done, slowest = seed + 1, max(slowest, time.monotonic() - started)
            if progress:
                progress(seed + 1, seeds)
    if done < seeds:  # the deadline came first: keep the seeds graded
        seeds = done
        for by_name in values.values():
            for m in by_name.values():
                m["reference"] = m["reference"][:seeds]
                m["mutants"] = {name: vals[:seeds] for name, vals in m["mutants"].items()}
    failing = must_fail(mutants, full)
    record = {
        "schema": SCHEMA, "assignment": assignment, "profile": profile.name, "device": measured_device(profile),
        "seeds": seeds, "seed_list": list(range(seeds)), "machine": f"{platform.machine()}, {platform.system()}",
        "versions": _versions(), "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "mutants": {m.name: m.bug for m in mutants},
        "tests": {gid: {"points": full[gid], "must_fail": failing[gid], "passed": passed[gid],
                        "measurements": [_analyse(m, failing[gid], allowed_passes(seeds))
                                         for m in values[gid].values()]} for gid in full},
    }
    target = course.reference / assignment
    target.mkdir(parents=True, exist_ok=True)
    path = target / record_name(profile.name)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return Calibration(record, path, _draw(record, target / figure_name(profile.name)))


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
        test["measurements"] = [_analyse(m, test["must_fail"], allowed) for m in test["measurements"]]
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

    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 1.2 + 0.35 * (1 + len(record["mutants"])) * len(panels)),
                             squeeze=False)
    for ax, (gid, m) in zip(axes[:, 0], panels, strict=True):
        rows = [(REFERENCE, m["reference"])] + sorted(m["mutants"].items())
        must_fail = record["tests"][gid]["must_fail"]
        for y, (name, vals) in enumerate(rows):
            xs = [v for v in vals if v is not None]
            colour = "tab:green" if name == REFERENCE else "tab:red" if name in must_fail else "tab:gray"
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
                 "(green: reference; red: mutants that must fail the test; grey: mutants that need not)", fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
