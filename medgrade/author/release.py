"""``medgrade release``: source notebook -> student release + executed reference solution.

The release is nbgrader's ``generate_assignment`` output (solutions replaced by stubs, hidden
tests removed, checksums for locked cells), normalised so it is byte-stable and can be committed
and checked fresh by a test. The reference solution is the source notebook executed under a
grading profile, so an instructor sees what full marks look like and how long it takes.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from medgrade.author.execute import execute_notebook
from medgrade.author.lint import lint_notebook
from medgrade.course import Course
from medgrade.errors import CourseError
from medgrade.nbgrader_cli import run_nbgrader

__all__ = ["AUTHOR_ONLY", "ReleaseReport", "author_only_in", "release", "generate_release", "release_problems",
           "scratch_course"]

SOLUTION_REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
LEAK_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS")


@dataclass(frozen=True)
class ReleaseReport:
    assignment: str
    release_notebooks: tuple[Path, ...]
    reference_notebooks: tuple[Path, ...] = ()
    seconds_per_reference: tuple[float, ...] = field(default=())


def _normalise(path: Path) -> None:
    """Rewrite a generated notebook in canonical form (sorted keys, no volatile metadata)."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)


_SCRATCH_SETTINGS = """
# Added by medgrade for a scratch copy: its own folder and gradebook, whatever the course's say.
get_config().CourseDirectory.root = "."
get_config().CourseDirectory.db_url = "sqlite:///gradebook/gradebook.db"
"""


def scratch_course(course: Course, assignment: str, root: Path) -> Course:
    """A throw-away course at ``root`` with ``assignment``'s source, released into its gradebook.

    Used to regenerate a release without touching the real one, and to validate in isolation.
    """
    config = course.root / "nbgrader_config.py"
    text = config.read_text() if config.is_file() else ""
    # The course's own settings, but never its gradebook: a scratch copy must not write to it.
    (root / "nbgrader_config.py").write_text(text + _SCRATCH_SETTINGS)
    scratch = Course(root)
    shutil.copytree(course.source / assignment, scratch.source / assignment)
    scratch.ensure_db_folder()
    run = run_nbgrader(root, "generate_assignment", assignment, "--force")
    if not run.ok:
        raise CourseError(run.failure(f"nbgrader generate_assignment {assignment}"))
    return scratch


# What sits beside a source notebook for the instructor only: never part of a release.
AUTHOR_ONLY = ("mutants", "alternatives", "rubric.yaml", "feedback.yaml")


def author_only_in(folder: Path) -> list[str]:
    """The instructor-only files or folders present in ``folder`` (a release)."""
    return [name for name in AUTHOR_ONLY if (folder / name).exists()]


def generate_release(course: Course, assignment: str, *, into: Path | None = None) -> list[Path]:
    """Run nbgrader's generate_assignment for ``assignment``; return the release notebooks.

    With ``into``, the release is generated in a scratch copy of the course and copied to
    ``into`` (used to check that the committed release is current without touching it).
    """
    course.require(assignment)
    if into is None:
        course.ensure_db_folder()
        run = run_nbgrader(course.root, "generate_assignment", assignment, "--force")
        if not run.ok:
            raise CourseError(run.failure(f"nbgrader generate_assignment {assignment}"))
        out = course.release / assignment
    else:
        with tempfile.TemporaryDirectory(prefix="medgrade-release-") as tmp:
            scratch = scratch_course(course, assignment, Path(tmp))
            if into.exists():
                shutil.rmtree(into)
            shutil.copytree(scratch.release / assignment, into)
        out = into
    leaked = author_only_in(out)
    if leaked:  # the course's nbgrader settings copied them: take them back out, and say how to stop it
        for name in leaked:
            if (out / name).is_dir():
                shutil.rmtree(out / name)
            else:
                (out / name).unlink()
        raise CourseError(f"nbgrader copied {', '.join(leaked)} from source/{assignment} into the release "
                          f"(removed again): add {', '.join(repr(n) for n in leaked)} to "
                          "c.CourseDirectory.ignore in nbgrader_config.py")
    notebooks = sorted(out.glob("*.ipynb"))
    for nb in notebooks:
        _normalise(nb)
    return notebooks


