"""Forged verdicts: a blank notebook with one line of tampering, graded beside honest students.

Before the grader decided verdicts itself, every tamperer below earned full marks on a blank
notebook (a patched traceback display or kernel method, an input or AST transformer, an extension
loaded by magic, ``skip-execution`` tags, asserts compiled away) and the leakers put the hidden
test's source into their own feedback. Now each scores what its code deserves (blank plus
tampering: 0), a finding names what was tried, the honest students score as if alone, and no
line of hidden source and no file from outside the course reaches any result, feedback page,
integrity report or export.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from medgrade.coordinator.engine import grade_class
from medgrade.course import Course
from medgrade.intake.scrub import MASK
from medgrade.reports.class_report import integrity_flags
from medgrade.runner.execute import TAMPERED
from tests.tiny_course import TINY_PROFILE, cell, release_course

pytestmark = pytest.mark.xdist_group("engine")

ASSIGNMENT, NOTEBOOK = "96_verdicts", "verdicts.ipynb"
HIDDEN_DOUBLE = [
    "# the hidden cases: negative numbers and a threshold of 0.4242",
    "assert double(-3) == -6, 'double(-3) should be -6'",
    "for k in range(5):",
    "    assert double(k) == 2 * k",
]
HIDDEN_TRIPLE = ["assert triple(5) == 15", "assert triple(-7) == -21"]
TEST_DOUBLE = "assert double(2) == 4\n### BEGIN HIDDEN TESTS\n" + "\n".join(HIDDEN_DOUBLE) + "\n### END HIDDEN TESTS"
TEST_TRIPLE = "assert triple(1) == 3\n### BEGIN HIDDEN TESTS\n" + "\n".join(HIDDEN_TRIPLE) + "\n### END HIDDEN TESTS"
RIGHT = {"double": "def double(x):\n    return 2 * x", "triple": "def triple(x):\n    return 3 * x"}
SECRET = "grader-secret-7f3a"  # in a file outside the course; no result may ever quote it

# A blank notebook (the release) with this cell added before the first test: each earned 5/5.
TAMPERERS = {
    "showtraceback": "get_ipython().showtraceback = lambda *a, **k: None",
    "custom_exc": "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)",
    "error_display": "get_ipython()._showtraceback = lambda *a, **k: None",
    "excepthook": "import sys\nsys.excepthook = lambda *a: None\nsys.displayhook = lambda *a: None",
    "input_transformer": "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])",
    "ast_transformer": "import ast\nclass Blank(ast.NodeTransformer):\n    def visit_Module(self, node):\n"
                       "        return ast.Module(body=[ast.Pass()], type_ignores=[])\n"
                       "get_ipython().ast_transformers.append(Blank())",
    "do_execute": "k = get_ipython().kernel\n"
                  "async def fake(code, silent, store_history=True, user_expressions=None, allow_stdin=False, **kw):\n"
                  "    return {'status': 'ok', 'execution_count': k.execution_count, 'payload': [],"
                  " 'user_expressions': {}}\n"
                  "k.do_execute = fake",
    "session_send": "s = get_ipython().kernel.session\n_send = s.send\n"
                    "def send(stream, msg_or_type, content=None, *a, **kw):\n"
                    "    if msg_or_type == 'error':\n        return None\n"
                    "    if msg_or_type == 'execute_reply' and content is not None:\n"
                    "        content = {**content, 'status': 'ok'}\n"
                    "    return _send(stream, msg_or_type, content, *a, **kw)\n"
                    "s.send = send",
    # Asserts compiled away: IPython compiles every cell with the builtin compile().
    "optimizer": "import builtins\n_compile = builtins.compile\n"
                 "def compile(source, filename, mode, flags=0, dont_inherit=False, optimize=-1, **kw):\n"
                 "    return _compile(source, filename, mode, flags, dont_inherit, 2)\n"
                 "builtins.compile = compile",
    # Aimed at tests only: a cell holding the released text of a test becomes `pass`.
    "targeted": "PUBLIC = ['assert double(2) == 4', 'assert triple(1) == 3']\n"
                "get_ipython().input_transformers_post.append(\n"
                "    lambda lines: ['pass\\n'] if any(p in ''.join(lines) for p in PUBLIC) else lines)",
}
MAGIC = ["%%writefile forge.py\nimport ast\nclass Blank(ast.NodeTransformer):\n    def visit_Module(self, node):\n"
         "        return ast.Module(body=[ast.Pass()], type_ignores=[])\ndef load_ipython_extension(ip):\n"
         "    ip.ast_transformers.append(Blank())\n", "%load_ext forge"]
# Right on the public case, then raising with the text of the running cell (hidden part included).
LEAKERS = {
    "leak_in": "raise ValueError(In[-1])",
    "leak_ih": "raise ValueError(repr(_ih[-1]))",
    "leak_history": "raise ValueError(get_ipython().history_manager.input_hist_raw[-1])",
    "leak_frame": "import inspect, sys\nraise ValueError(inspect.getsource(sys._getframe(1)))",
    "leak_structured": "class CheckFailure(AssertionError):\n"
                       "    def to_dict(self):\n"
                       "        return {'check': 'check_x', 'name': None, 'expected': 'x', 'observed': In[-1],"
                       " 'hint': '', 'message': str(self)}\n"
                       "raise CheckFailure(In[-1])",
    "leak_plot": "from medgrade.student import publish\n"
                 "publish('confusion', y_true=[0, 1], y_pred=[0, 1], labels=In[-1].splitlines()[:8])\n"
                 "raise ValueError('see the plot')",
}


def _make_course(root: Path) -> Course:
    return Course(release_course(root, ASSIGNMENT, NOTEBOOK, [
        cell("import sys", "setup", locked=True),
        cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION", "double", solution=True),
        cell(TEST_DOUBLE, "test_double", points=2),
        cell("def triple(x):\n    ### BEGIN SOLUTION\n    return 3 * x\n    ### END SOLUTION", "triple", solution=True),
        cell(TEST_TRIPLE, "test_triple", points=3),
    ], folders=True))


def _submit(course: Course, student: str, *, solutions: dict[str, str] | None = None, extra: list[str] = (),
            tags: list[str] | None = None, nbgrader: dict[str, dict] | None = None) -> None:
    """The release (blank), with ``solutions`` filled in, ``extra`` cells before the first test, test ``tags``,
    and ``nbgrader`` metadata changed (grade id -> keys set)."""
    nb = nbformat.read(course.release / ASSIGNMENT / NOTEBOOK, as_version=4)
    for c in nb.cells:
        meta = c.metadata.get("nbgrader", {})
        if solutions and meta.get("grade_id") in solutions:
            c.source = solutions[meta["grade_id"]]
        meta.update((nbgrader or {}).get(meta.get("grade_id"), {}))
        if tags is not None and meta.get("grade"):
            c.metadata["tags"] = tags
    for i, source in enumerate(extra):
        nb.cells.insert(2 + i, nbformat.v4.new_code_cell(source))
    folder = course.submitted / student / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / NOTEBOOK)


def _leaker(body: str) -> dict[str, str]:
    indented = "\n".join("    " + line for line in body.splitlines())
    return {**RIGHT, "double": f"def double(x):\n    if x == 2:\n        return 4\n{indented}"}


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    base = tmp_path_factory.mktemp("verdicts")
    course = _make_course(base / "course")
    (base / "secret.txt").write_text(f"/{SECRET}\n")  # outside the course: only the grader can read it
    _submit(course, "honest", solutions=RIGHT)
    _submit(course, "wrong", solutions={**RIGHT, "triple": "def triple(x):\n    return 3 * abs(x)"})
    _submit(course, "blank")
    _submit(course, "tags", tags=["skip-execution", "raises-exception"])
    for student, code in TAMPERERS.items():
        _submit(course, student, extra=[code])
    _submit(course, "magic", extra=MAGIC)
    # A solution cell made a 100-point graded cell: it runs cleanly, so it once passed as a test.
    _submit(course, "promoter", solutions={"double": "def double(x):\n    return 0"},
            nbgrader={"double": {"grade": True, "points": 100}})
    _submit(course, "right_but_forging", solutions=RIGHT, extra=[TAMPERERS["input_transformer"]])
    for student, body in LEAKERS.items():
        _submit(course, student, solutions=_leaker(body))
    # Where the grader once read the sandbox launcher's report: a link to a grader-only file, a FIFO.
    plant = ("import os\nfor where in ('../.medgrade-writable', '.medgrade-writable'):\n    try:\n"
             "        if os.path.lexists(where):\n            os.remove(where)\n        {}\n    except OSError:\n"
             "        pass")
    _submit(course, "planter_link", solutions=RIGHT,
            extra=[plant.format(f"os.symlink({str(base / 'secret.txt')!r}, where)")])
    _submit(course, "planter_fifo", solutions=RIGHT, extra=[plant.format("os.mkfifo(where)")])
    students = sorted(p.name for p in course.submitted.iterdir())
    results = grade_class(course, ASSIGNMENT, students, profile=TINY_PROFILE, data_root=None, workers=2)
    return course, {r.student: r for r in results}


def _messages(result) -> list[str]:
    return [t.message for t in result.tests]


def test_a_blank_notebook_and_one_with_tags_score_zero(attacked) -> None:
    _, r = attacked
    assert (r["blank"].score, _messages(r["blank"]), r["blank"].findings) == \
           (0, ["NotImplementedError", "NotImplementedError"], ())
    assert (r["tags"].score, _messages(r["tags"])) == (0, ["NotImplementedError", "NotImplementedError"])
    assert r["tags"].findings == (
        f"{NOTEBOOK}: cell test_double was edited (its tags); it was restored from the assignment",
        f"{NOTEBOOK}: cell test_triple was edited (its tags); it was restored from the assignment")


@pytest.mark.parametrize("student", ["showtraceback", "custom_exc", "error_display"])
def test_hiding_the_traceback_no_longer_hides_the_failure(attacked, student: str) -> None:
    _, r = attacked
    assert (r[student].score, _messages(r[student])) == (0, ["NotImplementedError", "NotImplementedError"])
    runtime = [f for f in r[student].findings if "error display patched" in f]
    assert runtime == [f"{NOTEBOOK}: integrity: tampering: the kernel reported an exception without sending its "
                       "traceback (error display patched) (a copy of test_double whose first line must fail, "
                       "a copy of test_triple whose first line must fail, test test_double, test test_triple)"]


def test_exception_and_display_hooks_change_nothing_and_are_named(attacked) -> None:
    _, r = attacked
    assert (r["excepthook"].score, _messages(r["excepthook"])) == (0, ["NotImplementedError", "NotImplementedError"])
    assert "integrity: tampering in cell #3, line 2: uses excepthook (an exception hook)" in r["excepthook"].findings
    assert "integrity: tampering in cell #3, line 3: uses displayhook (the display hook)" in r["excepthook"].findings


@pytest.mark.parametrize(("student", "named"), [
    ("input_transformer", "integrity: tampering in cell #3, line 1: uses input_transformers_post "
                          "(IPython's input transformers)"),
    ("ast_transformer", "integrity: tampering in cell #3, line 5: uses ast_transformers (IPython's AST transformers)"),
    ("do_execute", "integrity: tampering in cell #3, line 4: uses do_execute (the kernel's execute handler)"),
    ("session_send", "integrity: tampering in cell #3, line 1: uses get_ipython().kernel (the kernel's internals)"),
    ("optimizer", "integrity: patching in cell #3, line 5: assigns builtins.compile"),
    ("targeted", "integrity: tampering in cell #3, line 2: uses input_transformers_post "
                 "(IPython's input transformers)"),
    ("magic", "integrity: tampering in cell #4, line 1: uses the magic %load_ext forge"),
    ("right_but_forging", "integrity: tampering in cell #3, line 1: uses input_transformers_post "
                          "(IPython's input transformers)"),
])
def test_a_kernel_that_lies_about_a_probe_scores_zero(attacked, student: str, named: str) -> None:
    _, r = attacked
    assert (r[student].score, _messages(r[student])) == (0, [TAMPERED, TAMPERED])
    assert named in r[student].findings
    lied = [f for f in r[student].findings if "the kernel lied" in f]
    assert lied == [f"{NOTEBOOK}: integrity: tampering: the kernel lied about 2 cell(s) whose outcome the grader "
                    "knew (a copy of test_double whose first line must fail, reported passed; a copy of test_triple "
                    "whose first line must fail, reported passed): none of its verdicts was trusted and every test "
                    "scored 0"]


def test_the_magic_extension_is_read_as_ipython_reads_it(attacked) -> None:
    _, r = attacked
    assert "integrity: tampering in cell #3, line 7: uses ast_transformers (IPython's AST transformers)" in \
           r["magic"].findings


def test_hidden_source_raised_by_the_student_is_scrubbed(attacked) -> None:
    _, r = attacked
    for student in LEAKERS:
        double = r[student].tests[0]
        assert (r[student].score, double.points, double.status) == (3, 0, "failed"), r[student].tests
    first, rest = _messages(r["leak_in"])[0].split("\n", 1)
    assert first.startswith("ValueError: assert ")  # the grader's first line (see medgrade.runner.probes)
    assert rest == (f"assert double(2) == 4\n### BEGIN HIDDEN TESTS\n{MASK}\n{MASK}\n{MASK}\n    {MASK}\n"
                    "### END HIDDEN TESTS")
    assert _messages(r["leak_structured"])[0].startswith("CheckFailure: check_x: expected x; observed ")
    assert "input history" in " ".join(r["leak_in"].findings)


def test_planted_launcher_reports_are_neither_followed_nor_waited_for(attacked) -> None:
    _, r = attacked
    for student in ("planter_link", "planter_fifo"):
        assert r[student].score == 5
        assert not any("could write outside its folder" in f for f in r[student].findings), r[student].findings


def _everything_a_student_or_ta_reads(course: Course) -> dict[str, str]:
    """Every result, feedback page, integrity report, export and summary an attacked batch produces."""
    from medgrade.cli.main import cli
    from medgrade.gradebook import plots
    from medgrade.gradebook.exports import gradescope_csv, nbgrader_csv
    from medgrade.interop.gradescope import hidden_test_ids, results_json
    from medgrade.reports.feedback import write_feedback
    from medgrade.results import SubmissionResult

    texts = {str(p): p.read_text() for p in (course.gradebook_dir / "results" / ASSIGNMENT).glob("*.json")}
    drawn: list[str] = []  # the text drawn into the pages' images: labels of the plots

    def confusion(y_true, y_pred, labels=None):  # type: ignore[no-untyped-def]
        drawn.extend(labels or [])
        return real(y_true, y_pred, labels)

    real = plots.confusion
    plots.confusion = confusion
    try:
        out = write_feedback(course, ASSIGNMENT)
    finally:
        plots.confusion = real
    assert drawn, "the leaking plot was not drawn"
    texts["labels drawn in the feedback plots"] = "\n".join(drawn)
    texts.update({str(p): p.read_text() for p in (*out.pages, out.report)})
    summary = CliRunner().invoke(cli, ["grade", ASSIGNMENT, "--course-dir", str(course.root), "--workers", "1"])
    texts["grade summary"] = summary.output  # a rerun: the table and the review lines, nothing regraded
    texts["integrity.csv"] = (course.gradebook_dir / "integrity" / f"{ASSIGNMENT}.csv").read_text()
    texts["gradescope.csv"] = gradescope_csv(course, ASSIGNMENT)
    texts["nbgrader.csv"] = nbgrader_csv(course, ASSIGNMENT)
    hidden = hidden_test_ids(course.source_notebooks(ASSIGNMENT))
    for path in (course.gradebook_dir / "results" / ASSIGNMENT).glob("*.json"):
        result = SubmissionResult.from_dict(json.loads(path.read_text()))
        texts[f"results.json of {path.stem}"] = json.dumps(results_json(result, hidden))
    return texts


def test_no_hidden_line_and_no_outside_file_reaches_anything_a_student_reads(attacked) -> None:
    course, r = attacked
    texts = _everything_a_student_or_ta_reads(course)
    assert len(texts) > len(r) * 3
    hidden = [line.strip() for line in HIDDEN_DOUBLE + HIDDEN_TRIPLE]
    for where, text in texts.items():
        for line in hidden:
            for form in (line, json.dumps(line)[1:-1], repr(line)[1:-1]):
                assert form not in text, f"{line!r} in {where}"
        assert SECRET not in text, where
    assert "threshold of 0.4242" not in " ".join(texts.values())


def test_a_solution_cell_made_a_graded_cell_earns_nothing_and_is_named(attacked) -> None:
    _, r = attacked
    promoter = r["promoter"]
    assert (promoter.score, promoter.max_score, [t.grade_id for t in promoter.tests]) == \
           (0, 5, ["test_double", "test_triple"])
    assert promoter.findings == (f"{NOTEBOOK}: cell double had its nbgrader metadata edited (it decides what is "
                                 "graded and for how many points); it was restored from the assignment",)
    assert integrity_flags(promoter) == list(promoter.findings)  # the class report lists it for review, however worded


def test_honest_students_grade_as_without_attackers(attacked) -> None:
    course, r = attacked
    alone = grade_class(course, ASSIGNMENT, ["honest", "wrong"], profile=TINY_PROFILE, data_root=None, workers=1,
                        force=True)
    for a in alone:
        assert [(t.grade_id, t.points, t.status, t.message) for t in a.tests] == \
               [(t.grade_id, t.points, t.status, t.message) for t in r[a.student].tests]
        assert a.findings == r[a.student].findings == ()
    assert (r["honest"].score, r["wrong"].score) == (5, 2)
    assert _messages(r["wrong"]) == ["", "AssertionError"]


def test_without_probes_the_forgery_works_and_every_result_says_they_were_off(attacked, monkeypatch) -> None:
    """What the probes are for: the same notebook, graded with them switched off, earns full marks."""
    from medgrade.envvars import PROBES
    from medgrade.runner.probes import OFF_FINDING

    course, r = attacked
    monkeypatch.setenv(PROBES, "0")
    (off,) = grade_class(course, ASSIGNMENT, ["input_transformer"], profile=TINY_PROFILE, data_root=None, workers=1,
                         force=True)
    assert (off.score, r["input_transformer"].score) == (5, 0)
    assert f"{NOTEBOOK}: {OFF_FINDING}" in off.findings and f"{NOTEBOOK}: {OFF_FINDING}" not in off.flags


def test_the_nbgrader_engine_is_forged_and_says_it_is_not_tamper_resistant(attacked) -> None:
    """Last in this file: it regrades two students with nbgrader, for comparison."""
    from medgrade.cli.grade import NOT_TAMPER_RESISTANT
    from medgrade.cli.main import cli

    course, r = attacked
    run = CliRunner().invoke(cli, ["grade", ASSIGNMENT, "--engine", "nbgrader", "--workers", "1", "--force",
                                   "--student", "input_transformer", "--student", "blank",
                                   "--course-dir", str(course.root)])
    assert run.exit_code == 0, run.output
    assert NOT_TAMPER_RESISTANT in run.output
    theirs = {p.stem: json.loads(p.read_text()) for p in (course.gradebook_dir / "results" / ASSIGNMENT).glob("*.json")}
    assert (theirs["blank"]["score"], theirs["input_transformer"]["score"]) == (0, 5)  # forged: full marks
    assert r["input_transformer"].score == 0  # the medgrade engine's verdict on the same notebook
