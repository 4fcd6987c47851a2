"""Device slots: one per worker, GPUs shared by fractions, and kernels confined to their slot."""

from __future__ import annotations

from dataclasses import replace

import nbformat
import pytest

from medgrade.course import Course
from medgrade.errors import UsageError
from medgrade.grading.engine import grade_class
from medgrade.profiles import get_profile
from medgrade.runner.slots import DeviceSlot, plan_slots
from tests.tiny_course import ASSIGNMENT, TINY_PROFILE, make_course, submit

GPU = get_profile("gpu")


def test_cpu_profile_gets_one_cpu_slot_per_worker() -> None:
    assert plan_slots(get_profile("cpu"), workers=3) == [DeviceSlot()] * 3


def test_gpus_are_split_into_slots_spread_over_devices() -> None:
    slots = plan_slots(GPU, workers=None, gpus=["0", "1"], slots_per_gpu=2)
    assert [s.gpu for s in slots] == ["0", "1", "0", "1"]  # the first two workers use both GPUs
    assert {s.memory_fraction for s in slots} == {0.475}
    assert slots[0].env() == {"CUDA_VISIBLE_DEVICES": "0", "MEDGRADE_GPU_MEMORY_FRACTION": "0.4750"}
    assert slots[0].describe() == "gpu 0 (48% of its memory)"


def test_gpu_profile_without_a_gpu_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(UsageError, match=r"no GPU is visible here .*grade with --profile cpu"):
        plan_slots(GPU, workers=None)


def test_more_workers_than_gpu_slots_is_refused() -> None:
    with pytest.raises(UsageError, match=r"--workers 3 is more than the 2 GPU slot\(s\) \(1 GPU\(s\) x 2 per GPU\)"):
        plan_slots(GPU, workers=3, gpus=["0"], slots_per_gpu=2)
    with pytest.raises(UsageError, match="at least 1"):
        plan_slots(GPU, workers=None, gpus=["0"], slots_per_gpu=0)


def test_each_kernel_sees_only_its_slot(tmp_path) -> None:
    """Real kernels in a real pool: each worker's kernels get its GPU index and memory share."""
    root = make_course(tmp_path / "course")
    probe = ("import os\nprint('SLOT', os.environ['CUDA_VISIBLE_DEVICES'],"
             " os.environ['MEDGRADE_GPU_MEMORY_FRACTION'])\ndef double(x):\n    return 2 * x")
    for student in ("ann", "bob", "cyd"):
        submit(root, student, {"double": probe})
    slots = [DeviceSlot("3", 0.25), DeviceSlot("5", 0.25)]
    results = grade_class(Course(root), ASSIGNMENT, ["ann", "bob", "cyd"], profile=replace(TINY_PROFILE, threads=1),
                          data_root=None, workers=2, slots=slots)
    assert [r.score for r in results] == [5, 5, 5]
    seen = set()
    for student in ("ann", "bob", "cyd"):
        nb = nbformat.read(root / "autograded" / student / ASSIGNMENT / "tiny.ipynb", as_version=4)
        text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        line = next(x for x in text.splitlines() if x.startswith("SLOT"))
        seen.add(line)
    assert seen <= {"SLOT 3 0.2500", "SLOT 5 0.2500"} and seen
