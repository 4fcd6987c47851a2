"""Prove the gpu profile on a GPU, in one run on the GPU machine.

What it measures, each step inside what is left of ``--budget-s`` and printed as it goes:

1. the machine: the GPU (nvidia-smi), torch's CUDA, and whether the kernel's sandbox builds
   here (where it does not, the steps run ``--unconfined`` and every figure says so);
2. slot isolation: a three-test notebook graded on the gpu profile with ``--slots-per-gpu``
   slots, its verdicts observed by the grader: the kernel sees exactly one GPU (one CUDA
   device, one ``/dev/nvidia<N>`` node), an allocation of 1.25x its slot's memory share fails
   while one of 0.5x succeeds, and whether a kernel that raises its own memory fraction can
   then take more (PyTorch's per-process fraction is the kernel's own setting: a known limit,
   reported, not hidden);
3. throughput: a class of ``--class-size`` copies of 03's reference graded on the gpu profile
   with the slots; wall time, submissions per minute, each kernel's peak GPU memory
   (nvidia-smi's compute processes, sampled every second) and the mean GPU and CPU utilisation
   (what limited throughput);
4. calibration: 03 and 06 on the gpu profile in a scratch copy of the course, as many seeds
   (up to ``--seeds``) as the time left allows (``medgrade calibrate --time-limit``); their
   ``calibration-gpu.json`` and ``.png`` are copied to ``--out`` for committing.

It writes ``--out``/gpu_proof.json (every figure) and ``--out``/gpu_proof.md (the lines for
RESULTS.md). ``--rehearse`` runs every step on the cpu profile with tiny sizes, on a machine
without a GPU: it checks the plumbing and asserts what a CPU kernel must see (no CUDA device);
its figures mean nothing.

On the GPU machine (see DEVELOPERS.md, "Proving the gpu profile", for the wheels it needs):

    python3 benchmarks/gpu_proof.py --out "$OUT" [--budget-s 480] [--class-size 48]
                                    [--slots-per-gpu 8] [--seeds 20]
    python benchmarks/gpu_proof.py --rehearse --out /tmp/gpu-proof   # here, no GPU
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

PROBE = "98_gpu_slot"
CLASS, CALIBRATED = "03_cnn_classification", ("03_cnn_classification", "06_unet_segmentation")

_PROBE_CELLS = [
    ("setup", 0, "import glob, os\nimport torch\nSHARE = float(os.environ.get('MEDGRADE_GPU_MEMORY_FRACTION', '0'))"),
    ("test_one_gpu", 1,
     "nodes = sorted(glob.glob('/dev/nvidia[0-9]*'))\n"
     "assert torch.cuda.device_count() == 1, f'sees {torch.cuda.device_count()} CUDA devices'\n"
     "assert len(nodes) == 1, f'sees device nodes {nodes}'"),
    ("test_share_is_a_cap", 1,
     "free, total = torch.cuda.mem_get_info()\n"
     "small = torch.empty(int(0.5 * SHARE * total), dtype=torch.uint8, device='cuda')\n"
     "del small\n"
     "try:\n"
     "    big = torch.empty(int(1.25 * SHARE * total), dtype=torch.uint8, device='cuda')\n"
     "except torch.cuda.OutOfMemoryError:\n"
     "    big = None\n"
     "assert big is None, f'allocated 1.25x its {SHARE:.0%} share'"),
    ("test_raised_fraction_is_still_capped", 1,
     "torch.cuda.empty_cache()\n"
     "torch.cuda.set_per_process_memory_fraction(1.0)\n"
     "try:\n"
     "    big = torch.empty(int(1.25 * SHARE * total), dtype=torch.uint8, device='cuda')\n"
     "except torch.cuda.OutOfMemoryError:\n"
     "    big = None\n"
     "assert big is None, 'a kernel that raises its own memory fraction takes more than its share'"),
]
_CPU_PROBE_CELLS = [
    ("setup", 0, "import glob\nimport torch"),
    ("test_no_gpu", 1, "assert torch.cuda.device_count() == 0 and not glob.glob('/dev/nvidia[0-9]*')"),
]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def smi(*query: str) -> list[list[str]]:
    """Rows of an nvidia-smi CSV query; none where nvidia-smi is missing or fails."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        out = subprocess.run([exe, *query, "--format=csv,noheader,nounits"], capture_output=True, text=True,
                             timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [[f.strip() for f in line.split(",")] for line in out.splitlines() if line.strip()]


