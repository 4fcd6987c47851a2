"""Fail closed: where the sandbox cannot be built nothing of a student's runs, unless --unconfined.

The commands run in fresh processes (the sandbox is probed once per process), from a scrubbed
environment, as a TA would type them; ``MEDGRADE_BWRAP`` pointing nowhere stands in for a
machine without bubblewrap.
"""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from medgrade.errors import SandboxUnavailable
from medgrade.runner import isolation
from tests.adversarial.graders import TA, ensure_user, grade_as, owned_scratch, reachable_interpreter, results
from tests.tiny_course import ASSIGNMENT, TINY_PROFILE, make_course, submit

pytestmark = pytest.mark.xdist_group("engine")

MEDGRADE = str(Path(sys.executable).parent / "medgrade")
NO_SANDBOX = ("student code would run unconfined: MEDGRADE_BWRAP=/nonexistent/bwrap is not an executable file: "
              "point it at bwrap, or unset it. Grade where the sandbox can be built, or pass --unconfined to grade "
              "without it (every result will say so)")


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": "C.UTF-8", "MEDGRADE_BWRAP": "/nonexistent/bwrap"}
    return subprocess.run([MEDGRADE, *args], capture_output=True, text=True, env={**base, **(env or {})}, timeout=600)


def test_a_missing_sandbox_is_refused_with_the_fix(monkeypatch) -> None:
    monkeypatch.setenv("MEDGRADE_BWRAP", "/nonexistent/bwrap")
    isolation._probe.cache_clear()
    try:
        with pytest.raises(SandboxUnavailable) as refused:
            isolation.find_sandbox()
        assert str(refused.value) == NO_SANDBOX
        sandbox = isolation.find_sandbox(unconfined=True)
        assert not sandbox.confined and sandbox.finding() == (
            "unconfined: graded without the sandbox (--unconfined), because MEDGRADE_BWRAP=/nonexistent/bwrap is "
            "not an executable file: point it at bwrap, or unset it; the kernel could read the course, other "
            "submissions and the network")
    finally:
        isolation._probe.cache_clear()


def test_grade_refuses_before_any_code_runs_and_grades_unconfined_only_when_told(tmp_path) -> None:
    root = make_course(tmp_path / "course")
    submit(root, "ada")
    refused = _run("grade", ASSIGNMENT, "--course-dir", str(root), "--workers", "1")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"medgrade: error: {NO_SANDBOX}" in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout
    assert not (root / "autograded" / "ada").exists() and not (root / "gradebook" / "results").exists()

    graded = _run("grade", ASSIGNMENT, "--course-dir", str(root), "--workers", "1", "--unconfined")
    assert graded.returncode == 0, graded.stdout + graded.stderr
    result = json.loads((root / "gradebook" / "results" / ASSIGNMENT / "ada.json").read_text())
    assert result["score"] == 5
    assert result["findings"][0].startswith("unconfined: graded without the sandbox (--unconfined), because "
                                            "MEDGRADE_BWRAP=/nonexistent/bwrap")
    assert "review ada: unconfined: graded without the sandbox" in graded.stdout


def test_check_refuses_too(tmp_path) -> None:
    root = make_course(tmp_path / "course")
    notebook = submit(root, "ada")
    refused = _run("check", str(notebook), "--course-dir", str(root), "--assignment", ASSIGNMENT)
    assert refused.returncode == 2 and f"medgrade: error: {NO_SANDBOX}" in refused.stderr
    checked = _run("check", str(notebook), "--course-dir", str(root), "--assignment", ASSIGNMENT, "--unconfined")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ran without the grader's sandbox (--unconfined)" in checked.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a second grading user needs root")
def test_two_tas_grade_on_one_machine_at_once() -> None:
    """Two users, each grading their own course at the same time: each sees its own results only."""
    users = [ensure_user(TA), ensure_user(f"{TA}2")]
    folders = [owned_scratch(u, f"medgrade-{u.pw_name}-") for u in users]
    try:
        courses = []
        for user, folder in zip(users, folders, strict=True):
            course = make_course(folder / "course")
            submit(course, "ada")
            submit(course, "bob", {"double": "def double(x):\n    return abs(2 * x)"})
            subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(folder)], check=True)
            courses.append(course)
        with reachable_interpreter():
            running = [grade_as(u, c, ASSIGNMENT, ["ada", "bob"], TINY_PROFILE, None, workers=1, wait=False)
                       for u, c in zip(users, courses, strict=True)]
            outputs = [p.communicate(timeout=600)[0] for p in running]
        assert [p.returncode for p in running] == [0, 0], outputs
        for course in courses:
            got = results(course, ASSIGNMENT, ["ada", "bob"])
            assert (got["ada"].score, got["bob"].score) == (5, 3) and got["ada"].findings == ()
        owners = {Path(f"/tmp/medgrade-{u.pw_uid}").stat().st_uid for u in users}
        assert owners == {u.pw_uid for u in users}  # each grader's sandboxes in a folder of its own
    finally:
        for folder in folders:
            subprocess.run(["rm", "-rf", str(folder)], check=False)


def test_a_root_graders_kernels_run_as_nobody_or_the_user_named(monkeypatch) -> None:
    monkeypatch.delenv("MEDGRADE_SANDBOX_USER", raising=False)
    nobody = pwd.getpwnam("nobody")
    assert isolation.sandbox_user() == (nobody.pw_uid, nobody.pw_gid)
    monkeypatch.setenv("MEDGRADE_SANDBOX_USER", "4321")
    assert isolation.sandbox_user() == (4321, 4321)
    monkeypatch.setenv("MEDGRADE_SANDBOX_USER", "root")
    with pytest.raises(SandboxUnavailable, match="MEDGRADE_SANDBOX_USER=root is root: kernels must run as an "
                                                 "unprivileged user"):
        isolation.sandbox_user()
    monkeypatch.setenv("MEDGRADE_SANDBOX_USER", "no-such-user-here")
    with pytest.raises(SandboxUnavailable, match="no such user"):
        isolation.sandbox_user()


@pytest.mark.skipif(os.geteuid() != 0, reason="only a root grader's kernels run as another user")
def test_data_its_kernels_could_not_read_is_refused_with_the_fix(tmp_path) -> None:
    from medgrade.coordinator.engine import grade_class
    from medgrade.course import Course
    from medgrade.errors import UsageError

    root = make_course(tmp_path / "course")
    submit(root, "ada")
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    with pytest.raises(UsageError, match=rf"{data} is not readable by the kernels' user \(mode 0700\): run "
                                         rf"`chmod -R o\+rX {data}`"):
        grade_class(Course(root), ASSIGNMENT, ["ada"], profile=TINY_PROFILE, data_root=data, workers=1)
    assert not (root / "autograded" / "ada").exists()
    # The held-out key stays private (0600): the fix keeps it so, and a key alone is no reason to refuse.
    from medgrade.data.heldout import KEY_FILE, ensure_key

    data.chmod(0o755)
    ensure_key(data)
    (data / "MedNIST").mkdir(mode=0o700)
    with pytest.raises(UsageError, match=rf"{data / 'MedNIST'} is not readable .* run `chmod -R o\+rX {data} && "
                                         rf"chmod 600 {data / KEY_FILE}`"):
        grade_class(Course(root), ASSIGNMENT, ["ada"], profile=TINY_PROFILE, data_root=data, workers=1)
    (data / "MedNIST").chmod(0o755)
    (result,) = grade_class(Course(root), ASSIGNMENT, ["ada"], profile=TINY_PROFILE, data_root=data, workers=1)
    assert result.outcome == "graded", result
