"""Metric tests judged outside the kernel: specs read from the source, labels the kernel never sees."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest

from medgrade.checks import CheckFailure, clear_evidence, judged
from medgrade.data.answers import answer_labels, withheld_view
from medgrade.errors import CourseError, UsageError
from medgrade.judge.grader import judge_cell, judge_specs

N = 40
SPEC = ('checks.judged("probs", predict(), metric="auc", at_least={"cpu": 0.9, "gpu": 0.95}, '
        'answers="pathmnist:test", n={"cpu": 40, "gpu": 40}, positive=8, plot="roc", name="test AUC")')


def write_pathmnist(root: Path, n: int = N, seed: int = 0) -> np.ndarray:
    """A small pathmnist.npz whose test images' brightness follows their label; returns the labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 9, size=(n, 1)).astype(np.uint8)
    labels[:4, 0] = 8  # positives for sure
    images = (labels[:, :, None, None] * 25 + rng.integers(0, 10, size=(n, 28, 28, 3))).astype(np.uint8)
    root.mkdir(parents=True, exist_ok=True)
    np.savez(root / "pathmnist.npz", test_images=images, test_labels=labels,
             train_images=images[:5], train_labels=labels[:5])
    return labels[:, 0]


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDGRADE_EVIDENCE_DIR", raising=False)
    monkeypatch.delenv("MEDGRADE_JUDGE", raising=False)
    monkeypatch.setenv("MEDGRADE_PROFILE", "cpu")
    clear_evidence()


def test_specs_are_read_from_the_source_with_their_literals() -> None:
    (spec,) = judge_specs("x = 1\n### BEGIN HIDDEN TESTS\n" + SPEC + "\n### END HIDDEN TESTS", "nb: test cell t")
    assert (spec.key, spec.metric, spec.answers, spec.positive, spec.plot, spec.line) == \
           ("probs", "auc", "pathmnist:test", 8, "roc", 3)
    assert spec.bound("cpu") == 0.9 and spec.bound("gpu") == 0.95 and spec.count("cpu") == N
    assert judge_specs("assert True", "t") == ()


@pytest.mark.parametrize(("source", "message"), [
    ('checks.judged("k", p, metric="auc", at_least=T, answers="pathmnist:test", n=3)',
     r"test cell t, line 1: checks.judged\(...\): at_least= must be a literal .* never from the kernel"),
    ('checks.judged("k", p, metric="auc", answers="pathmnist:test", n=3)', r"needs at_least="),
    ('checks.judged("k", p, metric="auc", at_least={"cpu": 0.9}, answers="pathmnist:test", n=3)',
     r"at_least= has no value for the 'gpu' profile"),
    ('checks.judged("k", metric="auc", at_least=0.9, answers="pathmnist:test", n=3)',
     r"needs a key and the predictions"),
    ('checks.judged("k", p, metric="auc", at_least=0.9, answers="pathmnist:test", n=3, labels=y)',
     r"unknown argument labels="),
])
def test_a_spec_the_grader_cannot_read_is_refused_naming_the_cell(source: str, message: str) -> None:
    with pytest.raises(CourseError, match=message):
        judge_specs(source, "nb.ipynb: test cell t")


def test_release_lint_names_unknown_metric_answer_key_and_plot(tmp_path: Path) -> None:
    from medgrade.author.lint import lint_notebook
    from tests.tiny_course import cell

    nb = nbformat.v4.new_notebook(cells=[cell(
        'checks.judged("k", p, metric="recall", at_least=0.9, answers="mednist:test", n=3, plot="pie")',
        "test_k", points=1)])
    nbformat.write(nb, tmp_path / "a.ipynb")
    problems = lint_notebook(tmp_path / "a.ipynb")
    assert any("test cell test_k, line 1: checks.judged('k', ...): unknown metric 'recall'" in p for p in problems)
    assert any("unknown answer key 'mednist:test'; known: mura:test, pathmnist:test" in p for p in problems)
    assert any("plot must be one of roc, confusion, masks, got 'pie'" in p for p in problems)


