"""HTML for the similarity report: a page per reported pair, and the class report's section.

A pair page shows each matching region side by side (the two students' lines, numbered, the
match highlighted), the clues from grading with how common each is in the class, then both
students' code whole. Student code is untrusted: every line, name and clue passes through
:func:`~medgrade.html.esc`, and pages have no script and load nothing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from medgrade.html import esc, page, table
from medgrade.similarity.clues import Flagged
from medgrade.similarity.documents import Document

__all__ = ["render_pair_page", "similarity_section"]

COLOURS = ("#fff3b0", "#c8f7c5", "#cde7ff", "#ffd6e7", "#e3d5ff", "#ffe0c2", "#d1f2eb", "#f5e6cc")
CONTEXT = 2  # lines shown around a region
_STYLE = ("<style>.pair{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:.6rem}"
          ".pair pre{margin:0;white-space:pre;overflow-x:auto;font-size:.85rem}"
          ".ln{color:#8c959f;user-select:none;display:inline-block;width:2.5em}"
          + "".join(f".m{i}{{background:{c}}}" for i, c in enumerate(COLOURS)) + "</style>")


def _marks(doc: Document, regions: list[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """``(snippet, line) -> region number`` for every line a region's tokens lie on."""
    marks: dict[tuple[int, int], int] = {}
    for n, (start, end) in enumerate(regions):
        snippet, first, last = doc.lines(start, end)
        for line in range(first, last + 1):
            marks.setdefault((snippet, line), n)
    return marks


def _listing(doc: Document, snippet: int, marks: dict[tuple[int, int], int], lo: int = 1, hi: int = 10**9) -> str:
    cell = doc.snippets[snippet]
    lines = cell.source.split("\n")
    rows = []
    for number in range(max(lo, 1), min(hi, len(lines)) + 1):
        text = f'<span class="ln">{number}</span>{esc(lines[number - 1])}'
        n = marks.get((snippet, number))
        rows.append(f'<span class="m{n % len(COLOURS)}">{text}</span>' if n is not None else text)
    return f"<pre>{chr(10).join(rows)}</pre>"


def _label(doc: Document, snippet: int) -> str:
    cell = doc.snippets[snippet]
    return f"{esc(doc.student)}: {esc(cell.notebook)}, cell {esc(cell.cell)}"


def _regions(f: Flagged, a: Document, b: Document, marks_a: dict[tuple[int, int], int],
             marks_b: dict[tuple[int, int], int]) -> str:
    parts = []
    for n, r in enumerate(f.match.regions):
        sa, la0, la1 = a.lines(r.a_start, r.a_end)
        sb, lb0, lb1 = b.lines(r.b_start, r.b_end)
        parts.append(
            f'<h3><span class="m{n % len(COLOURS)}">match {n + 1}</span>: {r.size} tokens</h3><div class="pair">'
            f"<div><p>{_label(a, sa)}, lines {la0}-{la1}</p>{_listing(a, sa, marks_a, la0 - CONTEXT, la1 + CONTEXT)}"
            f"</div><div><p>{_label(b, sb)}, lines {lb0}-{lb1}</p>"
            f"{_listing(b, sb, marks_b, lb0 - CONTEXT, lb1 + CONTEXT)}</div></div>")
    return "".join(parts)


def _whole(doc: Document, marks: dict[tuple[int, int], int]) -> str:
    return "".join(f"<p>{_label(doc, i)}</p>{_listing(doc, i, marks)}" for i in range(len(doc.snippets)))


def _feedback_link(assignment: str, student: str) -> str:
    return f'<a href="../../feedback/{quote(assignment)}/{quote(student)}.html">{esc(student)}</a>'


def render_pair_page(assignment: str, f: Flagged, a: Document, b: Document) -> str:
    """The page of one reported pair (see the module docstring)."""
    m = f.match
    marks_a = _marks(a, [(r.a_start, r.a_end) for r in m.regions])
    marks_b = _marks(b, [(r.b_start, r.b_end) for r in m.regions])
    clues = "".join(f"<li>{'<strong>rare</strong>: ' if c.rare else ''}{esc(c.text)}</li>" for c in f.clues)
    body = [
        _STYLE,
        f"<h1>{esc(assignment)}: {esc(m.a)} and {esc(m.b)}</h1>",
        f"<p>Similarity <strong>{m.score:.0%}</strong> ({esc(f.reason)}): {m.a_share:.0%} of {esc(m.a)}'s own code "
        f"and {m.b_share:.0%} of {esc(m.b)}'s lie in matching regions, {m.tokens} tokens in {len(m.regions)} "
        f"region(s). Feedback pages: {_feedback_link(assignment, m.a)}, {_feedback_link(assignment, m.b)}.</p>",
        '<p class="note">Compared: the code each student wrote, after renaming every name they chose to one '
        "placeholder and dropping comments, docstrings and layout. Starter code, test cells and code most of the "
        "class shares count for neither. A match is a reason to look, not a verdict; no score was changed.</p>",
        "<h2>Clues from grading</h2>" + (f"<ul>{clues}</ul>" if clues else
                                         "<p>None: no predictions, measured figures or unusual constants in common."
                                         "</p>"),
        "<h2>Matching regions</h2>" + _regions(f, a, b, marks_a, marks_b),
        f'<h2>Both submissions</h2><div class="pair"><div>{_whole(a, marks_a)}</div><div>{_whole(b, marks_b)}'
        "</div></div>",
    ]
    return page(f"{assignment} similarity: {m.a} and {m.b}", "\n".join(body))


def similarity_section(summary: dict[str, Any] | None, assignment: str) -> str:
    """The class report's section: every reported pair, linked to its page under ``gradebook/integrity/``."""
    if summary is None:
        return ("<h2>Similar submissions</h2><p>Not compared yet: run <code>medgrade similarity "
                f"{esc(assignment)}</code>.</p>")
    base = f"../../integrity/{quote(assignment)}/"
    rows = []
    for p in summary.get("pairs", []):
        students = f'<a href="{quote(str(p["a"]))}.html">{esc(p["a"])}</a> and ' \
                   f'<a href="{quote(str(p["b"]))}.html">{esc(p["b"])}</a>'
        rare = [c["text"] for c in p.get("clues", []) if c.get("rare")]
        rows.append([students, f"{float(p['score']):.0%}", str(int(p["tokens"])),
                     esc("; ".join(rare)) or '<span class="muted">none</span>',
                     f'<a href="{base}{quote(str(p["page"]))}">regions side by side</a>'])
    head = (f"<h2>Similar submissions</h2><p>{len(summary.get('compared', []))} submissions compared on the code "
            f"each student wrote; {int(summary.get('pairs_compared', 0))} of {int(summary.get('pairs_total', 0))} "
            f"pairs in full. Reported: a score of {float(summary.get('threshold', 0)):.0%} or more, or half of it "
            "with a rare clue from grading. Scores are unchanged.</p>")
    if not rows:
        return head + "<p>No pair of submissions reaches the threshold.</p>"
    return head + table(["students", "similarity", "tokens", "rare clues", "page"], rows, numeric=(1, 2))
