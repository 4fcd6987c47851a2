"""Grading profiles: the conditions a grade is measured under.

A profile fixes the device, the time budgets, and how much data and how many steps hidden tests
train for. The grader sets ``MEDGRADE_PROFILE`` in the kernel's environment; a student's own run
defaults to ``gpu`` when CUDA is available and ``cpu`` otherwise, so the same notebook grades
under either. Thresholds belong to a profile because calibration measured them under it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from medgrade import envvars

__all__ = ["Profile", "PROFILES", "get_profile", "active_profile", "grading_seed", "for_profile"]


@dataclass(frozen=True)
class Profile:
    """One grading profile.

    Times are seconds: ``cell_timeout`` per notebook cell, ``notebook_budget`` for the whole
    notebook, ``test_budget`` for one call into student code from a hidden test. Hidden tests
    train on ``train_subset`` images for ``train_steps`` optimiser steps. Beside ``memory_mb``
    (resident memory plus the sandbox's tmpfs), the kernel's sandbox holds ``shm_mb`` in
    ``/dev/shm``, ``tmp_mb`` in ``/tmp``, ``disk_mb`` in its folder, and ``processes``
    processes and threads.
    """

    name: str
    device: str
    cell_timeout: int
    notebook_budget: int
    memory_mb: int
    train_subset: int
    train_steps: int
    test_budget: int
    threads: int
    deterministic: bool
    shm_mb: int
    tmp_mb: int
    disk_mb: int
    processes: int


PROFILES: dict[str, Profile] = {
    # CI and laptops: two cores, every reference notebook in about a minute.
    "cpu": Profile(
        name="cpu",
        device="cpu",
        cell_timeout=30,
        notebook_budget=300,
        memory_mb=4096,
        train_subset=1200,
        train_steps=60,
        test_budget=15,
        threads=1,
        deterministic=True,
        shm_mb=256,
        tmp_mb=256,
        disk_mb=1024,
        processes=256,
    ),
    # The grading container: one GPU slot, full budgets.
    "gpu": Profile(
        name="gpu",
        device="cuda",
        cell_timeout=300,
        notebook_budget=1800,
        memory_mb=16384,
        train_subset=12000,
        train_steps=600,
        test_budget=120,
        threads=4,
        deterministic=False,
        shm_mb=2048,
        tmp_mb=1024,
        disk_mb=4096,
        processes=1024,
    ),
}


def get_profile(name: str) -> Profile:
    """Return the profile called ``name``; the error lists the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        from medgrade.errors import UsageError

        known = ", ".join(sorted(PROFILES))
        raise UsageError(f"unknown grading profile {name!r}; known profiles: {known}") from None


def active_profile() -> Profile:
    """The profile named by ``MEDGRADE_PROFILE``, else what this machine can run."""
    name = os.environ.get(envvars.PROFILE)
    if name:
        return get_profile(name)
    try:
        import torch

        return PROFILES["gpu" if torch.cuda.is_available() else "cpu"]
    except ImportError:
        return PROFILES["cpu"]


def grading_seed() -> int:
    """The seed a hidden test trains from: 0, unless ``medgrade calibrate`` varies it.

    The grader sets ``MEDGRADE_SEED`` (students are always graded at seed 0); calibration
    grades the reference and the mutants at seeds 0..N-1 to show that a threshold holds for
    every seed and not by luck.
    """
    try:
        return int(os.environ.get(envvars.SEED, "0"))
    except ValueError:
        return 0


def for_profile(value: object, profile: str, what: str) -> object:
    """``value``, or ``value[profile]`` when it is a dict of values per profile (a threshold...)."""
    if isinstance(value, dict):
        if profile not in value:
            raise ValueError(f"{what} has no value for the {profile!r} profile: {value!r}")
        return value[profile]
    return value