def test_answer_labels_and_the_kernels_view_without_them(tmp_path: Path) -> None:
    labels = write_pathmnist(tmp_path / "data")
    assert answer_labels(tmp_path / "data", "pathmnist:test", 10).tolist() == labels[:10].tolist()
    assert answer_labels(tmp_path / "data", "pathmnist:test", N, positive=8).tolist() == (labels == 8).tolist()
    ((real, view),) = withheld_view(tmp_path / "data", "pathmnist:test")
    assert real == (tmp_path / "data" / "pathmnist.npz").resolve()
    with np.load(real) as a, np.load(view) as b:
        assert sorted(a.files) == sorted(b.files)
        assert b["test_labels"].shape == a["test_labels"].shape and b["test_labels"].dtype == a["test_labels"].dtype
        # shuffled: the class counts stay, the items' labels do not
        assert sorted(b["test_labels"][:, 0]) == sorted(a["test_labels"][:, 0])
        assert not np.array_equal(b["test_labels"], a["test_labels"])
        for name in ("test_images", "train_images", "train_labels"):
            assert np.array_equal(a[name], b[name])
    assert withheld_view(tmp_path / "data", "pathmnist:test")[0][1] == view  # made once per version of the file
    write_pathmnist(tmp_path / "data", seed=1)  # a new version replaces the old copy, never piles up
    os.utime(tmp_path / "data" / "pathmnist.npz", ns=(1, 1))
    newer = withheld_view(tmp_path / "data", "pathmnist:test")[0][1]
    assert newer != view and newer.is_file() and not view.exists()
    with pytest.raises(UsageError, match=r"pathmnist:test has 40 answers; a test asked for 41"):
        answer_labels(tmp_path / "data", "pathmnist:test", 41)
    known = "mura:test, pathmnist:test, pneumoniamnist:test, wmh:test"
    with pytest.raises(UsageError, match=rf"unknown answer key 'mednist:test'; known: {known}"):
        answer_labels(tmp_path / "data", "mednist:test", 1)
    with pytest.raises(UsageError, match=r"pathmnist.npz is missing .*run `medgrade data generate`"):
        answer_labels(tmp_path / "nowhere", "pathmnist:test", 1)


def _scores(labels: np.ndarray, quality: str) -> np.ndarray:
    positive = (labels == 8).astype(float)
    if quality == "right":
        return 0.8 * positive + 0.1
    if quality == "reversed":
        return 0.9 - 0.8 * positive
    return np.full(len(labels), 0.5)  # the same score for every image


def test_judged_in_place_passes_a_right_answer_and_fails_wrong_ones(tmp_path, monkeypatch) -> None:
    labels = write_pathmnist(tmp_path / "data")
    monkeypatch.setenv("MEDGRADE_DATA", str(tmp_path / "data"))
    kw = dict(metric="auc", at_least={"cpu": 0.9, "gpu": 0.95}, answers="pathmnist:test", n={"cpu": N, "gpu": N},
              positive=8, name="test AUC")
    assert judged("probs", _scores(labels, "right"), **kw).value == 1.0
    with pytest.raises(CheckFailure, match=r"expected auc >= 0.900; observed 0.000 on the hidden labels"):
        judged("probs", _scores(labels, "reversed"), **kw)
    with pytest.raises(CheckFailure, match=r"expected auc >= 0.900; observed 0.500"):
        judged("probs", _scores(labels, "constant"), **kw)
    with pytest.raises(CheckFailure, match=r"judged\(test AUC\): expected 40 predictions \(the first 40 items of "
                                           r"pathmnist:test\)"):
        judged("probs", _scores(labels, "right")[:10], **kw)


