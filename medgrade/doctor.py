"""``medgrade doctor``: is this machine ready to grade a class? Each check says what to fix.

Checks, in the order a TA would fix them: the interpreter and the libraries ``constraints.txt``
pins (thresholds were calibrated with exactly those), the data stand-ins the course's assignments
read (present and matching their manifest), the sandbox (built once, as for a kernel), the GPUs
and their memory, and the free disk where grading writes.
"""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import sys
import sysconfig
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from medgrade.course import Course
from medgrade.data.manifest import DatasetRecord
from medgrade.kit import datasets_for, kit_root
from medgrade.quickstart import medgrade_command

__all__ = ["Finding", "diagnose", "disk_finding", "format_findings", "sandbox_problem"]

Status = Literal["ok", "warning", "problem"]
MIN_FREE_GIB = 2.0  # a class's sandboxes (a label-free copy of a data file each) and the autograded notebooks
# Libraries that only some assignments need (the extras of pyproject.toml).
EXTRA_LIBRARIES = {"04_radiomics": ("pyradiomics",)}


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    what: str
    fix: str = ""


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(course: Course | None) -> tuple[Path, dict[str, str]]:
    path = course.root / "constraints.txt" if course and (course.root / "constraints.txt").is_file() \
        else kit_root() / "constraints.txt"
    pins = {}
    for line in path.read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, version = line.split("#")[0].split("==", 1)
            pins[_normal(name.strip())] = version.strip()
    return path, pins


def check_interpreter(course: Course | None) -> list[Finding]:
    path, _ = _pins(course)
    tested = re.search(r"Python (\d+\.\d+)", path.read_text())
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    what = f"Python {sys.version.split()[0]} at {sys.executable}"
    found = [Finding("interpreter", "ok", what)]
    if tested and tested.group(1) != here:
        found = [Finding("interpreter", "warning", f"{what}; {path.name} was tested on Python {tested.group(1)}",
                         f"install medgrade into a Python {tested.group(1)} environment")]
    if not (Path(sysconfig.get_path("scripts")) / "alembic").is_file():
        found.append(Finding("interpreter", "problem", f"no `alembic` in {sysconfig.get_path('scripts')}: nbgrader "
                             "needs it to create a gradebook", f"{sys.executable} -m pip install alembic"))
    return found


def check_libraries(course: Course | None, assignments: list[str]) -> list[Finding]:
    path, pins = _pins(course)
    wanted = [re.match(r"[A-Za-z0-9._-]+", r).group(0)  # type: ignore[union-attr]
              for r in importlib.metadata.requires("medgrade") or [] if "extra ==" not in r]
    wanted += ["alembic", *(lib for a in assignments for lib in EXTRA_LIBRARIES.get(a, ()))]
    found, pip = [], f"{sys.executable} -m pip install -c {path}"
    for name in dict.fromkeys(wanted):
        pin = pins.get(_normal(name))
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found.append(Finding("libraries", "problem", f"{name} is not installed", f"{pip} '{name}=={pin}'"
                                 if pin else f"{sys.executable} -m pip install '{name}'"))
            continue
        if pin and have.split("+")[0] != pin:
            found.append(Finding("libraries", "warning", f"{name} {have} is installed; thresholds were calibrated "
                                 f"with {pin}", f"{pip} '{name}=={pin}'"))
    if not found:
        found.append(Finding("libraries", "ok", f"{len(dict.fromkeys(wanted))} libraries at the versions {path} pins"))
    return found


def check_data(assignments: list[str], data_root: Path) -> list[Finding]:
    from medgrade.data import verify_all
    from medgrade.data.catalog import get_spec
    from medgrade.data.manifest import read_manifest
    from medgrade.errors import DataError

    needed = datasets_for(assignments)
    if not needed:
        return [Finding("data", "ok", "the course's assignments read no dataset of the kit")]
    try:
        recorded = read_manifest(data_root)
    except DataError as e:
        return [Finding("data", "problem", str(e))]
    found: list[Finding] = []
    for name in needed:
        if name in recorded:
            found += [Finding("data", "problem", f"{p.dataset}: {data_root / p.path}: {p.reason}",
                              f"{medgrade_command()} data generate --root {data_root} --dataset {name} --force")
                      for p in verify_all(data_root, [name])]
        elif not any((data_root / e).exists() for e in get_spec(name).entries):
            found.append(Finding("data", "problem", f"{name} is missing under {data_root}",
                                 f"{medgrade_command()} data generate --root {data_root} --dataset {name}"))
    found += _heldout_findings(data_root, {n: recorded[n] for n in needed if n in recorded})
    return found or [Finding("data", "ok", f"{', '.join(needed)} under {data_root}, intact")]


