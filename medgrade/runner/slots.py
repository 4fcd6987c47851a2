"""Device slots: where each grading worker runs its kernels.

A slot is a CPU core's worth of work, or a share of one GPU. On the ``gpu`` profile each GPU is
split into ``slots_per_gpu`` slots; a worker process claims one slot for its whole life, and
every kernel it starts sees only that GPU (``CUDA_VISIBLE_DEVICES``) and may allocate at most
its fraction of the GPU's memory (``torch.cuda.set_per_process_memory_fraction``, applied in
the kernel when torch is imported). Two workers never share a slot.

Each slot also owns a share of the grader's CPU cores (``cpus``): its kernels are pinned to
them and may not widen their affinity (the sandbox's seccomp filter refuses it), so a kernel
that spins every core it can reach slows only its own slot, never a neighbour's time-limited
tests. In the sandbox a GPU slot's kernel gets only that GPU's device node (:func:`gpu_nodes`).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medgrade import envvars
from medgrade.errors import UsageError
from medgrade.profiles import Profile

__all__ = ["DeviceSlot", "plan_slots", "detect_gpus", "claim_slot", "current_slot", "gpu_nodes",
           "share_cpus", "GpuNodes", "cpu_slots"]

# Leave the CUDA context and the allocator's fragmentation some room on a shared GPU.
_HEADROOM = 0.95


@dataclass(frozen=True)
class DeviceSlot:
    """One worker's device: ``gpu`` is a CUDA device index (``None`` on the CPU)."""

    gpu: str | None = None
    memory_fraction: float | None = None
    cpus: tuple[int, ...] = ()  # the cores its kernels are pinned to (none: not pinned)

    def env(self) -> dict[str, str]:
        """Variables that confine a kernel to this slot."""
        env = {"CUDA_VISIBLE_DEVICES": self.gpu if self.gpu is not None else ""}
        if self.memory_fraction is not None:
            env[envvars.GPU_MEMORY_FRACTION] = f"{self.memory_fraction:.4f}"
        return env

    def describe(self) -> str:
        if self.gpu is None:
            return "cpu"
        return f"gpu {self.gpu} ({self.memory_fraction:.0%} of its memory)"


def share_cpus(n_slots: int, cores: list[int] | None = None) -> list[tuple[int, ...]]:
    """Split the cores this process may use among ``n_slots`` slots: disjoint while there are enough."""
    available = sorted(cores if cores is not None else os.sched_getaffinity(0))
    if n_slots <= 0 or not available:
        return [()] * max(0, n_slots)
    per = max(1, len(available) // n_slots)
    if per * n_slots <= len(available):
        return [tuple(available[i * per:(i + 1) * per]) for i in range(n_slots)]
    return [(available[i % len(available)],) for i in range(n_slots)]  # more slots than cores: shared


def cpu_slots(n: int) -> list[DeviceSlot]:
    """``n`` CPU slots, each pinned to its share of this process's cores."""
    return _pinned([DeviceSlot() for _ in range(n)])


def _pinned(slots: list[DeviceSlot]) -> list[DeviceSlot]:
    shares = share_cpus(len(slots))
    return [DeviceSlot(s.gpu, s.memory_fraction, cpus) for s, cpus in zip(slots, shares, strict=True)]


def detect_gpus() -> list[str]:
    """CUDA device indices this machine offers, honouring ``CUDA_VISIBLE_DEVICES``."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [d.strip() for d in visible.split(",") if d.strip() and d.strip() != "-1"]
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


def plan_slots(profile: Profile, *, workers: int | None, gpus: list[str] | None = None,
               slots_per_gpu: int = 1) -> list[DeviceSlot]:
    """One slot per worker: CPU slots for a CPU profile, GPU shares for a CUDA one."""
    if slots_per_gpu < 1:
        raise UsageError(f"--slots-per-gpu must be at least 1, got {slots_per_gpu}")
    if profile.device != "cuda":
        return cpu_slots(workers or max(1, os.cpu_count() or 1))
    devices = gpus if gpus is not None else detect_gpus()
    if not devices:
        raise UsageError(
            f"the {profile.name} profile grades on CUDA, but no GPU is visible here "
            "(nvidia-smi lists none, or CUDA_VISIBLE_DEVICES is empty); grade with --profile cpu, "
            "or run in the grading container with --gpus all")
    fraction = round(_HEADROOM / slots_per_gpu, 4)
    slots = [DeviceSlot(d, fraction) for _ in range(slots_per_gpu) for d in devices]
    if workers is not None:
        if workers > len(slots):
            raise UsageError(
                f"--workers {workers} is more than the {len(slots)} GPU slot(s) "
                f"({len(devices)} GPU(s) x {slots_per_gpu} per GPU); raise --slots-per-gpu instead")
        slots = slots[:workers]
    return _pinned(slots)


_SLOT: DeviceSlot = DeviceSlot()


def claim_slot(queue: Any) -> None:
    """Pool initializer: take one slot from ``queue`` for this worker process's whole life.

    The worker also asks to be killed with its coordinator: a grader killed with SIGKILL must
    not leave workers (and, through them, kernels) running student code with nobody to stop it.
    """
    global _SLOT
    _die_with_parent()
    _SLOT = queue.get(timeout=60)


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)


def current_slot() -> DeviceSlot:
    """The slot of this worker process (the CPU outside a pool)."""
    return _SLOT


@dataclass(frozen=True)
class GpuNodes:
    """The device nodes a GPU slot's kernel gets, how CUDA names its GPU there, and what was not found."""

    nodes: tuple[Path, ...] = ()
    visible: str | None = None  # CUDA_VISIBLE_DEVICES inside the sandbox (the GPU's UUID when known)
    problem: str | None = None


_CONTROL = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset")


def _smi_rows() -> list[list[str]]:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, "--query-gpu=index,uuid,pci.bus_id", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [[field.strip() for field in line.split(",")] for line in out.splitlines() if line.count(",") == 2]


def _minor(bus_id: str, proc: Path) -> int | None:
    """The GPU's device minor number, from the driver's /proc entry for its PCI address."""
    short = bus_id.lower()[-12:]  # nvidia-smi pads the PCI domain to 8 digits, /proc to 4
    try:
        text = (proc / short / "information").read_text()
    except OSError:
        return None
    found = re.search(r"Device Minor:\s*(\d+)", text)
    return int(found.group(1)) if found else None


@functools.lru_cache(maxsize=8)
def gpu_nodes(gpu: str, dev: Path = Path("/dev"), proc: Path = Path("/proc/driver/nvidia/gpus")) -> GpuNodes:
    """The nodes of GPU ``gpu`` (an index or UUID as CUDA_VISIBLE_DEVICES names it) and the driver's."""
    every = sorted(p for p in dev.glob("nvidia[0-9]*") if p.name[6:].isdigit())
    control = tuple(dev / name for name in _CONTROL if (dev / name).exists())
    if not every:
        return GpuNodes(control, gpu)
    for index, uuid, bus_id in _smi_rows():
        if gpu in (index, uuid):
            minor = _minor(bus_id, proc)
            if minor is not None and (dev / f"nvidia{minor}").exists():
                return GpuNodes((*control, dev / f"nvidia{minor}"), uuid)
    return GpuNodes((*control, *every), gpu, f"the device node of GPU {gpu} was not found, so its kernels could "
                                            "see every GPU of this machine")
