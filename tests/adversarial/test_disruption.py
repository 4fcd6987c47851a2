"""Attacks that disrupt or game the run: exits, kills, fork bombs, floods, patching, detection.

Each attacker is a real submission graded beside honest students. Where the verdict can be
automatic (a dead kernel, a flood) the attacker loses exactly the tests it broke; where it
cannot (patching a builtin so a wrong answer passes, code that behaves differently when it
detects the grader) the submission is flagged for review with the cell and line.
"""

from __future__ import annotations

import os
import time

import psutil
import pytest

from medgrade.coordinator.engine import grade_class
from medgrade.course import Course
from medgrade.nbgrader_cli import run_nbgrader
from tests.tiny_course import ASSIGNMENT, TINY_PROFILE, make_course, submit

pytestmark = pytest.mark.xdist_group("engine")

MARK = "medgrade-adversarial-forkbomb"
RIGHT = "def double(x):\n    return 2 * x"
ATTACKS = {
    "exits": {"triple": "import sys\nsys.exit(3)"},
    "killer": {"triple": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"},
    "forkbomb": {"double": "import os, sys\nfor _ in range(40):\n    if os.fork() == 0:\n"
                           f"        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(300)', "
                           f"'{MARK}'])\n" + RIGHT},
    "flood": {"double": "for _ in range(300):\n    print('x' * 100_000)\n" + RIGHT},
    "thread": {"double": "import threading, time\n"
                         "def _forever():\n    while True:\n        time.sleep(0.01)\n"
                         "threading.Thread(target=_forever, daemon=False).start()\n" + RIGHT},
    "patcher": {"double": "import builtins\nbuiltins.abs = lambda v: v\ndef double(x):\n    return abs(2 * x)"},
    "detector": {"double": "import os\nGRADED = 'MEDGRADE_PROFILE' in os.environ\n"
                           "def double(x):\n    return 2 * x if GRADED else x"},
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("disruption") / "course")
    submit(root, "honest")
    submit(root, "wrong", {"double": "def double(x):\n    return abs(2 * x)"})
    for student, edits in ATTACKS.items():
        submit(root, student, edits)
    students = ["honest", "wrong", *ATTACKS]
    results = grade_class(Course(root), ASSIGNMENT, students, profile=TINY_PROFILE, data_root=None, workers=2)
    return root, {r.student: r for r in results}


def _test(result, gid):
    return next(t for t in result.tests if t.grade_id == gid)


def test_exits_and_kills_cost_only_what_they_broke(graded) -> None:
    _, r = graded
    assert r["exits"].score == 2 and "NameError" in _test(r["exits"], "test_triple").message
    # Contained, the kernel is its namespace's init and ignores its own SIGKILL; otherwise it dies.
    assert r["killer"].score == 2
    assert _test(r["killer"], "test_triple").message in (
        "not reached: the kernel died in cell 4", "NameError: name 'triple' is not defined")


def test_fork_bomb_and_threads_leave_nothing_behind(graded) -> None:
    _, r = graded
    assert r["forkbomb"].score == 5 and r["thread"].score == 5
    marked = [p for p in psutil.process_iter(["cmdline"]) if MARK in " ".join(p.info["cmdline"] or [])]
    # Killed processes on a loaded machine may take a moment to be reaped; a leak sleeps for 300 s.
    _, alive = psutil.wait_procs(marked, timeout=15)
    assert alive == [], _describe(alive)


def _describe(procs: list[psutil.Process]) -> str:
    """Who each survivor is: enough to tell a leak from a slow reap without a rerun."""
    rows = []
    for p in procs:
        try:
            with p.oneshot():
                rows.append(f"pid {p.pid} ppid {p.ppid()} pgid {os.getpgid(p.pid)} sid {os.getsid(p.pid)} "
                            f"{p.status()} age {time.time() - p.create_time():.1f} s")
        except (psutil.NoSuchProcess, ProcessLookupError):
            rows.append(f"pid {p.pid} gone")
    return f"{len(procs)} left behind:\n" + "\n".join(rows)


def test_a_flood_of_output_is_capped_not_fatal(graded) -> None:
    root, r = graded
    assert r["flood"].score == 5
    autograded = root / "autograded" / "flood" / ASSIGNMENT / "tiny.ipynb"
    assert autograded.stat().st_size < 3_000_000  # 30 MB printed, about 1 MB kept
    assert "output past 1000000 bytes dropped" in autograded.read_text()


def test_gaming_the_checks_is_flagged_for_review(graded) -> None:
    _, r = graded
    # Patching abs makes the wrong answer pass: no sound automatic verdict, so a human looks.
    assert r["patcher"].score == 5
    assert "integrity: patching in cell double, line 2: assigns builtins.abs" in r["patcher"].findings
    assert ("integrity: introspection in cell double, line 2: reads the grader's variable MEDGRADE_PROFILE"
            in r["detector"].findings)


def test_honest_students_and_the_gradebook_are_untouched(graded) -> None:
    root, r = graded
    assert (r["honest"].score, r["honest"].findings) == (5, ())
    assert r["wrong"].score == 3 and r["wrong"].findings == ()
    out = root / "gradebook" / "grades.csv"
    assert run_nbgrader(root, "export", "--to", str(out)).ok
    rows = out.read_text().splitlines()
    assert len(rows) == 1 + 2 + len(ATTACKS)


def test_the_ta_sees_flags_in_the_summary_and_the_class_integrity_report(graded) -> None:
    from click.testing import CliRunner

    from medgrade.cli.main import cli

    root, _ = graded
    out = CliRunner().invoke(cli, ["grade", ASSIGNMENT, "--course-dir", str(root), "--workers", "1",
                                   "--student", "patcher", "--student", "honest"]).output
    assert "review patcher: integrity: patching in cell double, line 2: assigns builtins.abs" in out
    assert "integrity report: gradebook/integrity/99_tiny.csv (1 finding(s) for 1 of 2 submission(s))" in out
    rows = (root / "gradebook" / "integrity" / f"{ASSIGNMENT}.csv").read_text().splitlines()
    assert rows == ["student,kind,finding",
                    'patcher,flag,"integrity: patching in cell double, line 2: assigns builtins.abs"']
