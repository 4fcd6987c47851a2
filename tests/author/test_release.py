"""The committed release is current, and never carries solutions or hidden tests."""

from __future__ import annotations

import nbformat
import pytest

from medgrade.author.release import release_problems
from tests.conftest import REPO


def _assignments() -> list[str]:
    return sorted(p.name for p in (REPO / "source").iterdir() if any(p.glob("*.ipynb")))


@pytest.mark.parametrize("assignment", _assignments())
def test_committed_release_is_fresh_and_clean(course, assignment: str) -> None:
    assert release_problems(course, assignment) == []


def test_stale_release_is_reported(scratch_course) -> None:
    src = scratch_course.source / "01_pytorch_basics" / "pytorch_basics.ipynb"
    nb = nbformat.read(src, as_version=4)
    nb.cells[0].source += "\n\nOne more sentence the release does not have."
    nbformat.write(nb, src)
    problems = release_problems(scratch_course, "01_pytorch_basics")
    assert "release/01_pytorch_basics/pytorch_basics.ipynb is stale with respect to source/" in problems
    assert problems[-1] == "fix: medgrade release 01_pytorch_basics"


def test_leaked_solution_and_hidden_test_are_reported(scratch_course) -> None:
    rel = scratch_course.release / "01_pytorch_basics" / "pytorch_basics.ipynb"
    nb = nbformat.read(rel, as_version=4)
    stub = next(c for c in nb.cells if "raise NotImplementedError()" in c.source)
    stub.source = "tensor = torch.from_numpy(image).to(torch.float32) / 255.0"
    nb.cells[-1].source += "\n### BEGIN HIDDEN TESTS\nACCURACY_THRESHOLD = 0.1"
    nbformat.write(nb, rel)
    problems = "\n".join(release_problems(scratch_course, "01_pytorch_basics"))
    assert "contains solution code: 'tensor = torch.from_numpy(image).to(torch.float32) / 255.0'" in problems
    assert "contains the marker '### BEGIN HIDDEN TESTS'" in problems


def test_missing_release_is_reported(scratch_course) -> None:
    (scratch_course.release / "01_pytorch_basics" / "pytorch_basics.ipynb").unlink()
    assert "release/01_pytorch_basics/pytorch_basics.ipynb is missing" in release_problems(
        scratch_course, "01_pytorch_basics"
    )


def test_value_returning_check_at_end_of_test_cell_is_refused(scratch_course) -> None:
    from medgrade.author.lint import lint_notebook

    src = scratch_course.source / "01_pytorch_basics" / "pytorch_basics.ipynb"
    assert lint_notebook(src) == []
    nb = nbformat.read(src, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_trained_accuracy")
    cell.source = cell.source.replace("measured = checks.check_accuracy", "checks.check_accuracy")
    nbformat.write(nb, src)
    (problem,) = lint_notebook(src)
    assert "test cell test_trained_accuracy ends in an expression" in problem
    assert "partial credit" in problem


def test_instructor_only_files_never_reach_a_release(scratch_course) -> None:
    """Alternatives are whole solutions: a course whose nbgrader settings would copy them is refused."""
    from medgrade.author.release import generate_release
    from medgrade.errors import CourseError

    alt = scratch_course.source / "01_pytorch_basics" / "alternatives"
    alt.mkdir(exist_ok=True)
    (alt / "leaky.yaml").write_text("style: x\ncells:\n  grad_f: |\n    def grad_f(x): ...\n")
    generate_release(scratch_course, "01_pytorch_basics")  # the kit's settings ignore it
    assert not (scratch_course.release / "01_pytorch_basics" / "alternatives").exists()

    config = scratch_course.root / "nbgrader_config.py"
    config.write_text(config.read_text().replace('"alternatives", ', ""))
    with pytest.raises(CourseError, match="nbgrader copied alternatives from source/01_pytorch_basics into the "
                                          "release \\(removed again\\): add 'alternatives' to "
                                          "c.CourseDirectory.ignore in nbgrader_config.py"):
        generate_release(scratch_course, "01_pytorch_basics")
    assert not (scratch_course.release / "01_pytorch_basics" / "alternatives").exists()

    (scratch_course.release / "01_pytorch_basics" / "alternatives").mkdir()
    problems = release_problems(scratch_course, "01_pytorch_basics")
    assert "release/01_pytorch_basics/alternatives is the instructor's and must not be released; delete it" \
        in problems


def test_a_leaked_model_answer_is_reported(scratch_course) -> None:
    """A written answer's markdown cell is all answer: its text in the release is a leak."""
    source = nbformat.read(scratch_course.source / "01_pytorch_basics" / "pytorch_basics.ipynb", as_version=4)
    (model,) = [c.source for c in source.cells
                if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")]
    line = max(model.splitlines(), key=len).strip()
    rel = scratch_course.release / "01_pytorch_basics" / "pytorch_basics.ipynb"
    nb = nbformat.read(rel, as_version=4)
    stub = next(c for c in nb.cells if c.source == "YOUR ANSWER HERE")
    stub.source = model
    nbformat.write(nb, rel)
    assert f"pytorch_basics.ipynb contains a model answer: {line!r}" in release_problems(scratch_course,
                                                                                          "01_pytorch_basics")
