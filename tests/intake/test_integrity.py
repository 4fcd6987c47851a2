"""The integrity scan: honest code is never flagged, each trick is, with cell, line and detail."""

from __future__ import annotations

import csv
import glob
import io
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from medgrade.intake.integrity import integrity_csv, runtime_flags, scan_notebook
from medgrade.reports.class_report import integrity_flags
from medgrade.results import Stop, SubmissionResult, TestResult
from medgrade.runner.job import _locked_source
from medgrade.runner.probes import OFF_FINDING
from tests.conftest import REPO

SETUP = "import torch\nfrom medgrade import checks\nimport numpy as np"


def _nb(*sources: str):
    cells = []
    for i, src in enumerate(sources):
        c = new_code_cell(src)
        c.metadata["nbgrader"] = {"grade_id": f"answer{i}", "solution": True, "grade": False, "locked": False}
        cells.append(c)
    test = new_code_cell("import os\nos._exit(1)  # a locked test cell is not the student's")
    test.metadata["nbgrader"] = {"grade_id": "test_x", "grade": True, "locked": True, "points": 1}
    return new_notebook(cells=[*cells, test])


def _messages(*sources: str) -> list[str]:
    return [f.message() for f in scan_notebook(_nb(*sources), locked_imports=SETUP)]


@pytest.mark.parametrize("path", sorted(glob.glob(str(REPO / "source" / "*" / "*.ipynb"))),
                         ids=lambda p: Path(p).parent.name)
def test_reference_solutions_raise_no_flag(path: str) -> None:
    nb = nbformat.read(path, as_version=4)
    assert scan_notebook(nb, locked_imports=_locked_source(nb)) == []


def test_honest_code_with_torch_settings_and_relative_paths_is_clean() -> None:
    assert _messages("torch.backends.cudnn.deterministic = True\nmodel = torch.nn.Linear(2, 2)\n"
                     "x = np.load('data/pathmnist.npz')\nmodel.weight.data.zero_()\nself_x = 3") == []


@pytest.mark.parametrize(("code", "expected"), [
    ("checks.check_close = lambda *a, **k: None",
     "patching in cell answer0, line 1: assigns medgrade.checks.check_close"),
    ("import torch as T\nT.allclose = lambda *a, **k: True",
     "patching in cell answer0, line 2: assigns torch.allclose"),
    ("setattr(checks, 'check_auc', print)", "patching in cell answer0, line 1: setattr() on medgrade.checks"),
    ("import builtins\nbuiltins.len = lambda x: 0", "patching in cell answer0, line 2: assigns builtins.len"),
    ("from medgrade.checks import metrics\nmetrics.check_auc = None",
     "patching in cell answer0, line 2: assigns medgrade.checks.metrics.check_auc"),
])
def test_patching_the_libraries_checks_rely_on_is_flagged(code: str, expected: str) -> None:
    assert f"integrity: {expected}" in _messages(code)


@pytest.mark.parametrize(("code", "expected"), [
    ("import sys\nf = sys._getframe(1)", "introspection in cell answer0, line 2: calls sys._getframe()"),
    ("import os\nGRADED = 'MEDGRADE_PROFILE' in os.environ",
     "introspection in cell answer0, line 2: reads the grader's variable MEDGRADE_PROFILE"),
    ("import sys\ndel sys.modules['medgrade.checks']", "introspection in cell answer0, line 2: uses sys.modules"),
    ("text = open('/work/course/source/a/a.ipynb').read()",
     "file access in cell answer0, line 1: absolute path '/work/course/source/a/a.ipynb'"),
    ("text = open('../../gradebook/gradebook.db', 'rb').read()",
     "file access in cell answer0, line 1: path outside the folder '../../gradebook/gradebook.db'"),
    ("import subprocess\nsubprocess.run(['ls'])", "process in cell answer0, line 1: imports subprocess"),
    ("import os\nos.kill(os.getppid(), 9)", "process in cell answer0, line 2: calls os.kill()"),
])
def test_introspection_file_and_process_tricks_are_flagged(code: str, expected: str) -> None:
    assert f"integrity: {expected}" in _messages(code)


