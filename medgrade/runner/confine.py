"""Confinement of a student's kernel: namespaces, hidden folders, read-only data, no capabilities.

Where the grader may create namespaces (root, or CAP_SYS_ADMIN), the kernel starts as

    unshare -n -m -p -f --kill-child --mount-proc -- sh -c SCRIPT

and SCRIPT, inside the new namespaces and before the kernel starts:

- hides every other sandbox: all sandboxes live under one parent folder, a tmpfs is mounted
  over it and only this sandbox's folder is moved back (so no kernel reads another's
  connection file, whose key would let it run code in that kernel);
- hides the course's secret folders (``source/`` with the hidden tests, ``reference_solutions/``,
  ``gradebook/``, ``submitted/``, ``autograded/``) under empty read-only tmpfs mounts;
- bind-mounts the data root read-only (a student cannot corrupt the class's data), and mounts
  over each data file holding a metric test's labels a copy with those labels zeroed;
- gives it a private ``/dev/shm`` and remounts every other mount read-only but its own folder
  (``/proc``, ``/sys`` and ``/dev`` aside): the kernel runs as uid 0, the owner of the grader's
  code and virtualenv, which it could otherwise rewrite;
- hides the grader's home directory (its credentials, other courses) but for what the kernel
  needs under it: the interpreter, medgrade's package and the data;
- drops every capability (``setpriv``), so the kernel cannot undo any of this.

The PID namespace means the kernel sees only its own processes, and everything it starts dies
with it: a daemon that double-forks cannot outlive the notebook. The empty network namespace
leaves only the Unix sockets in the sandbox folder, which the grader uses to talk to it.
"""

from __future__ import annotations

import functools
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Protections", "Confinement", "detect_protections", "launch_argv", "sandbox_parent", "NAMESPACES",
           "writable_mounts", "private_home"]

NAMESPACES = ("-n", "-m", "-p", "-f", "--kill-child", "--mount-proc")


@dataclass(frozen=True)
class Protections:
    network_isolated: bool
    contained: bool = False  # mount and PID namespaces, capabilities dropped
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class Confinement:
    """What one kernel may see: its own folder, the data read-only, none of ``hidden``."""

    own: Path
    hidden: tuple[Path, ...] = ()
    read_only: tuple[Path, ...] = field(default=())
    masked: tuple[tuple[Path, Path], ...] = ()  # (file, the copy the kernel sees instead), read-only
    home: Path | None = None  # the grader's home, hidden but for ``keep`` (its credentials, other courses)
    keep: tuple[Path, ...] = ()  # what the kernel needs under ``home``: the interpreter, medgrade, the data


def sandbox_parent() -> Path:
    """The folder every sandbox is created in (hidden from each kernel but for its own)."""
    parent = Path(tempfile.gettempdir()) / "medgrade-sandboxes"
    parent.mkdir(mode=0o700, exist_ok=True)
    return parent


WRITABLE = ".medgrade-writable"  # in the sandbox folder: the mounts the script could not make read-only


def writable_mounts(own: Path) -> list[str]:
    """The mounts a kernel confined in ``own`` could still write to (none where all went read-only)."""
    try:
        return (own / WRITABLE).read_text().split()
    except OSError:
        return []


def _stage() -> Path:
    stage = Path(tempfile.gettempdir()) / "medgrade-stage"
    stage.mkdir(mode=0o700, exist_ok=True)
    return stage


def _refused(tool: list[str]) -> str | None:
    probe = subprocess.run(tool, capture_output=True, text=True)
    if probe.returncode == 0:
        return None
    return probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else "refused"


@functools.lru_cache(maxsize=1)
def detect_protections() -> Protections:
    """Which isolation this machine grants; what is missing is said, not silently skipped."""
    unshare, setpriv = shutil.which("unshare"), shutil.which("setpriv")
    if unshare is None:
        return Protections(False, False, ("network isolation and process containment: the unshare "
                                          "command (util-linux) is not installed",))
    why = _refused([unshare, "-n", "true"])
    if why is not None:
        return Protections(False, False, (
            f"network isolation: `unshare -n` was refused ({why}); run the grader as root or with CAP_SYS_ADMIN",
            "process containment, read-only data, hidden course folders and withheld labels: "
            "they need the same privilege",
        ))
    why = "setpriv (util-linux) is not installed" if setpriv is None else _refused(
        [unshare, *NAMESPACES, "--", setpriv, "--bounding-set=-all", "--inh-caps=-all", "--no-new-privs", "true"])
    if why is not None:
        return Protections(True, False, (
            f"process containment, read-only data, hidden course folders and withheld labels: {why}",))
    return Protections(True, True)


