"""The sandbox a student's kernel runs in: its own folder, no network, a scrubbed environment.

Protections, and how each is obtained:

- **network**: the kernel starts under ``unshare -n`` (an empty network namespace) and talks to
  the grader over IPC sockets in its folder, which cross the namespace. Where ``unshare`` is
  refused (a container without CAP_SYS_ADMIN) the kernel runs with the network and the result
  says which protection was missing.
- **files**: the kernel's working folder holds only the release's auxiliary files and a link to
  the data root; hidden tests never become files (they are sent over the kernel's channel).
  Where namespaces are allowed, other sandboxes and the course's secret folders are hidden, the
  data is read-only and the kernel's processes die with it (:mod:`medgrade.runner.confine`).
- **labels**: a metric test's labels (its answer key) are zeroed in the kernel's view of the data
  file (a copy mounted over it); the kernel records predictions, the grader judges them
  (:mod:`medgrade.grading.judge`).
- **environment**: only what a notebook needs (PATH, HOME in the folder, profile, data root,
  thread caps); the grader's own variables (tokens, paths) do not reach the kernel.
- **memory**: a watchdog in the grader kills the kernel's process tree above the profile's cap
  (``RLIMIT_AS`` cannot do it: importing torch alone maps about 4 GB, and CUDA far more).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from medgrade.profiles import ENV_VAR as PROFILE_VAR
from medgrade.profiles import EVIDENCE_VAR, JUDGE_VAR, SEED_VAR, Profile
from medgrade.runner.confine import Confinement, Protections, detect_protections, launch_argv
from medgrade.runner.slots import DeviceSlot

__all__ = ["Protections", "detect_protections", "write_kernelspec", "sandbox_env", "evidence_dir", "populate",
           "KERNEL_NAME"]

KERNEL_NAME = "medgrade-sandbox"


def write_kernelspec(folder: Path, protections: Protections, confinement: Confinement | None = None) -> Path:
    """A kernelspec whose kernel runs this interpreter inside the sandbox; returns its folder."""
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f"]
    spec_dir = folder / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {"argv": launch_argv(kernel, protections, confinement), "display_name": "medgrade sandbox",
            "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    return folder


def evidence_dir(workdir: Path) -> Path:
    """Where the kernel writes the records of ``checks.judged`` (the grader reads them there)."""
    return workdir / "evidence"


def sandbox_env(profile: Profile, workdir: Path, data_link: Path | None,
                slot: DeviceSlot | None = None, seed: int = 0) -> dict[str, str]:
    """The kernel's whole environment: nothing of the grader's leaks in; ``slot`` confines the GPU."""
    threads = str(profile.threads)
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(workdir),
        "TMPDIR": str(workdir / "tmp"),
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        PROFILE_VAR: profile.name,
        SEED_VAR: str(int(seed)),
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
        EVIDENCE_VAR: str(evidence_dir(workdir)),  # checks.judged records here ...
        JUDGE_VAR: "grader",  # ... and the grader judges them, outside the kernel
        **(slot or DeviceSlot()).env(),
    }
    if data_link is not None:
        env["MEDGRADE_DATA"] = str(data_link)
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
