"""Device slots: where each grading worker runs its kernels.

A slot is a CPU core's worth of work, or a share of one GPU. On the ``gpu`` profile each GPU is
split into ``slots_per_gpu`` slots; a worker process claims one slot for its whole life, and
every kernel it starts sees only that GPU (``CUDA_VISIBLE_DEVICES``) and may allocate at most
its fraction of the GPU's memory (``torch.cuda.set_per_process_memory_fraction``, applied in
the kernel when torch is imported). Two workers never share a slot.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from medgrade.errors import UsageError
from medgrade.profiles import Profile

__all__ = ["DeviceSlot", "plan_slots", "detect_gpus", "claim_slot", "current_slot", "FRACTION_ENV"]

FRACTION_ENV = "MEDGRADE_GPU_MEMORY_FRACTION"
# Leave the CUDA context and the allocator's fragmentation some room on a shared GPU.
_HEADROOM = 0.95


@dataclass(frozen=True)
class DeviceSlot:
    """One worker's device: ``gpu`` is a CUDA device index (``None`` on the CPU)."""

    gpu: str | None = None
    memory_fraction: float | None = None

    def env(self) -> dict[str, str]:
        """Variables that confine a kernel to this slot."""
        env = {"CUDA_VISIBLE_DEVICES": self.gpu if self.gpu is not None else ""}
        if self.memory_fraction is not None:
            env[FRACTION_ENV] = f"{self.memory_fraction:.4f}"
        return env

    def describe(self) -> str:
        if self.gpu is None:
            return "cpu"
        return f"gpu {self.gpu} ({self.memory_fraction:.0%} of its memory)"


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
        return [DeviceSlot() for _ in range(workers or max(1, os.cpu_count() or 1))]
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
    return slots


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
