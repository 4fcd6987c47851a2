"""A grading run past its budget is killed with everything it started."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import medgrade.nbgrader_cli as nbcli


def test_timeout_kills_the_whole_process_group(tmp_path: Path, monkeypatch) -> None:
    # Stand in for nbgrader: a process that starts a grandchild (like a kernel) and hangs.
    script = tmp_path / "fake_nbgrader.py"
    pidfile = tmp_path / "grandchild.pid"
    script.write_text(
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n"
    )
    monkeypatch.setattr(nbcli.sys, "executable", sys.executable)
    real_popen = nbcli.subprocess.Popen

    def popen(cmd, **kw):
        return real_popen([sys.executable, str(script)], **kw)

    monkeypatch.setattr(nbcli.subprocess, "Popen", popen)
    start = time.monotonic()
    run = nbcli.run_nbgrader(tmp_path, "autograde", "x", timeout=2)
    assert time.monotonic() - start < 20
    assert not run.ok and "did not finish within 2 s" in run.output
    grandchild = int(pidfile.read_text())
    time.sleep(0.2)
    try:
        os.kill(grandchild, 0)
        alive = Path(f"/proc/{grandchild}/stat").read_text().split()[2] != "Z"
    except ProcessLookupError:
        alive = False
    assert not alive, "the kernel-like grandchild outlived the timeout"
