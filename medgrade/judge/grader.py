"""Judge metric tests outside the kernel, against labels the kernel never reads.

A hidden test calls ``checks.judged(key, predictions, metric=..., at_least=..., answers=...,
n=...)``. In the sandbox that call only writes the predictions as an evidence record. What the
grader judges them by comes from the trusted source notebook: this module reads the call's
literal arguments from the test cell's source (:func:`judge_specs`), never from the kernel, so a
student who patches ``judged`` or writes a record by hand changes only their own predictions.
After the cell ran without error the grader loads the labels (:mod:`medgrade.data.answers`),
judges each record (:func:`judge_cell`) and the test passes only if every judgement does.

The labels are withheld from the kernel: its view of the data file has them shuffled
(:func:`medgrade.data.answers.withheld_view`, mounted by :mod:`medgrade.runner.confine`).
"""

from __future__ import annotations

import ast
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medgrade.errors import CourseError, UsageError
from medgrade.judge.planted import Refused, open_folders, read_planted
from medgrade.profiles import PROFILES, for_profile

__all__ = ["JudgeSpec", "Verdict", "judge_specs", "judge_cell", "forget_records", "MAX_RECORD_BYTES"]

MAX_RECORD_BYTES = 64 * 1024 * 1024  # a 7,180-image score record is about 150 kB
_REQUIRED = ("metric", "at_least", "answers", "n")
_OPTIONAL = ("positive", "name", "plot", "classes", "gain", "hint")


@dataclass(frozen=True)
class JudgeSpec:
    """One ``checks.judged`` call of a test cell, as the source notebook writes it."""

    key: str
    metric: str
    at_least: Any  # a number, or {profile: number}
    answers: str
    n: Any  # an int, or {profile: int}
    positive: int | None = None
    name: str | None = None
    plot: str | None = None
    classes: tuple[str, ...] | None = None
    line: int = 0
    baseline: bool = False  # baseline= predictions were passed: the gain over them is judged too
    gain: Any = None  # a number, or {profile: number}
    hint: str | None = None
    trained_baseline: str | None = None  # baseline="name": the grader trains it (medgrade.data.baselines)

    @property
    def keys(self) -> tuple[str, ...]:
        """The records this call writes: its predictions, and its baseline's where it has one."""
        from medgrade.checks.evidence import baseline_key

        return (self.key, baseline_key(self.key)) if self.baseline else (self.key,)

    @property
    def label(self) -> str:
        return self.name or self.key

    def bound(self, profile: str) -> float:
        return float(for_profile(self.at_least, profile, f"at_least of {self.label}"))  # type: ignore[arg-type]

    def count(self, profile: str) -> int:
        return int(for_profile(self.n, profile, f"n of {self.label}"))  # type: ignore[call-overload]

    def least_gain(self, profile: str) -> float | None:
        return None if self.gain is None else float(for_profile(self.gain, profile, f"gain of {self.label}"))  # type: ignore[arg-type]


