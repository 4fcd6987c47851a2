"""The integrity scan's rules for tampering with the interpreter or the kernel, and for magics.

A test cell runs in the student's process, after the student's cells: code there can change how
the test runs or how its outcome is reported (:mod:`medgrade.runner.probes` explains what the
grader detects at run time). This module flags, with cell and line, each interface that takes:

- **tampering**: IPython's and the kernel's internals (input and AST transformers, the traceback
  display and custom exception handlers, the display and exception hooks, cell execution, the
  kernel's handlers, session and sockets, the event hooks), ``get_ipython().kernel``, imports of
  ``ipykernel`` or IPython's core, frame internals (``f_lineno`` jumps, ``f_back``, ``tb_frame``),
  and tracers of other threads;
- **input history**: ``In``, ``_ih``, ``_i``, ``_i<n>``, ``Out``, ``_oh`` and the history manager
  (the text of the running cell, hidden tests included);
- **magics** that load or run code or change the shell (``%load_ext``, ``%run``, ``%%writefile``,
  ``%config``, ...), and shell commands (``!cmd``, ``%%bash``) as process tricks. A cell is read
  as IPython reads it (magics and ``!`` lines turned into Python), and the code inside ``%time``,
  ``%%capture`` or a ``%%writefile`` of a ``.py`` file is scanned too, at its own lines.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

__all__ = ["as_python", "tampering_flags", "embedded_code"]

# Attribute names no honest notebook touches: each is how a kernel's verdicts are forged.
_INTERNALS = {
    "showtraceback": "IPython's traceback display", "_showtraceback": "IPython's traceback display",
    "set_custom_exc": "IPython's custom exception handler", "CustomTB": "IPython's custom exception handler",
    "InteractiveTB": "IPython's traceback formatter", "input_transformers_post": "IPython's input transformers",
    "input_transformers_cleanup": "IPython's input transformers",
    "input_transformer_manager": "IPython's input transformers", "ast_transformers": "IPython's AST transformers",
    "prefilter_manager": "IPython's input prefilter", "displayhook": "the display hook",
    "display_pub": "the display publisher", "excepthook": "an exception hook",
    "unraisablehook": "an exception hook", "run_cell": "IPython's cell execution",
    "run_code": "IPython's cell execution", "run_ast_nodes": "IPython's cell execution",
    "do_execute": "the kernel's execute handler", "execute_request": "the kernel's execute handler",
    "send_response": "the kernel's replies", "shell_handlers": "the kernel's handlers",
    "iopub_socket": "the kernel's sockets", "iopub_thread": "the kernel's sockets",
    "register_magic_function": "IPython's magics", "register_magics": "IPython's magics",
    "magics_manager": "IPython's magics", "f_lineno": "a frame's current line (jumping over code)",
    "f_back": "the caller's frame", "f_globals": "a frame's globals", "f_locals": "a frame's locals",
    "tb_frame": "a traceback's frames",
}
_HISTORY_ATTRS = {"history_manager", "input_hist_raw", "input_hist_parsed"}
_HISTORY_NAMES = re.compile(r"^(In|Out|_ih|_oh|_i|_ii|_iii|_i\d+)$")
_TAMPER_CALLS = {"threading.settrace", "threading.setprofile", "threading.settrace_all_threads",
                 "sys.monitoring.register_callback", "sys.monitoring.use_tool_id"}
_TAMPER_IMPORTS = ("ipykernel", "IPython.core", "IPython.terminal", "zmq", "jupyter_client", "traitlets")
_CODE_MAGICS = {"time", "timeit", "prun", "capture"}  # run the code they are given: scanned as code
_RISKY_MAGICS = {"load_ext", "reload_ext", "run", "writefile", "config", "alias_magic", "macro", "rerun",
                 "recall", "load", "history", "hist"}
_SHELL_MAGICS = {"system", "sx", "script", "bash", "sh", "perl", "ruby"}
_HARMLESS_EXTENSIONS = {"autoreload"}


def as_python(source: str) -> str:
    """``source`` as IPython runs it: magics and ``!`` lines become calls on ``get_ipython()``."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # IPython is a dependency of every kernel; without it, read the cell as it is
        return source
    try:
        return str(TransformerManager().transform_cell(source))
    except Exception:  # a cell IPython itself cannot read: the kernel will say so
        return source


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _on_ipython(node: ast.AST) -> bool:
    """``node`` is ``get_ipython()`` (the shell object)."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "get_ipython"


def _magic(node: ast.Call) -> Iterator[tuple[str, str]]:
    """Flags for ``get_ipython().run_line_magic(name, ...)`` and its kin."""
    assert isinstance(node.func, ast.Attribute)
    method, args = node.func.attr, [_literal(a) for a in node.args]
    if method in ("system", "getoutput"):
        yield "process", f"runs the shell command {(args[0] or '')[:60]!r}"
        return
    name = args[0] if args else None
    if method not in ("run_line_magic", "run_cell_magic") or name is None:
        return
    sign = "%" if method == "run_line_magic" else "%%"
    if name in _SHELL_MAGICS:
        yield "process", f"runs shell code with {sign}{name}"
    elif name in _RISKY_MAGICS and not (name == "load_ext" and len(args) > 1 and args[1] in _HARMLESS_EXTENSIONS):
        what = f" {args[1][:60]}" if len(args) > 1 and args[1] else ""
        yield "tampering", f"uses the magic {sign}{name}{what}"


def tampering_flags(node: ast.AST, dotted: str | None) -> Iterator[tuple[str, str]]:
    """``(kind, detail)`` for each way ``node`` reaches the interpreter's or kernel's internals."""
    if isinstance(node, ast.Attribute):
        if node.attr in _INTERNALS:
            yield "tampering", f"uses {node.attr} ({_INTERNALS[node.attr]})"
        elif node.attr in _HISTORY_ATTRS:
            yield "input history", f"uses {node.attr}"
        elif _on_ipython(node.value) and node.attr == "kernel":
            yield "tampering", "uses get_ipython().kernel (the kernel's internals)"
        elif node.attr == "register" and isinstance(node.value, ast.Attribute) and node.value.attr == "events":
            yield "tampering", "registers an IPython event hook (code run around every cell)"
    elif isinstance(node, ast.Name) and _HISTORY_NAMES.match(node.id):
        yield "input history", f"uses {node.id}"
    elif isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute) and _on_ipython(node.func.value):
            yield from _magic(node)
        elif dotted in _TAMPER_CALLS:
            yield "tampering", f"calls {dotted}()"
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        for mod in mods:
            if mod.startswith(_TAMPER_IMPORTS) and mod not in ("IPython.core.display",):
                yield "tampering", f"imports {mod} (the kernel's internals)"


def embedded_code(node: ast.AST) -> tuple[str, int] | None:
    """Python a magic call carries (``%time CODE``, ``%%capture``, a ``.py`` ``%%writefile``), and its line offset."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and _on_ipython(node.func.value)):
        return None
    args = [_literal(a) for a in node.args]
    if node.func.attr == "run_line_magic" and len(args) == 2 and args[0] in _CODE_MAGICS and args[1]:
        return args[1], node.lineno - 1
    if node.func.attr == "run_cell_magic" and len(args) == 3 and args[2] and (
            args[0] in _CODE_MAGICS or (args[0] == "writefile" and (args[1] or "").strip().endswith(".py"))):
        return args[2], node.lineno  # the body starts on the cell's second line
    return None