def test_judged_in_the_sandbox_only_records(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MEDGRADE_JUDGE", "grader")
    monkeypatch.setenv("MEDGRADE_EVIDENCE_DIR", str(tmp_path / "evidence"))
    monkeypatch.setenv("MEDGRADE_DATA", str(tmp_path / "no-data"))  # no labels needed to record
    record = judged("probs", np.full(N, 0.5), metric="auc", at_least=0.9, answers="pathmnist:test", n=N)
    assert record["kind"] == "scores" and record["shape"] == [N]
    assert json.loads((tmp_path / "evidence" / "probs.json").read_text()) == record


def _verdict(tmp_path: Path, values: list | None, spec: str = SPEC):
    evidence = tmp_path / "evidence"
    evidence.mkdir(exist_ok=True)
    if values is not None:
        record = {"schema": 1, "key": "probs", "kind": "scores", "shape": [len(values)], "values": values}
        (evidence / "probs.json").write_text(json.dumps(record))
    return judge_cell(judge_specs(spec, "t"), evidence, tmp_path / "data", "cpu")


def test_the_grader_judges_records_against_the_labels(tmp_path: Path) -> None:
    labels = write_pathmnist(tmp_path / "data")
    right = _verdict(tmp_path, [float(v) for v in _scores(labels, "right")])
    assert right.message == ""
    assert right.measured == [{"check": "judged", "name": "test AUC", "value": 1.0, "threshold": 0.9,
                               "direction": ">=", "passed": True}]
    (plot,) = right.outputs
    drawn = plot["data"]["application/vnd.medgrade.plot+json"]
    assert drawn["kind"] == "roc_curve" and sorted(drawn) == ["fpr", "kind", "schema", "tpr"]  # no label in it
    wrong = _verdict(tmp_path, [float(v) for v in _scores(labels, "reversed")])
    assert wrong.message.startswith("CheckFailure: judge_predictions(test AUC): expected auc >= 0.900; "
                                    "observed 0.000 on the hidden labels (margin -0.900)")
    assert wrong.measured[0]["passed"] is False
    short = _verdict(tmp_path, [0.5] * 10)
    assert short.message == ("CheckFailure: judged(test AUC): expected 40 predictions (the first 40 items of "
                             "pathmnist:test), observed 10")
    (tmp_path / "evidence" / "probs.json").unlink()
    missing = _verdict(tmp_path, None)
    assert "the test recorded no predictions under 'probs' (was checks.judged reached?)" in missing.message
    (tmp_path / "evidence" / "probs.json").write_text('{"schema": 1, "kind": "scores", "values": "all right"')
    assert "is not valid JSON" in _verdict(tmp_path, None).message


def test_views_of_a_data_root_that_is_gone_are_removed(tmp_path: Path) -> None:
    """A calibration grades each seed on its own copy of the data: its 250 MB views must not pile up."""
    write_pathmnist(tmp_path / "seed-1")
    ((_, gone),) = withheld_view(tmp_path / "seed-1", "pathmnist:test")
    write_pathmnist(tmp_path / "seed-2")
    ((_, kept),) = withheld_view(tmp_path / "seed-2", "pathmnist:test")
    assert gone.is_file() and kept.is_file() and gone.parent != kept.parent
    shutil.rmtree(tmp_path / "seed-1")
    write_pathmnist(tmp_path / "seed-3")
    withheld_view(tmp_path / "seed-3", "pathmnist:test")
    assert not gone.parent.exists() and kept.is_file()


def test_labels_are_withheld_only_where_the_sandbox_can_mount(tmp_path: Path) -> None:
    from medgrade.runner.job import withheld_labels

    write_pathmnist(tmp_path / "data")
    ((real, view),) = withheld_labels(str(tmp_path / "data"), confined=True)  # every answer key present
    assert real.name == "pathmnist.npz" and view.is_file()
    assert withheld_labels(str(tmp_path / "data"), confined=False) == ()
    write_wmh(tmp_path / "data")
    assert [r.name for r, _ in withheld_labels(str(tmp_path / "data"), confined=True)] == \
           ["pathmnist.npz"] + ["wmh.nii.gz"] * 3
    assert withheld_labels(str(tmp_path / "empty"), confined=True) == ()


def test_a_record_planted_as_a_link_is_never_read(tmp_path: Path) -> None:
    labels = write_pathmnist(tmp_path / "data")
    secret = tmp_path / "other-student.json"  # valid-looking JSON the grader can read and the kernel cannot
    good = [float(v) for v in _scores(labels, "right")]
    secret.write_text(json.dumps({"schema": 1, "key": "probs", "kind": "scores", "shape": [N], "values": good}))
    (tmp_path / "evidence").mkdir()
    (tmp_path / "evidence" / "probs.json").symlink_to(secret)
    linked = judge_cell(judge_specs(SPEC, "t"), tmp_path / "evidence", tmp_path / "data", "cpu")
    assert linked.message == ("CheckFailure: judged(test AUC): the record 'probs' is a link, not the file "
                              "checks.judged writes; only checks.judged, called by the test, may write it")
    assert linked.measured == []
    (tmp_path / "evidence" / "probs.json").unlink()
    (tmp_path / "evidence").rmdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "probs.json").write_text(secret.read_text())
    (tmp_path / "evidence").symlink_to(tmp_path / "elsewhere")  # the folder itself replaced by a link
    moved = judge_cell(judge_specs(SPEC, "t"), tmp_path / "evidence", tmp_path / "data", "cpu")
    assert "recorded no predictions under 'probs'" in moved.message and moved.measured == []
    (tmp_path / "evidence").unlink()
    (tmp_path / "evidence").mkdir()
    os.mkfifo(tmp_path / "evidence" / "probs.json")  # would block a plain open()
    fifo = judge_cell(judge_specs(SPEC, "t"), tmp_path / "evidence", tmp_path / "data", "cpu")
    assert "the record 'probs' is not a regular file" in fifo.message


