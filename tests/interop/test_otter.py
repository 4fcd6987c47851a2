"""The Otter export, graded by ``otter run`` itself on the reference and on the release."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from medgrade.author.mutants import completed_notebook
from medgrade.cli.main import cli
from medgrade.course import Course
from medgrade.interop.otter import otter_tests, render_test_file
from tests.tiny_course import ASSIGNMENT, make_course

pytestmark = pytest.mark.xdist_group("engine")


@pytest.fixture(scope="module")
def course_and_zip(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("otter") / "course")
    dest = root / "otter.zip"
    result = CliRunner().invoke(cli, ["export-autograder", ASSIGNMENT, "--format", "otter", "-o", str(dest),
                                      "--course-dir", str(root)])
    assert result.exit_code == 0, result.output
    return root, dest


def _otter_run(zip_path: Path, notebook: nbformat.NotebookNode, tmp: Path) -> dict:
    nbformat.write(notebook, tmp / "submission.ipynb")
    (tmp / "out").mkdir()
    run = subprocess.run([sys.executable, "-m", "otter", "run", "-a", str(zip_path), "-o", str(tmp / "out"),
                          "--no-logo", str(tmp / "submission.ipynb")], capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads((tmp / "out" / "results.json").read_text())
    return {t["name"]: t for t in results["tests"]}


def test_test_files_are_otter_exception_tests(course_and_zip) -> None:
    root, dest = course_and_zip
    from otter.test_files import ExceptionTestFile

    tests = otter_tests(Course(root), ASSIGNMENT)
    assert [(t.name, t.points, t.hidden) for t in tests] == [("test_double", 2, True), ("test_triple", 3, True)]
    assert "### BEGIN HIDDEN TESTS" not in render_test_file(tests[0])
    with zipfile.ZipFile(dest) as z:
        assert {"otter_config.json", "tests/test_double.py", "tests/test_triple.py"} <= set(z.namelist())
        path = root / "test_double.py"
        path.write_bytes(z.read("tests/test_double.py"))
    parsed = ExceptionTestFile.from_file(str(path))
    assert parsed.name == "test_double" and parsed.test_cases[0].points == 2 and parsed.test_cases[0].hidden


def test_otter_run_gives_the_reference_full_marks(course_and_zip, tmp_path) -> None:
    root, dest = course_and_zip
    tests = _otter_run(dest, completed_notebook(Course(root), ASSIGNMENT, "tiny.ipynb"), tmp_path)
    assert {n: (t["score"], t["max_score"]) for n, t in tests.items() if n != "Public Tests"} == {
        "test_double": (2, 2), "test_triple": (3, 3)}


def test_otter_run_gives_the_release_zero(course_and_zip, tmp_path) -> None:
    root, dest = course_and_zip
    release = nbformat.read(root / "release" / ASSIGNMENT / "tiny.ipynb", as_version=4)
    tests = _otter_run(dest, release, tmp_path)
    assert {n: t["score"] for n, t in tests.items() if n != "Public Tests"} == {"test_double": 0, "test_triple": 0}
    assert "NotImplementedError" in tests["test_double"]["output"]
