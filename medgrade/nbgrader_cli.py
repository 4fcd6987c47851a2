"""Run nbgrader's own commands on a course directory, in a child process.

A child process keeps nbgrader's global logging and traitlets state out of medgrade's, lets a
failure in one student's run stay that student's, and is exactly what an instructor would type.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

__all__ = ["NbgraderRun", "run_nbgrader", "tools_first", "put_tools_on_path"]

_LOG_PREFIX = re.compile(r"^\[\w+ \| \w+\] ")  # nbgrader's "[AutogradeApp | ERROR] "
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Entry|Exit|Interrupt)(: .*)?$")


def tools_first(path: str | None) -> str:
    """``path`` with this environment's scripts folder first (the ``bin`` of its virtualenv).

    nbgrader's gradebook runs ``alembic`` from PATH, and a kernelspec may start ``python`` from
    it: both must be this environment's, even when medgrade was started as ``.venv/bin/medgrade``
    from a shell that never activated the virtualenv.
    """
    folders = [sysconfig.get_path("scripts"), str(Path(sys.executable).parent)]
    rest = [p for p in (path or os.defpath).split(os.pathsep) if p and p not in folders]
    return os.pathsep.join(dict.fromkeys([*folders, *rest]))


def put_tools_on_path() -> None:
    """Make :func:`tools_first` this process's PATH, for nbgrader's in-process gradebook and children."""
    os.environ["PATH"] = tools_first(os.environ.get("PATH"))


@dataclass(frozen=True)
class NbgraderRun:
    args: tuple[str, ...]
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def summary(self) -> str:
        """The one line that says why it failed: the last exception, else the last error nbgrader logged."""
        lines = [line.strip() for line in self.output.splitlines() if line.strip()]
        errors = [_LOG_PREFIX.sub("", line) for line in lines if _EXCEPTION.match(_LOG_PREFIX.sub("", line))]
        errors = errors or [_LOG_PREFIX.sub("", line) for line in lines if _LOG_PREFIX.match(line)
                            and ("ERROR]" in line or "CRITICAL]" in line)]
        return (errors or lines or [f"exit status {self.returncode}"])[-1]

    def failure(self, what: str) -> str:
        """``what failed: why; the full output is in LOG``: one line, the output kept in a log file."""
        from medgrade.logs import write_log

        head = f"$ nbgrader {' '.join(self.args)}\n(exit status {self.returncode})\n\n"
        log = write_log("nbgrader", head + self.output)
        return f"{what} failed: {self.summary()}; nbgrader's full output is in {log}"


def run_nbgrader(
    course_root: Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> NbgraderRun:
    """``nbgrader ARGS`` in ``course_root`` with this interpreter; output captured, never raised."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    child_env = dict(env if env is not None else os.environ)
    child_env["PATH"] = tools_first(child_env.get("PATH"))
    # Its own session, so a timeout kills nbgrader *and* the kernel it started.
    proc = subprocess.Popen(
        cmd,
        cwd=course_root,
        env=child_env,
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
