"""Authoring mistakes in a source notebook that would make grades wrong.

nbgrader reads a number displayed by a test cell as *partial credit*: a hidden test ending in
``checks.check_accuracy(...)`` (which returns the measured accuracy) would award 0.88 of the
points instead of full marks. Test cells must end in a statement, not a value-returning call.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import nbformat

__all__ = ["lint_notebook"]


def _value_returning_checks() -> set[str]:
    import medgrade.checks as checks

    names = set()
    for name in getattr(checks, "__all__", []):
        fn = getattr(checks, name)
        if callable(fn) and not isinstance(fn, type):
            ret = inspect.signature(fn).return_annotation
            if ret not in ("None", None, inspect.Signature.empty):
                names.add(name)
    return names


def _called_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        f = node.func
        return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
    return None


def lint_notebook(path: Path) -> list[str]:
    """Problems in the grade cells of ``path``, each naming the cell and the fix."""
    returning = _value_returning_checks()
    problems = []
    for cell in nbformat.read(path, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if not (meta.get("grade") and cell.cell_type == "code"):
            continue
        try:
            body = ast.parse(cell.source).body
        except SyntaxError as e:
            problems.append(f"{path.name}: test cell {meta['grade_id']} does not parse: {e.msg}")
            continue
        problems.extend(_judged_problems(path, meta["grade_id"], cell.source))
        last = body[-1] if body else None
        if isinstance(last, ast.Expr) and (
            isinstance(last.value, ast.Constant) or _called_name(last.value) in returning
        ):
            problems.append(
                f"{path.name}: test cell {meta['grade_id']} ends in an expression whose value "
                "nbgrader would read as partial credit; assign it (`measured = ...`)"
            )
    return problems


def _judged_problems(path: Path, gid: str, source: str) -> list[str]:
    """``checks.judged`` calls the grader could not read or judge, each with the fix."""
    from medgrade.checks.evidence import PLOTS
    from medgrade.checks.metrics import METRICS
    from medgrade.data.answers import ANSWER_KEYS
    from medgrade.errors import CourseError
    from medgrade.judge.grader import judge_specs

    where = f"{path.name}: test cell {gid}"
    try:
        specs = judge_specs(source, where)
    except CourseError as e:
        return [str(e)]
    problems = []
    for spec in specs:
        at = f"{where}, line {spec.line}: checks.judged({spec.key!r}, ...)"
        if spec.metric not in (*METRICS, "dice"):
            problems.append(f"{at}: unknown metric {spec.metric!r}; use one of {', '.join((*METRICS, 'dice'))}")
        if spec.answers not in ANSWER_KEYS:
            problems.append(f"{at}: unknown answer key {spec.answers!r}; known: {', '.join(sorted(ANSWER_KEYS))}")
        elif (ANSWER_KEYS[spec.answers].kind == "masks") != (spec.metric == "dice"):
            problems.append(f"{at}: {spec.answers} holds {ANSWER_KEYS[spec.answers].kind}; metric {spec.metric!r} "
                            f"needs {'masks' if spec.metric == 'dice' else 'class labels'}")
        if spec.positive is not None and spec.metric == "dice":
            problems.append(f"{at}: positive= makes class labels binary; a Dice is judged on masks")
        if spec.plot is not None and spec.plot not in PLOTS:
            problems.append(f"{at}: plot must be one of {', '.join(PLOTS)}, got {spec.plot!r}")
    return problems

