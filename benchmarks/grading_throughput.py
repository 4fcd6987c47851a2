"""Benchmark grading a class: ``nbgrader autograde`` against ``medgrade grade``, in one run.

Builds a scratch course holding the assignment's source and release and a class of N
submissions (the completed reference, so every notebook does the same work), then measures:

1. the notebook's own compute: the source notebook (reference solution and hidden tests, what
   grading executes) run once by plain nbclient, no sandbox, no grading (the floor any grader
   pays per submission);
2. ``nbgrader autograde ASSIGNMENT`` on the whole class: nbgrader's one-student-at-a-time loop;
3. ``medgrade grade`` on the same class with ``--workers`` kernels at once, sandboxed;
4. what the sandbox costs each kernel at start-up, none against the old one and today's
   (``benchmarks/sandbox_startup.py``, its rounds interleaved).

Every kernel gets the same conditions (the profile's thread count, data root, seeds), so the
difference is the graders'. Printed: wall time and throughput of each, their ratio, medgrade's
per-submission overhead beyond the notebook's compute ((wall x workers / N) - compute), and the
coordinator's peak RSS (measured in the coordinator process itself, not its kernels).
Targets on 2 cores: ratio >= 2, overhead < 1 s per submission, coordinator < 300 MB.

``--probe-cost`` then grades each submission once more in this process, timing the grader's
work on the verdict probes (:mod:`medgrade.runner.probes`) inside the same run, and prints
what they cost as a ratio to the time without them (two separate runs, with
``MEDGRADE_PROBES=0`` and without, differ by more than that on a shared machine);
``--no-nbgrader`` skips steps 1 and 2.

    python benchmarks/grading_throughput.py [--assignment 03_cnn_classification] [--students 12]
                                            [--workers 2] [--profile cpu] [--probe-cost] [--no-nbgrader]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

_COORDINATOR = """
import json, resource, sys, time
from pathlib import Path
from medgrade.course import Course
from medgrade.data.root import resolve_root
from medgrade.coordinator.engine import grade_class
from medgrade.profiles import get_profile
root, assignment, workers, profile = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
course = Course(root)
t0 = time.perf_counter()
results = grade_class(course, assignment, course.students(assignment), profile=get_profile(profile),
                      data_root=resolve_root(), workers=workers, force=True)