class Sampler(threading.Thread):
    """Every second: each compute process's GPU memory, the GPUs' utilisation, the CPUs' busy share."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop, self.peak_mib, self.gpu_util, self.cpu_busy = threading.Event(), {}, [], []

    @staticmethod
    def _cpu() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # all, idle + iowait

    def run(self) -> None:
        last = self._cpu()
        while not self.stop.wait(1.0):
            for pid, mib in (r for r in smi("--query-compute-apps=pid,used_memory") if len(r) == 2):
                if mib.isdigit():
                    self.peak_mib[pid] = max(self.peak_mib.get(pid, 0), int(mib))
            self.gpu_util += [float(r[0]) for r in smi("--query-gpu=utilization.gpu") if r and r[0].isdigit()]
            now = self._cpu()
            total, idle = now[0] - last[0], now[1] - last[1]
            if total:
                self.cpu_busy.append(100.0 * (total - idle) / total)
            last = now

    def summary(self) -> dict[str, Any]:
        mean = (lambda xs: round(sum(xs) / len(xs), 1) if xs else None)  # noqa: E731
        peaks = sorted(self.peak_mib.values())
        return {"kernels_seen": len(peaks), "gpu_mib_per_kernel_max": peaks[-1] if peaks else None,
                "gpu_mib_per_kernel_median": peaks[len(peaks) // 2] if peaks else None,
                "gpu_util_mean_pct": mean(self.gpu_util), "cpu_busy_mean_pct": mean(self.cpu_busy)}


def machine(profile_name: str) -> dict[str, Any]:
    import torch

    from medgrade.runner.isolation import sandbox_problem

    gpus = smi("--query-gpu=name,memory.total,driver_version")
    return {"gpus": [{"name": g[0], "memory_mib": g[1], "driver": g[2]} for g in gpus if len(g) == 3],
            "torch": torch.__version__, "torch_cuda": torch.version.cuda, "cuda_available": torch.cuda.is_available(),
            "profile": profile_name, "sandbox_problem": sandbox_problem()}


def probe_course(root: Path, gpu: bool) -> Path:
    from click.testing import CliRunner

    from medgrade.cli.main import cli

    (root / "source" / PROBE).mkdir(parents=True)
    shutil.copy2(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    cells = []
    for gid, points, src in _PROBE_CELLS if gpu else _CPU_PROBE_CELLS:
        c = new_code_cell(src)
        c.metadata["nbgrader"] = {"grade": points > 0, "grade_id": gid, "locked": True, "schema_version": 3,
                                  "solution": False, "task": False, **({"points": points} if points else {})}
        cells.append(c)
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "source" / PROBE / "probe.ipynb")
    result = CliRunner().invoke(cli, ["release", PROBE, "--no-execute", "--course-dir", str(root)])
    if result.exit_code != 0:
        raise SystemExit(f"could not release the probe notebook:\n{result.output}")
    folder = root / "submitted" / "probe" / PROBE
    folder.mkdir(parents=True)
    shutil.copy2(root / "source" / PROBE / "probe.ipynb", folder / "probe.ipynb")
    return root


def isolation(work: Path, profile: Any, slots_per_gpu: int, unconfined: bool) -> dict[str, Any]:
    from medgrade.coordinator.engine import grade_class
    from medgrade.course import Course
    from medgrade.runner.slots import plan_slots

    gpu = profile.device == "cuda"
    course = Course(probe_course(work / "probe", gpu))
    slots = plan_slots(profile, workers=1 if not gpu else None, slots_per_gpu=slots_per_gpu)[:1]
    (result,) = grade_class(course, PROBE, ["probe"], profile=profile, data_root=None, workers=1, slots=slots,
                            unconfined=unconfined, force=True)
    tests = {t.grade_id: {"passed": t.status == "passed", "message": (t.message or "").splitlines()[:1]}
             for t in result.tests}
    for gid, t in tests.items():
        log(f"  {gid}: {'passed' if t['passed'] else 'FAILED'} {' '.join(t['message'])}")
    return {"slot": slots[0].describe(), "outcome": result.outcome, "tests": tests}


def throughput(work: Path, profile: Any, n: int, slots_per_gpu: int, unconfined: bool) -> dict[str, Any]:
    from grading_throughput import build_class

    from medgrade.coordinator.engine import grade_class
    from medgrade.course import Course
    from medgrade.data.root import present_root
    from medgrade.runner.slots import plan_slots

    root = work / "class"
    build_class(root, CLASS, n)
    course = Course(root)
    slots = plan_slots(profile, workers=None if profile.device == "cuda" else 2, slots_per_gpu=slots_per_gpu)
    sampler = Sampler()
    sampler.start()
    started = time.monotonic()

    def progress(done: int, total: int, result: Any, reused: bool) -> None:
        if done % max(1, total // 8) == 0 or done == total:
            log(f"  graded {done}/{total} ({time.monotonic() - started:.0f} s)")

    results = grade_class(course, CLASS, course.students(CLASS), profile=profile, data_root=present_root(),
                          workers=len(slots), slots=slots, unconfined=unconfined, force=True, progress=progress)
    wall = time.monotonic() - started
    sampler.stop.set()
    sampler.join()
    scores = sorted({r.score for r in results})
    return {"assignment": CLASS, "submissions": n, "slots": len(slots), "slot": slots[0].describe(),
            "wall_s": round(wall, 1), "per_minute": round(n / wall * 60, 2), "scores": scores, **sampler.summary()}


def calibration(work: Path, out: Path, profile: Any, assignment: str, seeds: int, slots_per_gpu: int,
                minutes: float, unconfined: bool) -> dict[str, Any]:
    from medgrade.author.calibrate import calibrate_assignment
    from medgrade.author.records import figure_name, record_name
    from medgrade.course import Course

    root = work / f"calibrate-{assignment}"
    root.mkdir()
    shutil.copy2(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    for stage in ("source", "release", "reference_solutions"):
        shutil.copytree(REPO / stage / assignment, root / stage / assignment)
    started = time.monotonic()
    result = calibrate_assignment(
        Course(root), assignment, seeds=seeds, profile=profile, slots_per_gpu=slots_per_gpu, unconfined=unconfined,
        deadline=started + 60 * minutes, progress=lambda d, t: log(f"  {assignment}: seed {d - 1} graded"))
    for name in (record_name(profile.name), figure_name(profile.name)):
        if (root / "reference_solutions" / assignment / name).is_file():
            shutil.copy2(root / "reference_solutions" / assignment / name, out / f"{assignment}.{name}")
    print(result.table(), flush=True)
    return {"assignment": assignment, "seeds": result.record["seeds"], "device": result.record["device"],
            "wall_s": round(time.monotonic() - started, 1), "problems": result.problems}


def report(figures: dict[str, Any]) -> str:
    m, t = figures["machine"], figures.get("throughput")
    gpu = ", ".join(f"{g['name']} ({g['memory_mib']} MiB, driver {g['driver']})" for g in m["gpus"]) or "no GPU"
    title = (f"Rehearsal on the cpu profile ({gpu}): the plumbing, not figures to report" if figures["rehearsal"]
             else f"The gpu profile on {gpu}")
    lines = [f"## {title}", "",
             f"torch {m['torch']} (CUDA {m['torch_cuda']}); sandbox: "
             f"{'built' if not m['sandbox_problem'] else 'unavailable, so unconfined: ' + m['sandbox_problem']}.", ""]
    iso = figures.get("isolation")
    if iso:
        lines.append(f"Slot isolation ({iso['slot']}): " + "; ".join(
            f"{gid} {'passed' if v['passed'] else 'failed'}" for gid, v in iso["tests"].items()) + ".")
    if t:
        lines.append(f"Throughput: {t['submissions']} submissions of {t['assignment']} on {t['slots']} slots "
                     f"({t['slot']}) in {t['wall_s']} s: {t['per_minute']} submissions/min (goal: 200 in 10 min, "
                     f"20/min); peak GPU memory per kernel {t['gpu_mib_per_kernel_max']} MiB (median "
                     f"{t['gpu_mib_per_kernel_median']}); mean GPU utilisation {t['gpu_util_mean_pct']}%, "
                     f"CPU {t['cpu_busy_mean_pct']}%; scores {t['scores']}.")
    for c in figures.get("calibration", []):
        lines.append(f"Calibration of {c['assignment']}: {c['seeds']} seeds on {c['device']} in {c['wall_s']} s; "
                     f"{len(c['problems'])} problem(s)" + (": " + "; ".join(c["problems"]) if c["problems"] else "."))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--budget-s", type=float, default=480, help="seconds for the whole run")
    parser.add_argument("--class-size", type=int, default=48)
    parser.add_argument("--slots-per-gpu", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=20, help="the most seeds calibration tries")
    parser.add_argument("--rehearse", action="store_true", help="the cpu profile, tiny sizes: no GPU needed")
    args = parser.parse_args()
    from medgrade.profiles import get_profile

    deadline = time.monotonic() + args.budget_s
    profile = get_profile("cpu" if args.rehearse else "gpu")
    if args.rehearse:  # tiny sizes: the plumbing, not the figures
        args.class_size, args.seeds = min(args.class_size, 2), min(args.seeds, 2)
    args.out.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {"machine": machine(profile.name), "rehearsal": args.rehearse}
    log(f"machine: {json.dumps(figures['machine'])}")
    unconfined = figures["machine"]["sandbox_problem"] is not None
    if not args.rehearse and not figures["machine"]["cuda_available"]:
        raise SystemExit("no CUDA device here: run with --rehearse to check the plumbing on a CPU")

    def save() -> None:
        (args.out / "gpu_proof.json").write_text(json.dumps(figures, indent=1) + "\n")
        (args.out / "gpu_proof.md").write_text(report(figures))

    with tempfile.TemporaryDirectory(prefix="medgrade-gpu-proof-") as tmp:
        work = Path(tmp)
        log("slot isolation ...")
        figures["isolation"] = isolation(work, profile, args.slots_per_gpu, unconfined)
        save()
        log(f"throughput: {args.class_size} submissions of {CLASS} ...")
        figures["throughput"] = throughput(work, profile, args.class_size, args.slots_per_gpu, unconfined)
        log(f"  {figures['throughput']['per_minute']} submissions/min")
        save()
        figures["calibration"] = []
        for i, assignment in enumerate(CALIBRATED):
            minutes = (deadline - time.monotonic()) / 60 / (len(CALIBRATED) - i)
            if minutes <= 0.5:
                log(f"no time left to calibrate {assignment}")
                continue
            log(f"calibrating {assignment}: up to {args.seeds} seeds in {minutes:.1f} min ...")
            figures["calibration"].append(calibration(work, args.out, profile, assignment, args.seeds,
                                                      args.slots_per_gpu, minutes, unconfined))
            save()
    save()
    print(report(figures), flush=True)


if __name__ == "__main__":
    main()
