"""Hidden labels: a metric test's labels never reach the kernel; the grader judges the predictions.

A small class is graded on a PathMNIST-format file whose test images' brightness follows their
label. The test cell records the student's scores with ``checks.judged``; the grader judges them.
Attackers try to read the labels from the data file, to skip or patch the recording, and to
judge themselves; each loses the test's points, and the honest students grade as if alone.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from medgrade.coordinator.engine import grade_class
from medgrade.course import Course
from tests.judge.test_judge import write_pathmnist
from tests.tiny_course import TINY_PROFILE, cell, release_course

pytestmark = [
    pytest.mark.xdist_group("engine"),
]

ASSIGNMENT, NOTEBOOK, N = "98_labels", "labels.ipynb", 40
# The kernel imports medgrade.checks (torch): more memory and time than the tiny course's.
PROFILE = replace(TINY_PROFILE, cell_timeout=60, notebook_budget=180, memory_mb=3000)
LOAD = "np.load(os.path.join(os.environ['MEDGRADE_DATA'], 'pathmnist.npz'))"
HONEST = f"def predict():\n    return {LOAD}['test_images'][:{N}].reshape({N}, -1).mean(axis=1) / 255.0"
TEST = (f"assert predict().shape == ({N},)\n### BEGIN HIDDEN TESTS\nfrom medgrade import checks\n"
        f"measured = checks.judged('probs', predict(), metric='auc', at_least=0.9, answers='pathmnist:test', "
        f"n={N}, positive=8, plot='roc', name='test AUC')\n### END HIDDEN TESTS")


def _make_course(root: Path, assignment: str = ASSIGNMENT, notebook: str = NOTEBOOK,
                 setup: str = "import os\nimport numpy as np", honest: str = HONEST, solution_id: str = "predict",
                 test: str = TEST, test_id: str = "test_auc") -> Course:
    solution = honest.replace("    return", "    ### BEGIN SOLUTION\n    return") + "\n    ### END SOLUTION"
    return Course(release_course(root, assignment, notebook, [
        cell(setup, "setup", locked=True),
        cell(solution, solution_id, solution=True),
        cell(test, test_id, points=3),
    ], folders=True))


def _submit(course: Course, student: str, predict: str, assignment: str = ASSIGNMENT, notebook: str = NOTEBOOK,
            solution_id: str = "predict") -> None:
    from medgrade.author.mutants import completed_notebook

    nb = completed_notebook(course, assignment, notebook)
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == solution_id:
            c.source = predict
    folder = course.submitted / student / assignment
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / notebook)


ATTACKS = {
    # Scores read straight from the labels in the data file.
    "reader": f"def predict():\n    labels = {LOAD}['test_labels'][:{N}, 0]\n"
              "    print('POSITIVES SEEN', int((labels == 8).sum()))\n    return (labels == 8) * 0.8 + 0.1",
    # No record at all: judged() replaced by a function that does nothing.
    "patcher": HONEST.replace("/ 255.0", "* 0.0 + 0.5") + "\nimport medgrade.checks\n"
               "medgrade.checks.judged = lambda *a, **k: None",
    # Judge in the kernel instead of leaving it to the grader, against the labels the kernel reads.
    "self_judge": "import os\nos.environ['MEDGRADE_JUDGE'] = 'student'\n" + HONEST,
    # A record of good scores written before the test cell, then junk from the graded run.
    "forger": "import json\nos.makedirs(os.environ['MEDGRADE_EVIDENCE_DIR'], exist_ok=True)\n"
              f"good = [float(v) for v in {LOAD}['test_images'][:{N}].reshape({N}, -1).mean(axis=1) / 255.0]\n"
              f"json.dump({{'schema': 1, 'key': 'probs', 'kind': 'scores', 'shape': [{N}], 'values': good}},\n"
              "          open(os.path.join(os.environ['MEDGRADE_EVIDENCE_DIR'], 'probs.json'), 'w'))\n"
              + HONEST.replace("/ 255.0", "* 0.0 + 0.5"),
}


@pytest.fixture(scope="module")
def judged_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("labels")
    data = base / "data"
    labels = write_pathmnist(data)
    course = _make_course(base / "course")
    _submit(course, "honest", HONEST)
    _submit(course, "random", f"def predict():\n    return np.random.default_rng(1).random({N})")
    for student, predict in ATTACKS.items():
        _submit(course, student, predict)
    results = grade_class(course, ASSIGNMENT, ["honest", "random", *ATTACKS], profile=PROFILE, data_root=data,
                          workers=2)
    return course, data, labels, {r.student: r for r in results}


def _cell(course: Course, student: str, gid: str, assignment: str = ASSIGNMENT,
          notebook: str = NOTEBOOK) -> nbformat.NotebookNode:
    nb = nbformat.read(course.autograded / student / assignment / notebook, as_version=4)
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


def test_the_grader_judges_an_honest_model_and_a_weak_one(judged_class) -> None:
    course, _, _, results = judged_class
    assert results["honest"].score == 3, results["honest"].tests
    test = _cell(course, "honest", "test_auc")
    assert test.metadata["medgrade"]["measured"] == [{"check": "judged", "name": "test AUC", "value": 1.0,
                                                      "threshold": 0.9, "direction": ">=", "passed": True}]
    roc = [o for o in test.outputs if "application/vnd.medgrade.plot+json" in o.get("data", {})]
    assert roc and roc[0]["data"]["application/vnd.medgrade.plot+json"]["kind"] == "roc_curve"
    (weak,) = results["random"].tests
    assert weak.points == 0 and weak.message.startswith(
        "CheckFailure: judge_predictions(test AUC): expected auc >= 0.900; observed 0.")


def test_labels_in_the_data_file_are_shuffled_for_the_kernel(judged_class) -> None:
    course, _, labels, results = judged_class
    out = "".join(o.get("text", "") for o in _cell(course, "reader", "test_auc").outputs)
    assert f"POSITIVES SEEN {(labels[:N] == 8).sum()}" in out, out  # the counts stay true, the items do not
    (test,) = results["reader"].tests
    assert test.points == 0 and "judge_predictions(test AUC): expected auc >= 0.900" in test.message


def test_skipping_or_patching_the_record_fails_the_test(judged_class) -> None:
    _, _, _, results = judged_class
    (test,) = results["patcher"].tests
    assert test.points == 0
    assert test.message == ("CheckFailure: judged(test AUC): the test recorded no predictions under 'probs' "
                            "(was checks.judged reached?)")
    (forged,) = results["forger"].tests  # the good record written earlier is not the one judged
    assert forged.points == 0 and forged.message.startswith("CheckFailure: judge_predictions(test AUC)"), forged

def test_judging_in_the_kernel_sees_only_the_shuffled_labels(judged_class) -> None:
    _, _, _, results = judged_class
    (test,) = results["self_judge"].tests
    assert test.points == 0 and "expected auc >= 0.900; observed 0." in test.message, test


# --- exploration: an assignment that judges nothing still never shows its kernel the test labels ----

EXPLORE, EXPLORE_NB = "95_explore", "explore.ipynb"
# What 02 asks of students (count the classes of the test split), printing every label on the way:
# output that reaches the feedback page its student reads.
COUNT = (f"def count():\n    labels = {LOAD}['test_labels'][:, 0]\n"
         "    print('LABELS SEEN', ','.join(map(str, labels.tolist())))\n"
         "    return np.bincount(labels, minlength=9)")
COUNT_TEST = f"assert count().sum() == {N}"


def test_an_assignment_without_judged_tests_sees_true_counts_and_no_items_label(tmp_path) -> None:
    labels = write_pathmnist(tmp_path / "data")
    course = _make_course(tmp_path / "course", EXPLORE, EXPLORE_NB, "import os\nimport numpy as np", COUNT,
                          "count", COUNT_TEST, "test_count")
    _submit(course, "explorer", COUNT, EXPLORE, EXPLORE_NB, "count")
    (result,) = grade_class(course, EXPLORE, ["explorer"], profile=PROFILE, data_root=tmp_path / "data", workers=1)
    assert result.score == 3, result.tests
    out = "".join(o.get("text", "") for o in _cell(course, "explorer", "test_count", EXPLORE, EXPLORE_NB).outputs)
    seen = [int(v) for v in out.split("LABELS SEEN ", 1)[1].split()[0].split(",")]
    assert sorted(seen) == sorted(labels.tolist()) and seen != labels.tolist(), out


def test_honest_students_grade_as_without_attackers(judged_class) -> None:
    course, data, _, results = judged_class
    alone = grade_class(course, ASSIGNMENT, ["honest", "random"], profile=PROFILE, data_root=data, workers=1,
                        force=True)
    for r in alone:
        assert [(t.points, t.status, t.message) for t in r.tests] == \
               [(t.points, t.status, t.message) for t in results[r.student].tests]


# --- masks: a Dice on held-out scans whose label volumes the kernel sees as zeros ---------------

MASKS, MASKS_NB = "97_masks", "masks.ipynb"
CASES = "sorted(pathlib.Path(os.environ['MEDGRADE_DATA'], 'WMH', 'test').iterdir())"
SEGMENT = ("def segment():\n    import nibabel as nib\n"
           f"    return np.stack([np.asarray(nib.load(c / 'FLAIR_brain.nii.gz').dataobj) > 100 for c in {CASES}])")
MASK_TEST = ("assert segment().ndim == 4\n### BEGIN HIDDEN TESTS\nfrom medgrade import checks\n"
             "measured = checks.judged('masks', segment()[:, None].astype(np.uint8), metric='dice', at_least=0.9, "
             "answers='wmh:test', n=3, plot='masks', name='lesion Dice')\n### END HIDDEN TESTS")
MASK_ATTACKS = {
    # The "prediction" is the label volume itself, read from the data root.
    "reader": SEGMENT.replace("FLAIR_brain.nii.gz').dataobj) > 100", "wmh.nii.gz').dataobj) == 1")
              .replace("    return", "    print('LESION VOXELS SEEN', sum(int((np.asarray(nib.load(c / 'wmh.nii.gz')"
                                     f".dataobj) == 1).sum()) for c in {CASES}))\n    return"),
    # Predicts nothing: an empty mask where the scans have lesions.
    "empty": SEGMENT.replace("> 100", "> 10_000"),
}


@pytest.fixture(scope="module")
def mask_class(tmp_path_factory):
    from tests.judge.test_judge import write_wmh

    base = tmp_path_factory.mktemp("masks")
    labels = write_wmh(base / "data")
    course = _make_course(base / "course", MASKS, MASKS_NB, "import os\nimport pathlib\nimport numpy as np",
                          SEGMENT, "segment", MASK_TEST, "test_dice")
    _submit(course, "honest", SEGMENT, MASKS, MASKS_NB, "segment")
    for student, segment in MASK_ATTACKS.items():
        _submit(course, student, segment, MASKS, MASKS_NB, "segment")
    results = grade_class(course, MASKS, ["honest", *MASK_ATTACKS], profile=PROFILE, data_root=base / "data",
                          workers=2)
    return course, labels, {r.student: r for r in results}


def test_the_grader_judges_masks_leaving_out_the_unscored_voxels(mask_class) -> None:
    course, _, results = mask_class
    # the honest threshold also marks the bright label-2 voxels: the grader does not score them
    assert results["honest"].score == 3, results["honest"].tests
    measured = _cell(course, "honest", "test_dice", MASKS, MASKS_NB).metadata["medgrade"]["measured"]
    assert [(m["name"], m["value"]) for m in measured] == [("lesion Dice", 1.0)]  # 0.97 if label 2 were scored
    (empty,) = results["empty"].tests
    assert empty.points == 0 and empty.message.startswith(
        "CheckFailure: judge_predictions(lesion Dice): expected dice >= 0.900 (empty-mask rule"), empty
    drawn = [o for o in _cell(course, "empty", "test_dice", MASKS, MASKS_NB).outputs
             if "application/vnd.medgrade.plot+json" in o.get("data", {})]
    assert drawn and drawn[0]["data"]["application/vnd.medgrade.plot+json"]["kind"] == "dice_cases"


def test_label_volumes_are_zeros_to_the_kernel(mask_class) -> None:
    course, labels, results = mask_class
    out = "".join(o.get("text", "") for o in _cell(course, "reader", "test_dice", MASKS, MASKS_NB).outputs)
    assert (labels == 1).sum() > 0 and "LESION VOXELS SEEN 0" in out, out
    (test,) = results["reader"].tests
    assert test.points == 0 and "expected dice >= 0.900" in test.message and "observed 0.000" in test.message


def test_no_answer_key_reaches_the_autograded_notebooks(judged_class, mask_class) -> None:
    """The grader's plots of held-out data are aggregates (medgrade.checks.heldout): no item's label."""
    mime = "application/vnd.medgrade.plot+json"
    for course, assignment, notebook, results in ((judged_class[0], ASSIGNMENT, NOTEBOOK, judged_class[3]),
                                                  (mask_class[0], MASKS, MASKS_NB, mask_class[2])):
        for student in results:
            nb = nbformat.read(course.autograded / student / assignment / notebook, as_version=4)
            records = [o["data"][mime] for c in nb.cells for o in c.get("outputs", []) if mime in o.get("data", {})]
            for record in records:
                assert record["kind"] in ("roc_curve", "confusion_counts", "dice_cases"), (student, record)
                assert not {"y_true", "true", "scores", "pred"} & set(record), (student, record)


# --- regeneration: the stand-in is drawn from public code, its held-out split from a secret key -----

REGEN, REGEN_NB, REGEN_N = "96_regenerate", "regenerate.ipynb", 2000
TEST_IMAGES = f"np.load(os.path.join(os.environ['MEDGRADE_DATA'], 'pathmnist.npz'))['test_images'][:{REGEN_N}]"
# A weak but honest score: cancer patches (crowded large nuclei) have the most contrast (AUC ~0.86).
TEXTURE = f"def predict():\n    return {TEST_IMAGES}.mean(axis=-1).std(axis=(1, 2))"
REGEN_TEST = (f"assert predict().shape == ({REGEN_N},)\n### BEGIN HIDDEN TESTS\nfrom medgrade import checks\n"
              f"measured = checks.judged('probs', predict(), metric='auc', at_least=0.75, answers='pathmnist:test', "
              f"n={REGEN_N}, positive=8, name='test AUC')\n### END HIDDEN TESTS")
REGEN_ATTACKS = {
    # The labels drawn again with the generator's public code and the key file of the data root.
    "regenerator": "def predict():\n    from medgrade.data import pathmnist\n"
                   "    path = os.path.join(os.environ['MEDGRADE_DATA'], '.heldout-key')\n"
                   "    key = open(path, 'rb').read() if os.path.exists(path) else b''\n"
                   "    print('KEY BYTES SEEN', len(key))\n"
                   f"    labels = pathmnist.split_labels('test', 0, key)[:{REGEN_N}, 0]\n"
                   "    return (labels == 8) * 0.8 + 0.1",
    # The images drawn again from public code and matched to the visible ones, to borrow their labels.
    "matcher": "def predict():\n    from medgrade.data import pathmnist\n"
               "    labels = pathmnist.split_labels('test', 0)[:, 0]\n"
               "    drawn = pathmnist.render(labels[:pathmnist.CHUNK], np.random.default_rng(pathmnist._NPZ.stream(0, "
               "'test', 0, b'')))\n"
               f"    seen = {TEST_IMAGES}\n"
               f"    print('IMAGES MATCHED', int((drawn[:{REGEN_N}] == seen).all(axis=(1, 2, 3)).sum()))\n"
               f"    return (labels[:{REGEN_N}] == 8) * 0.8 + 0.1",
}


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """One class graded twice: on a course's data (its own key), and on data drawn with a key the kernel knows."""
    from medgrade.data import pathmnist
    from medgrade.data.store import build

    base = tmp_path_factory.mktemp("regenerate")
    pathmnist.generate(base / "course-data")  # as `medgrade data generate` does: a secret key, kept beside
    build(base / "public-data", pathmnist.SPEC, seed=0, params={}, key=b"")  # what public code draws
    course = _make_course(base / "course", REGEN, REGEN_NB, "import os\nimport numpy as np", TEXTURE, "predict",
                          REGEN_TEST, "test_auc")
    for student, predict in {"honest": TEXTURE, **REGEN_ATTACKS}.items():
        _submit(course, student, predict, REGEN, REGEN_NB)
    students = ["honest", *REGEN_ATTACKS]
    secret = grade_class(course, REGEN, students, profile=PROFILE, data_root=base / "course-data", workers=2)
    outputs = {s: "".join(o.get("text", "") for o in _cell(course, s, "test_auc", REGEN, REGEN_NB).outputs)
               for s in students}
    public = grade_class(course, REGEN, students, profile=PROFILE, data_root=base / "public-data", workers=2,
                         force=True)
    return ({r.student: r for r in secret}, outputs, {r.student: r for r in public})


