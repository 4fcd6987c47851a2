"""Run a command as a user would from a fresh shell: nothing activated, nothing inherited.

``env -i``: HOME, a system PATH without the virtualenv's ``bin``, and only the variables a test
names. The Makefile puts ``.venv/bin`` on PATH for the test run; a user's shell does not.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

__all__ = ["MEDGRADE", "SYSTEM_PATH", "TRACEBACK", "minimal_env", "run_minimal", "shell_commands"]

SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
MEDGRADE = Path(sys.executable).parent / "medgrade"  # the console script `make setup` installed
TRACEBACK = "Traceback (most recent call last)"


def minimal_env(home: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(home), "PATH": SYSTEM_PATH, "LANG": "C.UTF-8", **extra}


def run_minimal(argv: list[str] | str, cwd: Path, home: Path, *, timeout: float = 600,
                **extra: str) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` (a list, or a shell command line run by /bin/sh) with :func:`minimal_env`.

    stdout and stderr come back together, as a terminal shows them.
    """
    return subprocess.run(argv, cwd=cwd, env=minimal_env(home, **extra), shell=isinstance(argv, str),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
                          executable="/bin/sh" if isinstance(argv, str) else None)


def shell_commands(markdown: str) -> list[str]:
    """The command lines of a README's ```sh blocks: continuations joined, comments dropped."""
    commands: list[str] = []
    in_block, pending = False, ""
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_block = line.strip() == "```sh" and not in_block
            continue
        if not in_block:
            continue
        line = re.sub(r"\s{2,}#.*$", "", line.rstrip())  # a trailing comment, two spaces before it
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        commands.append(pending + line.strip())
        pending = ""
    return commands
