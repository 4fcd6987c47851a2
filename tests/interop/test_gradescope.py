"""The Gradescope autograder zip, run locally against a fake ``/autograder`` tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import nbformat
import pytest
from click.testing import CliRunner

from medgrade.author.mutants import completed_notebook
from medgrade.cli.main import cli
from medgrade.course import Course
from medgrade.interop.gradescope import RESULTS_SCHEMA
from tests.tiny_course import ASSIGNMENT, REPO, make_course

pytestmark = pytest.mark.xdist_group("engine")


@pytest.fixture(scope="module")
def course_and_zip(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("gs") / "course")
    dest = root / "autograder.zip"
    result = CliRunner().invoke(cli, ["export-autograder", ASSIGNMENT, "--format", "gradescope",
                                      "--output", str(dest), "--course-dir", str(root)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote {dest}"
    return root, dest


def _autograde(zip_path: Path, tree: Path, notebook: nbformat.NotebookNode, name: str,
               env_extra: dict[str, str] | None = None, status: int = 0) -> dict:
    """Unpack the zip as Gradescope does, submit ``notebook`` as ``name``, run ``run_autograder``."""
    for sub in ("source", "submission", "results"):
        (tree / sub).mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(tree / "source")
    (tree / "source" / "run_autograder").chmod(0o755)
    nbformat.write(notebook, tree / "submission" / name)
    env = {**os.environ, "AUTOGRADER_ROOT": str(tree), "MEDGRADE_PYTHON": sys.executable, **(env_extra or {})}
    run = subprocess.run([str(tree / "source" / "run_autograder")], env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == status, run.stderr
    results = json.loads((tree / "results" / "results.json").read_text())
    jsonschema.validate(results, RESULTS_SCHEMA)
    return results


def test_zip_layout_and_pinned_requirements(course_and_zip) -> None:
    _, dest = course_and_zip
    with zipfile.ZipFile(dest) as z:
        names = set(z.namelist())
        setup = z.read("setup.sh").decode()
        assert z.read("constraints.txt") == (REPO / "constraints.txt").read_bytes()
        assert "nbgrader>=0.9,<0.10" in z.read("requirements.txt").decode().splitlines()
    assert {"setup.sh", "run_autograder", f"course/source/{ASSIGNMENT}/tiny.ipynb",
            f"course/release/{ASSIGNMENT}/tiny.ipynb", "course/nbgrader_config.py",
            "lib/medgrade/runner/job.py", "lib/pyproject.toml"} <= names
    assert "pip install --no-cache-dir -r requirements.txt -c constraints.txt" in setup
    assert "pip install --no-cache-dir --no-deps ./lib" in setup  # the sandboxed kernels import medgrade


def test_reference_solution_gets_full_marks(course_and_zip, tmp_path) -> None:
    root, dest = course_and_zip
    results = _autograde(dest, tmp_path / "autograder", completed_notebook(Course(root), ASSIGNMENT, "tiny.ipynb"),
                         "tiny.ipynb")
    assert results["score"] == 5 and results["output"] == f"{ASSIGNMENT}: 5 / 5 points"
    assert [(t["name"], t["score"], t["max_score"], t["visibility"]) for t in results["tests"]] == [
        ("test_double", 2, 2, "after_published"), ("test_triple", 3, 3, "after_published")]
    assert results["execution_time"] > 0


def test_release_scores_zero_under_another_name(course_and_zip, tmp_path) -> None:
    root, dest = course_and_zip
    release = nbformat.read(root / "release" / ASSIGNMENT / "tiny.ipynb", as_version=4)
    results = _autograde(dest, tmp_path / "autograder", release, "my_homework.ipynb")
    assert results["score"] == 0
    assert [t["status"] for t in results["tests"]] == ["failed", "failed"]
    assert results["tests"][0]["output"].startswith("NotImplementedError")


def test_hidden_failure_message_without_hidden_source(course_and_zip, tmp_path) -> None:
    root, dest = course_and_zip
    nb = completed_notebook(Course(root), ASSIGNMENT, "tiny.ipynb")
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == "double":
            c.source = "def double(x):\n    return abs(2 * x)"
    results = _autograde(dest, tmp_path / "autograder", nb, "tiny.ipynb")
    assert results["score"] == 3
    assert results["tests"][0]["output"].startswith("AssertionError")
    assert "double(-3)" not in json.dumps(results)


def test_missing_notebook_is_a_graded_error(course_and_zip, tmp_path) -> None:
    _, dest = course_and_zip
    tree = tmp_path / "autograder"
    for sub in ("source", "submission", "results"):
        (tree / sub).mkdir(parents=True)
    with zipfile.ZipFile(dest) as z:
        z.extractall(tree / "source")
    (tree / "submission" / "notes.txt").write_text("forgot the notebook")
    env = {**os.environ, "AUTOGRADER_ROOT": str(tree), "MEDGRADE_PYTHON": sys.executable}
    subprocess.run(["bash", str(tree / "source" / "run_autograder")], env=env, check=True, timeout=120,
                   capture_output=True)
    results = json.loads((tree / "results" / "results.json").read_text())
    jsonschema.validate(results, RESULTS_SCHEMA)
    assert results["score"] == 0 and "could not be graded" in results["output"]


def test_the_kernel_sees_neither_the_zips_course_nor_the_tree(course_and_zip, tmp_path) -> None:
    """Gradescope runs as root: the student's kernel, dropped to nobody, finds no hidden test to read."""
    root, dest = course_and_zip
    tree = tmp_path / "autograder"
    hidden = tree / "source" / "course" / "source" / ASSIGNMENT / "tiny.ipynb"
    nb = completed_notebook(Course(root), ASSIGNMENT, "tiny.ipynb")
    for c in nb.cells:  # a right answer only when the hidden tests cannot be read
        if c.metadata.get("nbgrader", {}).get("grade_id") == "double":
            c.source = (f"import os\nSEEN = [p for p in ({str(hidden)!r}, {str(tree)!r}) if os.path.exists(p)]\n"
                        "def double(x):\n    return 2 * x if not SEEN else 0")
    results = _autograde(dest, tree, nb, "tiny.ipynb")
    assert results["score"] == 5, results


def test_a_container_that_cannot_build_the_sandbox_grades_nothing_and_says_so(course_and_zip, tmp_path) -> None:
    root, dest = course_and_zip
    nb = completed_notebook(Course(root), ASSIGNMENT, "tiny.ipynb")
    results = _autograde(dest, tmp_path / "autograder", nb, "tiny.ipynb",
                         env_extra={"MEDGRADE_BWRAP": "/nonexistent/bwrap"}, status=1)
    assert results["score"] == 0 and results["tests"] == []
    assert results["output"].startswith("The autograder could not build its sandbox, so nothing was graded: "
                                        "student code would run unconfined: MEDGRADE_BWRAP=/nonexistent/bwrap")