@pytest.mark.parametrize(("code", "expected"), [
    ("from medgrade.data import pathmnist\nlabels = pathmnist.split_labels('test', 0)",
     "held-out data in cell answer0, line 1: imports medgrade.data.pathmnist, the stand-ins' generator"),
    ("from medgrade.data.wmh import case", "held-out data in cell answer0, line 1: imports medgrade.data.wmh"),
    ("import medgrade.data.heldout as h", "held-out data in cell answer0, line 1: imports medgrade.data.heldout"),
    ("key = open(os.path.join(DATA_DIR, '.heldout-key'), 'rb').read()",
     "held-out data in cell answer0, line 1: names the held-out key"),
])
def test_drawing_the_held_out_data_again_is_flagged(code: str, expected: str) -> None:
    assert any(m.startswith(f"integrity: {expected}") for m in _messages(code)), _messages(code)


def test_finding_the_data_root_is_not_flagged() -> None:
    assert _messages("from medgrade.data.root import resolve_root\nfrom medgrade.data import resolve_root as r\n"
                     "x = np.load(resolve_root() / 'pathmnist.npz')") == []


def test_flags_name_the_cell_students_added_and_skip_syntax_errors() -> None:
    nb = _nb("x = 1")
    nb.cells.insert(1, new_code_cell("import socket\ns = socket.socket()"))
    nb.cells.append(new_code_cell("def broken(:"))
    assert [f.message() for f in scan_notebook(nb)] == ["integrity: process in cell #2, line 1: imports socket"]


def test_runtime_signals_and_the_class_csv() -> None:
    r = SubmissionResult("ada", "a", "graded", (
        TestResult("t1", 0, 1, "not_run", "not reached: the kernel ran out of memory (over the 600 MB cap) in cell 3",
                   Stop.MEMORY),
        TestResult("t2", 0, 1, "failed", "the test ran past the 4 s per-cell limit and was interrupted",
                   Stop.CELL_LIMIT),
        TestResult("t3", 0, 1, "not_run", "not reached: the kernel ran out of memory (over the 600 MB cap) in cell 3",
                   Stop.MEMORY),
        # a student's exception that reads like the grader's: no runtime signal
        TestResult("t4", 0, 1, "failed", "RuntimeError: the kernel died; the notebook ran past its budget",
                   error="RuntimeError"),
    ), findings=("integrity: process in cell answer0, line 2: calls os.kill()", "a.ipynb: cell t1 was edited",
                 "a.ipynb: the kernel was not sandboxed"),  # flags, as grading records them, and a condition
        flags=("integrity: process in cell answer0, line 2: calls os.kill()", "a.ipynb: cell t1 was edited"))
    assert runtime_flags(r) == ["integrity: runtime: the kernel ran out of memory",
                                "integrity: runtime: a test cell ran past its time limit"]
    lines = integrity_csv([r, SubmissionResult("bob", "a", "graded")]).splitlines()
    assert lines == [
        "student,kind,finding",
        'ada,flag,"integrity: process in cell answer0, line 2: calls os.kill()"',
        'ada,flag,"a.ipynb: cell t1 was edited"',
        'ada,grader,"a.ipynb: the kernel was not sandboxed"',
        'ada,runtime,"integrity: runtime: the kernel ran out of memory"',
        'ada,runtime,"integrity: runtime: a test cell ran past its time limit"',
    ]


def test_the_class_csv_goes_by_the_flags_grading_recorded_not_by_wording() -> None:
    edited = "a.ipynb: cell double had its nbgrader metadata edited; it was restored from the assignment"
    probes_off = f"a.ipynb: {OFF_FINDING}"
    r = SubmissionResult("ada", "a", "graded", findings=(edited, OFF_FINDING, probes_off),
                         flags=(edited,))  # a flag without the prefix; conditions of grading worded with it
    assert integrity_csv([r]).splitlines()[1:] == [
        f'ada,flag,"{edited}"',
        f'ada,grader,"{OFF_FINDING}"',
        f'ada,grader,"{probes_off}"',
    ]
    old = r.to_dict()
    del old["flags"]  # a result written before flags were recorded: the results module reads them from the findings
    for result in (r, SubmissionResult.from_dict(old)):  # the CSV flags what the class report lists for review
        flagged = [row for row in csv.reader(io.StringIO(integrity_csv([result]))) if row[1] == "flag"]
        assert [row[2] for row in flagged] == integrity_flags(result)