def test_the_held_out_split_cannot_be_drawn_again_in_the_kernel(regenerated) -> None:
    secret, outputs, _ = regenerated
    assert secret["honest"].score == 3, secret["honest"].tests
    assert "KEY BYTES SEEN 0" in outputs["regenerator"], outputs["regenerator"]  # the key file reads empty
    assert "IMAGES MATCHED 0" in outputs["matcher"], outputs["matcher"]
    for attacker in REGEN_ATTACKS:
        (test,) = secret[attacker].tests
        assert test.points == 0 and test.message.startswith(
            "CheckFailure: judge_predictions(test AUC): expected auc >= 0.750; observed 0."), test
        # and the TA reads what was tried
        assert any("held-out data in cell predict" in f and "imports medgrade.data.pathmnist" in f
                   for f in secret[attacker].findings), secret[attacker].findings
    assert any("names the held-out key" in f for f in secret["regenerator"].findings)
    assert not [f for f in secret["honest"].findings if "held-out data" in f]


def test_the_same_attacks_win_where_the_split_is_drawn_from_public_code(regenerated) -> None:
    """What the key defends against: with a split any kernel can draw, both attackers score full marks."""
    _, _, public = regenerated
    assert {s: r.score for s, r in public.items()} == {"honest": 3, "regenerator": 3, "matcher": 3}