def test_forgetting_records_never_deletes_through_a_link(tmp_path: Path) -> None:
    from medgrade.judge.grader import forget_records

    (tmp_path / "evidence").mkdir()
    (tmp_path / "evidence" / "probs.json").write_text("{}")
    (tmp_path / "evidence" / "other.json").write_text("{}")
    forget_records(tmp_path / "evidence", ["probs", "absent"])
    assert sorted(p.name for p in (tmp_path / "evidence").iterdir()) == ["other.json"]
    grader_side = tmp_path / "gradebook"
    grader_side.mkdir()
    (grader_side / "probs.json").write_text("{}")
    (tmp_path / "evidence" / "other.json").unlink()
    (tmp_path / "evidence").rmdir()
    (tmp_path / "evidence").symlink_to(grader_side)
    forget_records(tmp_path / "evidence", ["probs"])
    assert (grader_side / "probs.json").is_file()


# --- masks: a Dice judged against NIfTI label volumes (06's held-out scans) ---------------------

SHAPE = (8, 8, 4)


def write_wmh(root: Path, cases: int = 3, seed: int = 0) -> np.ndarray:
    """``WMH/test/<case>/`` with a FLAIR bright where the label is 1 or 2; returns the labels (cases, *SHAPE)."""
    import nibabel as nib

    rng = np.random.default_rng(seed)
    labels = np.zeros((cases, *SHAPE), dtype=np.uint8)
    for i in range(cases):
        labels[i, 1 + i:4 + i, 2:5, 1:3] = 1  # a lesion
        labels[i, 6, 6, 0] = 2  # other pathology: not scored
        folder = root / "WMH" / "test" / f"{i:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        flair = (labels[i] > 0) * 200 + rng.integers(1, 20, SHAPE)
        affine = np.diag([1.0, 1.0, 3.0, 1.0])
        nib.save(nib.Nifti1Image(flair.astype(np.int16), affine), folder / "FLAIR_brain.nii.gz")
        nib.save(nib.Nifti1Image(labels[i], affine), folder / "wmh.nii.gz")
    return labels


def test_mask_answers_leave_out_the_ignored_voxels_and_the_kernels_view_is_blank(tmp_path: Path) -> None:
    import nibabel as nib

    from medgrade.data.answers import load_answer

    labels = write_wmh(tmp_path / "data")
    answer = load_answer(tmp_path / "data", "wmh:test", 2)
    assert answer.truth.shape == (2, 1, *SHAPE) and answer.truth.dtype == np.uint8
    assert np.array_equal(answer.truth[:, 0], labels[:2] == 1)
    assert answer.ignore is not None and np.array_equal(answer.ignore[:, 0], labels[:2] == 2)
    views = withheld_view(tmp_path / "data", "wmh:test")
    assert [real.parent.name for real, _ in views] == ["000", "001", "002"]
    for real, view in views:
        a, b = nib.load(real), nib.load(view)
        assert view.name.endswith("wmh.nii.gz") and b.shape == a.shape
        assert b.get_data_dtype() == a.get_data_dtype() and np.array_equal(b.affine, a.affine)
        assert not np.asarray(b.dataobj).any() and np.asarray(a.dataobj).any()
    with pytest.raises(UsageError, match=r"wmh:test has 3 answers; a test asked for 4"):
        load_answer(tmp_path / "data", "wmh:test", 4)
    with pytest.raises(UsageError, match=r"wmh:test holds masks: positive= is for class labels"):
        load_answer(tmp_path / "data", "wmh:test", 1, positive=1)
    with pytest.raises(UsageError, match=r"answers of wmh:test\): run `medgrade data generate`"):
        load_answer(tmp_path / "nowhere", "wmh:test", 1)


