"""A student's kernel: its folder, its environment, and the kernelspec that starts it confined.

Protections, and how each is obtained:

- **confinement**: the kernel starts in a sandbox built from nothing by bubblewrap: its own
  user, PID, mount, network, IPC and UTS namespaces, an allowlist root, no capabilities, a
  seccomp filter (:mod:`medgrade.runner.confine`). It talks to the grader over Unix sockets in
  its folder, the only place it may write. Where the sandbox cannot be built, grading refuses
  unless told ``--unconfined`` (:mod:`medgrade.runner.isolation`).
- **files**: the kernel's folder holds only the release's auxiliary files and a link to the
  data root; hidden tests never become files (they are sent over the kernel's channel).
- **labels**: every answer key's labels are shuffled (masks zeroed) in the kernel's view of the
  data files (copies mounted over them), in every assignment, and the held-out key reads empty;
  the kernel records predictions, the grader judges them (:mod:`medgrade.judge.grader`).
- **environment**: only what a notebook needs (PATH, HOME in the folder, profile, data root,
  thread caps); the grader's own variables (tokens, paths) do not reach the kernel.
- **memory**: a watchdog in the grader kills the kernel's process tree above the profile's cap,
  its tmpfs included (``RLIMIT_AS`` cannot do it: importing torch alone maps about 4 GB, and
  CUDA far more).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool

from medgrade import envvars
from medgrade.course import Course
from medgrade.errors import UsageError
from medgrade.profiles import Profile
from medgrade.runner.confine import CONNECTION, WORK, KernelView, Limits, Sandbox, kernel_argv
from medgrade.runner.slots import DeviceSlot, GpuNodes, gpu_nodes
from medgrade.runner.watchdog import Caps, Tmpfs

__all__ = ["write_kernelspec", "sandbox_env", "evidence_dir", "populate", "connection_file", "kernel_pythonpath",
           "KERNEL_NAME", "secret_folders", "kernel_view", "Kernel", "open_kernel", "SandboxKernelManager",
           "check_data_access"]

KERNEL_NAME = "medgrade-sandbox"


def connection_file(spec_dir: Path) -> Path:
    """Where jupyter writes the kernel's connection file (its key): beside the kernelspec, never in the folder."""
    return spec_dir / "connection.json"


def write_kernelspec(folder: Path, sandbox: Sandbox, view: KernelView | None = None) -> Path:
    """A kernelspec whose kernel runs this interpreter in ``view`` (confined by ``sandbox``); returns ``folder``."""
    spec_dir = folder / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f"]
    if view is not None and sandbox.confined:  # the sandbox shows the kernel its connection file at CONNECTION
        argv = kernel_argv(sandbox, view, [*kernel, str(CONNECTION)], folder)
    else:
        argv = kernel_argv(sandbox, None, [*kernel, "{connection_file}"], folder)
    spec = {"argv": argv, "display_name": "medgrade sandbox", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    return folder


def kernel_pythonpath() -> str | None:
    """The folder the grader imported medgrade from, unless it is already a site-packages folder.

    The kernel then imports the very medgrade the grader runs (the sandbox binds only its package).
    """
    import site

    import medgrade

    parent = Path(medgrade.__file__).resolve().parent.parent
    known = {Path(p).resolve() for p in site.getsitepackages()}
    return None if parent in known else str(parent)


def evidence_dir(workdir: Path) -> Path:
    """Where the kernel writes the records of ``checks.judged`` (the grader reads them there)."""
    return workdir / "evidence"


def sandbox_env(profile: Profile, workdir: Path, data_link: Path | None,
                slot: DeviceSlot | None = None, seed: int = 0, cuda_visible: str | None = None) -> dict[str, str]:
    """The kernel's whole environment: nothing of the grader's leaks in; ``slot`` confines the GPU.

    ``cuda_visible`` names the slot's GPU inside the sandbox (its UUID, where only its node is bound).
    """
    threads = str(profile.threads)
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(workdir),
        "TMPDIR": str(workdir / "tmp"),
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        envvars.PROFILE: profile.name,
        envvars.SEED: str(int(seed)),
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
        envvars.EVIDENCE_DIR: str(evidence_dir(workdir)),  # checks.judged records here ...
        envvars.JUDGE: "grader",  # ... and the grader judges them, outside the kernel
        **(slot or DeviceSlot()).env(),
    }
    if cuda_visible is not None and slot is not None and slot.gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = cuda_visible
    path = kernel_pythonpath()
    if path:
        env["PYTHONPATH"] = path
    if data_link is not None:
        env[envvars.DATA] = str(data_link)
    return env


def populate(workdir: Path, aux_files: list[Path], data_root: Path | None) -> Path | None:
    """Fill the working folder: auxiliary files copied, the data root linked; return the link."""
    (workdir / "tmp").mkdir(parents=True, exist_ok=True)
    for f in aux_files:
        shutil.copy2(f, workdir / f.name)
    if data_root is None:
        return None
    link = workdir / "data"
    link.symlink_to(data_root, target_is_directory=True)
    return link


def secret_folders(course: Course) -> tuple[Path, ...]:
    """The course's folders no kernel may see (checked: nothing bound into a sandbox holds them)."""
    return (course.source, course.reference, course.gradebook_dir, course.submitted, course.autograded,
            course.root / ".git")


