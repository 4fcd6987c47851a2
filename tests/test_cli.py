"""The command line: unknown names fail clearly, help works, errors are one line."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from medgrade.cli.main import cli
from medgrade.doctor import sandbox_problem
from tests.minimal_env import MEDGRADE, TRACEBACK, run_minimal
from tests.tiny_course import ASSIGNMENT, gradebook_rows, make_course, submit


@pytest.mark.parametrize("command", ["release", "validate", "grade"])
def test_unknown_assignment_names_the_known_ones(command: str, course) -> None:
    result = CliRunner().invoke(cli, [command, "nonexistent", "--course-dir", str(course.root)])
    assert result.exit_code == 2
    assert "unknown assignment 'nonexistent'" in result.output
    assert "01_pytorch_basics" in result.output


def test_outside_a_course_directory(tmp_path) -> None:
    result = CliRunner().invoke(cli, ["validate", "--course-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "is not a course directory: it has no source/ folder" in result.output


def test_unknown_profile_is_refused(course) -> None:
    result = CliRunner().invoke(cli, ["validate", "--profile", "tpu", "--course-dir", str(course.root)])
    assert result.exit_code == 2
    assert "'tpu' is not one of 'cpu', 'gpu'" in result.output


def test_help_lists_only_working_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("data", "demo", "grade", "release", "validate"):
        assert command in result.output


def test_grade_unknown_student(scratch_course) -> None:
    (scratch_course.submitted / "ada" / "01_pytorch_basics").mkdir(parents=True)
    result = CliRunner().invoke(
        cli, ["grade", "01_pytorch_basics", "--student", "zed", "--course-dir", str(scratch_course.root)]
    )
    assert result.exit_code == 2
    assert "no submission of 01_pytorch_basics for zed" in result.output
    assert "students with one: ada" in result.output


def test_grade_from_a_fresh_shell_finds_nbgraders_tools(tmp_path) -> None:
    """nbgrader creates a gradebook with `alembic` from PATH: the virtualenv's, though it is not on PATH."""
    root = make_course(tmp_path / "course")
    (root / "gradebook" / "gradebook.db").unlink()  # the first gradebook is created by the command itself
    submit(root, "ada")
    unconfined = ["--unconfined"] if sandbox_problem() else []  # where the sandbox cannot be built
    run = run_minimal([str(MEDGRADE), "grade", ASSIGNMENT, *unconfined], cwd=root, home=tmp_path)
    assert run.returncode == 0, run.stdout
    assert TRACEBACK not in run.stdout
    assert re.search(r"^ada +5/5 +[\d.]+s  graded$", run.stdout, re.M), run.stdout
    assert gradebook_rows(root) == [("ada", "test_double", 2.0), ("ada", "test_triple", 3.0)]


def test_an_unexpected_error_is_one_line_and_a_log(tmp_path) -> None:
    root = make_course(tmp_path / "course")
    submit(root, "ada")
    (root / "gradebook" / "gradebook.db").write_text("not a database")  # a damaged gradebook
    logs = tmp_path / "logs"
    run = run_minimal([str(MEDGRADE), "grade", ASSIGNMENT], cwd=root, home=tmp_path, MEDGRADE_LOG_DIR=str(logs))
    assert run.returncode == 3
    (log,) = logs.iterdir()
    # One line: what failed (the library's own words), where, and the log; the traceback is in the log.
    assert re.fullmatch(r"medgrade: `medgrade grade` failed unexpectedly: DatabaseError: \(sqlite3.DatabaseError\) "
                        r"file is not a database .*\(at sqlalchemy/engine/default.py:\d+\); "
                        rf"the full log is in {re.escape(str(log))}\n", run.stdout), run.stdout
    text = log.read_text()
    assert TRACEBACK in text and f"$ {MEDGRADE} grade {ASSIGNMENT}" in text



def test_an_incomplete_installation_is_one_line_and_a_log(tmp_path) -> None:
    """A library missing from the environment fails while the commands load: one line too."""
    shadow = tmp_path / "shadow"  # stands in for an environment whose click is gone
    shadow.mkdir()
    (shadow / "click.py").write_text("raise ModuleNotFoundError(\"No module named 'click'\")\n")
    logs = tmp_path / "logs"
    run = run_minimal([str(MEDGRADE), "--help"], cwd=tmp_path, home=tmp_path, PYTHONPATH=str(shadow),
                      MEDGRADE_LOG_DIR=str(logs))
    assert run.returncode == 3
    (log,) = logs.iterdir()
    assert run.stdout == ("medgrade: could not start (its installation is incomplete; `pip check` says more): "
                          f"ModuleNotFoundError: No module named 'click' (at {shadow / 'click.py'}:1); "
                          f"the full log is in {log}\n")
    assert TRACEBACK in log.read_text()
