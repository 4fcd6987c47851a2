"""Every command README.md shows runs as written, from a fresh shell, on a new course directory.

The course is what a new user has after `make setup`: a course directory (here one made by
`quickstart` with assignment 01) beside `.venv` and `data/`, a class of one submission, and a
shell with nothing activated (HOME, a system PATH). A command the test cannot run here is listed
in NOT_RUN with the reason and the test that covers it instead; a README command in neither
list fails the test, and so does a NOT_RUN entry the README no longer has.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import nbformat
import pytest

from medgrade.course import Course
from medgrade.doctor import sandbox_problem
from medgrade.quickstart import create_course
from tests.minimal_env import TRACEBACK, run_minimal, shell_commands

REPO = Path(__file__).resolve().parents[1]
A = "01_pytorch_basics"

NOT_RUN = {
    "make demo": "its own target: tests/coordinator/test_demo_class.py grades the demo class",
    "make test": "this test suite",
    "make setup": "made the environment this test runs in",
    ".venv/bin/pip wheel --no-deps -w dist .": "builds this repository: tests/test_quickstart.py builds the wheel",
    "python3.11 -m venv ~/medgrade && ~/medgrade/bin/pip install -c constraints.txt "
    "dist/medgrade-0.1.0-py3-none-any.whl": "needs the package index; tests/test_quickstart.py installs the wheel "
                                            "offline beside this environment's libraries",
    ".venv/bin/medgrade calibrate 03_cnn_classification --seeds 20": "30 minutes; tests/author/test_calibrate.py "
                                                                     "checks the records and calibrates a tiny course",
    ".venv/bin/medgrade calibrate 03_cnn_classification --only functional_style": "one column at 20 seeds, about "
                                                                                   "15 minutes; tests/author/"
                                                                                   "test_calibrate.py adds columns "
                                                                                   "to a tiny course's record",
    ".venv/bin/medgrade grade 01_pytorch_basics --scheduler tcp://HOST:8786": "needs a Dask cluster at HOST: "
                                                                              "tests/coordinator/test_dask.py runs one",
    ".venv/bin/medgrade grade 01_pytorch_basics --scheduler tcp://HOST:8786 --profile gpu": "needs a GPU cluster",
    "docker build -f container/Dockerfile -t medgrade .": "needs Docker: tests/test_container.py checks the files",
    'docker run --rm --gpus all --network none --user "$(id -u):$(id -g)" --security-opt seccomp=unconfined '
    "--security-opt apparmor=unconfined --security-opt systempaths=unconfined -v \"$PWD\":/course "
    "-v /path/to/data:/data:ro medgrade grade 01_pytorch_basics --profile gpu": "needs Docker and a GPU",
    "apptainer build medgrade.sif container/medgrade.def": "needs Apptainer",
    'apptainer run --nv --bind "$PWD":/course --bind /path/to/data:/data:ro --pwd /course medgrade.sif grade '
    "01_pytorch_basics --profile gpu": "needs Apptainer and a GPU",
}

# What each command must have printed or written, beyond exiting 0 without a traceback.
EXPECT = {
    ".venv/bin/medgrade release 01_pytorch_basics": r"reference: reference_solutions/01_pytorch_basics/\S+ \(executed",
    ".venv/bin/medgrade validate 01_pytorch_basics": r"validation passed: 01_pytorch_basics",
    ".venv/bin/medgrade grade 01_pytorch_basics": r"(?m)^ada +26/26 +[\d.]+s  graded",
    ".venv/bin/medgrade grade 01_pytorch_basics --student ada": r"ada +26/26 \(unchanged, kept\)",
    ".venv/bin/medgrade feedback 01_pytorch_basics": r"wrote 1 feedback page\(s\)",
    ".venv/bin/medgrade export 01_pytorch_basics --format gradescope-csv": r"wrote 1 row\(s\)",
    ".venv/bin/medgrade data verify": r"ok: all generated datasets match",
    ".venv/bin/medgrade rubric sheet 01_pytorch_basics": r"wrote \S+/gradebook/rubric/01_pytorch_basics/"
                                                         r"confusion_reading\.csv",
    # ada's answer awaits a TA: a sheet written but not filled in records nothing and says so
    ".venv/bin/medgrade rubric record 01_pytorch_basics gradebook/rubric/01_pytorch_basics/confusion_reading.csv":
        r"recorded 0 grade\(s\) of confusion_reading from \S+; 1 blank row\(s\) left to grade",
}

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("engine")]


def test_the_not_run_list_is_current() -> None:
    commands = shell_commands((REPO / "README.md").read_text())
    assert [c for c in NOT_RUN if c not in commands] == []
    assert len(commands) - len(NOT_RUN) >= 15  # what the long test below runs


def _new_course(tmp_path: Path, data_root: Path) -> Path:
    """A course with 01 beside `.venv` and `data/`, and ada's correct notebook submitted."""
    from medgrade.author.mutants import completed_notebook

    course = create_course(tmp_path / "course", [A]).root
    (course / ".venv").symlink_to(REPO / ".venv")
    (course / "data").symlink_to(data_root)
    (nb,) = Course.at(course).source_notebooks(A)
    folder = course / "submitted" / "ada" / A
    folder.mkdir(parents=True)
    nbformat.write(completed_notebook(Course.at(course), A, nb.name), folder / nb.name)
    return course


def test_every_readme_command_runs_as_written(tmp_path: Path, data_root: Path) -> None:
    problem = sandbox_problem()
    if problem is not None:
        pytest.skip(f"grade refuses here, as the README says it does: {problem}")
    course = _new_course(tmp_path, data_root)
    home = tmp_path / "home"
    home.mkdir()
    ran = []
    for command in shell_commands((REPO / "README.md").read_text()):
        if command in NOT_RUN:
            continue
        run = run_minimal(command, cwd=course, home=home)
        ran.append(command)
        assert run.returncode == 0, f"$ {command}\n{run.stdout}"
        assert TRACEBACK not in run.stdout, f"$ {command}\n{run.stdout}"
        if command in EXPECT:
            assert re.search(EXPECT[command], run.stdout), f"$ {command}\n{run.stdout}"
    assert len(ran) >= 15
    assert (home / "dlmi-course" / "README.md").is_file()
    with open(course / "gradebook" / "grades.csv") as f:  # nbgrader export's
        assert [(r["student_id"], float(r["score"])) for r in csv.DictReader(f)] == [("ada", 26.0)]
    exports = course / "gradebook" / "exports"
    assert sorted(p.name for p in exports.iterdir()) == [
        f"{A}-gradescope-autograder.zip", f"{A}-gradescope-csv.csv", f"{A}-nbgrader-csv.csv",
        f"{A}-otter-autograder.zip"]
