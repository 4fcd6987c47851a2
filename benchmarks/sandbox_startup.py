"""What a kernel's sandbox costs at start-up: no sandbox, the old one and today's, in one run.

Each round starts a kernel, waits until it answers (``kernel_info``), and shuts it down, for:

1. **none**: the kernel as jupyter starts it (``--unconfined``);
2. **old**: the sandbox medgrade had before bubblewrap (``unshare`` and a mount script laid over
   the host, the kernel as uid 0), loaded from the git history (commit ``OLD``) so both run here;
3. **new**: today's bubblewrap sandbox (allowlist root, unprivileged uid, seccomp, tmpfs folder).

Rounds alternate between the three so that a slow moment of the machine hits each alike;
printed: min and median seconds per start, and each sandbox's cost beyond no sandbox.

    python benchmarks/sandbox_startup.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
OLD = "80d86a1"  # the last commit with the unshare sandbox (medgrade/runner/confine.py)


def _old_confine() -> ModuleType:
    source = subprocess.run(["git", "-C", str(REPO), "show", f"{OLD}:medgrade/runner/confine.py"], check=True,
                            capture_output=True, text=True).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(source)
    spec = importlib.util.spec_from_file_location("medgrade_old_confine", f.name)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


async def _start_and_stop(spec_dir: Path, ip: Path, confined: bool, connection: Path,
                          env: dict[str, str] | None = None) -> float:
    from jupyter_client.kernelspec import KernelSpecManager

    from medgrade.runner.sandbox import KERNEL_NAME, SandboxKernelManager

    specs = KernelSpecManager(kernel_dirs=[str(spec_dir)])
    km = SandboxKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs, confined=confined)
    km.transport, km.ip, km.connection_file = "ipc", str(ip), str(connection)
    t0 = time.perf_counter()
    await km.start_kernel(env=env or {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8"},
                          cwd=str(spec_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = km.client()
    client.start_channels()
    await client.wait_for_ready(timeout=120)
    took = time.perf_counter() - t0
    client.stop_channels()
    await km.shutdown_kernel(now=True)
    return took


def _kernel(kind: str, old: ModuleType, tmp: Path) -> Callable[[], float]:
    """A function that times one start of a kernel sandboxed the ``kind`` way, in a fresh folder under ``tmp``."""
    from medgrade.course import Course
    from medgrade.profiles import get_profile
    from medgrade.runner.confine import Sandbox
    from medgrade.runner.isolation import find_sandbox
    from medgrade.runner.sandbox import KERNEL_NAME, open_kernel

    profile = get_profile("cpu")

    def once() -> float:
        folder = Path(tempfile.mkdtemp(dir=tmp))
        if kind == "old":
            work, spec = folder / "work", folder / "spec" / KERNEL_NAME
            work.mkdir()
            spec.mkdir(parents=True)
            argv = old.launch_argv([sys.executable, "-m", "ipykernel_launcher", "-f"], old.detect_protections(),
                                   old.Confinement(folder))
            (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "old", "language": "python"}))
            return asyncio.run(_start_and_stop(spec.parent, work / "kernel", False, folder / "spec" / "c.json"))
        sandbox = find_sandbox() if kind == "new" else Sandbox(None)
        kernel = open_kernel(Course(folder / "course"), folder, sandbox, profile, [], None)
        return asyncio.run(_start_and_stop(kernel.spec_dir, kernel.workdir / "kernel", kernel.confined,
                                           kernel.spec_dir / "connection.json", kernel.env))

    return once


def measure(rounds: int) -> dict[str, list[float]]:
    """Seconds per kernel start for each kind, ``rounds`` rounds interleaved."""
    old = _old_confine()
    times: dict[str, list[float]] = {"none": [], "old": [], "new": []}
    with tempfile.TemporaryDirectory(prefix="medgrade-bench-sandbox-") as tmp:
        starts = {kind: _kernel(kind, old, Path(tmp)) for kind in times}
        for _ in range(rounds):
            for kind, start in starts.items():
                times[kind].append(start())
    return times


def report(times: dict[str, list[float]]) -> list[str]:
    base = statistics.median(times["none"])
    lines = [f"kernel start to ready, {len(times['none'])} rounds each, {os.cpu_count()} cores:"]
    for kind, label in (("none", "no sandbox"), ("old", f"old sandbox (unshare, {OLD})"),
                        ("new", "new sandbox (bubblewrap)")):
        med = statistics.median(times[kind])
        extra = "" if kind == "none" else f"; sandbox cost {med - base:+.3f} s ({med / base:.2f}x no sandbox)"
        lines.append(f"  {label:<34} min {min(times[kind]):.3f} s, median {med:.3f} s{extra}")
    lines.append(f"  new / old sandbox start: {statistics.median(times['new']) / statistics.median(times['old']):.2f}x")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    print("\n".join(report(measure(args.rounds))))


if __name__ == "__main__":
    main()
