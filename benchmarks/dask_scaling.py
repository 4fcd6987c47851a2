"""Benchmark grading on a Dask cluster: the same class with one and with two workers.

Starts a real ``dask scheduler`` on loopback and ``dask worker`` processes (one thread each, so
one submission at a time per worker), grades the class through ``grade_class(scheduler=...)``
with one worker, adds a second, grades it again (``force``), and prints each wall time, the
throughput and the scaling ratio. Measured only, no assertions: on a shared 2-core machine the
ratio is bounded by the cores, not by the coordinator.

The class is N copies of the completed reference of ``--assignment``, or, for ``99_tiny``, the
torch-free test course of ``tests/tiny_course.py`` with ``--busy`` seconds of CPU work per
submission (so the work is the students', not the grader's start-up).

    python benchmarks/dask_scaling.py [--assignment 99_tiny] [--students 8] [--busy 3] [--profile cpu]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DASK = Path(sys.executable).parent / "dask"


def tiny_class(root: Path, n: int, busy: float) -> None:
    from tests.tiny_course import make_course, submit

    make_course(root)
    work = (f"import time\n_t = time.process_time()\nwhile time.process_time() - _t < {busy}:\n    pass\n"
            "def double(x):\n    return 2 * x")
    for i in range(n):
        submit(root, f"s{i:02d}", {"double": work})


def spawn(argv: list[str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def start_scheduler(logs: Path) -> tuple[subprocess.Popen, str]:
    proc = spawn([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"],
                 logs / "scheduler.log")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"Scheduler at:\s+(tcp://[\d.]+:\d+)", (logs / "scheduler.log").read_text())
        if found:
            return proc, found.group(1)
        time.sleep(0.2)
    raise SystemExit("dask scheduler did not start:\n" + (logs / "scheduler.log").read_text())


def add_worker(address: str, logs: Path, name: str) -> subprocess.Popen:
    return spawn([str(DASK), "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                  "--host", "127.0.0.1", "--name", name, "--local-directory", str(logs / name)], logs / f"{name}.log")


def wait_for(address: str, n: int) -> None:
    from distributed import Client

    with Client(address, timeout=30, set_as_default=False) as client:
        client.wait_for_workers(n, timeout=120)


def grade(root: Path, assignment: str, address: str, profile_name: str) -> tuple[float, list[float]]:
    from medgrade.coordinator.engine import grade_class
    from medgrade.course import Course
    from medgrade.data.root import resolve_root
    from medgrade.profiles import get_profile

    course = Course(root)
    profile = get_profile(profile_name)
    if assignment == "99_tiny":
        from tests.tiny_course import TINY_PROFILE

        profile = replace(TINY_PROFILE, cell_timeout=60, notebook_budget=300)
    t0 = time.perf_counter()
    results = grade_class(course, assignment, course.students(assignment), profile=profile,
                          data_root=resolve_root(), workers=1, force=True, scheduler=address)
    return time.perf_counter() - t0, [r.score for r in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignment", default="99_tiny")
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--busy", type=float, default=3.0, help="CPU seconds per tiny submission")
    parser.add_argument("--profile", default="cpu")
    args = parser.parse_args()
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="medgrade-dask-bench-") as tmp:
        root, logs = Path(tmp) / "course", Path(tmp) / "logs"
        logs.mkdir()
        if args.assignment == "99_tiny":
            tiny_class(root, args.students, args.busy)
        else:
            from benchmarks.grading_throughput import build_class

            build_class(root, args.assignment, args.students)
        try:
            scheduler, address = start_scheduler(logs)
            procs.append(scheduler)
            walls = {}
            for n in (1, 2):
                procs.append(add_worker(address, logs, f"w{n}"))
                wait_for(address, n)
                walls[n], scores = grade(root, args.assignment, address, args.profile)
                print(f"{n} Dask worker(s): {args.students} submissions of {args.assignment} in {walls[n]:.1f} s, "
                      f"{args.students / walls[n] * 60:.1f} submissions/min; scores {sorted(set(scores))}")
            print(f"scaling ratio (two workers / one): {walls[1] / walls[2]:.2f}x on {os.cpu_count()} cores")
        finally:
            for proc in reversed(procs):
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


if __name__ == "__main__":
    main()