def _called(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else None


def _spec(call: ast.Call, where: str) -> JudgeSpec:
    at = f"{where}, line {call.lineno}: checks.judged(...)"
    if len(call.args) > 2 or any(k.arg is None for k in call.keywords):
        raise CourseError(f"{at} takes the key and the predictions, then keyword arguments only")
    given: dict[str, Any] = {}
    named = {k.arg: k.value for k in call.keywords}
    key_node = call.args[0] if call.args else named.pop("key", None)
    named.pop("values", None)
    base_node = named.pop("baseline", None)
    trained = None
    from medgrade.data.baselines import known

    if isinstance(base_node, ast.Constant) and isinstance(base_node.value, str):
        try:
            known(base_node.value)
        except KeyError as e:
            raise CourseError(f"{at}: {e.args[0]}") from None
        trained = base_node.value  # the grader trains it; the kernel writes no record of it
    baseline = base_node is not None and trained is None  # predictions, like values: not a literal
    if key_node is None or (len(call.args) < 2 and "values" not in {k.arg for k in call.keywords}):
        raise CourseError(f"{at} needs a key and the predictions: judged('test_probs', probs, ...)")
    for arg, node in [("key", key_node), *named.items()]:
        if arg not in ("key", *_REQUIRED, *_OPTIONAL):
            raise CourseError(f"{at} has an unknown argument {arg}=; it takes {', '.join(_REQUIRED + _OPTIONAL)}")
        try:
            given[arg] = ast.literal_eval(node)
        except ValueError:
            raise CourseError(f"{at}: {arg}= must be a literal (a number, a string, or a dict of them per "
                              "profile): the grader reads it from the source, never from the kernel") from None
    missing = [a for a in _REQUIRED if a not in given]
    if missing:
        raise CourseError(f"{at} needs {', '.join(m + '=' for m in missing)}")
    if trained is not None and given.get("answers") != known(trained).answers:
        raise CourseError(f"{at}: the baseline {trained!r} predicts the items of {known(trained).answers}, "
                          f"not of {given.get('answers')}")
    if (baseline or trained is not None) != ("gain" in given):
        raise CourseError(f"{at}: baseline= (the predictions to beat) and gain= (by how much) go together")
    for profile in PROFILES:
        for arg in ("at_least", "n", "gain"):
            if isinstance(given.get(arg), dict) and profile not in given[arg]:
                raise CourseError(f"{at}: {arg}= has no value for the {profile!r} profile")
    classes = given.get("classes")
    return JudgeSpec(str(given["key"]), str(given["metric"]), given["at_least"], str(given["answers"]), given["n"],
                     given.get("positive"), given.get("name"), given.get("plot"),
                     tuple(str(c) for c in classes) if classes else None, call.lineno, baseline, given.get("gain"),
                     given.get("hint"), trained)


def judge_specs(source: str, where: str) -> tuple[JudgeSpec, ...]:
    """The ``judged`` calls of a test cell's source, in source order (``where`` names the cell)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ()  # the release lint reports it
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _called(n.func) == "judged"]
    return tuple(_spec(c, where) for c in sorted(calls, key=lambda c: (c.lineno, c.col_offset)))


@dataclass
class Verdict:
    """What the grader concluded about one test cell's records."""

    message: str = ""  # empty: every judgement passed
    measured: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)  # plot records for the notebook


def _parts(evidence_dir: Path) -> tuple[Path, tuple[str, str]]:
    """The grader's sandbox folder, and the kernel-writable steps from it down to ``evidence_dir``."""
    return evidence_dir.parent.parent, (evidence_dir.parent.name, evidence_dir.name)


def forget_records(evidence_dir: Path, keys: list[str]) -> None:
    """Delete the records ``keys`` before their test runs: one left from an earlier cell must not count."""
    anchor, parts = _parts(evidence_dir)
    try:
        with open_folders(anchor, parts) as folder:
            for key in keys:
                try:
                    os.unlink(f"{key}.json", dir_fd=folder)
                except FileNotFoundError:
                    pass
    except OSError:
        return  # no folder yet (or not one the grader will read from): nothing to forget


_REFUSED = {
    "a link": "is a link, not the file checks.judged writes",
    "not a regular file": "is not a regular file (checks.judged writes one)",
    "not readable": "could not be opened",
}


def _read(evidence_dir: Path, key: str) -> Any:
    """The record ``key`` the kernel wrote, opened without following any link it could have planted.

    The kernel can rewrite its own folder while the grader reads (a background thread), so the
    record is read with :func:`medgrade.judge.planted.read_planted`: a symbolic link to a
    grader-side file (another student's result) or a FIFO is refused, never read.
    """
    anchor, parts = _parts(evidence_dir)
    try:
        data = read_planted(anchor, parts, f"{key}.json", max_bytes=MAX_RECORD_BYTES)
    except Refused as e:
        if e.reason == "missing":
            raise LookupError(f"the test recorded no predictions under {key!r} (was checks.judged reached?)") from None
        what = _REFUSED.get(e.reason, f"is {e.reason}")
        raise LookupError(f"the record {key!r} {what}; only checks.judged, called by the test, may write it") from None
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise LookupError(f"the record {key!r} is not valid JSON; only checks.judged, called by the test, "
                          "may write it") from None


def _plot(spec: JudgeSpec, y_true: Any, values: Any, ignore: Any) -> dict[str, Any] | None:
    """The plot output of a judged call, from aggregates only (:mod:`medgrade.checks.heldout`)."""
    from medgrade.checks import heldout
    from medgrade.checks.evidence import scored
    from medgrade.checks.segmentation import dice_score
    from medgrade.results import PLOT_MIME as MIME

    if spec.plot == "masks":
        if values.shape != y_true.shape or values.ndim < 4:
            return None
        record = heldout.dice_cases(dice_score(scored(values, ignore), y_true))
    elif spec.plot == "roc":
        record = heldout.roc_curve(y_true, values)
    elif spec.plot == "confusion":
        record = heldout.confusion_counts(y_true, values, spec.classes)
    else:
        return None
    return {"output_type": "display_data", "metadata": {},
            "data": {MIME: record, "text/plain": f"[medgrade {spec.plot} evidence for the feedback page]"}}


