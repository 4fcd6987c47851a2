"""The command line: unknown names fail clearly, help works, errors are one line."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from medgrade.cli.main import cli


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