def release(
    course: Course, assignment: str, *, execute: bool = True, profile: str = "cpu"
) -> ReleaseReport:
    """Write ``release/A/`` and, with ``execute``, ``reference_solutions/A/``.

    Refuses (``CourseError``) a source notebook whose tests would grade wrongly.
    """
    lint = [p for src in course.source_notebooks(assignment) for p in lint_notebook(src)]
    if lint:
        raise CourseError("source notebook problems:\n" + "\n".join(lint))
    notebooks = generate_release(course, assignment)
    references: list[Path] = []
    seconds: list[float] = []
    if execute:
        out_dir = course.reference / assignment
        out_dir.mkdir(parents=True, exist_ok=True)
        for src in course.source_notebooks(assignment):
            result = execute_notebook(src, out_dir / src.name, profile=profile)
            references.append(out_dir / src.name)
            seconds.append(result.seconds)
    return ReleaseReport(assignment, tuple(notebooks), tuple(references), tuple(seconds))


def release_problems(course: Course, assignment: str) -> list[str]:
    """What is wrong with the committed ``release/A/``: stale, missing, or leaking answers."""
    problems: list[str] = []
    committed = course.release / assignment
    with tempfile.TemporaryDirectory(prefix="medgrade-fresh-") as tmp:
        try:
            fresh = generate_release(course, assignment, into=Path(tmp) / assignment)
        except CourseError as e:
            fresh = []
            problems.append(str(e))
        for nb in fresh:
            old = committed / nb.name
            if not old.exists():
                problems.append(f"release/{assignment}/{nb.name} is missing")
            elif old.read_text() != nb.read_text():
                problems.append(f"release/{assignment}/{nb.name} is stale with respect to source/")
    problems.extend(f"release/{assignment}/{name} is the instructor's and must not be released; delete it"
                    for name in author_only_in(committed))
    for src in course.source_notebooks(assignment):
        problems.extend(lint_notebook(src))
        rel = committed / src.name
        if rel.exists():
            problems.extend(_leaks(src, rel))
    if problems:
        problems.append(f"fix: medgrade release {assignment}")
    return problems


HIDDEN_REGION = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def _leaks(source: Path, released: Path) -> list[str]:
    """Solution code or hidden tests of ``source`` that appear in ``released``.

    A line counts as leaked when it appears in the release but only inside a solution or
    hidden-test region of the source, or a written answer's model answer (a markdown solution
    cell is all answer); lines the public part also has are not secrets.
    """
    text = "\n".join(c.source for c in nbformat.read(released, as_version=4).cells)
    found = [f"{released.name} contains the marker {m!r}" for m in LEAK_MARKERS if m in text]
    source_cells = nbformat.read(source, as_version=4).cells
    answers = [c.source for c in source_cells
               if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")]
    cells = [c.source for c in source_cells
             if not (c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution"))]
    public = {
        line.strip()
        for src in cells
        for line in HIDDEN_REGION.sub("", SOLUTION_REGION.sub("", src)).splitlines()
    }
    released_lines = {line.strip() for line in text.splitlines()}
    for kind, regions in (("solution code", [r for src in cells for r in SOLUTION_REGION.findall(src)]),
                          ("hidden test code", [r for src in cells for r in HIDDEN_REGION.findall(src)]),
                          ("a model answer", answers)):
        for region in regions:
            for line in region.splitlines():
                secret = line.strip()
                if (len(secret) > 12 and not secret.startswith("#")
                        and secret in released_lines and secret not in public):
                    found.append(f"{released.name} contains {kind}: {secret!r}")
    return found