def _script(confinement: Confinement, kernel: list[str]) -> str:
    q = shlex.quote
    own, parent, stage = confinement.own, confinement.own.parent, _stage()
    lines = [
        "set -e",
        f"mount --bind {q(str(own))} {q(str(stage))}",
        f"mount -t tmpfs -o mode=0755,size=1m medgrade-hidden {q(str(parent))}",
        f"mkdir -p {q(str(own))}",
        f"mount --move {q(str(stage))} {q(str(own))}",
    ]
    if confinement.home is not None:  # an empty home, with what the kernel needs bound back from a view of "/"
        lines += [f"mount --rbind / {q(str(stage))}",
                  f"mount -t tmpfs -o mode=0755,size=1m medgrade-home {q(str(confinement.home))}"]
        for path in confinement.keep:
            lines += [f"mkdir -p {q(str(path))}", f"mount --rbind {q(str(stage) + str(path))} {q(str(path))}"]
        lines.append(f"umount -l {q(str(stage))}")
    for path in confinement.read_only:
        lines.append(f"mount --bind {q(str(path))} {q(str(path))}")
        lines.append(f"mount -o remount,ro,bind {q(str(path))}")
    for target, view in confinement.masked:
        lines.append(f"mount --bind {q(str(view))} {q(str(target))}")
        lines.append(f"mount -o remount,ro,bind {q(str(target))}")
    for path in confinement.hidden:  # (one inside the hidden home is gone already)
        lines.append(f"if [ -d {q(str(path))} ]; then mount -t tmpfs -o ro,size=0 medgrade-hidden {q(str(path))}; fi")
    # A private /dev/shm (gone with the namespace), then every other mount read-only: the kernel
    # runs as uid 0, which owns the grader's code and most files, so without this it could
    # rewrite them. /proc, /sys and /dev keep their own rules; a mount that refuses is listed.
    mine, report = q(str(own)), q(str(own / WRITABLE))
    lines += [
        "if [ -d /dev/shm ]; then mount -t tmpfs -o mode=1777,nosuid,nodev medgrade-shm /dev/shm || true; fi",
        "for mp in $(awk '{print $5}' /proc/self/mountinfo | sort -u); do",
        f'  case "$mp" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*|{mine}|{mine}/*) continue;; esac',
        f'  mount -o remount,ro,bind "$mp" 2>/dev/null || echo "$mp" >> {report}',
        "done",
        'cd "$PWD"',  # the working folder again, through the mounts above (not the read-only "/" it was opened on)
    ]
    drop = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--no-new-privs", "--"]
    lines.append("exec " + " ".join(q(a) for a in [*drop, *kernel]) + ' "$1"')
    return "\n".join(lines)


def launch_argv(kernel: list[str], protections: Protections, confinement: Confinement | None) -> list[str]:
    """The kernelspec argv: ``kernel`` (ending just before the connection file) confined.

    ``{connection_file}`` is appended as jupyter_client expects; inside the script it is ``$1``.
    The launcher dies with the worker that started it (``--pdeathsig``), and the kernel with
    the launcher, so a worker killed mid-job leaves no kernel behind.
    """
    return _with_parent(_confined(kernel, protections, confinement))


def _with_parent(argv: list[str]) -> list[str]:
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--", *argv] if setpriv else argv


def private_home(own: Path, data: list[Path]) -> tuple[Path | None, tuple[Path, ...]]:
    """The grader's home to hide from the kernel, and the folders under it the kernel needs.

    Kept: the interpreter and its site-packages, medgrade's own package (an editable install
    lives in its checkout) and the data. Nothing is hidden when the sandbox itself or the
    whole home is needed, or the home is "/".
    """
    import site
    import sys

    import medgrade

    home = Path.home().resolve()
    if home == Path("/") or not home.is_dir() or own.resolve().is_relative_to(home):
        return None, ()
    needed: list[Path] = [Path(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                                            *site.getsitepackages())]
    needed += [Path(sys.executable).resolve().parent, Path(medgrade.__file__).resolve().parent, *data]
    under = sorted({p.resolve() for p in needed if p.exists() and p.resolve().is_relative_to(home)})
    if home in under:
        return None, ()
    keep: list[Path] = []
    for path in under:  # sorted: a folder comes before what it holds
        if not any(path.is_relative_to(k) for k in keep):
            keep.append(path)
    return home, tuple(keep)


def _confined(kernel: list[str], protections: Protections, confinement: Confinement | None) -> list[str]:
    if protections.contained and confinement is not None:
        hidden = tuple(p for p in confinement.hidden if p.is_dir())
        read_only = tuple(p.resolve() for p in confinement.read_only if p.is_dir())
        masked = tuple((t.resolve(), v) for t, v in confinement.masked if t.is_file() and v.is_file())
        home, keep = private_home(confinement.own, [*read_only, *(v for _, v in masked)])
        script = _script(Confinement(confinement.own, hidden, read_only, masked, home, keep), kernel)
        return ["unshare", *NAMESPACES, "--", "/bin/sh", "-c", script, "medgrade-sandbox", "{connection_file}"]
    if protections.network_isolated:
        return ["unshare", "-n", "--", *kernel, "{connection_file}"]
    return [*kernel, "{connection_file}"]