def kernel_view(course: Course, spec_dir: Path, profile: Profile, aux: list[Path], data_root: str | Path | None,
                masked: tuple[tuple[Path, Path], ...] = (),
                slot: DeviceSlot | None = None) -> tuple[KernelView, GpuNodes]:
    """What a confined kernel sees: its folder (the release's files, the data link), the data, its slot."""
    slot = slot or DeviceSlot()
    gpu = gpu_nodes(slot.gpu) if slot.gpu is not None else GpuNodes()
    limits = Limits(profile.shm_mb, profile.tmp_mb, profile.disk_mb, profile.processes)
    view = KernelView(limits, copies=tuple(aux), links=(("data", Path(data_root)),) if data_root else (),
                      files=((connection_file(spec_dir), CONNECTION),),
                      read_only=(Path(data_root),) if data_root else (),
                      masked=masked, devices=gpu.nodes, cpus=slot.cpus, secret=secret_folders(course))
    return view, gpu


def _caps(profile: Profile) -> Caps:
    return Caps(profile.processes, (Tmpfs(WORK, profile.disk_mb, "its folder"),
                                    Tmpfs(Path("/tmp"), profile.tmp_mb, "/tmp"),
                                    Tmpfs(Path("/dev/shm"), profile.shm_mb, "/dev/shm")))


@dataclass(frozen=True)
class Kernel:
    """A kernel ready to start: its folder (as the kernel sees it), kernelspec, environment and caps."""

    workdir: Path
    spec_dir: Path
    env: dict[str, str]
    caps: Caps
    confined: bool
    findings: tuple[str, ...] = ()


def open_kernel(course: Course, tmp: Path, sandbox: Sandbox, profile: Profile, aux: list[Path],
                data_root: str | Path | None, masked: tuple[tuple[Path, Path], ...] = (),
                slot: DeviceSlot | None = None, seed: int = 0) -> Kernel:
    """Write the kernelspec that starts a kernel confined by ``sandbox``, its files kept under ``tmp``.

    Confined, the kernel's folder is a tmpfs in its sandbox (:data:`~medgrade.runner.confine.WORK`);
    unconfined (``--unconfined`` only), it is ``tmp/work`` on the grader's disk.
    """
    spec_dir = tmp / "spec"
    spec_dir.mkdir()
    data = Path(data_root) if data_root else None
    if not sandbox.confined:
        workdir = tmp / "work"
        workdir.mkdir()
        link = populate(workdir, aux, data)
        write_kernelspec(spec_dir, sandbox)
        return Kernel(workdir, spec_dir, sandbox_env(profile, workdir, link, slot, seed=seed), Caps(), False)
    check_data_access(sandbox, data)
    view, gpu = kernel_view(course, spec_dir, profile, aux, data_root, masked, slot)
    write_kernelspec(spec_dir, sandbox, view)
    env = sandbox_env(profile, WORK, WORK / "data" if data else None, slot, seed=seed, cuda_visible=gpu.visible)
    return Kernel(WORK, spec_dir, env, _caps(profile), True, (gpu.problem,) if gpu.problem else ())


def check_data_access(sandbox: Sandbox, data: Path | None) -> None:
    """A root grader's kernels run as another user: the data root and its top entries must be readable.

    Hidden entries are the grader's (the held-out key, the manifest's lock): no kernel needs them.
    """
    import stat

    from medgrade.data.heldout import KEY_FILE

    if data is None or sandbox.run_as is None:
        return
    entries = sorted(p for p in data.iterdir() if not p.name.startswith(".")) if data.is_dir() else []
    for path in [data, *entries[:50]] if data.is_dir() else []:
        mode = path.stat().st_mode
        need = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(mode) else 0)
        if mode & need != need:
            keep = f" && chmod 600 {data / KEY_FILE}" if (data / KEY_FILE).exists() else ""
            raise UsageError(f"{path} is not readable by the kernels' user (mode {stat.S_IMODE(mode):04o}): "
                             f"run `chmod -R o+rX {data}{keep}`, or regenerate the data with a umask of 022")


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager for a confined kernel, whose folder the grader reaches through ``/proc``.

    The kernel binds its sockets in its folder, a tmpfs only its sandbox sees. Once the sandbox
    is up, the manager connects through ``/proc/<pid>/root`` of the sandbox's first process
    (bubblewrap's own, which the kernel cannot replace) and :meth:`reach` maps any path of the
    kernel's to the same file seen from the grader.
    """

    confined = Bool(False)
    _root: Path | None = None

    async def _async_post_start_kernel(self, **kw: Any) -> None:
        if self.confined:
            self._root = await self._sandbox_root()
            self.ip = str(self.reach(Path(self.ip)))
        await super()._async_post_start_kernel(**kw)

    def reach(self, inside: Path) -> Path:
        """``inside`` (a path in the kernel's sandbox) as the grader opens it."""
        if not self.confined:
            return inside
        if self._root is None:
            raise RuntimeError("the sandbox has not started")
        return self._root / inside.relative_to("/")

    async def _sandbox_root(self, timeout: float = 120.0) -> Path:
        """``/proc/<pid>/root`` of bubblewrap's process in the sandbox, once the kernel runs in it."""
        import asyncio

        import psutil

        launcher = psutil.Process(self.provisioner.process.pid)  # type: ignore[union-attr]
        host = os.stat("/")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                for child in launcher.children():
                    root = Path(f"/proc/{child.pid}/root")
                    if child.children() and not os.path.samestat(os.stat(root), host):
                        return root
            except (psutil.NoSuchProcess, OSError):
                if not launcher.is_running():
                    break
            await asyncio.sleep(0.02)
        raise RuntimeError("the kernel's sandbox did not start")
