from __future__ import annotations

import pytest

from medgrade.errors import UsageError
from medgrade.profiles import PROFILES, active_profile, get_profile


def test_profile_from_environment(monkeypatch) -> None:
    monkeypatch.setenv("MEDGRADE_PROFILE", "gpu")
    assert active_profile().name == "gpu"


def test_unknown_profile_lists_known(monkeypatch) -> None:
    monkeypatch.setenv("MEDGRADE_PROFILE", "tpu")
    with pytest.raises(UsageError, match="known profiles: cpu, gpu"):
        active_profile()


def test_gpu_profile_gives_more_budget_than_cpu() -> None:
    cpu, gpu = get_profile("cpu"), get_profile("gpu")
    assert gpu.train_steps > cpu.train_steps and gpu.cell_timeout > cpu.cell_timeout
    # A hidden test's own budget must end before the cell timeout kills the whole cell.
    for p in PROFILES.values():
        assert p.test_budget < p.cell_timeout
