"""The sandbox a student's kernel runs in: a root built from nothing by bubblewrap.

Each kernel starts under ``bwrap`` in new user, PID, mount, network, IPC, UTS and cgroup
namespaces, as uid 1000 of its own user namespace with no capabilities and no way to create
further namespaces, under the seccomp filter of :mod:`medgrade.runner.seccomp`. Its root is
an empty tmpfs holding only what it needs, each piece bound in explicitly:

- read-only: ``/usr`` and the links or folders ``/bin``, ``/lib``...; the loader's cache and the
  time zone from ``/etc`` (``/etc/passwd`` and ``/etc/group`` are written for it, one user);
  the interpreter, the virtualenv and medgrade's own package; the data root, with the files
  holding withheld answers replaced by copies without them;
- read-write: its own folder, ``/home/student`` (the notebook's working folder and home: the
  release's files copied in, a link to the data), a private ``/dev/shm`` and ``/tmp``: each a
  tmpfs of the profile's size, gone with the sandbox; nothing the kernel writes reaches the
  grader's disk. The grader reaches the folder (the kernel's sockets, its evidence records)
  through ``/proc/<pid>/root`` of the sandbox's first process;
- a fresh ``/proc`` (its own processes; ``/proc/sys`` read-only) and a fresh ``/dev`` (null,
  zero, random, a pty; on a GPU slot that GPU's nodes and nothing of the others); no ``/sys``
  but on a GPU slot (read-only there: CUDA reads it);
- nothing else: no course folder, no ``.git``, no home directory, no other sandbox.

The root and ``/dev`` are then made read-only; the kernel is pinned to its slot's cores and
capped in processes and file size (``prlimit``, applied inside its user namespace so the count
is its own). A grader running as root first drops the kernel to an unprivileged uid (``nobody``,
or ``$MEDGRADE_SANDBOX_USER``); the folders that uid cannot enter (root's home, where the
interpreter may live) are first bound into a private staging tmpfs in a mount namespace of the
launcher's own. An unprivileged grader runs the same ``bwrap`` directly: its kernels run as its
own uid on the host, which the allowlist root and the read-only mounts confine the same way.
"""

from __future__ import annotations

import os
import shlex
import shutil
import site
import sys
from dataclasses import dataclass
from pathlib import Path

from medgrade.errors import UsageError
from medgrade.runner.seccomp import write_filter
from medgrade.scratch import private_dir

__all__ = ["Limits", "KernelView", "Sandbox", "kernel_argv", "bwrap_args", "launch_script", "interpreter_paths",
           "INSIDE_UID", "HOSTNAME", "WORK", "TMPFS", "CONNECTION"]

INSIDE_UID = 1000  # the kernel's uid and gid inside its user namespace
HOSTNAME = "medgrade-sandbox"
WORK = Path("/home/student")  # the kernel's own folder, inside the sandbox
TMPFS = (WORK, Path("/tmp"), Path("/dev/shm"))  # what it may write: memory, counted in its cap
FIRST_FILE_FD = 6  # the release's files are handed to bwrap on descriptors from here
CONNECTION = Path("/run/medgrade/connection.json")  # where the kernel reads its connection file
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/alternatives")
PASSWD = f"student:x:{INSIDE_UID}:{INSIDE_UID}:student:{WORK}:/bin/sh\n"
GROUP = f"student:x:{INSIDE_UID}:\n"


@dataclass(frozen=True)
class Limits:
    """What one kernel may consume besides memory: tmpfs sizes, disk in its folder, tasks."""

    shm_mb: int
    tmp_mb: int
    disk_mb: int  # its folder
    processes: int  # processes and threads, counted in the kernel's own user namespace


@dataclass(frozen=True)
class KernelView:
    """What one kernel sees: its folder (:data:`WORK`) and host paths, bound at the same path inside."""

    limits: Limits
    copies: tuple[Path, ...] = ()  # files copied into its folder under their names (the release's)
    links: tuple[tuple[str, Path], ...] = ()  # (name in its folder, where it points): the data link
    files: tuple[tuple[Path, Path], ...] = ()  # (host file, path inside) it reads: its connection file
    read_only: tuple[Path, ...] = ()  # the data root
    masked: tuple[tuple[Path, Path], ...] = ()  # (file under read_only, the copy the kernel sees instead)
    devices: tuple[Path, ...] = ()  # device nodes of its GPU slot
    cpus: tuple[int, ...] = ()  # the cores it is pinned to (none: no pinning)
    secret: tuple[Path, ...] = ()  # folders it must not see: a bound path may neither hold nor be under one

    def check(self) -> None:
        """Refuse a view that would show the kernel a secret folder (the data root inside the course...)."""
        for source in (*self.read_only, *(host for host, _ in self.files), *self.copies, *interpreter_paths()):
            for hidden in self.secret:
                if hidden.exists() and (hidden.resolve().is_relative_to(source.resolve())
                                        or source.resolve().is_relative_to(hidden.resolve())):
                    raise UsageError(f"{source} would be visible to the student's kernel, and {hidden} is in it or "
                                     f"holds it: keep the data root, the virtualenv and medgrade apart from {hidden}")