@pytest.mark.parametrize(("code", "expected"), [
    ("get_ipython().showtraceback = lambda *a, **k: None",
     "tampering in cell answer0, line 1: uses showtraceback (IPython's traceback display)"),
    ("ip = get_ipython()\nip.input_transformers_post.append(lambda lines: ['pass\\n'])",
     "tampering in cell answer0, line 2: uses input_transformers_post (IPython's input transformers)"),
    ("import ast\nget_ipython().ast_transformers.append(ast.NodeTransformer())",
     "tampering in cell answer0, line 2: uses ast_transformers (IPython's AST transformers)"),
    ("k = get_ipython().kernel",
     "tampering in cell answer0, line 1: uses get_ipython().kernel (the kernel's internals)"),
    ("import sys\nsys.excepthook = print", "tampering in cell answer0, line 2: uses excepthook (an exception hook)"),
    ("import sys\nsys.displayhook = print", "tampering in cell answer0, line 2: uses displayhook (the display hook)"),
    ("def jump(frame, event, arg):\n    frame.f_lineno += 1\n    return jump",
     "tampering in cell answer0, line 2: uses f_lineno (a frame's current line (jumping over code))"),
    ("import threading\nthreading.settrace(print)", "tampering in cell answer0, line 2: calls threading.settrace()"),
    ("get_ipython().events.register('pre_run_cell', print)",
     "tampering in cell answer0, line 1: registers an IPython event hook (code run around every cell)"),
    ("from ipykernel.ipkernel import IPythonKernel", "tampering in cell answer0, line 1: imports ipykernel.ipkernel "
                                                     "(the kernel's internals)"),
    ("def f():\n    raise ValueError(In[-1])", "input history in cell answer0, line 2: uses In"),
    ("text = _ih[-1]", "input history in cell answer0, line 1: uses _ih"),
    ("h = get_ipython().history_manager", "input history in cell answer0, line 1: uses history_manager"),
])
def test_tampering_with_the_interpreter_or_kernel_is_flagged(code: str, expected: str) -> None:
    assert f"integrity: {expected}" in _messages(code)


@pytest.mark.parametrize(("code", "expected"), [
    ("%load_ext forge\nx = 1", "tampering in cell answer0, line 1: uses the magic %load_ext forge"),
    ("%%writefile forge.py\nimport IPython\ndef load_ipython_extension(ip):\n    ip.ast_transformers.append(1)",
     "tampering in cell answer0, line 4: uses ast_transformers (IPython's AST transformers)"),
    ("%%writefile forge.py\nx = 1", "tampering in cell answer0, line 1: uses the magic %%writefile forge.py"),
    ("x = 1\n%time get_ipython().showtraceback = None",
     "tampering in cell answer0, line 2: uses showtraceback (IPython's traceback display)"),
    ("%%capture\nimport sys\nsys._getframe(0)", "introspection in cell answer0, line 3: calls sys._getframe()"),
    ("!cat /etc/passwd", "process in cell answer0, line 1: runs the shell command 'cat /etc/passwd'"),
    ("%%bash\nls", "process in cell answer0, line 1: runs shell code with %%bash"),
    ("%config InlineBackend.figure_format = 'svg'",
     "tampering in cell answer0, line 1: uses the magic %config InlineBackend.figure_format = 'svg'"),
])
def test_cells_with_magics_are_scanned_too(code: str, expected: str) -> None:
    assert f"integrity: {expected}" in _messages(code)


def test_everyday_magics_and_ipython_display_are_not_flagged() -> None:
    assert _messages("%matplotlib inline\n%load_ext autoreload\n%autoreload 2\nfrom IPython.display import display\n"
                     "import re\npattern = re.compile('x')\n%time y = 2 * 3\nprint(y)") == []
