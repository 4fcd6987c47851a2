"""``medgrade check`` and ``self_check()`` on real notebooks of the tiny course, in real kernels."""

from __future__ import annotations

import shutil
from dataclasses import replace

import nbformat
import pytest
from click.testing import CliRunner

from medgrade.course import Course
from medgrade.student.check import run_check
from medgrade.student.selfcheck import format_report, self_check
from tests.tiny_course import ASSIGNMENT, TINY_PROFILE, make_course, submit

pytestmark = pytest.mark.xdist_group("engine")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return make_course(tmp_path_factory.mktemp("check") / "course")


def _check(course, notebook, *args):
    from medgrade.cli.main import cli

    return CliRunner().invoke(cli, ["check", str(notebook), "--course-dir", str(course), *args])


def test_correct_notebook_passes_every_public_test(course) -> None:
    run = _check(course, submit(course, "ada"))
    assert run.exit_code == 0, run.output
    assert "medgrade check: tiny.ipynb (assignment 99_tiny, cpu profile: 30 s per cell, 300 s per notebook)" \
        in run.output
    assert "  test_double     2 pt  passed\n  test_triple     3 pt  passed" in run.output
    assert "Public tests: 2 of 2 passed." in run.output and "of the 300 s notebook budget" in run.output


def test_public_failure_shows_the_message_and_hidden_tests_are_not_run(course) -> None:
    run = _check(course, submit(course, "bob", {"double": "def double(x):\n    return x + 1",
                                               "triple": "def triple(x):\n    return 3 * x if x < 4 else 0"}))
    assert run.exit_code == 1
    assert "  test_double     2 pt  FAILED\n      AssertionError\n" in run.output
    # triple(1) passes the public test; only the hidden triple(5) == 15 catches the bug, at grading.
    assert "  test_triple     3 pt  passed" in run.output
    assert "triple(5)" not in run.output and "double(-3)" not in run.output


def test_edited_test_cell_is_reported_before_submitting(course) -> None:
    run = _check(course, submit(course, "eve", {"test_double": "pass  # my own test"}))
    assert run.exit_code == 1
    assert ("  ! cell test_double was edited; it was restored from the assignment; the grader would restore "
            "it too and report the change to your TA") in run.output
    assert "  test_double     2 pt  passed" in run.output  # the released test ran, not the edit


def test_invalid_file_and_wrong_name_stop_grading(course) -> None:
    broken = course / "work" / "tiny.ipynb"
    broken.parent.mkdir()
    broken.write_text("{not json")
    run = _check(course, broken)
    assert run.exit_code == 1 and "  ! is not valid JSON: Expecting property name" in run.output
    renamed = course / "work" / ASSIGNMENT / "tiny (1).ipynb"
    renamed.parent.mkdir()
    shutil.copy(submit(course, "fay"), renamed)
    run = _check(course, renamed)
    assert run.exit_code == 1
    assert "  ! the file is named tiny (1).ipynb, but the grader looks for tiny.ipynb: rename it" in run.output
    assert "test_double     2 pt  passed" in run.output


def test_unknown_assignment_is_a_usage_error(course) -> None:
    run = _check(course, submit(course, "gus"), "--assignment", "42_nothing")
    assert run.exit_code == 2 and "no released assignment '42_nothing'; released: 99_tiny" in run.output


def test_run_over_the_notebook_budget_is_reported(course) -> None:
    slow = submit(course, "hal", {"triple": "import time\ntime.sleep(30)\ndef triple(x):\n    return 3 * x"})
    profile = replace(TINY_PROFILE, cell_timeout=60, notebook_budget=6)
    report = run_check(Course(course), slow, profile=profile)
    text = format_report(report)
    assert "  ! the notebook ran past its 6 s budget in cell 4: the grader stops there too" in text
    assert "  test_triple     3 pt  NOT RUN\n      not reached: the notebook ran past its 6 s budget in cell 4" in text


def test_self_check_from_inside_the_notebook(course, monkeypatch, capsys) -> None:
    notebook = submit(course, "ida")
    monkeypatch.delenv("MEDGRADE_PROFILE", raising=False)
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))  # what Jupyter tells the kernel
    report = self_check(course_dir=str(course))
    assert report is not None and report.ok
    assert "Public tests: 2 of 2 passed." in capsys.readouterr().out
    monkeypatch.setenv("MEDGRADE_PROFILE", "cpu")  # a kernel the grader started
    assert self_check() is None
    assert capsys.readouterr().out == "medgrade self-check skipped: this kernel was started by the grader\n"


def test_a_test_with_no_public_part_is_reported_hidden_not_passed() -> None:
    import nbformat

    from medgrade.student.check import _hidden_only
    from tests.conftest import REPO

    release = nbformat.read(REPO / "release" / "01_pytorch_basics" / "pytorch_basics.ipynb", as_version=4)
    assert _hidden_only(release) == {"test_trained_accuracy"}


def test_a_notebook_that_forges_its_verdicts_is_told_so_before_submitting(course) -> None:
    from medgrade.runner.execute import TAMPERED

    forging = submit(course, "mallory", extra_cells=[(1, nbformat.v4.new_code_cell(
        "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])"))])
    run = _check(course, forging)
    assert run.exit_code == 1
    assert f"  test_double     2 pt  FAILED\n      {TAMPERED}\n" in run.output
    assert ("integrity: tampering: the kernel lied about 2 cell(s) whose outcome the grader knew (a copy of "
            "test_double whose first line must fail, reported passed; a copy of test_triple whose first line must "
            "fail, reported passed): none of its verdicts was trusted and every test scored 0; the grader would see "
            "it too and your TA would review it") in run.output.replace("\n    ", " ")
