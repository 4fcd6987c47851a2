"""A thread that kills a kernel which outgrows its caps or the notebook's time budget.

Memory is the resident memory of the kernel's process tree plus what it wrote to its sandbox's
tmpfs mounts (its folder, ``/tmp`` and ``/dev/shm``: memory no process shows as its own).
Resident sizes count a page shared by forked processes (DataLoader workers) once per process,
so before ending a kernel over its cap the watchdog measures again with each page shared out
among its sharers (PSS, slower to read): only memory really used ends a kernel. Each
tmpfs also has a hard size, and the kernel's tasks (processes and threads) a hard number: when
the kernel meets one of those, the watchdog ends it with a message that says which.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from medgrade.results import Stop

__all__ = ["Watchdog", "Caps", "Tmpfs"]


@dataclass(frozen=True)
class Tmpfs:
    """A tmpfs of the sandbox: its path inside, its size, and how a student calls it."""

    inside: Path
    size_mb: int
    label: str


@dataclass(frozen=True)
class Caps:
    """What the watchdog enforces beside memory and time (nothing, for an unconfined kernel)."""

    processes: int | None = None  # tasks of the tree: processes and their threads
    tmpfs: tuple[Tmpfs, ...] = ()


def _usage(procs: list[psutil.Process], mounts: tuple[Tmpfs, ...]) -> dict[Tmpfs, tuple[float, bool]]:
    """MiB used on each tmpfs and whether it is full, read through a sandboxed process's root."""
    for p in reversed(procs):  # the deepest first: the outermost process is outside the sandbox
        try:
            found = {}
            for m in mounts:
                st = os.statvfs(f"/proc/{p.pid}/root/{m.inside.relative_to('/')}")
                found[m] = ((st.f_blocks - st.f_bfree) * st.f_frsize / 2**20, st.f_bavail == 0)
            return found
        except (OSError, ValueError):
            continue
    return {}


class Watchdog:
    """Polls the kernel's process tree; on a breach, kills it and remembers why."""

    def __init__(self, pid: int, *, memory_mb: int, budget_s: float, caps: Caps | None = None,
                 interval: float = 0.2) -> None:
        self.pid = pid
        self.memory_mb = memory_mb
        self.budget_s = budget_s
        self.caps = caps or Caps()
        self.interval = interval
        self.reason: str | None = None  # what the student reads
        self.stop: Stop | None = None  # what reports count
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._pss_quiet_until = 0.0
        self._start = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="medgrade-watchdog", daemon=True)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _tree(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    @staticmethod
    def _sum(procs: list[psutil.Process], what: str) -> float:
        total = 0.0
        for p in procs:
            try:
                if what == "pss":
                    try:
                        total += p.memory_full_info().pss
                    except (psutil.AccessDenied, AttributeError):  # hidden (not dumpable): count it whole
                        total += p.memory_info().rss
                elif what == "rss":
                    total += p.memory_info().rss
                else:
                    total += p.num_threads()
            except psutil.NoSuchProcess:
                pass
        return total

    def _memory_mb(self, procs: list[psutil.Process], tmpfs_mb: float) -> float:
        """Resident memory plus tmpfs; over the cap, measured again by PSS (fork-shared pages once)."""
        memory = self._sum(procs, "rss") / 2**20 + tmpfs_mb
        if memory > self.memory_mb and time.monotonic() >= self._pss_quiet_until:
            memory = self._sum(procs, "pss") / 2**20 + tmpfs_mb
            if memory <= self.memory_mb:  # shared pages: look again by PSS in a second, not every tick
                self._pss_quiet_until = time.monotonic() + 1.0
        elif memory > self.memory_mb:
            memory = self.memory_mb  # within a second of a PSS reading under the cap
        return memory

    def _breach(self, procs: list[psutil.Process]) -> tuple[Stop, str] | None:
        caps = self.caps
        usage = _usage(procs, caps.tmpfs) if caps.tmpfs else {}
        memory = self._memory_mb(procs, sum(used for used, _ in usage.values()))
        self.peak_mb = max(self.peak_mb, memory)
        if memory > self.memory_mb:
            where = ", its folder, /tmp and /dev/shm included" if caps.tmpfs else ""
            return Stop.MEMORY, f"the kernel ran out of memory (over the {self.memory_mb} MB cap{where})"
        for mount, (_, full) in usage.items():
            if full:
                return Stop.SPACE, f"the kernel ran out of space in {mount.label} (the cap is {mount.size_mb} MB)"
        if caps.processes is not None and self._sum(procs, "threads") >= caps.processes:
            return Stop.PROCESSES, (f"the kernel ran out of processes (it reached the cap of {caps.processes} "
                                    "processes and threads)")
        if time.monotonic() - self._start > self.budget_s:
            return Stop.BUDGET, f"the notebook ran past its {self.budget_s:g} s budget"
        return None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            procs = self._tree()
            if not procs:
                return
            breach = self._breach(procs)
            if breach:
                self.stop, self.reason = breach
                self.kill(procs)
                return

    @staticmethod
    def kill(procs: list[psutil.Process]) -> None:
        for p in reversed(procs):
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
