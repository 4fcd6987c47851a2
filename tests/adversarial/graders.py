"""Graders for the containment attacks: this process as root, or an unprivileged user it creates.

The machine's interpreter may live in root's home, which other users cannot enter: to grade as
another user, :func:`reachable_interpreter` lets others traverse (never read) the folders above
the interpreter, the virtualenv and this repository for the test's duration. The unprivileged
grader runs ``python -m tests.adversarial.graders`` with a scrubbed environment, so it grades
exactly as a TA without root would.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from medgrade.course import Course
from medgrade.profiles import Profile
from medgrade.results import SubmissionResult

REPO = Path(__file__).resolve().parents[2]
TA = "medgrade-ta"


def ensure_user(name: str) -> pwd.struct_passwd:
    """The unprivileged user ``name``, created (with a home) if this machine lacks it."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", name], check=True, capture_output=True)
        return pwd.getpwnam(name)


_SHARED = Path(tempfile.gettempdir()) / "medgrade-tests-reachable"


@contextlib.contextmanager
def _shared_state() -> Iterator[dict[str, list]]:
    """The folders opened so far and the processes using them, under a lock every test process takes.

    Several pytest workers (or checkouts) may grade as another user at once: the last one out,
    not the first, restores the folders' modes. Holders that died without leaving are dropped.
    """
    with open(_SHARED.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state_file = _SHARED.with_suffix(".json")
        state = json.loads(state_file.read_text()) if state_file.exists() else {"holders": [], "changed": []}
        state["holders"] = [pid for pid in state["holders"] if Path(f"/proc/{pid}").exists()]
        yield state
        if state["holders"]:
            state_file.write_text(json.dumps(state))
        else:
            for folder, mode in reversed(state["changed"]):
                with contextlib.suppress(OSError):
                    os.chmod(folder, mode)
            state_file.unlink(missing_ok=True)


@contextlib.contextmanager
def reachable_interpreter() -> Iterator[None]:
    """Let every user traverse the folders above the interpreter, the virtualenv and the repository."""
    targets = [Path(sys.base_prefix), Path(sys.prefix), Path(sys.executable).resolve(), REPO]
    with _shared_state() as state:
        for target in targets:
            for folder in [*reversed(target.resolve().parents), target.resolve()]:
                mode = folder.stat().st_mode
                if folder.is_dir() and not mode & stat.S_IXOTH:
                    state["changed"].append((str(folder), stat.S_IMODE(mode)))
                    folder.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
        state["holders"].append(os.getpid())
    try:
        yield
    finally:
        with _shared_state() as state:
            with contextlib.suppress(ValueError):
                state["holders"].remove(os.getpid())


def owned_scratch(user: pwd.struct_passwd, prefix: str) -> Path:
    """A fresh folder under the system's temp dir that ``user`` owns (pytest's tmp_path is root's, 0700)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chown(folder, user.pw_uid, user.pw_gid)
    return folder


def chown_tree(folder: Path, user: pwd.struct_passwd) -> None:
    for path in [folder, *folder.rglob("*")]:
        os.lchown(path, user.pw_uid, user.pw_gid)


def grade_as(user: pwd.struct_passwd | None, course: Path, assignment: str, students: list[str], profile: Profile,
             data: Path | None, workers: int = 2, extra_env: dict[str, str] | None = None,
             wait: bool = True) -> subprocess.Popen[str]:
    """Grade ``students`` in a new process, as ``user`` (None: this process's user), environment scrubbed."""
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8",
           "HOME": user.pw_dir if user else os.environ.get("HOME", "/tmp"), **(extra_env or {})}
    argv = [sys.executable, "-m", "tests.adversarial.graders", str(course), assignment, json.dumps(asdict(profile)),
            str(data or ""), str(workers), *students]
    if user is not None:
        argv = [shutil.which("setpriv") or "setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                "--init-groups", "--", *argv]
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if wait:
        out, _ = proc.communicate(timeout=900)
        if proc.returncode != 0:
            raise AssertionError(f"grading as {user.pw_name if user else 'self'} failed:\n{out[-4000:]}")
    return proc


def results(course: Path, assignment: str, students: list[str]) -> dict[str, SubmissionResult]:
    from medgrade.gradebook.files import result_path

    return {s: SubmissionResult.from_dict(json.loads(result_path(Course(course), assignment, s).read_text()))
            for s in students}


def main(argv: list[str]) -> int:
    from medgrade.coordinator.engine import grade_class

    course, assignment, profile, data, workers, *students = argv
    grade_class(Course(Path(course)), assignment, students, profile=Profile(**json.loads(profile)),
                data_root=Path(data) if data else None, workers=int(workers))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