def _counted(evidence_dir: Path, key: str, spec: JudgeSpec, n: int) -> tuple[Any, Any]:
    """The record ``key`` and its array, if it holds one prediction per answer; raises LookupError or CheckFailure."""
    from medgrade.checks.evidence import parse_record

    record = _read(evidence_dir, key)
    _, values = parse_record(record)
    if values.ndim == 0 or values.shape[0] != n:
        raise LookupError(f"expected {n} predictions (the first {n} items of {spec.answers}), observed "
                          f"{values.shape[0] if values.ndim else 'a scalar'}")
    return record, values


def judge_cell(specs: tuple[JudgeSpec, ...], evidence_dir: Path, data_root: Path | None, profile: str,
               seed: int = 0) -> Verdict:
    """Judge each record of a test cell that ran without error; the first failure is the message.

    ``seed`` is the grading seed: a baseline the grader trains is trained at it.

    Judging fails closed: a record the grader cannot evaluate fails this test with a message the
    student can act on, whatever went wrong with it; it never passes, and never stops the run.
    """
    verdict = Verdict()
    for spec in specs:
        try:
            _judge_one(spec, evidence_dir, data_root, profile, verdict, seed)
        except Exception as e:  # a record shaped in a way no rule above foresaw: this test fails
            verdict.message = verdict.message or (
                f"CheckFailure: judged({spec.label}): the grader could not evaluate the record {spec.key!r} "
                f"({type(e).__name__}); record one prediction per item with checks.judged, as the test does")
    return verdict


def _judge_one(spec: JudgeSpec, evidence_dir: Path, data_root: Path | None, profile: str, verdict: Verdict,
               seed: int = 0) -> None:
    """Judge the records of one ``judged`` call into ``verdict``."""
    from medgrade.checks.evidence import baseline_key, evaluate, kind_for, make_record
    from medgrade.checks.failure import CheckFailure
    from medgrade.checks.measure import comparison
    from medgrade.data.answers import load_answer
    from medgrade.errors import DataError

    bound, n = spec.bound(profile), spec.count(profile)
    try:
        record, values = _counted(evidence_dir, spec.key, spec, n)
        baseline = _counted(evidence_dir, baseline_key(spec.key), spec, n)[0] if spec.baseline else None
    except LookupError as e:
        verdict.message = verdict.message or f"CheckFailure: judged({spec.label}): {e}"
        return
    except CheckFailure as e:
        verdict.message = verdict.message or f"CheckFailure: {e}"
        return
    try:
        answer = load_answer(data_root, spec.answers, n, spec.positive)
    except UsageError as e:  # the grader's data, not the student's work
        verdict.message = verdict.message or f"GraderError: {spec.label} could not be judged: {e}"
        return
    if spec.trained_baseline is not None:
        from medgrade.data.baselines import baseline_predictions

        try:
            trained = baseline_predictions(spec.trained_baseline, Path(data_root or "."), profile, seed)
        except DataError as e:  # the grader's data or machine, not the student's work
            verdict.message = verdict.message or f"GraderError: {spec.label} could not be judged: {e}"
            return
        baseline = make_record(baseline_key(spec.key), trained[:n], kind_for(spec.metric))
    outcome = evaluate(record, answer.truth, metric=spec.metric, at_least=bound, name=spec.label,
                       ignore=answer.ignore, hint=spec.hint, baseline=baseline, gain=spec.least_gain(profile))
    if outcome.failure is not None:
        verdict.message = verdict.message or f"CheckFailure: {outcome.failure}"
    verdict.measured.extend(comparison("judged", figure, value, threshold)
                            for figure, value, threshold in outcome.measured)
    if outcome.failure is not None and outcome.failure.value is None:
        return  # a record the metric could not be computed from: nothing to draw either
    plot = _plot(spec, answer.truth, values, answer.ignore)
    if plot is not None:
        verdict.outputs.append(plot)