def _heldout_findings(data_root: Path, records: dict[str, DatasetRecord]) -> list[Finding]:
    """The held-out key: present, private, and the one every held-out split was drawn with."""
    from medgrade.data.catalog import get_spec
    from medgrade.data.heldout import KEY_FILE

    key = data_root / KEY_FILE
    found: list[Finding] = []
    for name, record in records.items():
        if get_spec(name).heldout and not record.heldout:
            found.append(Finding("data", "problem", f"{name}: its held-out split was drawn without a secret key (by "
                                 "an older medgrade): a student's kernel can draw it again, labels included",
                                 f"{medgrade_command()} data generate --root {data_root} --dataset {name}"))
    if any(r.heldout for r in records.values()):
        if not key.exists():
            found.append(Finding("data", "warning", f"{key} is missing: grading works, but `data generate` cannot "
                                 "draw the held-out splits again", "copy it back from the machine that generated "
                                 "the data (a new key draws other held-out splits)"))
        elif key.stat().st_mode & 0o077:
            found.append(Finding("data", "problem", f"{key} is readable by other users (mode "
                                 f"{key.stat().st_mode & 0o777:04o}): it draws the held-out labels",
                                 f"chmod 600 {key}"))
    return found


def sandbox_problem() -> str | None:
    """Why a kernel's sandbox cannot be built on this machine, with the fix; None when it can.

    The one place doctor asks the sandbox (built for real, as for a kernel).
    """
    from medgrade.runner.isolation import sandbox_problem as problem

    return problem()


def check_sandbox() -> list[Finding]:
    problem = sandbox_problem()
    if problem is None:
        return [Finding("sandbox", "ok", "a kernel's sandbox builds: no network, nothing of the machine but the "
                        "system libraries, the interpreter and the data, read-only")]
    return [Finding("sandbox", "problem", problem, "as it says, then run doctor again; only `--unconfined` grades "
                    "without the sandbox (every result then says so)")]


def check_gpus(profile: str) -> list[Finding]:
    import torch

    if not torch.cuda.is_available():
        smi = shutil.which("nvidia-smi")
        if smi and torch.version.cuda is None:
            return [Finding("gpu", "warning", f"{smi} is here but torch {torch.__version__} was built without CUDA",
                            "install torch's CUDA build, pinned as constraints.txt says")]
        status: Status = "problem" if profile == "gpu" else "ok"
        return [Finding("gpu", status, "no CUDA GPU: grade on the cpu profile",
                        "grade with --profile cpu, or on a machine with a GPU" if status == "problem" else "")]
    found = []
    for i in range(torch.cuda.device_count()):
        free, total = torch.cuda.mem_get_info(i)
        found.append(Finding("gpu", "ok", f"GPU {i}: {torch.cuda.get_device_name(i)}, "
                             f"{total / 2**30:.1f} GiB, {free / 2**30:.1f} GiB free"))
    return found


def disk_finding(place: str, path: Path, free_bytes: int) -> Finding:
    """A place grading writes to, judged by its free space."""
    gib = free_bytes / 2**30
    if gib < MIN_FREE_GIB:
        return Finding("disk", "problem", f"{place} ({path}) has {gib:.1f} GiB free; grading a class needs "
                       f"about {MIN_FREE_GIB:g} GiB", f"free space on the disk holding {path}")
    return Finding("disk", "ok", f"{place} ({path}): {gib:.1f} GiB free")


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk(course: Course | None, data_root: Path) -> list[Finding]:
    """One finding per filesystem that grading writes to: sandboxes, the course, the data."""
    places = [("sandboxes", Path(tempfile.gettempdir())), *([("course", course.root)] if course else []),
              ("data", data_root)]
    by_device: dict[int, list[tuple[str, Path]]] = {}
    for place, path in places:
        by_device.setdefault(_existing(path).stat().st_dev, []).append((place, path))
    return [disk_finding(", ".join(p for p, _ in group), group[0][1], shutil.disk_usage(_existing(group[0][1])).free)
            for group in by_device.values()]


def diagnose(course: Course | None, data_root: Path, *, profile: str = "cpu") -> list[Finding]:
    """Every check; a course's assignments decide which data and libraries are needed."""
    from medgrade.kit import kit_assignments

    assignments = course.assignments() if course else kit_assignments()
    checks: list[Callable[[], list[Finding]]] = [
        lambda: check_interpreter(course), lambda: check_libraries(course, assignments),
        lambda: check_data(assignments, data_root), check_sandbox, lambda: check_gpus(profile),
        lambda: check_disk(course, data_root),
    ]
    return [f for check in checks for f in check()]


def format_findings(findings: list[Finding]) -> str:
    mark = {"ok": "ok", "warning": "warning", "problem": "PROBLEM"}
    lines = []
    for f in findings:
        lines.append(f"{mark[f.status]:<8} {f.check:<12} {f.what}")
        if f.fix:
            lines.append(f"{'':<21} fix: {f.fix}")
    problems = sum(f.status == "problem" for f in findings)
    warnings = sum(f.status == "warning" for f in findings)
    lines.append(f"{problems} problem(s), {warnings} warning(s)" + (": fix the problems before grading"
                                                                    if problems else ": ready to grade"))
    return "\n".join(lines)
