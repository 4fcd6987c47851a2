"""Every assignment: the reference scores full marks and the blank release zero (cpu profile)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from medgrade.author.validate import ValidationReport, ValidationRow
from medgrade.cli.main import cli
from tests.author.test_release import _assignments


@pytest.mark.parametrize("assignment", _assignments())
def test_validate_passes(course, data_root, assignment: str) -> None:
    result = CliRunner().invoke(cli, ["validate", assignment, "--course-dir", str(course.root)])
    assert result.exit_code == 0, result.output
    assert f"validation passed: {assignment}" in result.output
    assert "MISMATCH" not in result.output


def test_report_flags_lost_points_and_free_points() -> None:
    rows = (
        ValidationRow("test_ok", 2, 2, 0, "", ""),
        ValidationRow("test_ref_fails", 3, 0, 0, "CheckFailure: expected 0.7; observed 0.4", ""),
        ValidationRow("test_free", 1, 1, 1, "", ""),
    )
    report = ValidationReport("01_x", "cpu", rows, ())
    assert not report.ok
    table = report.table()
    assert "test_ok" in table and table.count("MISMATCH") == 2
    assert "reference lost points: CheckFailure: expected 0.7; observed 0.4" in table
    assert "the blank release scored points: the test passes without any work" in table
