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
import builtins
import functools
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
_BUILTINS = frozenset(dir(builtins))
_MOD = (1 << 61) - 1
_BASE = 1_000_003
_MAGIC = re.compile(r"^\s*[%!]")  # IPython magics and shell escapes are not Python
_IMPORTED = re.compile(r"^\s*(?:from\s+\S+\s+)?import\s+([\w., ]+)", re.MULTILINE)
_ASSIGNED = re.compile(r"\b(?:def|class)\s+(\w+)|\b(\w+)\s*=(?!=)")
_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
_STARTS_LINE = {None, ";", "{", "}"}


@dataclass
class Names:
    """Names to write as ``V``: those bound by code (the student's, or the course's), and attributes set."""

    variables: set[str] = field(default_factory=set)
    attributes: set[str] = field(default_factory=set)
    imported: set[str] = field(default_factory=set)  # module and object names an import binds: kept

    def __or__(self, other: Names) -> Names:
        return Names(self.variables | other.variables, self.attributes | other.attributes,
                     self.imported | other.imported)


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
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.imported.update((a.asname or a.name).split(".")[0] for a in node.names)


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
            for match in _IMPORTED.finditer(text):
                for part in match.group(1).split(","):
                    names.imported.add(part.split(" as ")[-1].strip().split(".")[0])
    names.variables -= set(keyword.kwlist)
    return names


@functools.lru_cache(maxsize=65536)
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


_FSTART = getattr(tokenize, "FSTRING_START", -1)  # Python 3.12 splits an f-string into parts
_FEND = getattr(tokenize, "FSTRING_END", -1)
_LAYOUT = {tokenize.NEWLINE: ";", tokenize.INDENT: "{", tokenize.DEDENT: "}"}


def tokens(source: str, names: Names) -> list[tuple[str, int]]:
    """Normalised tokens of one cell with their 1-based line numbers (see the module docstring)."""
    toks = [t for t in _raw_tokens(source) if t.type not in _SKIPPED]
    out: list[tuple[str, int]] = []
    previous: str | None = None
    fstring = brackets = 0
    for i, tok in enumerate(toks):
        if fstring:  # the parts of an f-string: one ``S`` for all of them
            fstring += (tok.type == _FSTART) - (tok.type == _FEND)
            continue
        if tok.type == tokenize.OP:
            brackets += (tok.string in ("(", "[", "{")) - (tok.string in (")", "]", "}"))
        fstring = int(tok.type == _FSTART)
        word = _word(toks, i, previous, names, brackets)
        if word is None or (word == ";" and previous in (";", "{", None)):
            continue  # a docstring; ``a; b`` and two lines are one shape; empty statements are none
        out.append((word, tok.start[0]))
        previous = word
    return out


def _word(toks: Sequence[tokenize.TokenInfo], i: int, previous: str | None, names: Names, brackets: int) -> str | None:
    tok = toks[i]
    if tok.type in (_FSTART, tokenize.STRING):
        docstring = previous in _STARTS_LINE and (i + 1 == len(toks) or toks[i + 1].type == tokenize.NEWLINE)
        return None if docstring and tok.type == tokenize.STRING else "S"
    if tok.type == tokenize.NUMBER:
        return _number(tok.string)
    if tok.type == tokenize.NAME:
        argument = brackets > 0 and i + 1 < len(toks) and toks[i + 1].string == "="
        return _name(tok.string, previous, names, keyword_argument=argument)
    return _LAYOUT.get(tok.type, tok.string)


def _name(text: str, previous: str | None, names: Names, *, keyword_argument: bool) -> str:
    """A name keeps its text when it is Python's or a library's; a name the student chose is ``V``."""
    if keyword.iskeyword(text):
        return text
    if previous == ".":
        return "V" if text in names.attributes else text
    if text in names.variables:
        return "V"
    if text in names.imported or text in _BUILTINS or keyword_argument:
        return text
    return "V"  # bound nowhere we can see (a cell deleted, a typo): still the student's name


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
