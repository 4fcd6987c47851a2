"""Judging thresholds on calibration figures: the analysis a record holds, and what is wrong with one.

``medgrade calibrate`` gathers each threshold's figures across seeds and summarises them with
:func:`analyse`; ``medgrade validate`` then compares the committed record with the notebooks as
they are (:func:`record_problems`, :func:`stale_problems`, :func:`threshold_problems`,
:func:`drift_problems`).
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from medgrade.author.alternatives import load_alternatives
from medgrade.author.columns import REFERENCE, full_points, must_fail
from medgrade.author.mutants import load_mutants
from medgrade.author.records import MIN_SEEDS
from medgrade.course import Course
from medgrade.results import SubmissionResult

__all__ = ["allowed_passes", "measured_for", "analyse", "fmt", "record_problems", "stale_problems",
           "threshold_problems", "drift_problems", "rerun_command", "DRIFT"]


def allowed_passes(seeds: int) -> int:
    """How many seeds a mutant may pass a test it must fail: one in 20."""
    return seeds // 20


def measured_for(result: SubmissionResult) -> dict[str, list[dict[str, Any]]]:
    """grade_id -> the threshold comparisons its test made, as grading returned them."""
    return {t.grade_id: [asdict(m) for m in t.measured] for t in result.tests if t.measured}


def _passes(value: float | None, threshold: float, direction: str) -> bool:
    if value is None:
        return False
    return value >= threshold if direction == ">=" else value <= threshold


def fmt(v: float | None) -> str:
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


def analyse(m: dict[str, Any], must_fail: list[str], allowed: int) -> dict[str, Any]:
    """Fill a measurement's summary: the correct solutions' range, margin, recommendation, separation.

    The correct solutions are the reference and the alternatives: the margin, the recommendation
    and the separation are taken from the worst seed of any of them.
    """
    up = m["direction"] == ">="
    worst, best = (min, max) if up else (max, min)
    ref = [v for v in m["reference"] if v is not None]
    alts = [v for vals in m.get("alternatives", {}).values() for v in vals if v is not None]
    caught = {name: vals for name, vals in m["mutants"].items() if name in must_fail and _caught(vals, m)}
    m["reference_worst"] = worst(ref) if ref else None
    m["reference_best"] = best(ref) if ref else None
    if "alternatives" in m:
        m["alternatives_worst"] = worst(alts) if alts else None
    m["caught"] = sorted(caught)
    closest = best((c for vals in caught.values() if (c := _closest(vals, up, allowed)) is not None), default=None)
    m["closest_mutant"] = closest
    if not ref:
        m.update(margin=None, recommended=None, separates=False)
        return m
    r_worst = worst(ref + alts)
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


def record_problems(record: dict[str, Any]) -> list[str]:
    """What makes a calibration record unfair: correct solutions failing, mutants passing, no separation."""
    problems = []
    seeds = record["seeds"]
    correct = [(REFERENCE, "the reference")] + [(a, f"alternative {a}") for a in record.get("alternatives", {})]
    for gid, t in record["tests"].items():
        for name, who in correct:
            failed = [s for s, ok in zip(record["seed_list"], t["passed"].get(name, []), strict=True) if not ok]
            if failed:
                problems.append(f"{gid}: {who} failed in {len(failed)} of {seeds} seeds (seeds {failed})")
        for name in t["must_fail"]:
            n = sum(t["passed"].get(name, []))
            if n > allowed_passes(seeds):
                problems.append(f"{gid}: mutant {name} passed in {n} of {seeds} seeds; it must fail "
                                f"(at most {allowed_passes(seeds)} allowed)")
        for m in t["measurements"]:
            if not m["separates"]:
                worst = _worst_correct(m)
                problems.append(f"{gid}: {m['name']!r} threshold {m['threshold']:g} does not separate: the "
                                f"{'correct solutions' if m.get('alternatives') else 'reference'}'s worst seed "
                                f"{fmt(worst)} vs the closest caught mutant {fmt(m['closest_mutant'])}")
    return problems


def _worst_correct(m: dict[str, Any]) -> float | None:
    """The worst seed of the reference and the alternatives, as the record holds them."""
    figures = [v for v in (m["reference_worst"], m.get("alternatives_worst")) if v is not None]
    pick = min if m["direction"] == ">=" else max
    return pick(figures) if figures else None


def rerun_command(record: dict[str, Any]) -> str:
    """The command that replaces ``record``: never fewer seeds than a committed record needs."""
    profile = "" if record.get("profile", "cpu") == "cpu" else f" --profile {record['profile']}"
    return f"medgrade calibrate {record['assignment']}{profile} --seeds {max(MIN_SEEDS, record.get('seeds', 0))}"


def _rerun(record: dict[str, Any]) -> str:
    return f"rerun: {rerun_command(record)}"


def stale_problems(course: Course, assignment: str, record: dict[str, Any]) -> list[str]:
    """Where the record no longer describes the assignment: its tests, mutants, alternatives or expected failures."""
    mutants = load_mutants(course, assignment)
    full = full_points(course, assignment)
    rerun = _rerun(record)
    problems = []
    for what, now, then in [("graded tests", set(full), set(record["tests"])),
                            ("mutants", {m.name for m in mutants}, set(record["mutants"])),
                            ("alternatives", {a.name for a in load_alternatives(course, assignment)},
                             set(record.get("alternatives", {})))]:
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
    problems = []
    for who, vals in [("the reference", known["reference"]),
                      *((f"alternative {a}", v) for a, v in known.get("alternatives", {}).items())]:
        failing = [v for v in vals if not _passes(v, new, d)]
        if failing:
            worst = min if d == ">=" else max
            problems.append(f"{head}: {who} would fail in {len(failing)} of {seeds} recorded seeds "
                            f"(worst {fmt(worst((v for v in vals if v is not None), default=None))})")
    for name, vals in known["mutants"].items():
        if name in known["caught"]:
            n = sum(_passes(v, new, d) for v in vals)
            if n > allowed_passes(seeds):
                best = max if d == ">=" else min
                problems.append(f"{head}: mutant {name} would pass in {n} of {seeds} recorded seeds "
                                f"(best {fmt(best((v for v in vals if v is not None), default=None))})")
    if not problems:
        problems.append(f"{head}: the recorded figures still separate, but the record is stale; {_rerun(record)}")
    return problems


DRIFT = 0.05  # how far seed 0 may move from the record before it is called stale


def drift_problems(record: dict[str, Any], gid: str, measurement: dict[str, Any], advise: bool = True) -> list[str]:
    """Seed 0 re-measured (as ``validate`` does) against the record's seed 0: is the record stale?

    ``advise=False`` leaves out the command that replaces the record, for a caller with its own.
    """
    test = record["tests"].get(gid)
    known = next((m for m in test["measurements"] if m["name"] == measurement["name"]), None) if test else None
    if known is None or not record["seed_list"] or record["seed_list"][0] != 0:
        return []
    then, now = known["reference"][0], measurement["value"]
    if then is None or now is None or abs(now - then) <= DRIFT:
        return []
    return [f"{gid}: {known['name']!r} measured {now:.3f} at seed 0 now, {then:.3f} in the record: the "
            f"notebook, data or libraries changed since calibration" + (f"; {_rerun(record)}" if advise else "")]
