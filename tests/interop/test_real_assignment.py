"""Both exports on a real assignment (01_pytorch_basics): reference full marks, release zero.

The tiny course exercises the same paths in seconds; this proves the curriculum's tests (which
call ``medgrade.checks`` and read the MedNIST stand-in) survive the trip, in about 1.5 minutes.
"""

from __future__ import annotations

import nbformat
import pytest
from click.testing import CliRunner

from medgrade.author.mutants import completed_notebook
from medgrade.cli.main import cli
from tests.conftest import copy_course
from tests.interop.test_gradescope import _autograde
from tests.interop.test_otter import _otter_run

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("engine")]

A, NB = "01_pytorch_basics", "pytorch_basics.ipynb"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A scratch copy: the repository's release/ may be regenerated while this runs."""
    return copy_course(tmp_path_factory.mktemp("real") / "course")


def _zip(course, fmt, tmp_path):
    dest = tmp_path / f"{fmt}.zip"
    result = CliRunner().invoke(cli, ["export-autograder", A, "--format", fmt, "-o", str(dest),
                                      "--course-dir", str(course.root)])
    assert result.exit_code == 0, result.output
    return dest


def _notebooks(course):
    return {"reference": completed_notebook(course, A, NB),
            "release": nbformat.read(course.release / A / NB, as_version=4)}


def test_gradescope_zip_grades_the_real_assignment(course, data_root, tmp_path) -> None:
    dest = _zip(course, "gradescope", tmp_path)
    for who, nb in _notebooks(course).items():
        results = _autograde(dest, tmp_path / who / "autograder", nb, NB)
        expected = 26 if who == "reference" else 0
        assert results["score"] == expected, (who, results["tests"])


def test_otter_run_grades_the_real_assignment(course, data_root, tmp_path) -> None:
    dest = _zip(course, "otter", tmp_path)
    for who, nb in _notebooks(course).items():
        (tmp_path / who).mkdir()
        tests = _otter_run(dest, nb, tmp_path / who)
        scores = [t["score"] for n, t in tests.items() if n != "Public Tests"]
        assert len(scores) == 11 and sum(scores) == (26 if who == "reference" else 0), (who, tests)
