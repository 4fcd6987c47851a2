"""Judging fails closed: every kind of record the grader cannot evaluate fails its test, with a message.

The kernel writes the evidence records, so it can write anything: the wrong shape or dtype, NaN,
infinities, numbers too large to be predictions, a link, a FIFO, a file too big, no file at all.
Each must fail the test with a message a student can act on; none may pass, raise out of the
grader, or be reported as the grader's own failure (the end-to-end half, where the next test
still runs, is in tests/adversarial/test_verdicts.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from medgrade.judge import grader as judge
from medgrade.judge.grader import judge_cell, judge_specs
from tests.judge.test_judge import SPEC, N, write_pathmnist

GOOD = [0.5] * N
ONLY_JUDGED = "only checks.judged, called by the test, may write it"
INVALID = ("CheckFailure: judge_predictions(evidence): expected a valid evidence record (schema 1); observed "
           "{}. Hint: record predictions only with record_predictions().")


def _record(**overrides: object) -> str:
    return json.dumps({"schema": 1, "key": "probs", "kind": "scores", "shape": [N], "values": GOOD, **overrides})


def _judge(tmp_path: Path, text: str | None = None, spec: str = SPEC) -> judge.Verdict:
    write_pathmnist(tmp_path / "data")
    (tmp_path / "evidence").mkdir(exist_ok=True)
    if text is not None:
        (tmp_path / "evidence" / "probs.json").write_text(text)
    return judge_cell(judge_specs(spec, "t"), tmp_path / "evidence", tmp_path / "data", "cpu")


@pytest.mark.parametrize(("text", "message"), [
    (_record(values=[[0.5]] * N), INVALID.format("values that do not fill shape [40] with finite scores")),
    (_record(shape=[1] * 40, values=[0.5]), INVALID.format("shape " + str([1] * 40)[:60])),
    (_record(values=["0.5"] * N), INVALID.format("values that do not fill shape [40] with finite scores")),
    (_record(kind="labels", values=[1] * N), "CheckFailure: judge_predictions(test AUC): expected scores for auc; "
                                             "observed labels. Hint: record_predictions(key, ..., kind='scores'): "
                                             "use predicted probabilities, not hard predictions."),
    (_record(values=[True] * N), INVALID.format("values that do not fill shape [40] with finite scores")),
    (_record().replace("0.5]", "NaN]"), INVALID.format("values that do not fill shape [40] with finite scores")),
    (_record().replace("0.5]", "Infinity]"), INVALID.format("values that do not fill shape [40] with finite scores")),
    (_record(values=[1e300] * N), INVALID.format("scores of magnitude above 1e+12")),
    (_record(kind="labels", values=[10**400] * N), INVALID.format("labels of magnitude above 2.14748e+09")),
    (_record(schema=2), INVALID.format("a dict without schema 1")),
    ("[" * 100_000 + "]" * 100_000,
     f"CheckFailure: judged(test AUC): the record 'probs' is not valid JSON; {ONLY_JUDGED}"),
    ("\xff\xfe not text", f"CheckFailure: judged(test AUC): the record 'probs' is not valid JSON; {ONLY_JUDGED}"),
    (_record(values=GOOD[:10], shape=[10]), "CheckFailure: judged(test AUC): expected 40 predictions (the first 40 "
                                            "items of pathmnist:test), observed 10"),
    (None, "CheckFailure: judged(test AUC): the test recorded no predictions under 'probs' (was checks.judged "
           "reached?)"),
], ids=["nested", "too-many-dims", "strings", "wrong-kind", "booleans", "nan", "inf", "huge-float",
        "huge-int", "schema", "deep-json", "not-utf8", "too-few", "missing"])
def test_a_malformed_record_fails_its_test_with_a_message(tmp_path: Path, text: str | None, message: str) -> None:
    verdict = _judge(tmp_path, text)
    assert verdict.message == message
    assert verdict.measured == [] and verdict.outputs == []


def test_a_link_a_fifo_and_a_file_too_big_are_never_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "grader-only.json"
    secret.write_text(_record())
    (tmp_path / "evidence").mkdir()
    (tmp_path / "evidence" / "probs.json").symlink_to(secret)
    assert _judge(tmp_path).message == ("CheckFailure: judged(test AUC): the record 'probs' is a link, not the file "
                                        f"checks.judged writes; {ONLY_JUDGED}")
    (tmp_path / "evidence" / "probs.json").unlink()
    os.mkfifo(tmp_path / "evidence" / "probs.json")
    assert _judge(tmp_path).message == ("CheckFailure: judged(test AUC): the record 'probs' is not a regular file "
                                        f"(checks.judged writes one); {ONLY_JUDGED}")
    (tmp_path / "evidence" / "probs.json").unlink()
    monkeypatch.setattr(judge, "MAX_RECORD_BYTES", 100)
    assert _judge(tmp_path, _record()).message == ("CheckFailure: judged(test AUC): the record 'probs' is larger than "
                                                   f"100 bytes; {ONLY_JUDGED}")


def test_a_record_no_rule_foresaw_fails_closed_and_later_calls_are_judged(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise MemoryError("a shape the metric could not hold")

    two = SPEC + "\n" + SPEC.replace('"probs"', '"other"').replace("test AUC", "second AUC")
    (tmp_path / "evidence").mkdir()
    labels = write_pathmnist(tmp_path / "data")
    right = [0.9 if v == 8 else 0.1 for v in labels]
    (tmp_path / "evidence" / "other.json").write_text(_record(key="other", values=right))
    monkeypatch.setattr("medgrade.checks.evidence.evaluate", explode)
    verdict = _judge(tmp_path, _record(), two)
    assert verdict.message == ("CheckFailure: judged(test AUC): the grader could not evaluate the record 'probs' "
                               "(MemoryError); record one prediction per item with checks.judged, as the test does")
    monkeypatch.undo()
    later = _judge(tmp_path, _record(), two)  # the first call fails on its threshold; the second is still judged
    assert later.message.startswith("CheckFailure: judge_predictions(test AUC): expected auc >= 0.900")
    assert [(m["name"], m["passed"]) for m in later.measured] == [("test AUC", False), ("second AUC", True)]


def test_masks_of_the_wrong_shape_or_values_fail_with_what_was_expected(tmp_path: Path) -> None:
    from tests.judge.test_judge import SHAPE, write_wmh

    write_wmh(tmp_path / "data")
    (tmp_path / "evidence").mkdir()
    spec = ('checks.judged("masks", m, metric="dice", at_least=0.65, answers="wmh:test", n=3, name="lesion Dice", '
            'plot="masks")')

    def verdict(shape: tuple[int, ...], value: int = 1) -> judge.Verdict:
        count = 1
        for s in shape:
            count *= s
        record = {"schema": 1, "key": "masks", "kind": "mask", "shape": list(shape), "values": [value] * count}
        (tmp_path / "evidence" / "masks.json").write_text(json.dumps(record))
        return judge_cell(judge_specs(spec, "t"), tmp_path / "evidence", tmp_path / "data", "cpu")

    transposed = verdict((3, 1, *SHAPE[::-1]))
    assert transposed.message == (
        "CheckFailure: judge_predictions(lesion Dice): expected masks of shape (3, 1, 8, 8, 4), one per hidden case; "
        "observed shape (3, 1, 4, 8, 8). Hint: predict a binary mask (n, 1, *spatial) for every case, in order.")
    assert transposed.outputs == [] and transposed.measured == []
    twos = verdict((3, 1, *SHAPE), value=2)
    assert twos.message == (
        "CheckFailure: dice_score(dice): expected a binary prediction mask (0/1 values); observed a NumPy array of "
        "shape (3, 1, 8, 8, 4) and dtype int64 with other values. Hint: threshold probabilities (p > 0.5) or one-hot "
        "the arg-max (monai.transforms.AsDiscrete(argmax=True, to_onehot=C)).")
    assert twos.outputs == []


@pytest.mark.xdist_group("engine")
def test_in_a_real_kernel_a_malformed_record_fails_its_test_and_the_next_test_runs(tmp_path: Path) -> None:
    """Before, a record with an integer too big for int64 raised out of the grader: every later test 'not reached'."""
    import nbformat
    from click.testing import CliRunner

    from medgrade.cli.main import cli
    from medgrade.coordinator.engine import grade_class
    from medgrade.course import Course
    from tests.tiny_course import REPO, TINY_PROFILE, cell

    root = tmp_path / "course"
    (root / "source" / "95_judged").mkdir(parents=True)
    (root / "nbgrader_config.py").write_text((REPO / "nbgrader_config.py").read_text())
    write = ("import json, os\nos.makedirs(os.environ['MEDGRADE_EVIDENCE_DIR'], exist_ok=True)\n"
             "def predict(values):\n    ### BEGIN SOLUTION\n"
             "    record = {'schema': 1, 'key': 'probs', 'kind': 'scores', 'shape': [len(values)], 'values': values}\n"
             "    with open(os.path.join(os.environ['MEDGRADE_EVIDENCE_DIR'], 'probs.json'), 'w') as f:\n"
             "        f.write(json.dumps(record))\n    ### END SOLUTION")
    test = ("### BEGIN HIDDEN TESTS\npredict([0.5] * 40)\nmeasured = judged('probs', None, metric='auc', at_least=0.9, "
            "answers='pathmnist:test', n=40, positive=8, name='test AUC')\n### END HIDDEN TESTS")
    nb = nbformat.v4.new_notebook(cells=[
        cell("def judged(*args, **kwargs):  # stands in for checks.judged: the grader judges the record\n    pass",
             "setup", locked=True),
        cell(write, "predict", solution=True), cell(test, "test_auc", points=3),
        cell("assert 2 + 2 == 4", "test_next", points=1)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "source" / "95_judged" / "judged.ipynb")
    released = CliRunner().invoke(cli, ["release", "95_judged", "--no-execute", "--course-dir", str(root)])
    assert released.exit_code == 0, released.output
    write_pathmnist(tmp_path / "data")
    values = {"huge": "10**400", "nested": "[0.5]", "nan": "float('nan')"}
    for student, value in values.items():
        submitted = nbformat.read(root / "source" / "95_judged" / "judged.ipynb", as_version=4)
        submitted.cells[1].source = write.replace("record = {", f"values = [{value}] * len(values)\n    record = {{")
        folder = root / "submitted" / student / "95_judged"
        folder.mkdir(parents=True)
        nbformat.write(submitted, folder / "judged.ipynb")
    results = {r.student: r for r in grade_class(Course(root), "95_judged", list(values), profile=TINY_PROFILE,
                                                  data_root=tmp_path / "data", workers=2)}
    for student, result in results.items():
        auc, after = result.tests
        assert (auc.status, after.status, result.score) == ("failed", "passed", 1), (student, result.tests)
        assert auc.message.startswith(("CheckFailure: judge_predictions(evidence): expected a valid evidence record",
                                       "CheckFailure: judged(test AUC): the record 'probs' is not valid JSON")), auc
