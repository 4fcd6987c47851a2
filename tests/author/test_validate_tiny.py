"""validate on a tiny course: a broken reference and a test that passes without work both fail.

The notebook imports nothing heavy, so a full nbgrader round trip takes seconds.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from medgrade.cli.main import cli
from tests.tiny_course import make_course


def _course(root: Path, answer: str, free_test: bool) -> Path:
    return make_course(root, answer, free_test)


def test_fair_tiny_assignment_validates(tmp_path) -> None:
    root = _course(tmp_path, "2 * x", free_test=False)
    result = CliRunner().invoke(cli, ["validate", "99_tiny", "--course-dir", str(root)])
    assert result.exit_code == 0, result.output
    assert "MISMATCH" not in result.output and "validation passed: 99_tiny" in result.output


def test_reference_failing_a_hidden_test_is_a_mismatch(tmp_path) -> None:
    root = _course(tmp_path, "abs(2 * x)", free_test=False)  # right on 2, wrong on -3
    result = CliRunner().invoke(cli, ["validate", "99_tiny", "--course-dir", str(root)])
    assert result.exit_code == 1
    assert "MISMATCH" in result.output
    assert "reference: test_double scored 0, expected 2: AssertionError" in result.output
    assert "validation failed: 99_tiny" in result.output


def test_points_without_work_are_a_mismatch(tmp_path) -> None:
    root = _course(tmp_path, "2 * x", free_test=True)
    result = CliRunner().invoke(cli, ["validate", "99_tiny", "--course-dir", str(root)])
    assert result.exit_code == 1
    assert "blank-release: test_free scored 1, expected 0 (the test passes without any work)" in result.output


def _mutant(root: Path, name: str, text: str) -> None:
    folder = root / "source" / "99_tiny" / "mutants"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.yaml").write_text(text)


def test_mutants_are_graded_and_must_lose_exactly_their_points(tmp_path) -> None:
    root = _course(tmp_path, "2 * x", free_test=False)
    _mutant(root, "adds", "bug: adds instead of doubling\nedits:\n  - cell: double\n"
                          "    replace: 2 * x\n    with: x + 2\nexpected:\n  test_double: 0\n")
    # Right on the public input (2 + 2 == 4), wrong on the hidden one: the hidden test must catch it.
    _mutant(root, "claims_too_much", "bug: squares\nedits:\n  - cell: double\n"
                                     "    replace: 2 * x\n    with: x * x\nexpected: {}\n")
    result = CliRunner().invoke(cli, ["validate", "99_tiny", "--course-dir", str(root)])
    assert result.exit_code == 1, result.output
    assert "claims_too_much: test_double scored 0, expected 2: AssertionError" in result.output
    assert "adds: test_double" not in result.output  # it lost exactly what it should
    assert "adds: adds instead of doubling" in result.output


def test_stale_mutant_is_refused_with_the_fix(tmp_path) -> None:
    root = _course(tmp_path, "2 * x", free_test=False)
    _mutant(root, "stale", "bug: x\nedits:\n  - cell: double\n    replace: 3 * x\n    with: x\n")
    result = CliRunner().invoke(cli, ["validate", "99_tiny", "--course-dir", str(root)])
    assert result.exit_code == 2
    assert "99_tiny/mutants/stale.yaml: the text to replace is not in cell double: '3 * x'" in result.output


def test_mutant_naming_an_unknown_test_is_refused(tmp_path) -> None:
    root = _course(tmp_path, "2 * x", free_test=False)
    _mutant(root, "typo", "bug: x\nedits:\n  - cell: double\n    replace: 2 * x\n    with: x\n"
                          "expected:\n  test_doubel: 0\n")
    result = CliRunner().invoke(cli, ["validate", "99_tiny", "--course-dir", str(root)])
    assert result.exit_code == 2
    assert ("mutants/typo.yaml names no test test_doubel "
            "(solution cells: double, triple; tests: test_double, test_triple)") in result.output


def _alternative(root: Path, name: str, text: str) -> None:
    folder = root / "source" / "99_tiny" / "alternatives"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.yaml").write_text(text)


def test_an_alternative_in_another_style_must_keep_full_marks(tmp_path) -> None:
    root = _course(tmp_path, "2 * x", free_test=False)
    _alternative(root, "by_addition", "style: adds x to itself\ncells:\n  double: |\n"
                                      "    def double(x):\n        return x + x\n")
    result = CliRunner().invoke(cli, ["validate", "99_tiny", "--course-dir", str(root)])
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if line.lstrip().startswith("test "))
    assert header.split()[-2:] == ["by_addition", "verdict"]
    assert "by_addition: (correct, another style) adds x to itself" in result.output


def test_an_alternative_losing_points_is_a_mismatch_naming_the_test(tmp_path) -> None:
    # Right on the public input only: a test that rejects it would be unfair if it were correct,
    # and here it is wrong, so validate must say which test it lost and why.
    root = _course(tmp_path, "2 * x", free_test=False)
    _alternative(root, "by_square", "style: squares\ncells:\n  double: |\n    def double(x):\n        return x * x\n"
                                    "  triple: |\n    def triple(x):\n        return x + x + x\n")
    result = CliRunner().invoke(cli, ["validate", "99_tiny", "--course-dir", str(root)])
    assert result.exit_code == 1, result.output
    assert "by_square: test_double scored 0, expected 2: AssertionError" in result.output
    assert "by_square: test_triple" not in result.output  # its other cell, rewritten, keeps its points


def test_an_alternative_naming_no_solution_cell_is_refused(tmp_path) -> None:
    root = _course(tmp_path, "2 * x", free_test=False)
    _alternative(root, "typo", "style: x\ncells:\n  doubel: |\n    def double(x):\n        return x + x\n")
    result = CliRunner().invoke(cli, ["validate", "99_tiny", "--course-dir", str(root)])
    assert result.exit_code == 2
    assert "99_tiny/alternatives/typo.yaml names no solution cell doubel (solution cells: double, triple)" \
        in result.output
    _alternative(root, "typo", "style: x\ncells:\n  double: 3\n")
    result = CliRunner().invoke(cli, ["validate", "99_tiny", "--course-dir", str(root)])
    assert result.exit_code == 2
    assert "99_tiny/alternatives/typo.yaml: cell double has no source (give the cell's whole code as text)" \
        in result.output
