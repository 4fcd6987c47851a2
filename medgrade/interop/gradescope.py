"""Gradescope autograders: build ``autograder.zip`` and turn a result into ``results.json``.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once when it builds the
image, then ``run_autograder`` per submission with the student's files in
``/autograder/submission`` and reads ``/autograder/results/results.json``. The zip holds a minimal
course (source notebooks with their hidden tests, the release, ``nbgrader_config.py``), a copy of
the ``medgrade`` package, ``requirements.txt`` and the pinned ``constraints.txt``. Gradescope's
container is trusted, so hidden test sources may live in the zip; they never enter results.json.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import nbformat

from medgrade import __version__
from medgrade.course import Course
from medgrade.results import SubmissionResult

__all__ = ["RESULTS_SCHEMA", "build_gradescope_autograder", "hidden_test_ids", "results_json"]

_PACKAGE = Path(__file__).resolve().parents[1]
_REPO = _PACKAGE.parent
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")

# The part of Gradescope's results.json format that medgrade writes (JSON Schema).
RESULTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["score", "execution_time", "output", "tests"],
    "properties": {
        "score": {"type": "number", "minimum": 0},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "visibility": {"enum": list(VISIBILITIES)},
        "stdout_visibility": {"enum": list(VISIBILITIES)},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "score", "max_score", "output", "visibility"],
                "properties": {
                    "name": {"type": "string"},
                    "score": {"type": "number", "minimum": 0},
                    "max_score": {"type": "number", "minimum": 0},
                    "status": {"enum": ["passed", "failed"]},
                    "output": {"type": "string"},
                    "visibility": {"enum": list(VISIBILITIES)},
                },
                "additionalProperties": False,
            },
        },
    },
}

SETUP_SH = """#!/usr/bin/env bash
# Runs once when Gradescope builds the autograder image (Ubuntu with python3).
set -euo pipefail
cd /autograder/source
apt-get update && apt-get install -y --no-install-recommends python3-pip python3-venv
python3 -m pip install --no-cache-dir -r requirements.txt -c constraints.txt
# medgrade itself: the sandboxed kernels get a scrubbed environment (no PYTHONPATH) and import it.
python3 -m pip install --no-cache-dir --no-deps ./lib
# Offline stand-ins of the course datasets, in their real on-disk formats.
PYTHONPATH=/autograder/source/lib MEDGRADE_DATA=/autograder/source/data python3 -m medgrade.cli.main data generate
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Grades /autograder/submission with medgrade; AUTOGRADER_ROOT moves the tree (for local tests).
set -euo pipefail
HERE="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
export PYTHONPATH="$HERE/lib${{PYTHONPATH:+:$PYTHONPATH}}"
export MEDGRADE_DATA="${{MEDGRADE_DATA:-$HERE/data}}"
exec "${{MEDGRADE_PYTHON:-python3}}" -m medgrade.interop.gradescope_run \\
    --root "$ROOT" --course "$HERE/course" --assignment {assignment} --profile {profile}{unconfined}
"""


LIB_PYPROJECT = """[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "medgrade"
version = "{version}"

[tool.setuptools.packages.find]
include = ["medgrade*"]
"""


def hidden_test_ids(sources: list[Path]) -> set[str]:
    """Grade ids of the test cells of ``sources`` that hold a hidden region."""
    hidden: set[str] = set()
    for src in sources:
        for c in nbformat.read(src, as_version=4).cells:
            meta = c.metadata.get("nbgrader", {})
            if meta.get("grade") and "### BEGIN HIDDEN TESTS" in c.source:
                hidden.add(meta["grade_id"])
    return hidden


def results_json(result: SubmissionResult, hidden: set[str]) -> dict[str, Any]:
    """Gradescope's results.json for ``result``: tests with hidden parts show after publishing."""
    tests = [
        {"name": t.grade_id, "score": t.points, "max_score": t.max_points,
         "status": "passed" if t.status == "passed" else "failed",
         "output": t.message or ("passed" if t.status == "passed" else t.status),
         "visibility": "after_published" if t.grade_id in hidden else "visible"}
        for t in result.tests
    ]
    lines = [f"{result.assignment}: {result.score:g} / {result.max_score:g} points"]
    if result.outcome == "error":
        lines.append(f"The submission could not be graded: {result.message}")
    return {"score": result.score, "execution_time": round(result.seconds, 3), "output": "\n".join(lines),
            "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}


def requirements() -> str:
    """The runtime requirements of medgrade (ranges; ``constraints.txt`` pins them)."""
    pyproject = _REPO / "pyproject.toml"
    try:
        import tomllib

        deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    except (ImportError, OSError):  # Python 3.10, or medgrade installed without its repository
        from importlib.metadata import requires

        deps = [r for r in requires("medgrade") or [] if "extra ==" not in r]
    return "\n".join(deps) + "\n"


def constraints_file(course: Course) -> Path:
    """The pinned versions: the course's ``constraints.txt``, else the one medgrade ships with."""
    for path in (course.root / "constraints.txt", _REPO / "constraints.txt"):
        if path.is_file():
            return path
    raise FileNotFoundError(f"no constraints.txt in {course.root}: pin the versions the course is tested with")


def _stage_course(course: Course, assignment: str, into: Path) -> None:
    for stage in (course.source, course.release):
        shutil.copytree(stage / assignment, into / stage.name / assignment,
                        ignore=shutil.ignore_patterns("mutants", "alternatives", ".ipynb_checkpoints",
                                                      "__pycache__"))
    config = course.root / "nbgrader_config.py"
    if config.is_file():
        shutil.copy(config, into / "nbgrader_config.py")


def _zip_tree(folder: Path, dest: Path) -> None:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo(str(path.relative_to(folder)))
                info.external_attr = (0o755 if path.name in ("setup.sh", "run_autograder") else 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, path.read_bytes())


def build_gradescope_autograder(course: Course, assignment: str, dest: Path, *, profile: str = "cpu",
                                unconfined: bool = False) -> Path:
    """Write ``dest`` (an ``autograder.zip``) that grades one submission of ``assignment``.

    Its ``run_autograder`` refuses to grade where the sandbox cannot be built, unless ``unconfined``.
    """
    course.require(assignment)
    if not (course.release / assignment).is_dir():
        raise FileNotFoundError(f"{course.release / assignment} is missing: run `medgrade release {assignment}` first")
    with tempfile.TemporaryDirectory(prefix="medgrade-gradescope-") as tmp:
        root = Path(tmp)
        _stage_course(course, assignment, root / "course")
        shutil.copytree(_PACKAGE, root / "lib" / "medgrade", ignore=shutil.ignore_patterns("__pycache__", "_course"))
        (root / "lib" / "pyproject.toml").write_text(LIB_PYPROJECT.format(version=__version__))
        (root / "requirements.txt").write_text(requirements())
        shutil.copy(constraints_file(course), root / "constraints.txt")
        (root / "setup.sh").write_text(SETUP_SH)
        (root / "run_autograder").write_text(RUN_AUTOGRADER.format(
            assignment=assignment, profile=profile, unconfined=" --unconfined" if unconfined else ""))
        dest.parent.mkdir(parents=True, exist_ok=True)
        _zip_tree(root, dest)
    return dest
