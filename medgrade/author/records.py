"""Calibration records on disk: one per profile, each naming the device its figures were measured on.

``reference_solutions/<a>/calibration.json`` holds the cpu profile's record (and
``calibration.png`` its figure); another profile's is ``calibration-<profile>.json``. A CUDA
profile's thresholds are provisional until a record measured on a GPU is committed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

from medgrade.course import Course
from medgrade.errors import CourseError
from medgrade.profiles import Profile

__all__ = ["SCHEMA", "RECORD", "FIGURE", "MIN_SEEDS", "record_name", "figure_name", "load_record", "measured_device",
           "provisional_note"]

SCHEMA = 1
MIN_SEEDS = 20  # the fewest seeds a committed record should cover (one outlier allowed in 20)
RECORD, FIGURE = "calibration.json", "calibration.png"  # the cpu profile's; other profiles add their name


def record_name(profile: str) -> str:
    """The record's file name for ``profile``: each profile's thresholds are calibrated on its own device."""
    return RECORD if profile == "cpu" else f"calibration-{profile}.json"


def figure_name(profile: str) -> str:
    return FIGURE if profile == "cpu" else f"calibration-{profile}.png"


def measured_device(profile: Profile) -> str:
    """What a profile's kernels compute on here: ``cpu``, or ``cuda (<GPU model>)`` as nvidia-smi names it.

    A CUDA profile only grades where a GPU is visible (:func:`medgrade.runner.slots.plan_slots`
    refuses otherwise), so its record names the GPU its figures were measured on.
    """
    if profile.device != "cuda":
        return "cpu"
    smi = shutil.which("nvidia-smi")
    names: list[str] = []
    if smi:
        try:
            out = subprocess.run([smi, "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                                 text=True, timeout=30).stdout
            names = sorted({line.strip() for line in out.splitlines() if line.strip()})
        except (OSError, subprocess.SubprocessError):
            names = []
    return f"cuda ({', '.join(names) or 'GPU model unknown'})"


def provisional_note(course: Course, assignment: str, profile: Profile) -> str | None:
    """Why ``profile``'s thresholds are provisional for ``assignment``: no record measured on its device."""
    if profile.device != "cuda":
        return None
    record = load_record(course, assignment, profile.name)
    if record is not None and str(record.get("device", "")).startswith("cuda"):
        return None
    return (f"the {profile.name} profile's thresholds are provisional: no CUDA calibration record "
            f"(reference_solutions/{assignment}/{record_name(profile.name)}); on a GPU machine run "
            f"medgrade calibrate {assignment} --profile {profile.name} --seeds {MIN_SEEDS}")


def load_record(course: Course, assignment: str, profile: str = "cpu") -> dict[str, Any] | None:
    """The committed record of ``profile``'s thresholds for ``assignment``, or None."""
    path = course.reference / assignment / record_name(profile)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except ValueError as e:
        raise CourseError(f"{path}: not valid JSON ({e}); rerun: medgrade calibrate {assignment}") from e
    if record.get("schema") != SCHEMA:
        raise CourseError(f"{path}: calibration schema {record.get('schema')!r}, expected {SCHEMA}; "
                          f"rerun: medgrade calibrate {assignment}")
    return record
