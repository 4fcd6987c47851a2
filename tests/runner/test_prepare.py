"""Sanitizing a submission: protected cells restored, tampering recorded, student code kept."""

from __future__ import annotations

import nbformat

from medgrade.intake.prepare import prepare
from tests.conftest import REPO

SRC = REPO / "source" / "01_pytorch_basics" / "pytorch_basics.ipynb"
REL = REPO / "release" / "01_pytorch_basics" / "pytorch_basics.ipynb"


def _load():
    return nbformat.read(SRC, as_version=4), nbformat.read(REL, as_version=4)


def _by_gid(nb, gid):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


def test_untouched_release_has_no_findings_and_gets_hidden_tests() -> None:
    source, release = _load()
    p = prepare(source, release, release)
    assert p.findings == ()
    assert "### BEGIN HIDDEN TESTS" in _by_gid(p.notebook, "test_trained_accuracy").source
    assert [t.grade_id for t in p.tests][:2] == ["test_image_to_tensor", "test_grad_f"]
    assert sum(t.points for t in p.tests) == 26


def test_edited_test_and_setup_cells_are_restored_and_recorded() -> None:
    source, release = _load()
    sub = nbformat.from_dict(release)
    _by_gid(sub, "test_mlp").source = "pass"
    _by_gid(sub, "setup").source += "\nimport medgrade.checks as checks; checks.check_shape = lambda *a, **k: None"
    p = prepare(source, release, sub)
    assert _by_gid(p.notebook, "test_mlp").source == _by_gid(source, "test_mlp").source
    assert "check_shape = lambda" not in _by_gid(p.notebook, "setup").source
    assert set(p.findings) == {"cell test_mlp was edited; it was restored from the assignment",
                               "cell setup was edited; it was restored from the assignment"}


def test_deleted_test_cell_is_put_back_in_place() -> None:
    source, release = _load()
    sub = nbformat.from_dict(release)
    sub.cells = [c for c in sub.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_grad_f"]
    p = prepare(source, release, sub)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in p.notebook.cells]
    assert ids.index("test_grad_f") == ids.index("grad_f") + 1
    assert "cell test_grad_f was deleted; it was restored from the assignment" in p.findings


def test_student_solution_and_added_cells_are_kept() -> None:
    source, release = _load()
    sub = nbformat.from_dict(release)
    _by_gid(sub, "mlp").source = "class MLP: pass  # mine"
    sub.cells.insert(3, nbformat.v4.new_code_cell("print('my scratch cell')"))
    p = prepare(source, release, sub)
    assert _by_gid(p.notebook, "mlp").source == "class MLP: pass  # mine"
    assert any(c.source == "print('my scratch cell')" for c in p.notebook.cells)
    assert p.findings == ()


def test_graded_cells_the_assignment_lacks_earn_nothing_and_are_recorded() -> None:
    source, release = _load()
    sub = nbformat.from_dict(release)
    fake = nbformat.from_dict(_by_gid(release, "test_mlp"))
    fake.metadata["nbgrader"] = {**fake.metadata["nbgrader"], "grade_id": "test_bonus", "points": 100}
    fake.source = "assert True"
    sub.cells.append(fake)
    sub.cells.append(nbformat.from_dict(_by_gid(release, "test_mlp")))  # the same test twice
    plain = nbformat.v4.new_code_cell("x = 1")
    plain.metadata["nbgrader"] = {"grade": False, "grade_id": "scratch", "locked": False, "solution": False}
    sub.cells.append(plain)  # unknown but claims nothing: no finding
    p = prepare(source, release, sub)
    assert [t.grade_id for t in p.tests].count("test_mlp") == 1 and "test_bonus" not in {t.grade_id for t in p.tests}
    assert sum(t.points for t in p.tests) == 26
    assert set(p.findings) == {
        "a graded or locked cell the assignment does not have: test_bonus; it was run as an ordinary cell, "
        "without points",
        "a second copy of cell test_mlp; it was run as an ordinary cell, without points"}
    assert "nbgrader" not in p.notebook.cells[-3].metadata and p.notebook.cells[-3].source == "assert True"


def test_a_solution_cell_promoted_to_a_graded_cell_earns_nothing() -> None:
    """Before: the student's own metadata made their cell a 100-point test that passed by running."""
    source, release = _load()
    sub = nbformat.from_dict(release)
    _by_gid(sub, "mlp").metadata["nbgrader"].update(grade=True, points=100)
    _by_gid(sub, "mlp").source = "class MLP: pass  # mine"
    p = prepare(source, release, sub)
    assert "mlp" not in {t.grade_id for t in p.tests} and sum(t.points for t in p.tests) == 26
    assert _by_gid(p.notebook, "mlp").metadata["nbgrader"] == _by_gid(release, "mlp").metadata["nbgrader"]
    assert _by_gid(p.notebook, "mlp").source == "class MLP: pass  # mine"
    assert p.findings == ("cell mlp had its nbgrader metadata edited (it decides what is graded and for how many "
                          "points); it was restored from the assignment",)


def test_an_answer_keeps_the_assignments_points_and_is_found_by_its_cell_id() -> None:
    source, release = _load()
    raised = nbformat.from_dict(release)
    _by_gid(raised, "confusion_reading").metadata["nbgrader"]["points"] = 40
    p = prepare(source, release, raised)
    assert _by_gid(p.notebook, "confusion_reading").metadata["nbgrader"]["points"] == 4
    assert p.findings == ("cell confusion_reading had its nbgrader metadata edited (it decides what is graded and "
                          "for how many points); it was restored from the assignment",)
    stripped = nbformat.from_dict(release)
    answer = _by_gid(stripped, "confusion_reading")
    answer.source, _ = "The model confuses 3 with 5 most.", answer.metadata.pop("nbgrader")
    p = prepare(source, release, stripped)
    assert _by_gid(p.notebook, "confusion_reading").source == "The model confuses 3 with 5 most."
    assert p.findings == ("cell confusion_reading had lost its nbgrader metadata; it was found by its cell id and "
                          "its metadata restored",)


def test_an_answer_that_cannot_be_found_is_reported_as_blank() -> None:
    source, release = _load()
    sub = nbformat.from_dict(release)
    answer = _by_gid(sub, "confusion_reading")
    answer.metadata.pop("nbgrader")
    answer["id"] = "a-new-cell"  # copied into a fresh cell: neither its grade id nor its cell id is left
    p = prepare(source, release, sub)
    assert p.findings == ("written answer confusion_reading is missing (its cell was deleted, or lost its nbgrader "
                          "metadata and its cell id): it counts as blank; if the answer is elsewhere in the "
                          "notebook, read it there",)


def test_a_written_answer_turned_into_a_code_cell_is_never_run_as_a_test() -> None:
    """Kept metadata and a clean run once made the 4-point written answer a test that passed."""
    source, release = _load()
    sub = nbformat.from_dict(release)
    answer = _by_gid(sub, "confusion_reading")
    answer.cell_type, answer.source, answer.outputs, answer.execution_count = "code", "print('ok')", [], None
    p = prepare(source, release, sub)
    assert "confusion_reading" not in {t.grade_id for t in p.tests} and sum(t.points for t in p.tests) == 26
