"""validate on a tiny course: a broken reference and a test that passes without work both fail.

The notebook imports nothing heavy, so a full nbgrader round trip takes seconds.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from click.testing import CliRunner
from nbformat.v4 import new_code_cell, new_notebook

from medgrade.cli.main import cli
from tests.conftest import REPO


def _cell(src: str, gid: str, *, solution: bool = False, points: int = 0):
    cell = new_code_cell(src)
    cell.metadata["nbgrader"] = {
        "grade": points > 0, "grade_id": gid, "locked": not solution, "schema_version": 3,
        "solution": solution, "task": False, **({"points": points} if points else {}),
    }
    return cell


def _course(root: Path, answer: str, free_test: bool) -> Path:
    (root / "source" / "99_tiny").mkdir(parents=True)
    (root / "nbgrader_config.py").write_text((REPO / "nbgrader_config.py").read_text())
    cells = [
        _cell(f"def double(x):\n    ### BEGIN SOLUTION\n    return {answer}\n    ### END SOLUTION", "double",
              solution=True),
        _cell("assert double(2) == 4\n### BEGIN HIDDEN TESTS\nassert double(-3) == -6\n### END HIDDEN TESTS",
              "test_double", points=2),
    ]
    if free_test:
        cells.append(_cell("assert True", "test_free", points=1))
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "source" / "99_tiny" / "tiny.ipynb")
    result = CliRunner().invoke(cli, ["release", "99_tiny", "--no-execute", "--course-dir", str(root)])
    assert result.exit_code == 0, result.output
    return root


def test_fair_tiny_assignment_validates(tmp_path) -> None:
    root = _course(tmp_path, "2 * x", free_test=False)
    result = CliRunner().invoke(cli, ["validate", "99_tiny", "--course-dir", str(root)])
    assert result.exit_code == 0, result.output
    assert "test_double                      2          2      0  ok" in result.output


def test_reference_failing_a_hidden_test_is_a_mismatch(tmp_path) -> None:
    root = _course(tmp_path, "abs(2 * x)", free_test=False)  # right on 2, wrong on -3
    result = CliRunner().invoke(cli, ["validate", "99_tiny", "--course-dir", str(root)])
    assert result.exit_code == 1
    assert "test_double                      2          0      0  MISMATCH" in result.output
    assert "reference lost points: AssertionError" in result.output
    assert "validation failed: 99_tiny" in result.output


def test_points_without_work_are_a_mismatch(tmp_path) -> None:
    root = _course(tmp_path, "2 * x", free_test=True)
    result = CliRunner().invoke(cli, ["validate", "99_tiny", "--course-dir", str(root)])
    assert result.exit_code == 1
    assert "the blank release scored points: the test passes without any work" in result.output
