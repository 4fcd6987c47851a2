"""The system calls a notebook never needs, refused inside the sandbox (a seccomp filter).

The filter is built in the grader with libseccomp (through ``pyseccomp``) and handed to
bubblewrap, which installs it on the kernel just before the kernel starts; the kernel cannot
remove it (no_new_privs, and seccomp filters only ever tighten). Everything not listed is
allowed: the list names what would let a kernel reach past its namespaces or its slot, each
with the reason, so a refused call in a student's traceback can be explained.

- ``clone`` with a namespace flag is refused (no nested namespaces), and ``clone3``, whose flags
  sit in memory a filter cannot read, answers "not implemented" so the C library falls back to
  ``clone``, which the filter can read;
- ``ioctl`` ``TIOCSTI``/``TIOCLINUX`` (typing into a terminal) is refused;
- a call made through another architecture's table (``int 0x80`` on x86_64) kills the kernel.
"""

from __future__ import annotations

import errno
import functools
import os
from pathlib import Path

__all__ = ["DENIED", "CLONE_NAMESPACE_FLAGS", "write_filter", "filter_problem"]

DENIED: dict[str, str] = {
    # the kernel's own view of the machine: no new namespaces, mounts or roots
    "unshare": "namespaces", "setns": "namespaces", "mount": "mounts", "umount2": "mounts",
    "pivot_root": "mounts", "chroot": "mounts", "move_mount": "mounts", "open_tree": "mounts",
    "fsopen": "mounts", "fsconfig": "mounts", "fsmount": "mounts", "fspick": "mounts",
    "mount_setattr": "mounts",
    # other processes and the host kernel's internals
    "ptrace": "tracing", "process_vm_readv": "tracing", "process_vm_writev": "tracing", "kcmp": "tracing",
    "perf_event_open": "tracing", "bpf": "kernel programs", "userfaultfd": "kernel exploitation",
    "io_uring_setup": "kernel exploitation", "io_uring_enter": "kernel exploitation",
    "io_uring_register": "kernel exploitation",
    "keyctl": "keyrings", "add_key": "keyrings", "request_key": "keyrings",
    "kexec_load": "the host", "kexec_file_load": "the host", "init_module": "the host",
    "finit_module": "the host", "delete_module": "the host", "reboot": "the host", "swapon": "the host",
    "swapoff": "the host", "syslog": "the host", "acct": "the host", "iopl": "the host", "ioperm": "the host",
    "settimeofday": "the host", "clock_settime": "the host", "clock_adjtime": "the host", "adjtimex": "the host",
    "quotactl": "the host", "fanotify_init": "the host", "name_to_handle_at": "the host",
    "open_by_handle_at": "the host", "lookup_dcookie": "the host", "vhangup": "the host",
    # its slot: the cores it was pinned to
    "sched_setaffinity": "its CPU slot",
}

# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME
CLONE_NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000,
                         0x00000080)
_TIOCSTI, _TIOCLINUX = 0x5412, 0x541C


def _build() -> object:
    import pyseccomp as seccomp

    f = seccomp.SyscallFilter(seccomp.ALLOW)  # other architectures' tables: killed (the default)
    deny = seccomp.ERRNO(errno.EPERM)
    for name in DENIED:
        try:
            f.add_rule(deny, name)
        except (OSError, ValueError):  # not a system call of this architecture
            continue
    for flag in CLONE_NAMESPACE_FLAGS:
        f.add_rule(deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    f.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    for request in (_TIOCSTI, _TIOCLINUX):
        f.add_rule(deny, "ioctl", seccomp.Arg(1, seccomp.MASKED_EQ, 0xFFFFFFFF, request))
    return f


@functools.lru_cache(maxsize=1)
def _compiled() -> bytes:
    import tempfile

    with tempfile.TemporaryFile() as tmp:
        _build().export_bpf(tmp)  # type: ignore[attr-defined]
        tmp.seek(0)
        return tmp.read()


def filter_problem() -> str | None:
    """None when the filter can be built here; else why not (libseccomp or pyseccomp missing)."""
    try:
        _compiled()
    except (ImportError, OSError, RuntimeError, AttributeError) as e:
        return f"the seccomp filter cannot be built: {type(e).__name__}: {e}"
    return None


def write_filter(path: Path) -> Path:
    """Write the compiled filter (BPF) to ``path``, readable by its owner only; return ``path``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(_compiled())
    return path
