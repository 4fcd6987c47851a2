"""Run nbgrader's own commands on a course directory, in a child process.

A child process keeps nbgrader's global logging and traitlets state out of medgrade's, lets a
failure in one student's run stay that student's, and is exactly what an instructor would type.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["NbgraderRun", "run_nbgrader"]


@dataclass(frozen=True)
class NbgraderRun:
    args: tuple[str, ...]
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.output.strip().splitlines()[-lines:])


def run_nbgrader(
    course_root: Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> NbgraderRun:
    """``nbgrader ARGS`` in ``course_root`` with this interpreter; output captured, never raised."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    # Its own session, so a timeout kills nbgrader *and* the kernel it started.
    proc = subprocess.Popen(
        cmd,
        cwd=course_root,
        env=env if env is not None else dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return NbgraderRun(tuple(args), -9, (out or "") + f"\nnbgrader did not finish within {timeout} s")
    return NbgraderRun(tuple(args), proc.returncode, out)