wall = time.perf_counter() - t0
print(json.dumps({"wall": wall, "scores": [r.score for r in results],
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def build_class(root: Path, assignment: str, n: int) -> None:
    """A scratch course with ``n`` copies of the completed reference submitted."""
    from medgrade.author.mutants import completed_notebook
    from medgrade.author.release import scratch_course
    from medgrade.course import Course

    root.mkdir(parents=True)
    repo = Course(REPO)
    course = scratch_course(repo, assignment, root)  # release and gradebook, as nbgrader needs
    for src in course.source_notebooks(assignment):
        nb = completed_notebook(repo, assignment, src.name)
        for i in range(n):
            folder = root / "submitted" / f"s{i:02d}" / assignment
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, folder / src.name)


def notebook_compute(root: Path, assignment: str, profile: str) -> float:
    """Seconds to execute what grading executes, with plain nbclient: the notebooks' own work.

    That is the source notebook (the reference solution *with* its hidden tests, which train
    models under the profile's budget), not the submission alone, whose public tests are less.
    """
    from nbclient import NotebookClient

    from medgrade.course import kernel_env

    folder = root / "source" / assignment
    env = kernel_env(profile=profile)
    saved = dict(os.environ)
    os.environ.update(env)  # nbclient starts the kernel with this process's environment
    try:
        t0 = time.perf_counter()
        for path in sorted(folder.glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                           resources={"metadata": {"path": str(folder)}}).execute()
        return time.perf_counter() - t0
    finally:
        os.environ.clear()
        os.environ.update(saved)


def nbgrader_class(root: Path, assignment: str, profile: str) -> float:
    from medgrade.course import kernel_env
    from medgrade.nbgrader_cli import run_nbgrader

    t0 = time.perf_counter()
    run = run_nbgrader(root, "autograde", assignment, "--force", env=kernel_env(profile=profile))
    wall = time.perf_counter() - t0
    if not run.ok:
        raise SystemExit(f"nbgrader autograde failed:\n{run.tail()}")
    return wall


def medgrade_class(root: Path, assignment: str, workers: int, profile: str) -> dict[str, float]:
    cmd = [sys.executable, "-c", _COORDINATOR, str(root), assignment, str(workers), profile]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=root).stdout
    return json.loads(out.strip().splitlines()[-1])


def probe_cost(root: Path, assignment: str, profile: str, students: int) -> None:
    """What the verdict probes cost, measured inside one grading run of each submission.

    Two separate runs (with and without probes) differ by more than the probes on a shared
    machine, so the grader's time in probes (reseed, send, query: everything a probe adds) is
    timed within the same runs, interleaved with the tests, and set against the time the
    submissions took: the ratio is that time over the same time less the probes'.
    """
    from dataclasses import asdict

    from medgrade.data.root import resolve_root
    from medgrade.profiles import get_profile
    from medgrade.runner.job import Job, run_job
    from medgrade.runner.testrun import TestRun

    spent = {"probes": 0.0, "count": 0}
    real = TestRun.probe

    def timed(self: TestRun, probe: object, test: object) -> None:
        t0 = time.perf_counter()
        try:
            real(self, probe, test)  # type: ignore[arg-type]
        finally:
            spent["probes"] += time.perf_counter() - t0
            spent["count"] += 1

    TestRun.probe = timed  # type: ignore[method-assign]
    try:
        total, scores = 0.0, []
        for i in range(students):
            t0 = time.perf_counter()
            out = run_job(Job(str(root), assignment, f"s{i:02d}", asdict(get_profile(profile)), str(resolve_root())))
            total += time.perf_counter() - t0
            scores.append(out.result.score)
    finally:
        TestRun.probe = real  # type: ignore[method-assign]
    print(f"verdict probes: {spent['count']} probes took {spent['probes']:.2f} s of the {total:.1f} s that "
          f"{students} submission(s) took one at a time (scores {sorted(set(scores))}): "
          f"{total / (total - spent['probes']):.4f}x the time without them, "
          f"{spent['probes'] / students:.2f} s per submission")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignment", default="03_cnn_classification")
    parser.add_argument("--students", type=int, default=12)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--sandbox-rounds", type=int, default=5, help="kernel starts timed per sandbox kind")
    parser.add_argument("--probe-cost", action="store_true", help="also time the verdict probes, in one run")
    parser.add_argument("--no-nbgrader", action="store_true", help="skip the notebook compute and nbgrader runs")
    args = parser.parse_args()
    n = args.students
    with tempfile.TemporaryDirectory(prefix="medgrade-bench-") as tmp:
        root = Path(tmp) / "course"
        build_class(root, args.assignment, n)
        print(f"class: {n} submissions of {args.assignment} (the completed reference), "
              f"profile {args.profile}, {os.cpu_count()} cores")
        if not args.no_nbgrader:
            compute = notebook_compute(root, args.assignment, args.profile)
            print(f"notebook compute (plain nbclient, one submission): {compute:.1f} s")
            nb_wall = nbgrader_class(root, args.assignment, args.profile)
            print(f"nbgrader autograde: {nb_wall:.1f} s wall, {n / nb_wall * 60:.2f} submissions/min")
        mg = medgrade_class(root, args.assignment, args.workers, args.profile)
        print(f"medgrade grade --workers {args.workers}: {mg['wall']:.1f} s wall, "
              f"{n / mg['wall'] * 60:.2f} submissions/min; scores {sorted(set(mg['scores']))}")
        if args.probe_cost:
            probe_cost(root, args.assignment, args.profile, n)
        if args.no_nbgrader:
            return
        overhead = mg["wall"] * args.workers / n - compute
        print(f"throughput ratio medgrade/nbgrader: {nb_wall / mg['wall']:.2f}x (target >= 2)")
        print(f"medgrade overhead per submission beyond the notebook's compute: {overhead:+.2f} s (target < 1 s)")
        print(f"medgrade coordinator peak RSS: {mg['peak_mb']:.0f} MB (target < 300 MB)")
    from sandbox_startup import measure, report

    print("\n".join(report(measure(args.sandbox_rounds))))


if __name__ == "__main__":
    main()
