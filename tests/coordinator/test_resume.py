"""Killing the grader with SIGKILL mid-batch and rerunning gives the uninterrupted gradebook."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.tiny_course import ASSIGNMENT, gradebook_rows, make_course, submit

pytestmark = pytest.mark.xdist_group("engine")
STUDENTS = ["s1", "s2", "s3", "s4", "s5"]


def _class(root: Path) -> Path:
    make_course(root)
    for i, s in enumerate(STUDENTS):
        wrong = {"double": "def double(x):\n    return abs(2 * x)"} if i % 2 else None
        submit(root, s, wrong)
    return root


def _grade_cmd(root: Path) -> list[str]:
    return [sys.executable, "-m", "medgrade.cli.main", "grade", ASSIGNMENT, "--workers", "1",
            "--course-dir", str(root)]


def test_sigkill_then_rerun_equals_uninterrupted(tmp_path) -> None:
    whole = _class(tmp_path / "whole")
    subprocess.run(_grade_cmd(whole), check=True, capture_output=True)

    cut = _class(tmp_path / "cut")
    results = cut / "gradebook" / "results" / ASSIGNMENT
    proc = subprocess.Popen(_grade_cmd(cut), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (results.is_dir() and len(list(results.glob("*.json"))) >= 2) and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = psutil.Process(proc.pid).children(recursive=True)  # pool workers and their kernels
    os.kill(proc.pid, signal.SIGKILL)  # the coordinator only, as `kill -9 PID` would
    proc.wait()
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert alive == [], f"left running: {[' '.join(p.cmdline())[:80] for p in alive]}"
    done_before = len(list(results.glob("*.json")))
    assert 2 <= done_before < len(STUDENTS), "the kill should land mid-batch"

    rerun = subprocess.run(_grade_cmd(cut), check=True, capture_output=True, text=True)
    assert rerun.stdout.count("unchanged, kept") >= 2  # finished work is not redone
    assert gradebook_rows(cut) == gradebook_rows(whole)
    assert len(gradebook_rows(cut)) == 2 * len(STUDENTS)  # one row per test per student, no duplicates