def _masks(labels: np.ndarray, quality: str) -> np.ndarray:
    lesion = (labels == 1)[:, None].astype(np.uint8)
    if quality == "right":  # the lesion, and the bright label-2 voxel the grader does not score
        return (labels > 0)[:, None].astype(np.uint8)
    if quality == "empty":
        return np.zeros_like(lesion)
    return np.roll(lesion, 3, axis=2)  # "shifted": the right size in the wrong place


MASK_KW = dict(metric="dice", at_least={"cpu": 0.65, "gpu": 0.65}, answers="wmh:test", n={"cpu": 3, "gpu": 3},
               name="lesion Dice", plot="masks")


def test_judged_masks_in_place_pass_a_right_answer_and_fail_wrong_ones(tmp_path, monkeypatch) -> None:
    labels = write_wmh(tmp_path / "data")
    monkeypatch.setenv("MEDGRADE_DATA", str(tmp_path / "data"))
    assert judged("masks", _masks(labels, "right"), **MASK_KW).value == 1.0  # label 2 left out
    with pytest.raises(CheckFailure, match=r"expected dice >= 0.650 \(empty-mask rule.*\); observed 0.000 on the"):
        judged("masks", _masks(labels, "empty"), **MASK_KW)
    with pytest.raises(CheckFailure, match=r"expected dice >= 0.650 .*observed 0\.[0-5]\d\d on the hidden labels"):
        judged("masks", _masks(labels, "shifted"), **MASK_KW)
    with pytest.raises(CheckFailure, match=r"expected a binary mask \(0/1\)"):
        judged("masks", _masks(labels, "right") * 2, **MASK_KW)


def test_the_grader_judges_masks_and_draws_the_dice_of_each_case(tmp_path: Path) -> None:
    labels = write_wmh(tmp_path / "data")
    spec = ('checks.judged("masks", m, metric="dice", at_least={"cpu": 0.65, "gpu": 0.65}, answers="wmh:test", '
            'n={"cpu": 3, "gpu": 3}, name="lesion Dice", plot="masks")')
    evidence = tmp_path / "evidence"
    evidence.mkdir()

    def verdict(masks: np.ndarray):
        record = {"schema": 1, "key": "masks", "kind": "mask", "shape": list(masks.shape),
                  "values": [int(v) for v in masks.ravel()]}
        (evidence / "masks.json").write_text(json.dumps(record))
        return judge_cell(judge_specs(spec, "t"), evidence, tmp_path / "data", "cpu")

    right = verdict(_masks(labels, "right"))
    assert right.message == "" and right.measured[0]["value"] == 1.0
    wrong = verdict(_masks(labels, "shifted"))
    assert wrong.message.startswith("CheckFailure: judge_predictions(lesion Dice): expected dice >= 0.650")
    (plot,) = wrong.outputs
    drawn = plot["data"]["application/vnd.medgrade.plot+json"]
    # The Dice of each hidden case, never a voxel of its mask (that would be its label).
    assert drawn["kind"] == "dice_cases" and sorted(drawn) == ["dice", "kind", "schema"]
    assert len(drawn["dice"]) == 3  # the judged figure is their mean
    assert wrong.measured[0]["value"] == pytest.approx(sum(drawn["dice"]) / 3, abs=1e-3)


def test_release_lint_matches_the_metric_to_the_answer_key(tmp_path: Path) -> None:
    from medgrade.author.lint import lint_notebook
    from tests.tiny_course import cell

    nb = nbformat.v4.new_notebook(cells=[cell(
        'checks.judged("k", p, metric="dice", at_least=0.5, answers="pathmnist:test", n=3)\n'
        'checks.judged("j", p, metric="auc", at_least=0.5, answers="wmh:test", n=3, positive=1)', "test_k", points=1)])
    nbformat.write(nb, tmp_path / "a.ipynb")
    problems = lint_notebook(tmp_path / "a.ipynb")
    assert any("checks.judged('k', ...): pathmnist:test holds labels; metric 'dice' needs masks" in p for p in problems)
    assert any("checks.judged('j', ...): wmh:test holds masks; metric 'auc' needs class labels" in p for p in problems)


