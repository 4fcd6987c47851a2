"""The sandboxed engine on real notebooks and real kernels (torch-free, so seconds each).

Every verdict rule is checked on a student who triggers it, beside a student who does not.
"""

from __future__ import annotations

import json
import socket
import threading

import pytest
from click.testing import CliRunner

from medgrade.coordinator.engine import grade_class
from medgrade.course import Course
from medgrade.gradebook.files import result_path
from tests.tiny_course import ASSIGNMENT, TINY_PROFILE, make_course, submit

pytestmark = pytest.mark.xdist_group("engine")


def _grade(root, students, **kw):
    return {r.student: r for r in grade_class(Course(root), ASSIGNMENT, students, profile=TINY_PROFILE,
                                              data_root=None, workers=2, **kw)}


def _tests(result):
    return {t.grade_id: t for t in result.tests}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("engine") / "course")
    submit(root, "right")
    submit(root, "wrong", {"double": "def double(x):\n    return abs(2 * x)"})
    submit(root, "loops", {"double": "def double(x):\n    while True:\n        pass"})
    submit(root, "spins", {"triple": "while True:\n    pass"})  # a top-level cell, not a test
    submit(root, "dies", {"triple": "import os\nos._exit(1)"})
    submit(root, "hog", {"triple": "blob = bytearray(2_000_000_000)\nblob[::4096] = b'x' * len(blob[::4096])"})
    # Warns on every call, as a deprecated library call would: the test cell itself writes stderr.
    submit(root, "noisy", {"double": "import sys, warnings\ndef double(x):\n    sys.stderr.write('loud\\n')\n"
                                     "    warnings.warn('deprecated', DeprecationWarning, stacklevel=1)\n"
                                     "    warnings.warn('w')\n    return 2 * x"})
    submit(root, "tamper", {"test_double": "pass  # my own test"})
    return root, _grade(root, ["right", "wrong", "loops", "spins", "dies", "hog", "noisy", "tamper"])


def test_correct_submission_full_marks(graded) -> None:
    _, r = graded
    assert (r["right"].score, r["right"].max_score) == (5, 5) and r["right"].findings == ()


def test_hidden_test_catches_what_public_test_misses(graded) -> None:
    t = _tests(graded[1]["wrong"])
    assert t["test_double"].points == 0 and t["test_double"].message.startswith("AssertionError")
    assert t["test_triple"].points == 3


def test_runaway_cell_is_interrupted_and_the_rest_still_graded(graded) -> None:
    t = _tests(graded[1]["loops"])
    assert "ran past the 4 s per-cell limit" in t["test_double"].message
    assert t["test_triple"].points == 3


def test_spinning_cell_is_interrupted_and_later_tests_run(graded) -> None:
    r = graded[1]["spins"]
    t = _tests(r)
    assert t["test_double"].points == 2
    assert t["test_triple"].message == "NameError: name 'triple' is not defined"
    assert r.seconds < 4 * TINY_PROFILE.cell_timeout  # interrupted once, not waited out cell after cell


def test_dead_kernel_costs_only_the_tests_after_it(graded) -> None:
    t = _tests(graded[1]["dies"])
    assert t["test_double"].points == 2
    assert t["test_triple"].status == "not_run"
    assert t["test_triple"].message == "not reached: the kernel died in cell 4"


def test_memory_cap_kills_the_kernel_with_that_reason(graded) -> None:
    t = _tests(graded[1]["hog"])
    assert t["test_double"].points == 2
    assert "the kernel ran out of memory (over the 600 MB cap, its folder, /tmp and /dev/shm included)" in \
        t["test_triple"].message


def test_stderr_and_warnings_cost_nothing(graded) -> None:
    assert graded[1]["noisy"].score == 5


def test_edited_test_cell_is_restored_and_flagged(graded) -> None:
    r = graded[1]["tamper"]
    assert r.score == 5  # the original test ran, and the code is right
    assert "tiny.ipynb: cell test_double was edited; it was restored from the assignment" in r.findings


def test_rerun_skips_unchanged_and_regrades_changed(graded) -> None:
    root, first = graded
    seen: list[tuple[str, bool]] = []
    submit(root, "wrong", {"double": "def double(x):\n    return 2 * x"})  # fixed and resubmitted
    again = {r.student: r for r in grade_class(
        Course(root), ASSIGNMENT, ["right", "wrong"], profile=TINY_PROFILE, data_root=None, workers=1,
        progress=lambda i, n, r, reused: seen.append((r.student, reused)))}
    assert ("right", True) in seen and ("wrong", False) in seen
    assert again["right"] == first["right"] and again["wrong"].score == 5
    forced = []
    grade_class(Course(root), ASSIGNMENT, ["right"], profile=TINY_PROFILE, data_root=None, workers=1, force=True,
                progress=lambda i, n, r, reused: forced.append(reused))
    assert forced == [False]


