"""A grading worker killed mid-job takes its kernel with it (the launcher's parent-death signal)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil

from tests.tiny_course import ASSIGNMENT, REPO, make_course, submit

WORKER = """
import sys
from dataclasses import asdict, replace
from medgrade.profiles import get_profile
from medgrade.runner.job import Job, run_job
profile = replace(get_profile("cpu"), cell_timeout=60, notebook_budget=120)
run_job(Job(sys.argv[1], sys.argv[2], "sleeper", asdict(profile), None, ""))
"""


def _cmdline(p: psutil.Process) -> str:
    try:
        return " ".join(p.cmdline())
    except psutil.NoSuchProcess:  # a short-lived helper (the sandbox's mounts) already gone
        return ""


def _kernels(worker: psutil.Process) -> list[psutil.Process]:
    return [p for p in worker.children(recursive=True) if "ipykernel_launcher" in _cmdline(p)]


def test_killing_the_worker_kills_its_kernel(tmp_path) -> None:
    root = make_course(tmp_path / "course")
    submit(root, "sleeper", {"double": "import time\ntime.sleep(60)\ndef double(x):\n    return 2 * x"})
    proc = subprocess.Popen([sys.executable, "-c", WORKER, str(root), ASSIGNMENT], cwd=REPO,
                            start_new_session=True)  # its own group: only the worker is signalled below
    try:
        worker = psutil.Process(proc.pid)
        deadline = time.monotonic() + 60
        while not (kernels := _kernels(worker)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert kernels, "the worker never started a kernel"
        time.sleep(1)  # the kernel is now inside the sleeping cell
        family = worker.children(recursive=True)  # launcher, sandbox, kernel: all must die with the worker
        os.kill(proc.pid, signal.SIGKILL)  # the worker alone, as a lost Dask worker or OOM kill would
        proc.wait(timeout=10)
        gone, alive = psutil.wait_procs(family, timeout=10)
        assert alive == [], f"left behind: {[' '.join(p.cmdline())[:80] for p in alive]}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