@dataclass(frozen=True)
class Sandbox:
    """How kernels are confined here: ``bwrap``, as which uid; ``bwrap`` None means not at all."""

    bwrap: Path | None
    run_as: tuple[int, int] | None = None  # a root grader's kernels: this (uid, gid)
    stage: bool = False  # bind the sources into a private stage first (a root grader's unreachable folders)
    unconfined_because: str = ""

    @property
    def confined(self) -> bool:
        return self.bwrap is not None

    def finding(self) -> str | None:
        """What every result of an unconfined run says."""
        if self.confined:
            return None
        return ("unconfined: graded without the sandbox (--unconfined), because "
                f"{self.unconfined_because}; the kernel could read the course, other submissions and the network")


def interpreter_paths() -> list[Path]:
    """What the kernel needs to run this interpreter and import medgrade (outermost folders only)."""
    import medgrade

    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *site.getsitepackages(),
                  Path(sys.executable).resolve().parent.parent, Path(medgrade.__file__).resolve().parent]
    found = sorted({Path(str(p)).resolve() for p in candidates if Path(str(p)).exists()})
    keep: list[Path] = []
    for path in found:  # sorted: a folder comes before what it holds
        if path != Path("/") and not any(path.is_relative_to(k) for k in keep):
            keep.append(path)
    return keep


def _binds(view: KernelView) -> list[tuple[str, Path, Path]]:
    """(bwrap option, host source, path inside) for every bind, parents before children."""
    binds: list[tuple[str, Path, Path]] = [("--ro-bind", Path("/usr"), Path("/usr"))]
    for link in SYSTEM_LINKS:
        if Path(link).is_dir() and not Path(link).is_symlink():
            binds.append(("--ro-bind", Path(link), Path(link)))
    binds += [("--ro-bind", Path(p), Path(p)) for p in ETC if Path(p).exists()]
    binds += [("--ro-bind", p, p) for p in interpreter_paths() if not p.is_relative_to("/usr")]
    binds += [("--ro-bind", p.resolve(), p.resolve()) for p in view.read_only]
    binds.sort(key=lambda b: len(b[2].parts))
    binds += [("--ro-bind", copy, target) for target, copy in view.masked]
    binds += [("--ro-bind", host, inside) for host, inside in view.files]
    binds += [("--dev-bind", d, d) for d in view.devices]
    return binds


def bwrap_args(view: KernelView, sources: dict[Path, str] | None = None, *, seccomp_fd: int = 3,
               passwd_fd: int = 4, group_fd: int = 5) -> list[str]:
    """bwrap's options for ``view``; ``sources`` maps a host path to where bwrap reads it (a stage)."""
    sources = sources or {}
    mb = 2**20
    args = ["--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
            "--unshare-cgroup-try", "--disable-userns", "--uid", str(INSIDE_UID), "--gid", str(INSIDE_UID),
            "--hostname", HOSTNAME, "--die-with-parent", "--cap-drop", "ALL", "--seccomp", str(seccomp_fd),
            # its parent is bwrap's init, pid 1 here: ipykernel then neither watches for its parent's
            # death (the sandbox dies with the grader anyway) nor prints its console banner
            "--setenv", "JPY_PARENT_PID", "1",
            "--proc", "/proc", "--dev", "/dev",
            "--perms", "1777", "--size", str(view.limits.shm_mb * mb), "--tmpfs", "/dev/shm",
            "--perms", "1777", "--size", str(view.limits.tmp_mb * mb), "--tmpfs", "/tmp",
            "--perms", "0700", "--size", str(view.limits.disk_mb * mb), "--tmpfs", str(WORK),
            "--dir", str(WORK / "tmp")]
    for link in SYSTEM_LINKS:
        if Path(link).is_symlink():
            args += ["--symlink", os.readlink(link), link]
    for option, source, inside in _binds(view):
        args += [option, sources.get(source, str(source)), str(inside)]
    if view.devices:
        args += ["--ro-bind", sources.get(Path("/sys"), "/sys"), "/sys"]
    for name, target in view.links:
        args += ["--symlink", str(target), str(WORK / name)]
    for fd, copy in enumerate(view.copies, start=FIRST_FILE_FD):
        args += ["--file", str(fd), str(WORK / copy.name)]
    args += ["--ro-bind-data", str(passwd_fd), "/etc/passwd", "--ro-bind-data", str(group_fd), "/etc/group",
             "--remount-ro", "/dev", "--remount-ro", "/", "--chdir", str(WORK)]
    return args