# --- a gain over a baseline: 05's probe against the same probe on the random encoder ------------

GAIN_KW = dict(metric="accuracy", at_least={"cpu": 0.5, "gpu": 0.5}, answers="pathmnist:test",
               n={"cpu": N, "gpu": N}, name="probe accuracy", gain={"cpu": 0.1, "gpu": 0.1},
               hint="pre-training must earn something over the random encoder")


def _labels_right(labels: np.ndarray, wrong: int) -> np.ndarray:
    """Predictions with the first ``wrong`` labels changed (accuracy 1 - wrong / N)."""
    pred = labels.copy()
    pred[:wrong] = (pred[:wrong] + 1) % 9
    return pred


def test_a_gain_over_the_baseline_is_judged_with_both_figures_measured(tmp_path, monkeypatch) -> None:
    from medgrade.checks import measure

    labels = write_pathmnist(tmp_path / "data")
    monkeypatch.setenv("MEDGRADE_DATA", str(tmp_path / "data"))
    measure.drain()
    assert judged("probe", _labels_right(labels, 2), baseline=_labels_right(labels, 12), **GAIN_KW).value == 0.95
    assert [(m["name"], round(m["value"], 3)) for m in measure.drain()] == [
        ("probe accuracy", 0.95), ("probe accuracy: gain over the baseline", 0.25)]
    with pytest.raises(CheckFailure, match=r"judge_predictions\(probe accuracy: gain over the baseline\): expected "
                       r"accuracy at least 0.100 above the baseline's; observed 0.950 against the baseline's 0.900 "
                       r"on the hidden labels \(gain \+0.050, margin -0.050\).*pre-training must earn"):
        judged("probe", _labels_right(labels, 2), baseline=_labels_right(labels, 4), **GAIN_KW)
    # below the threshold, with a large gain over a poor baseline: the threshold fails, both are measured
    with pytest.raises(CheckFailure, match=r"expected accuracy >= 0.500; observed 0.400"):
        judged("probe", _labels_right(labels, 24), baseline=_labels_right(labels, 40), **GAIN_KW)
    assert [m["passed"] for m in measure.drain()][-2:] == [False, True]
    with pytest.raises(CheckFailure, match=r"judged\(probe accuracy \(baseline\)\): expected 40 predictions"):
        judged("probe", labels, baseline=labels[:5], **GAIN_KW)


def test_the_grader_judges_the_gain_from_the_baseline_record(tmp_path: Path) -> None:
    labels = write_pathmnist(tmp_path / "data")
    spec = ('m = checks.judged("probe", pred, metric="accuracy", at_least=0.5, answers="pathmnist:test", n=40, '
            'name="probe accuracy", baseline=random_pred, gain={"cpu": 0.1, "gpu": 0.1})')
    (spec_,) = judge_specs(spec, "t")
    assert spec_.baseline and spec_.least_gain("cpu") == 0.1
    evidence = tmp_path / "evidence"
    evidence.mkdir()

    def verdict(pred: np.ndarray, base: np.ndarray | None):
        for key, values in (("probe", pred), ("probe.baseline", base)):
            if values is not None:
                record = {"schema": 1, "key": key, "kind": "labels", "shape": [len(values)],
                          "values": [int(v) for v in values]}
                (evidence / f"{key}.json").write_text(json.dumps(record))
        return judge_cell((spec_,), evidence, tmp_path / "data", "cpu")

    good = verdict(_labels_right(labels, 2), _labels_right(labels, 12))
    assert good.message == ""
    assert [(m["name"], round(m["value"], 3)) for m in good.measured] == [
        ("probe accuracy", 0.95), ("probe accuracy: gain over the baseline", 0.25)]
    same = verdict(_labels_right(labels, 2), _labels_right(labels, 2))
    assert same.message.startswith("CheckFailure: judge_predictions(probe accuracy: gain over the baseline): "
                                   "expected accuracy at least 0.100 above the baseline's; observed 0.950 against")
    (evidence / "probe.baseline.json").unlink()
    missing = verdict(_labels_right(labels, 2), None)
    assert missing.message == ("CheckFailure: judged(probe accuracy): the test recorded no predictions under "
                               "'probe.baseline' (was checks.judged reached?)")


