"""What a student reads about a test with hidden parts: built by the grader, hidden source scrubbed.

A failing test's message ends up in the result JSON, the feedback page, Gradescope's results.json,
the grader's summary and ``medgrade check``. Its text comes from the kernel (an exception's value),
and the kernel runs the hidden part, so a submission can raise with the text of the running cell
(``In[-1]``, ``_ih``, the frame's code, the history database) and read the hidden test back in its
feedback. So for a test with hidden parts the grader builds the message itself:

- a :class:`~medgrade.checks.CheckFailure` is rebuilt from its structured fields (check, name,
  expected, observed, hint), each a capped string, in the grader's own format; any other error is
  ``Name: value`` with a name that must look like an exception's;
- every piece of kernel text is scrubbed of the hidden source: each hidden line (of
  :data:`MIN_LINE` characters or more), verbatim, re-indented or escaped as ``repr`` and JSON
  write it, and any run of :data:`GRAM` characters copied from the hidden *code* (comments
  included, string literals left out: a test's names and hints are literals meant for students).

What scrubbing cannot catch is text the kernel transformed first (encoded, reversed, one
character at a time); the caps bound it to :data:`MAX_FIELD` characters per field.
"""

from __future__ import annotations

import io
import json
import re
import tokenize
from dataclasses import dataclass
from typing import Any

__all__ = ["Hidden", "NO_HIDDEN", "hidden_of", "scrub", "failure_message", "MASK", "MIN_LINE", "GRAM",
           "MAX_FIELD", "MAX_MESSAGE"]

MASK = "[hidden test text]"
MIN_LINE = 6  # shorter hidden lines (``)``, ``else:``, ``pass``) say nothing about a test
GRAM = 24  # a run this long copied from the hidden code is scrubbed wherever it appears
MAX_FIELD = 1_000
MAX_MESSAGE = 4_000
_REGION = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
_ENAME = re.compile(r"^[A-Za-z_][\w.]{0,99}$")
_FIELDS = ("check", "name", "expected", "observed", "hint")


@dataclass(frozen=True)
class Hidden:
    """The hidden source of one test cell, as the scrubber needs it."""

    lines: tuple[str, ...] = ()  # stripped, MIN_LINE characters or more, longest first
    grams: frozenset[str] = frozenset()  # every GRAM-character run of the hidden code

    def __bool__(self) -> bool:
        return bool(self.lines or self.grams)


NO_HIDDEN = Hidden()


def _code_only(text: str) -> str:
    """``text`` with the contents of its string literals blanked (kept: code and comments)."""
    chars = list(text)
    offsets = [0]
    for line in text.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    kinds = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in kinds:
                start = offsets[tok.start[0] - 1] + tok.start[1]
                end = offsets[tok.end[0] - 1] + tok.end[1]
                chars[start:end] = "\0" * (end - start)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # a region that does not tokenize alone: keep it whole (scrubs more, never less)
    return "".join(chars)


def hidden_of(source: str) -> Hidden:
    """The hidden regions of a test cell's source (between nbgrader's hidden-test markers)."""
    regions = _REGION.findall(source)
    if not regions:
        return NO_HIDDEN
    lines = {s for r in regions for line in r.splitlines() if len(s := line.strip()) >= MIN_LINE}
    grams: set[str] = set()
    for region in regions:
        for line in _code_only(region).splitlines():
            code = line.strip()
            grams.update(code[i:i + GRAM] for i in range(len(code) - GRAM + 1) if "\0" not in code[i:i + GRAM])
    return Hidden(tuple(sorted(lines, key=len, reverse=True)), frozenset(grams))


def _forms(line: str) -> list[str]:
    """A hidden line as text may carry it: verbatim, and escaped by ``repr`` and by JSON."""
    return [line, repr(line)[1:-1], json.dumps(line)[1:-1]]


def _pattern(line: str) -> str:
    return r"\s+".join(re.escape(part) for part in line.split())


def scrub(text: str, hidden: Hidden) -> str:
    """``text`` with every hidden line and every run copied from the hidden code replaced by :data:`MASK`."""
    if not hidden or not text:
        return text
    forms = {f for line in hidden.lines for f in _forms(line)}
    if forms:
        text = re.sub("|".join(_pattern(f) for f in sorted(forms, key=len, reverse=True)), MASK, text)
    covered = [False] * len(text)
    for i in range(len(text) - GRAM + 1):
        if text[i:i + GRAM] in hidden.grams:
            covered[i:i + GRAM] = [True] * GRAM
    if not any(covered):
        return text
    out, i = [], 0
    while i < len(text):
        if covered[i]:
            while i < len(text) and covered[i]:
                i += 1
            out.append(MASK)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _field(value: Any) -> str | None:
    return value[:MAX_FIELD] if isinstance(value, str) else None


def failure_message(ename: str, evalue: str, structured: Any, hidden: Hidden) -> str:
    """The message a student reads for a test that raised ``ename: evalue`` in the kernel.

    ``structured`` is the kernel's ``CheckFailure.to_dict()`` for that very failure (its
    ``message`` must equal ``evalue``), or None; anything else falls back to ``Name: value``.
    """
    name = ename if _ENAME.match(ename or "") else "Error"
    fields = structured if isinstance(structured, dict) else {}
    parts = {k: _field(fields.get(k)) for k in _FIELDS}
    if name == "CheckFailure" and fields.get("message") == evalue and parts["check"] and \
            parts["expected"] is not None and parts["observed"] is not None:
        where = f"{parts['check']}({parts['name']})" if parts["name"] else parts["check"]
        text = f"{where}: expected {parts['expected']}; observed {parts['observed']}."
        if parts["hint"]:
            text += f" Hint: {parts['hint']}"
        body = scrub(text, hidden)
    else:
        body = scrub(str(evalue)[:MAX_FIELD * 2].strip(), hidden)
    message = f"{name}: {body}".rstrip(": ") if body else name
    return message[:MAX_MESSAGE]
