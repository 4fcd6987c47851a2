"""The package's layout: folders are the grading stages, and imports point one way.

Read from the code's own imports (those inside functions too), so a new import that ties two
stages together fails here, naming the modules, before it tangles the tree.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "medgrade"
# The folders, from the bottom up: each may import only folders listed before it (and top-level
# modules). DEVELOPERS.md shows the same order.
STAGES = ["data", "checks", "judge", "intake", "runner", "gradebook", "coordinator", "similarity", "reports",
          "author", "student", "interop", "cli"]


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(REPO).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the medgrade modules it imports (a name imported from a package counts as the package)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                    node.module.split(".")[0] == "medgrade":
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    graph[name].add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                graph[name].update(a.name for a in node.names if a.name in modules)
    return graph


def _folder(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 else None  # None: a top-level module, or the package itself


def test_folders_import_only_the_stages_below_them() -> None:
    modules = _modules()
    folders = {f for m in modules if (f := _folder(m))}
    assert folders == set(STAGES), f"folders without a place in STAGES (or gone): {sorted(folders ^ set(STAGES))}"
    upward = sorted(f"{m} -> {t}" for m, targets in _imports(modules).items() for t in targets
                    if (a := _folder(m)) and (b := _folder(t)) and a != b and STAGES.index(b) > STAGES.index(a))
    assert upward == [], "imports against the stages' order:\n" + "\n".join(upward)


def test_no_module_imports_itself_through_others() -> None:
    graph = _imports(_modules())

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    # A package's __init__ re-exporting its own modules is not a circle of the code.
    circles = sorted(m for m in list(graph) if m in reach(m) and not (PACKAGE / Path(*m.split(".")[1:])).is_dir())
    assert circles == [], f"modules that import themselves through others: {circles}"


def test_modules_and_functions_stay_small_enough_to_read() -> None:
    too_long = []
    for name, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > 400:
            too_long.append(f"{name}: {len(text.splitlines())} lines (at most 400)")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None \
                    and node.end_lineno - node.lineno + 1 > 60:
                too_long.append(f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines (at most 60)")
    assert too_long == []
