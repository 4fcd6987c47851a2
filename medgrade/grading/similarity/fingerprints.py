"""Token fingerprints of Python code: normalised tokens, k-gram hashes, winnowing.

The scheme is MOSS's (Schleimer, Wilkerson and Aiken, "Winnowing: local algorithms for document
fingerprinting", SIGMOD 2003) on Python's own tokenizer, the way JPlag works on tokens:

- **normalised tokens**: comments, blank lines and line breaks inside brackets are dropped (so
  recommenting and reformatting change nothing); docstrings are dropped; every other string is
  ``S``; a name the student binds (a variable, a parameter, a function or class, an attribute
  set on ``self``) is ``V``, so renaming changes nothing, while keywords, builtins, imported
  modules and library attributes (``nn.Conv2d``, ``.backward``) keep their text: they are what
  the code does. Numbers keep their value (``1e-3`` and ``0.001`` are one token).
- **k-grams**: a hash of every run of ``K`` consecutive tokens, stable across processes and
  machines (no ``hash()``: it is salted per process, so fingerprints would change run to run).
- **winnowing**: of every ``WINDOW`` consecutive k-gram hashes, the smallest is kept. Any run of
  ``K + WINDOW - 1`` matching tokens shares at least one kept hash; these go into the class index.
"""

from __future__ import annotations

import ast
import hashlib
import io
import keyword
import re
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["K", "WINDOW", "SEPARATOR", "Names", "bound_names", "tokens", "kgram_hashes", "winnow"]

K = 12  # tokens per k-gram: JPlag's default minimum match for Python
WINDOW = 8  # winnowing window: runs of 19 or more matching tokens are always indexed
SEPARATOR = "\x00"  # between two cells: no k-gram spans it
_MOD = (1 << 61) - 1
_BASE = 1_000_003
_MAGIC = re.compile(r"^\s*[%!]")  # IPython magics and shell escapes are not Python
_ASSIGNED = re.compile(r"\b(?:def|class)\s+(\w+)|\b(\w+)\s*=(?!=)")
_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
_STARTS_LINE = {None, ";", "{", "}"}


@dataclass
class Names:
    """Names to write as ``V``: those bound by code (the student's, or the course's), and attributes set."""

    variables: set[str] = field(default_factory=set)
    attributes: set[str] = field(default_factory=set)

    def __or__(self, other: Names) -> Names:
        return Names(self.variables | other.variables, self.attributes | other.attributes)


def python_only(source: str) -> str:
    """``source`` with IPython magic and shell lines blanked (line numbers kept)."""
    return "\n".join("" if _MAGIC.match(line) else line for line in source.split("\n"))


def _bound_in(tree: ast.AST, names: Names) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.variables.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.variables.add(node.name)
        elif isinstance(node, ast.arg):
            names.variables.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.variables.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.variables.update(node.names)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.attributes.add(node.attr)


def bound_names(sources: Iterable[str]) -> Names:
    """The names ``sources`` bind; a cell that does not parse falls back to ``name =`` and ``def name``."""
    names = Names()
    for source in sources:
        text = python_only(source)
        try:
            _bound_in(ast.parse(text), names)
        except (SyntaxError, ValueError):
            for match in _ASSIGNED.finditer(text):
                names.variables.add(match.group(1) or match.group(2))
    names.variables -= set(keyword.kwlist)
    return names


def _number(text: str) -> str:
    try:
        return repr(ast.literal_eval(text.replace("_", "")))
    except (ValueError, SyntaxError):
        return text


def _raw_tokens(source: str) -> list[tokenize.TokenInfo]:
    """Python's tokens of ``source``; a cell that stops mid-way yields the tokens before the fault."""
    out: list[tokenize.TokenInfo] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(python_only(source)).readline):
            out.append(tok)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


def _is_docstring(toks: Sequence[tokenize.TokenInfo], i: int, previous: str | None) -> bool:
    after = next((t for t in toks[i + 1:] if t.type not in _SKIPPED), None)
    return previous in _STARTS_LINE and (after is None or after.type in (tokenize.NEWLINE, tokenize.ENDMARKER))


def tokens(source: str, names: Names) -> list[tuple[str, int]]:
    """Normalised tokens of one cell with their 1-based line numbers (see the module docstring)."""
    toks = _raw_tokens(source)
    out: list[tuple[str, int]] = []
    previous: str | None = None
    depth = 0  # inside an f-string (Python 3.12 splits it into parts): one ``S`` for all of it
    for i, tok in enumerate(toks):
        kind, text, line = tok.type, tok.string, tok.start[0]
        if kind in _SKIPPED or (depth and kind != getattr(tokenize, "FSTRING_END", -1)):
            depth += kind == getattr(tokenize, "FSTRING_START", -1)
            continue
        if kind == getattr(tokenize, "FSTRING_START", -1):
            depth, word = 1, "S"
        elif kind == getattr(tokenize, "FSTRING_END", -1):
            depth -= 1
            continue
        elif kind == tokenize.STRING:
            if _is_docstring(toks, i, previous):
                continue
            word = "S"
        elif kind == tokenize.NUMBER:
            word = _number(text)
        elif kind == tokenize.NAME:
            word = _name(text, previous, names)
        elif kind == tokenize.NEWLINE:
            word = ";"
        elif kind == tokenize.INDENT:
            word = "{"
        elif kind == tokenize.DEDENT:
            word = "}"
        else:
            word = text
        if word == ";" and previous in (";", "{", None):
            continue  # ``a; b`` and two lines are one shape; empty statements are none
        out.append((word, line))
        previous = word
    return out


def _name(text: str, previous: str | None, names: Names) -> str:
    if keyword.iskeyword(text):
        return text
    if previous == ".":
        return "V" if text in names.attributes else text
    return "V" if text in names.variables else text


_IDS: dict[str, int] = {}


def _token_id(word: str) -> int:
    found = _IDS.get(word)
    if found is None:
        found = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big") % _MOD
        _IDS[word] = found
    return found


def kgram_hashes(words: Sequence[str], k: int = K) -> list[int | None]:
    """The hash of each run of ``k`` tokens starting at each position; None where a run crosses a cell."""
    n = len(words)
    if n < k:
        return []
    top = pow(_BASE, k - 1, _MOD)
    out: list[int | None] = []
    h = 0
    last_separator = -1
    for i, word in enumerate(words):
        if word == SEPARATOR:
            last_separator = i
        if i >= k:
            h = (h - _token_id(words[i - k]) * top) % _MOD
        h = (h * _BASE + _token_id(word)) % _MOD
        if i >= k - 1:
            out.append(None if last_separator > i - k else h)
    return out


def winnow(hashes: Sequence[int | None], window: int = WINDOW) -> dict[int, list[int]]:
    """Robust winnowing: the rightmost smallest hash of each window, with every position it was kept at."""
    kept: dict[int, list[int]] = {}
    last = -1
    inf = _MOD + 1
    for start in range(max(len(hashes) - window + 1, 1 if hashes else 0)):
        best, where = inf, -1
        for i in range(start, min(start + window, len(hashes))):
            h = hashes[i]
            if h is not None and h <= best:
                best, where = h, i
        if where >= 0 and where != last:
            kept.setdefault(best, []).append(where)
            last = where
    return kept
