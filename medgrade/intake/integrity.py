"""Integrity: a static scan of the code a student wrote, and the runtime signals of their run.

Nothing here changes a score. Where no automatic verdict is sound (a notebook that patches a
check library may still be right), the submission is flagged for a teaching assistant to
review, with the cell and the line that raised the flag. Grading records each flag where it is
found (:attr:`medgrade.results.SubmissionResult.flags`); what reads them (the class report, the
integrity CSV) goes by that record, never by a finding's wording.

Scanned: the cells the student may write (solution cells and cells they added), read as IPython
reads them (magics and shell lines included, :func:`medgrade.intake.tampering.as_python`); the
locked and test cells come from the source and are not the student's. Flagged:

- **patching**: assigning to, or ``setattr`` on, an attribute of the check library, torch,
  NumPy, scikit-learn, MONAI, ``builtins`` or ``sys`` (``torch.backends`` settings excepted);
- **introspection** of the grader: frames, the garbage collector, ``sys.modules``, import
  hooks, tracing, ``MEDGRADE_`` variables;
- **file access** outside the sandbox: absolute paths, ``..``, the course's secret folders;
- **process and network tricks**: fork, kill, exit, subprocess, ctypes, sockets, HTTP, shell lines;
- **held-out data**: importing the stand-ins' generators (``medgrade.data.pathmnist``...), naming
  the held-out key;
- **tampering** with the interpreter or the kernel, **input history** and risky **magics**
  (:mod:`medgrade.intake.tampering`).
"""

from __future__ import annotations

import ast
import pkgutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode

from medgrade import envvars
from medgrade.intake.tampering import as_python, embedded_code, tampering_flags
from medgrade.results import Stop, SubmissionResult

__all__ = ["Flag", "scan_notebook", "runtime_flags", "integrity_csv", "PREFIX"]

PREFIX = "integrity:"
WATCHED_MODULES = {"medgrade", "torch", "numpy", "sklearn", "monai", "builtins", "sys", "nbgrader", "otter"}
_ALLOWED_ATTRS = ("torch.backends.",)  # settings, not behaviour a check relies on
_INTROSPECTION_CALLS = {"sys._getframe", "inspect.stack", "inspect.currentframe", "gc.get_objects",
                        "gc.get_referrers", "sys.settrace", "sys.setprofile", "importlib.reload",
                        "sys.addaudithook"}
_INTROSPECTION_NAMES = {"sys.modules", "sys.meta_path", "sys.path_hooks", "__builtins__", "builtins.__dict__"}
_PROCESS_CALLS = {"os.fork", "os.forkpty", "os.setsid", "os.kill", "os.killpg", "os._exit", "os.system",
                  "os.popen", "os.execv", "os.execvp", "sys.exit", "signal.signal", "ctypes.CDLL"}
_PROCESS_MODULES = {"subprocess", "ctypes", "socket", "urllib", "requests", "http", "multiprocessing", "pty"}
_SECRET_WORDS = ("source/", "gradebook", "reference_solutions", "autograded", "submitted/", "hidden")
# The data package's modules but ``root`` (where the data is, which notebooks import): the generators
# and the grader's own (answer keys, the held-out key).
_DATA_MODULES = {f"medgrade.data.{m.name}" for m in pkgutil.iter_modules([str(Path(__file__).parents[1] / "data")])
                 if m.name != "root"}


