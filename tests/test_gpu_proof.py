"""benchmarks/gpu_proof.py, the gpu profile's proof, as far as a machine without a GPU can run it.

Its slot-isolation step grades a real notebook through the real engine and sandbox: on the cpu
profile the kernel must see no CUDA device and no GPU device node. Its report must say when
its figures come from a rehearsal.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from medgrade.profiles import get_profile

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import gpu_proof  # noqa: E402

pytestmark = pytest.mark.xdist_group("engine")


def test_a_cpu_slots_kernel_sees_no_gpu_and_the_grader_says_so(tmp_path) -> None:
    found = gpu_proof.isolation(tmp_path, get_profile("cpu"), slots_per_gpu=1, unconfined=False)
    assert found["outcome"] == "graded" and found["slot"] == "cpu", found
    assert found["tests"] == {"test_no_gpu": {"passed": True, "message": []}}


def test_the_report_says_a_rehearsal_is_not_a_measurement() -> None:
    figures = {"rehearsal": True, "machine": {"gpus": [], "torch": "2.14.1", "torch_cuda": None,
                                               "sandbox_problem": None},
               "isolation": {"slot": "cpu", "tests": {"test_no_gpu": {"passed": True, "message": []}}},
               "calibration": [{"assignment": "06_unet_segmentation", "seeds": 2, "device": "cpu", "wall_s": 110.0,
                                "problems": []}]}
    text = gpu_proof.report(figures)
    assert text.startswith("## Rehearsal on the cpu profile (no GPU): the plumbing, not figures to report")
    assert "Slot isolation (cpu): test_no_gpu passed." in text
    assert "Calibration of 06_unet_segmentation: 2 seeds on cpu in 110.0 s; 0 problem(s)." in text
    figures["rehearsal"] = False
    figures["machine"]["gpus"] = [{"name": "NVIDIA H200", "memory_mib": "143771", "driver": "580.159.03"}]
    assert gpu_proof.report(figures).startswith("## The gpu profile on NVIDIA H200 (143771 MiB, driver 580.159.03)")