@pytest.mark.parametrize("source", [
    'checks.judged("k", p, metric="accuracy", at_least=0.5, answers="pathmnist:test", n=3, baseline=b)',
    'checks.judged("k", p, metric="accuracy", at_least=0.5, answers="pathmnist:test", n=3, gain=0.1)',
])
def test_baseline_and_gain_go_together(source: str) -> None:
    with pytest.raises(CourseError, match=r"baseline= \(the predictions to beat\) and gain= \(by how much\) go"):
        judge_specs(source, "nb.ipynb: test cell t")


def test_a_baseline_record_left_before_the_cell_is_forgotten_with_its_predictions(tmp_path: Path) -> None:
    # A planted weak baseline must not stand in for the one the test cell writes (or fails to write).
    from medgrade.intake.prepare import TestCell
    from medgrade.runner.execute import _forget_records
    from medgrade.runner.sandbox import evidence_dir

    (spec,) = judge_specs('m = checks.judged("probe", p, metric="accuracy", at_least=0.5, answers="pathmnist:test", '
                          'n=40, baseline=b, gain=0.1)', "t")
    assert spec.keys == ("probe", "probe.baseline")
    workdir = tmp_path / "sandbox" / "work"
    folder = evidence_dir(workdir)
    folder.mkdir(parents=True)
    for key in ("probe", "probe.baseline", "other"):
        (folder / f"{key}.json").write_text("{}")
    _forget_records(workdir, TestCell("test_probe", 4.0, 0, (spec,)))
    assert sorted(p.name for p in folder.iterdir()) == ["other.json"]


# --- a baseline the grader trains itself: 08's ResNet-18 from scratch ---------------------------

NAMED = ('m = checks.judged("scores", s, metric="auc", at_least=0.5, answers="mura:test", n=40, positive=1, '
         'name="study AUC", baseline="mura_scratch_resnet18", gain={"cpu": 0.1, "gpu": 0.1})')


def write_mura_labels(root: Path, n: int = N, seed: int = 0) -> np.ndarray:
    """MURA's test_labeled_studies.csv for ``n`` studies (the mura:test answer key); returns the labels."""
    labels = np.random.default_rng(seed).integers(0, 2, size=n)
    labels[:2] = (0, 1)
    folder = root / "MURA-v1.1"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test_labeled_studies.csv").write_text(
        "".join(f"MURA-v1.1/test/XR_HAND/patient{i:05d}/study1_x/,{label}\n" for i, label in enumerate(labels)))
    return labels


def _auc_scores(labels: np.ndarray, flipped: int) -> np.ndarray:
    """Scores ranking every study right but the first ``flipped`` (which are inverted)."""
    scores = labels * 0.5 + np.linspace(0.2, 0.3, len(labels))
    scores[:flipped] = 1.0 - scores[:flipped]
    return scores


def test_a_named_baseline_is_the_graders_and_a_planted_record_is_never_read(tmp_path, monkeypatch) -> None:
    from medgrade.data import baselines

    labels = write_mura_labels(tmp_path / "data")
    trained: list[tuple[str, str, int]] = []

    def grader_baseline(name: str, data_root: Path, profile: str, seed: int) -> np.ndarray:
        trained.append((name, profile, seed))
        return _auc_scores(labels, 12)

    monkeypatch.setattr(baselines, "baseline_predictions", grader_baseline)
    (spec,) = judge_specs(NAMED, "t")
    assert spec.trained_baseline == "mura_scratch_resnet18" and not spec.baseline
    assert spec.keys == ("scores",)  # the kernel writes no baseline record, and none is forgotten or read
    evidence = tmp_path / "evidence"
    evidence.mkdir()

    def write(key: str, values: np.ndarray) -> None:
        record = {"schema": 1, "key": key, "kind": "scores", "shape": [len(values)],
                  "values": [float(v) for v in values]}
        (evidence / f"{key}.json").write_text(json.dumps(record))

    # The kernel plants a baseline that ranks every study wrong: a gain of +1 if it were read.
    write("scores.baseline", 1.0 - _auc_scores(labels, 0))
    write("scores", _auc_scores(labels, 4))
    weak = judge_cell((spec,), evidence, tmp_path / "data", "cpu", seed=7)
    assert trained == [("mura_scratch_resnet18", "cpu", 7)]
    gain = [m for m in weak.measured if m["name"] == "study AUC: gain over the baseline"]
    assert len(gain) == 1 and 0 < gain[0]["value"] < 0.5, weak.measured
    write("scores", _auc_scores(labels, 14))  # worse than the grader's baseline: no gain
    worse = judge_cell((spec,), evidence, tmp_path / "data", "cpu", seed=7)
    assert worse.message.startswith("CheckFailure: judge_predictions(study AUC: gain over the baseline): "
                                    "expected auc at least 0.100 above the baseline's; observed"), worse.message