@dataclass(frozen=True)
class Flag:
    cell: str  # the cell's grade id, or its position
    line: int
    kind: str  # patching | introspection | file access | process | held-out data | tampering | input history
    detail: str

    def message(self) -> str:
        return f"{PREFIX} {self.kind} in cell {self.cell}, line {self.line}: {self.detail}"


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str | None:
    """``a.b.c`` for a chain of attributes on a name, with the name's import alias resolved."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(aliases.get(node.id, node.id))
    return ".".join(reversed(parts))


def _aliases(tree: ast.AST, known: dict[str, str]) -> dict[str, str]:
    aliases = dict(known)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    return aliases


def _watched(dotted: str | None) -> bool:
    return (dotted is not None and "." in dotted and dotted.split(".")[0] in WATCHED_MODULES
            and not dotted.startswith(_ALLOWED_ATTRS))


def _node_flags(node: ast.AST, aliases: dict[str, str]) -> Iterator[tuple[str, str]]:
    dotted = _dotted(node.func if isinstance(node, ast.Call) else node, aliases)
    yield from tampering_flags(node, dotted)
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
        targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
        for t in targets:
            name = _dotted(t, aliases)
            if isinstance(t, ast.Attribute) and _watched(name):
                yield "patching", f"assigns {name}"
    elif isinstance(node, ast.Call):
        name = _dotted(node.func, aliases)
        target = _dotted(node.args[0], aliases) if node.args else None
        if name in ("setattr", "delattr") and target is not None and _watched(f"{target}.attribute"):
            yield "patching", f"{name}() on {target}"
        elif name in _INTROSPECTION_CALLS:
            yield "introspection", f"calls {name}()"
        elif name in _PROCESS_CALLS:
            yield "process", f"calls {name}()"
    elif isinstance(node, (ast.Attribute, ast.Name)):
        name = _dotted(node, aliases)
        if name in _INTROSPECTION_NAMES:
            yield "introspection", f"uses {name}"
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        if isinstance(node, ast.ImportFrom) and node.module == "medgrade.data":
            mods += [f"medgrade.data.{a.name}" for a in node.names]  # a module, or a name it exports
        for mod in mods:
            if mod.split(".")[0] in _PROCESS_MODULES:
                yield "process", f"imports {mod}"
            elif any(mod == m or mod.startswith(f"{m}.") for m in _DATA_MODULES):
                yield "held-out data", f"imports {mod}, the stand-ins' generator (to draw the data again?)"
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield from _string_flags(node.value)


def _string_flags(text: str) -> Iterator[tuple[str, str]]:
    if ".heldout-key" in text:
        yield "held-out data", "names the held-out key"
    elif text.startswith(envvars.PREFIX):
        yield "introspection", f"reads the grader's variable {text}"
    elif text.startswith("/") and len(text) > 1 and "\n" not in text:
        yield "file access", f"absolute path {text[:80]!r}"
    elif "../" in text or text == "..":
        yield "file access", f"path outside the folder {text[:80]!r}"
    elif any(w in text for w in _SECRET_WORDS) and len(text) < 200 and "\n" not in text and " " not in text:
        yield "file access", f"names a course folder {text[:80]!r}"


def _student_cells(nb: NotebookNode) -> Iterator[tuple[str, NotebookNode]]:
    for i, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and (meta.get("solution") or not meta.get("grade_id")):
            yield str(meta.get("grade_id") or f"#{i + 1}"), cell


def scan_notebook(nb: NotebookNode, *, locked_imports: str = "") -> list[Flag]:
    """Flags in the cells the student wrote of ``nb`` (after protected cells were restored).

    ``locked_imports`` is the source of the notebook's locked cells, whose import aliases
    (``import torch``) apply to the student's cells too.
    """
    try:
        known = _aliases(ast.parse(locked_imports), {})
    except SyntaxError:
        known = {}
    flags: list[Flag] = []
    for cell_id, cell in _student_cells(nb):
        flags.extend(_scan(as_python(cell.source), cell_id, known))
    unique = {(f.cell, f.kind, f.detail): f for f in flags}
    return sorted(unique.values(), key=lambda f: (f.cell, f.line))


def _scan(code: str, cell_id: str, known: dict[str, str], offset: int = 0, depth: int = 0) -> Iterator[Flag]:
    """Flags in ``code`` (Python), its lines shifted by ``offset``; code a magic carries is scanned too."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return  # the kernel will report it; a syntax error is not an integrity question
    aliases = _aliases(tree, known)
    for node in ast.walk(tree):
        for kind, detail in _node_flags(node, aliases):
            yield Flag(cell_id, getattr(node, "lineno", 0) + offset, kind, detail)
        inner = embedded_code(node) if depth < 3 else None
        if inner is not None:
            yield from _scan(inner[0], cell_id, aliases, offset + inner[1], depth + 1)


def integrity_csv(results: list[SubmissionResult]) -> str:
    """The class's integrity report: one row per finding, per student, with its kind.

    ``flag``: the notebook's doing, for review, as grading recorded it where it was found
    (``result.flags``: the static scan, changed cells, what the kernel was seen to do; a result
    written before flags existed reads them from its findings there); ``grader``: any other
    finding, a condition grading ran under; ``runtime``: what the grader's stops signal.
    """
    rows = ["student,kind,finding"]
    for r in results:
        flagged = set(r.flags)
        others = [f for f in r.findings if f not in flagged]
        for finding, kind in [*((f, "flag") for f in r.flags), *((f, "grader") for f in others),
                              *((f, "runtime") for f in runtime_flags(r))]:
            rows.append(",".join([r.student, kind, '"' + finding.replace('"', '""') + '"']))
    return "\n".join(rows) + "\n"


RUNTIME = {Stop.MEMORY: "the kernel ran out of memory", Stop.SPACE: "the kernel ran out of space",
           Stop.PROCESSES: "the kernel ran out of processes", Stop.BUDGET: "the notebook ran past its budget",
           Stop.DIED: "the kernel died", Stop.CELL_LIMIT: "a test cell ran past its time limit"}


def runtime_flags(result: SubmissionResult) -> list[str]:
    """What the run itself signalled (the kernel killed, out of memory, over budget), from the grader's stops.

    Never from a message: a student's exception can say anything.
    """
    seen = dict.fromkeys(RUNTIME[t.stop] for t in result.tests if t.stop in RUNTIME)
    return [f"{PREFIX} runtime: {what}" for what in seen]
