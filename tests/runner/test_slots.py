"""Device slots: one per worker, GPUs shared by fractions, and kernels confined to their slot."""

from __future__ import annotations

import os
from dataclasses import replace

import nbformat
import pytest

from medgrade.coordinator.engine import grade_class
from medgrade.course import Course
from medgrade.errors import UsageError
from medgrade.profiles import get_profile
from medgrade.runner.slots import DeviceSlot, GpuNodes, gpu_nodes, plan_slots, share_cpus
from tests.tiny_course import ASSIGNMENT, TINY_PROFILE, make_course, submit

GPU = get_profile("gpu")


def test_cpu_profile_gets_one_cpu_slot_per_worker_each_on_its_own_cores() -> None:
    slots = plan_slots(get_profile("cpu"), workers=2)
    assert [s.gpu for s in slots] == [None, None]
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) >= 2:
        assert set(slots[0].cpus).isdisjoint(slots[1].cpus)
    assert set(slots[0].cpus) | set(slots[1].cpus) <= set(cores)


def test_cores_are_shared_out_disjoint_while_there_are_enough() -> None:
    assert share_cpus(2, [0, 1, 2, 3, 4]) == [(0, 1), (2, 3)]
    assert share_cpus(1, [4, 6]) == [(4, 6)]
    assert share_cpus(3, [0, 1]) == [(0,), (1,), (0,)]  # more slots than cores: one core each, shared


def _fake_gpus(tmp_path, monkeypatch, minors: dict[str, int]) -> tuple:
    """A /dev with GPU nodes, the driver's /proc entries and an nvidia-smi that lists them."""
    dev, proc, bin_ = tmp_path / "dev", tmp_path / "gpus", tmp_path / "bin"
    for folder in (dev, proc, bin_):
        folder.mkdir()
    for name in ("nvidiactl", "nvidia-uvm", *(f"nvidia{m}" for m in minors.values())):
        (dev / name).touch()
    rows = []
    for i, (bus, minor) in enumerate(minors.items()):
        (proc / f"0000:{bus}").mkdir()
        (proc / f"0000:{bus}" / "information").write_text(f"Model: H200\nDevice Minor: \t {minor}\n")
        rows.append(f"{i}, GPU-{i}aaa, 00000000:{bus.upper()}")
    (bin_ / "nvidia-smi").write_text("#!/bin/sh\nprintf '%s\\n' " + " ".join(f"'{r}'" for r in rows) + "\n")
    (bin_ / "nvidia-smi").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_}:{os.environ['PATH']}")
    gpu_nodes.cache_clear()
    return dev, proc


def test_a_gpu_slot_gets_its_own_node_and_the_drivers_by_uuid(tmp_path, monkeypatch) -> None:
    dev, proc = _fake_gpus(tmp_path, monkeypatch, {"3b:00.0": 2, "86:00.0": 0})
    found = gpu_nodes("0", dev, proc)  # index 0 is the GPU at 3b:00.0, whose node is nvidia2
    assert found == GpuNodes((dev / "nvidiactl", dev / "nvidia-uvm", dev / "nvidia2"), "GPU-0aaa", None)
    assert gpu_nodes("GPU-1aaa", dev, proc).nodes[-1] == dev / "nvidia0"


def test_a_gpu_whose_node_is_unknown_is_reported_not_hidden(tmp_path, monkeypatch) -> None:
    dev, proc = _fake_gpus(tmp_path, monkeypatch, {"3b:00.0": 2})
    found = gpu_nodes("7", dev, proc)
    assert found.nodes[-1] == dev / "nvidia2" and found.visible == "7"
    assert found.problem == "the device node of GPU 7 was not found, so its kernels could see every GPU of this machine"


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