def test_a_named_baseline_is_trained_the_graders_way_outside_the_sandbox(tmp_path, monkeypatch) -> None:
    from medgrade.data import baselines

    labels = write_mura_labels(tmp_path / "data")
    monkeypatch.setenv("MEDGRADE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("MEDGRADE_SEED", "3")
    seeds: list[int] = []

    def grader_baseline(name: str, data_root: Path, profile: str, seed: int) -> np.ndarray:
        seeds.append(seed)
        return _auc_scores(labels, 12)

    monkeypatch.setattr(baselines, "baseline_predictions", grader_baseline)
    kw = dict(metric="auc", at_least=0.5, answers="mura:test", n=N, positive=1, name="study AUC",
              baseline="mura_scratch_resnet18", gain={"cpu": 0.1, "gpu": 0.1})
    assert judged("scores", _auc_scores(labels, 0), **kw).value == 1.0
    with pytest.raises(CheckFailure, match=r"gain over the baseline\): expected auc at least 0.100 above"):
        judged("scores", _auc_scores(labels, 12), **kw)
    assert seeds == [3, 3]


@pytest.mark.parametrize(("baseline", "answers", "message"), [
    ('"resnet_from_nowhere"', "mura:test",
     r"unknown baseline 'resnet_from_nowhere'; the grader computes mura_scratch_resnet18"),
    ('"mura_scratch_resnet18"', "pathmnist:test",
     r"the baseline 'mura_scratch_resnet18' predicts the items of mura:test, not of pathmnist:test"),
])
def test_a_named_baseline_the_grader_cannot_train_is_refused_at_release(baseline, answers, message) -> None:
    source = (f'checks.judged("k", p, metric="auc", at_least=0.5, answers="{answers}", n=3, positive=1, '
              f'baseline={baseline}, gain=0.1)')
    with pytest.raises(CourseError, match=r"nb.ipynb: test cell t, line 1: checks.judged\(...\): " + message):
        judge_specs(source, "nb.ipynb: test cell t")


def test_a_named_baseline_needs_generated_data_and_is_read_from_its_cache(tmp_path, monkeypatch) -> None:
    from medgrade.data.baselines import baseline_predictions
    from medgrade.errors import DataError

    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    with pytest.raises(DataError, match=r"manifest.json records no 'mura' dataset; run: medgrade data generate"):
        baseline_predictions("mura_scratch_resnet18", tmp_path / "data", "cpu", 0)
    data = tmp_path / "data"
    data.mkdir()
    (data / "manifest.json").write_text(json.dumps({"datasets": {"mura": {"files": {"a": {"sha256": "1"}}}}}))
    from medgrade.data.baselines import _data_hash
    from medgrade.scratch import private_dir

    cached = private_dir("baselines") / f"mura_scratch_resnet18-cpu-seed4-{_data_hash(data, 'mura')}.npy"
    np.save(cached, np.array([0.25, 0.75]))
    assert baseline_predictions("mura_scratch_resnet18", data, "cpu", 4).tolist() == [0.25, 0.75]
    # Another seed is not cached: training starts, and fails on data without MURA's files, naming it.
    with pytest.raises(DataError, match=r"could not train the baseline 'mura_scratch_resnet18' \(seed 5, cpu "
                                        r"profile\): .*train_labeled_studies.csv"):
        baseline_predictions("mura_scratch_resnet18", data, "cpu", 5)