def test_gradebook_has_one_row_per_student_and_nbgrader_exports_it(graded) -> None:
    import csv

    from medgrade.nbgrader_cli import run_nbgrader

    root, results = graded
    out = root / "gradebook" / "grades.csv"
    run = run_nbgrader(root, "export", "--to", str(out))
    assert run.ok, run.output
    rows = list(csv.DictReader(out.open()))
    assert sorted(r["student_id"] for r in rows) == sorted(results)
    by = {r["student_id"]: float(r["score"]) for r in rows}
    assert by["right"] == 5 and by["dies"] == 2
    assert json.loads(result_path(Course(root), ASSIGNMENT, "dies").read_text())["score"] == 2


def test_kernel_has_no_network(tmp_path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    accepted: list[object] = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    root = make_course(tmp_path / "course")
    probe = (f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
             "    REACHED = True\nexcept OSError:\n    REACHED = False\n"
             "def double(x):\n    return 2 * x if not REACHED else 0")
    submit(root, "curious", {"double": probe})
    r = _grade(root, ["curious"])["curious"]
    assert r.score == 5 and not accepted


def test_cli_grade_reports_progress_and_table(tmp_path) -> None:
    from medgrade.cli.main import cli

    root = make_course(tmp_path / "course")
    submit(root, "ada")
    (root / "submitted" / "bob" / ASSIGNMENT).mkdir(parents=True)
    (root / "submitted" / "bob" / ASSIGNMENT / "tiny.ipynb").write_text("{not json")
    result = CliRunner().invoke(cli, ["grade", ASSIGNMENT, "--course-dir", str(root), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "[2/2]" in result.output and "engine medgrade" in result.output
    assert "bob" in result.output and "is not valid JSON" in result.output
    again = CliRunner().invoke(cli, ["grade", ASSIGNMENT, "--course-dir", str(root)])
    assert again.output.count("unchanged, kept") == 2


def test_scores_match_nbgrader_autograde_where_the_rules_agree(graded, tmp_path) -> None:
    """Same notebooks through `nbgrader autograde`: equal scores, except the deliberate differences."""
    from medgrade.coordinator.nbgrader_backend import autograde_class

    root, ours = graded
    same = ["right", "tamper", "spins"]  # ("wrong" is resubmitted fixed by an earlier test)
    theirs = {r.student: r for r in autograde_class(Course(root), ASSIGNMENT, same + ["noisy", "dies"],
                                                    profile=TINY_PROFILE, workers=2)}
    for s in same:
        assert [t.points for t in theirs[s].tests] == [t.points for t in ours[s].tests], s
    # Deliberate: nbgrader zeroes a test whose cell wrote to stderr, and loses a dead kernel's
    # whole submission; medgrade keeps what was earned.
    assert theirs["noisy"].score < ours["noisy"].score == 5
    assert theirs["dies"].score < ours["dies"].score == 2


def test_a_kernel_that_could_not_start_is_retried_not_scored(tmp_path, monkeypatch) -> None:
    """Before any student code runs, a failure is the grader's: the job is retried once, then reported."""
    from medgrade.coordinator import engine
    from medgrade.results import Stop
    from medgrade.runner import job as job_module
    from medgrade.runner.testrun import Execution

    real_execute, calls = job_module.execute, []

    def flaky_execute(prepared, **kw):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) <= failures:
            run = Execution(prepared.notebook)
            run.stopped, run.stop = "the kernel could not start: OSError: bind mount failed", Stop.NO_START
            return run
        return real_execute(prepared, **kw)

    def in_process(slots):  # type: ignore[no-untyped-def]
        def run(jobs):  # type: ignore[no-untyped-def]
            for job in jobs:
                yield job, job_module.run_job(job)
        return run

    monkeypatch.setattr(job_module, "execute", flaky_execute)
    monkeypatch.setattr(engine, "_local_rounds", in_process)
    root = make_course(tmp_path / "course")
    submit(root, "right")
    failures = 1
    (once,) = grade_class(Course(root), ASSIGNMENT, ["right"], profile=TINY_PROFILE, data_root=None, workers=1)
    assert (len(calls), once.outcome, once.score) == (2, "graded", 5)  # retried: graded as if nothing happened
    failures, calls[:] = 99, []
    (twice,) = grade_class(Course(root), ASSIGNMENT, ["right"], profile=TINY_PROFILE, data_root=None, workers=1,
                           force=True)
    assert len(calls) == 2 and twice.outcome == "error" and twice.fingerprint == ""  # the next run grades it
    assert "lost twice (the kernel could not start: OSError: bind mount failed)" in twice.message
    assert "infrastructure failure, not yours" in twice.message
