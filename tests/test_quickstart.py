"""`medgrade quickstart`: a new course outside the repository, from a checkout or an installed wheel."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from medgrade.cli.main import cli
from medgrade.course import Course
from medgrade.doctor import sandbox_problem
from tests.minimal_env import TRACEBACK, run_minimal, shell_commands

REPO = Path(__file__).resolve().parents[1]
A = "01_pytorch_basics"


def test_a_course_with_the_chosen_assignments(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["quickstart", str(tmp_path / "dlmi"), "--assignments", "03,01"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"created the course 'dlmi' in {tmp_path / 'dlmi'}"
    course = Course.at(tmp_path / "dlmi")
    assert course.assignments() == [A, "03_cnn_classification"]
    assert course.settings.course_id == "dlmi"
    assert course.db_path == tmp_path / "dlmi" / "gradebook" / "gradebook.db"
    for a in course.assignments():
        assert (course.source / a / "mutants").is_dir()
        assert (course.reference / a / "calibration.json").read_text() == \
            (REPO / "reference_solutions" / a / "calibration.json").read_text()
        assert sorted(p.name for p in (course.release / a).iterdir()) == \
            sorted(p.name for p in (REPO / "release" / a).iterdir())
    assert (tmp_path / "dlmi" / "constraints.txt").read_text() == (REPO / "constraints.txt").read_text()
    assert "submitted/*" in (tmp_path / "dlmi" / ".gitignore").read_text().splitlines()
    medgrade = Path(sys.executable).parent / "medgrade"
    assert shell_commands((tmp_path / "dlmi" / "README.md").read_text()) == [
        f"{medgrade} data generate --dataset mednist --dataset pathmnist", f"{medgrade} doctor",
        f"{medgrade} grade {A}", f"{medgrade} feedback {A}", f"{medgrade} export {A} --format nbgrader-csv",
        f"{medgrade} release {A}", f"{medgrade} validate {A}"]


@pytest.mark.parametrize(("where", "assignments", "message"), [
    ("inside", None, "{dest} is inside medgrade's own repository ({repo}), which is a course already: "
                     "give quickstart a folder outside it"),
    ("full", None, "{dest} exists and is not empty: give quickstart a new folder"),
    ("new", "01,9", "--assignments: no assignment '9'; the kit has 01_pytorch_basics, 02_data_exploration, "
                    "03_cnn_classification, 04_radiomics, 05_contrastive_learning, 06_unet_segmentation, "
                    "07_monai_segmentation, 08_mura_transfer, 09_pneumonia_capstone "
                    "(give numbers such as 01,03 or full names)"),
])
def test_refusals_say_what_to_do(tmp_path: Path, where: str, assignments: str | None, message: str) -> None:
    dest = {"inside": REPO / "my-course", "full": tmp_path, "new": tmp_path / "new"}[where]
    (tmp_path / "notes.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["quickstart", str(dest), *(["--assignments", assignments] if assignments
                                                                 else [])])
    assert result.exit_code == 2
    assert result.output == f"medgrade: error: {message.format(dest=dest, repo=REPO)}\n"
    assert not (REPO / "my-course").exists() and not (tmp_path / "new").exists()


# The wheel, built and installed as a user would, offline. Its dependencies are this environment's
# files, hard-linked into the new virtualenv where `pip install` would have put them (the sandbox
# shows a kernel its interpreter's own folders only); pip would also have written their console
# scripts, of which medgrade runs one (`alembic`, through nbgrader): it is written the same way.
BUILD_FILES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "nbgrader_config.py", "constraints.txt",
               "medgrade", "source", "release", "reference_solutions")
ALEMBIC = "#!{python}\nimport sys\nfrom alembic.config import main\nsys.exit(main())\n"


def _run(*argv: str | Path, cwd: Path) -> str:
    run = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def _install_wheel(tmp_path: Path) -> Path:
    """Build the wheel from a copy of the tree, install it into a new virtualenv; return its bin."""
    src = tmp_path / "src"
    src.mkdir()
    for name in BUILD_FILES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "_course"))
        else:
            shutil.copy2(REPO / name, src / name)
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist",
         src, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("medgrade-*.whl")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    site = next((venv / "lib").glob("python3*/site-packages"))
    site.rmdir()
    _run("cp", "-al", sysconfig.get_path("purelib"), site, cwd=tmp_path)
    for ours in [*site.glob("__editable__*medgrade*"), *site.glob("medgrade-*.dist-info")]:  # this checkout's
        if ours.is_dir():
            shutil.rmtree(ours)
        else:
            ours.unlink()
    _run(venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel, cwd=tmp_path)
    (venv / "bin" / "alembic").write_text(ALEMBIC.format(python=venv / "bin" / "python"))
    (venv / "bin" / "alembic").chmod(0o755)
    where = _run(venv / "bin" / "python", "-c", "import medgrade; print(medgrade.__file__)", cwd=tmp_path)
    assert where.startswith(str(site)), where  # the wheel's medgrade, not this checkout's
    return venv / "bin"


def _sample_class(course: Path) -> None:
    """ada submits the reference solution, bo the blank release."""
    from medgrade.author.mutants import completed_notebook

    c = Course.at(course)
    (nb,) = c.source_notebooks(A)
    for student, notebook in (("ada", completed_notebook(c, A, nb.name)),
                              ("bo", nbformat.read(c.release / A / nb.name, as_version=4))):
        (c.submitted / student / A).mkdir(parents=True)
        nbformat.write(notebook, c.submitted / student / A / nb.name)


@pytest.mark.slow
@pytest.mark.xdist_group("engine")
def test_a_course_from_the_installed_wheel_grades_a_class(tmp_path: Path) -> None:
    problem = sandbox_problem()
    if problem is not None:
        pytest.skip(f"grade refuses here, as the course's README says it does: {problem}")
    bin_dir = _install_wheel(tmp_path)
    home = tmp_path / "home"  # the data goes to its ~/.cache/medgrade/data: no variable to set
    home.mkdir()
    made = run_minimal([str(bin_dir / "medgrade"), "quickstart", "course", "--assignments", "01"], cwd=tmp_path,
                       home=home)
    assert made.returncode == 0, made.stdout
    course = tmp_path / "course"
    _sample_class(course)
    commands = shell_commands((course / "README.md").read_text())
    assert all(c.startswith(f"{bin_dir / 'medgrade'} ") for c in commands)
    # Before grading and the TA's commands; release and validate are the instructor's (the
    # README test runs them on 01 from the checkout).
    outputs = {}
    for command in commands[:5]:
        run = run_minimal(command, cwd=course, home=home)
        assert run.returncode == 0 and TRACEBACK not in run.stdout, f"$ {command}\n{run.stdout}"
        outputs[command.split()[1]] = run.stdout
    assert "mednist: generated: 6000 files" in outputs["data"]
    assert f"ok       data         mednist under {home / '.cache/medgrade/data'}, intact" in outputs["doctor"]
    assert re.search(r"(?m)^ada +26/26 +[\d.]+s  graded$", outputs["grade"]), outputs["grade"]
    assert re.search(r"(?m)^bo +0/26 +[\d.]+s  graded", outputs["grade"]), outputs["grade"]
    assert "wrote 2 feedback page(s)" in outputs["feedback"]
    rows = (course / "gradebook" / "exports" / f"{A}-nbgrader-csv.csv").read_text().splitlines()
    assert sorted((r.split(",")[3], float(r.split(",")[9])) for r in rows[1:]) == [("ada", 26.0), ("bo", 0.0)]
