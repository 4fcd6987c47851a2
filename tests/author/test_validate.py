"""Every assignment: the reference scores full marks and the blank release zero (cpu profile)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from medgrade.author.validate import Column, ValidationReport, ValidationRow
from medgrade.cli.main import cli
from tests.author.test_release import _assignments


@pytest.mark.parametrize("assignment", _assignments())
def test_validate_passes(course, data_root, assignment: str) -> None:
    # pytest-xdist already runs two validations at once on two cores: one kernel each.
    result = CliRunner().invoke(cli, ["validate", assignment, "--workers", "1", "--course-dir", str(course.root)])
    assert result.exit_code == 0, result.output
    assert f"validation passed: {assignment}" in result.output
    assert "MISMATCH" not in result.output


def test_report_names_every_mismatch_with_its_figures() -> None:
    cols = (
        Column("reference", "reference", {"test_ok": 2, "test_ref_fails": 3, "test_free": 1}),
        Column("blank-release", "blank-release", {"test_ok": 0, "test_ref_fails": 0, "test_free": 0}),
        Column("no_zero_grad", "mutant-no_zero_grad", {"test_ok": 0, "test_ref_fails": 3, "test_free": 1},
               "optimizer.zero_grad() missing"),
    )
    rows = (
        ValidationRow("test_ok", 2, {"reference": 2, "blank-release": 0, "no_zero_grad": 2},
                      {c.label: c.expected["test_ok"] for c in cols}),
        ValidationRow("test_ref_fails", 3, {"reference": 0, "blank-release": 0, "no_zero_grad": 3},
                      {c.label: c.expected["test_ref_fails"] for c in cols},
                      {"reference": "CheckFailure: expected >= 0.7; observed 0.4"}),
        ValidationRow("test_free", 1, {"reference": 1, "blank-release": 1, "no_zero_grad": 1},
                      {c.label: c.expected["test_free"] for c in cols}),
    )
    report = ValidationReport("01_x", "cpu", cols, rows, ())
    assert not report.ok
    table = report.table()
    assert table.count("MISMATCH") == 3
    assert "no_zero_grad: test_ok scored 2, expected 0" in table
    assert "reference: test_ref_fails scored 0, expected 3: CheckFailure: expected >= 0.7; observed 0.4" in table
    assert "blank-release: test_free scored 1, expected 0 (the test passes without any work)" in table
    assert "no_zero_grad: optimizer.zero_grad() missing" in table


def test_a_provisional_profile_is_noted_without_failing_validation() -> None:
    cols = (Column("reference", "reference", {"test_ok": 2}), Column("blank-release", "blank-release", {"test_ok": 0}))
    rows = (ValidationRow("test_ok", 2, {"reference": 2, "blank-release": 0}, {"reference": 2, "blank-release": 0}),)
    note = "the gpu profile's thresholds are provisional: no CUDA calibration record"
    report = ValidationReport("01_x", "gpu", cols, rows, (), (note,))
    assert report.ok
    assert f"  note: {note}" in report.table()
