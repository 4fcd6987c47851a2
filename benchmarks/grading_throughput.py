"""Benchmark grading a class: ``nbgrader autograde`` against ``medgrade grade``, in one run.

Builds a scratch course holding the assignment's source and release and a class of N
submissions (the completed reference, so every notebook does the same work), then measures:

1. the notebook's own compute: the source notebook (reference solution and hidden tests, what
   grading executes) run once by plain nbclient, no sandbox, no grading (the floor any grader
   pays per submission);
2. ``nbgrader autograde ASSIGNMENT`` on the whole class: nbgrader's one-student-at-a-time loop;
3. ``medgrade grade`` on the same class with ``--workers`` kernels at once, sandboxed.

Every kernel gets the same conditions (the profile's thread count, data root, seeds), so the
difference is the graders'. Printed: wall time and throughput of each, their ratio, medgrade's
per-submission overhead beyond the notebook's compute ((wall x workers / N) - compute), and the
coordinator's peak RSS (measured in the coordinator process itself, not its kernels).
Targets on 2 cores: ratio >= 2, overhead < 1 s per submission, coordinator < 300 MB.

``--probe-cost`` then grades the class twice more, with the verdict probes off
(``MEDGRADE_PROBES=0``, see :mod:`medgrade.runner.probes`) and on, and prints what the probes
cost as a ratio of the two walls; ``--no-nbgrader`` skips steps 1 and 2 to measure only that.

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
from medgrade.grading.engine import grade_class
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


def medgrade_class(root: Path, assignment: str, workers: int, profile: str, *, probes: bool = True) -> dict[str, float]:
    from medgrade.runner.probes import OFF_VAR

    cmd = [sys.executable, "-c", _COORDINATOR, str(root), assignment, str(workers), profile]
    env = {**os.environ, **({} if probes else {OFF_VAR: "0"})}
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=root, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def probe_cost(root: Path, args: argparse.Namespace) -> None:
    """The same class without the verdict probes, then with them again: what they cost, as a ratio.

    Both runs come after the graded run above, which warms the caches (data, torch) for them.
    """
    n = args.students
    walls = {}
    for probes in (False, True):
        run = medgrade_class(root, args.assignment, args.workers, args.profile, probes=probes)
        walls[probes] = run["wall"]
        print(f"medgrade grade {'with' if probes else 'without'} probes: {run['wall']:.1f} s wall, "
              f"{n / run['wall'] * 60:.2f} submissions/min; scores {sorted(set(run['scores']))}")
    extra = (walls[True] - walls[False]) / n * args.workers
    print(f"verdict probes cost: {walls[True] / walls[False]:.3f}x the wall without them "
          f"({extra:+.2f} s per submission and kernel)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignment", default="03_cnn_classification")
    parser.add_argument("--students", type=int, default=12)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--probe-cost", action="store_true", help="also grade without the verdict probes")
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
            probe_cost(root, args)
        if args.no_nbgrader:
            return
        overhead = mg["wall"] * args.workers / n - compute
        print(f"throughput ratio medgrade/nbgrader: {nb_wall / mg['wall']:.2f}x (target >= 2)")
        print(f"medgrade overhead per submission beyond the notebook's compute: {overhead:+.2f} s (target < 1 s)")
        print(f"medgrade coordinator peak RSS: {mg['peak_mb']:.0f} MB (target < 300 MB)")


if __name__ == "__main__":
    main()
