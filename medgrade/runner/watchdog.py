"""A thread that kills a kernel which outgrows its memory cap or the notebook's time budget."""

from __future__ import annotations

import threading
import time

import psutil

__all__ = ["Watchdog"]


class Watchdog:
    """Polls the kernel's process tree; on a breach, kills it and remembers why."""

    def __init__(self, pid: int, *, memory_mb: int, budget_s: float, interval: float = 0.2) -> None:
        self.pid = pid
        self.memory_mb = memory_mb
        self.budget_s = budget_s
        self.interval = interval
        self.reason: str | None = None
        self.peak_mb = 0.0
        self._stop = threading.Event()
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

    def _rss_mb(self, procs: list[psutil.Process]) -> float:
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total / 2**20

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            procs = self._tree()
            if not procs:
                return
            rss = self._rss_mb(procs)
            self.peak_mb = max(self.peak_mb, rss)
            if rss > self.memory_mb:
                self.reason = f"the kernel ran out of memory (over the {self.memory_mb} MB cap)"
            elif time.monotonic() - self._start > self.budget_s:
                self.reason = f"the notebook ran past its {self.budget_s:g} s budget"
            if self.reason:
                self.kill(procs)
                return

    @staticmethod
    def kill(procs: list[psutil.Process]) -> None:
        for p in reversed(procs):
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
