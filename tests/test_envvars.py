"""Every MEDGRADE_* variable is named in medgrade/envvars.py, and code spells each through it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import medgrade
from medgrade import envvars

PACKAGE = Path(medgrade.__file__).parent
NAME = re.compile(r"\bMEDGRADE_[A-Z_]+\b")


def test_every_variable_the_package_mentions_is_documented_in_one_module() -> None:
    documented = set(NAME.findall(envvars.__doc__ or ""))
    mentioned = {(name, path.relative_to(PACKAGE).as_posix()) for path in PACKAGE.rglob("*.py")
                 for name in NAME.findall(path.read_text())}
    assert documented and not {(n, p) for n, p in mentioned if n not in documented}


def test_code_outside_envvars_spells_no_variable_name_as_a_string() -> None:
    """Docstrings and messages may name a variable; a literal that *is* one belongs in envvars."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "envvars.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                    re.fullmatch(r"MEDGRADE_[A-Z_]*", node.value):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.value!r}")
    assert found == []