def _limits(view: KernelView) -> list[str]:
    disk = view.limits.disk_mb * 2**20
    nproc = view.limits.processes
    return ["prlimit", f"--nproc={nproc}:{nproc}", f"--fsize={disk}:{disk}", "--core=0:0", "--"]


def _stage_sources(view: KernelView, bwrap: Path) -> list[Path]:
    """What a root grader stages: every bind's source, and bubblewrap (the wheel's may sit in root's home)."""
    sources = [source for _, source, _ in _binds(view)] + ([Path("/sys")] if view.devices else [])
    if not any(bwrap.resolve().is_relative_to(s) for s in sources):
        sources.append(bwrap.resolve().parent.parent)  # with its libraries beside it (the wheel's RPATH)
    return sources


def _through(path: Path, sources: dict[Path, str]) -> str:
    """``path`` as the launcher reaches it: inside the stage where a staged folder holds it."""
    for source, staged in sources.items():
        if path.resolve().is_relative_to(source) and source.is_dir():
            return str(Path(staged) / path.resolve().relative_to(source))
    return str(path)


def launch_script(sandbox: Sandbox, view: KernelView, command: list[str], spec_dir: Path) -> str:
    """The launcher: ``command`` confined as ``view`` says (paths in ``command`` are the kernel's)."""
    assert sandbox.bwrap is not None
    q = shlex.quote
    seccomp = write_filter(spec_dir / "seccomp.bpf")
    (spec_dir / "passwd").write_text(PASSWD)
    (spec_dir / "group").write_text(GROUP)
    copies = " ".join(f"{fd}<{q(str(c))}" for fd, c in enumerate(view.copies, start=FIRST_FILE_FD))
    lines = ["set -e",
             "trap '' INT",  # the grader interrupts the kernel's cell, never the sandbox around it
             f"exec 3<{q(str(seccomp))} 4<{q(str(spec_dir / 'passwd'))} 5<{q(str(spec_dir / 'group'))} {copies}"]
    sources: dict[Path, str] = {}
    if sandbox.stage:
        stage = private_dir("stage")  # one path for every kernel: each mounts its own tmpfs there, privately
        lines.append(f"mkdir -p {q(str(stage))}")  # (again: a cleaner may have removed it since)
        lines.append(f"mount -t tmpfs -o mode=0755,size=1m medgrade-stage {q(str(stage))}")
        for i, source in enumerate(dict.fromkeys(_stage_sources(view, sandbox.bwrap))):
            sources[source] = str(stage / str(i))
            make = "mkdir" if source.is_dir() else "touch"
            lines += [f"{make} {q(sources[source])}", f"mount --rbind {q(str(source))} {q(sources[source])}"]
    prefix: list[str] = []
    if sandbox.run_as is not None:
        uid, gid = sandbox.run_as
        for host, _ in view.files:  # the connection file jupyter wrote for the kernel (0600, root's)
            lines.append(f"chown {uid}:{gid} {q(str(host))}")
        prefix = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--pdeathsig", "KILL", "--"]
    if view.cpus:
        prefix += ["taskset", "--cpu-list", ",".join(str(c) for c in view.cpus)]
    argv = [*prefix, _through(sandbox.bwrap, sources), *bwrap_args(view, sources), "--", *_limits(view), *command]
    lines.append("exec " + " ".join(q(a) for a in argv))
    return "\n".join(lines) + "\n"


def kernel_argv(sandbox: Sandbox, view: KernelView | None, command: list[str], spec_dir: Path) -> list[str]:
    """The argv that runs ``command`` in ``view``, dying with its parent.

    Unconfined (``sandbox.bwrap`` None, only with ``--unconfined``) it is ``command`` itself.
    """
    setpriv = shutil.which("setpriv")
    die = [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []
    if not sandbox.confined or view is None:
        return [*die, *command]
    view.check()
    script = spec_dir / "launch.sh"
    script.write_text(launch_script(sandbox, view, command, spec_dir))
    private = ["unshare", "--mount", "--propagation", "private", "--"] if sandbox.stage else []
    return [*die, *private, "/bin/sh", str(script)]
