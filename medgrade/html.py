"""Small helpers for self-contained HTML pages: escaped text, tables, embedded images, one style.

Pages work offline: no script, no font or style sheet from a CDN, every image a base64
``data:`` URI. Everything that comes from a student or a result passes through :func:`esc`.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

__all__ = ["esc", "page", "table", "img", "STATUS_CLASS"]

STATUS_CLASS = {"passed": "ok", "failed": "bad", "not_run": "bad", "error": "bad", "graded": "ok"}

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:60rem;
 padding:0 1rem;color:#1b1f24;line-height:1.45}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;
 text-align:left;vertical-align:top}th{background:#f6f8fa}td.num{text-align:right;white-space:nowrap}
.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}.muted{color:#57606a}
pre{background:#f6f8fa;padding:.5rem;overflow-x:auto;white-space:pre-wrap;margin:.3rem 0}
.note{background:#fff8c5;border:1px solid #d4a72c;padding:.5rem;margin:.5rem 0}
figure{display:inline-block;margin:.5rem 1rem .5rem 0}figcaption{font-size:.9rem;color:#57606a}
img{max-width:100%;height:auto}
"""


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def page(title: str, body: str) -> str:
    """A whole HTML document with the house style inlined."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{_STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


def table(header: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """A table; cells are HTML already (escape text with :func:`esc`); ``numeric`` right-aligns columns."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
                         for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def img(data_uri: str, caption: str) -> str:
    """An embedded figure with its caption as alt text."""
    return f'<figure><img src="{data_uri}" alt="{esc(caption)}"><figcaption>{esc(caption)}</figcaption></figure>'
