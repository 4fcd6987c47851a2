"""One class end to end: read, index, compare, weigh the clues, and write what a TA reviews.

Writes, under ``gradebook/integrity/``:

- ``<a>.csv``: one ``similarity`` row per student of each reported pair (the rows of earlier
  runs replaced; every other row kept as the grader wrote it);
- ``<a>/similarity.json``: the run (settings, counts, each reported pair with its regions and
  clues), which the class report reads;
- ``<a>/<student>--<student>.html``: a page per reported pair, matching regions side by side.

A pair is reported when its score reaches the threshold, or half of it with a rare clue from the
grader (never on a clue alone), and the matching code holds at least ``min_tokens`` tokens.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medgrade.course import Course
from medgrade.errors import UsageError
from medgrade.gradebook.files import atomic_write
from medgrade.similarity.clues import ClassEvidence, Flagged, numeric_constants, observe
from medgrade.similarity.compare import ClassIndex, PairMatch, Region
from medgrade.similarity.documents import Document, course_material, load_documents
from medgrade.similarity.pages import render_pair_page

__all__ = ["Settings", "Flagged", "ClassSimilarity", "compare_class", "write_similarity", "integrity_folder",
           "read_summary", "pair_page_name"]

Say = Callable[[str], None]


@dataclass(frozen=True)
class Settings:
    threshold: float = 0.5  # of a student's own code matching the other's
    min_tokens: int = 60  # about six lines: less is too little to call copying
    common_limit: int | None = None  # default: compare.default_common_limit


@dataclass
class ClassSimilarity:
    assignment: str
    settings: Settings
    docs: dict[str, Document]
    skipped: dict[str, str]
    pairs_total: int
    pairs_compared: int
    seconds: float
    graded: int  # students with an autograded notebook (clues from grading)
    flagged: list[Flagged] = field(default_factory=list)


def _clues(course: Course, assignment: str, docs: list[Document], source_text: str) -> ClassEvidence:
    course_values = {v for v, _ in numeric_constants([source_text])}
    return ClassEvidence({d.student: observe(course, assignment, d.student, d.snippets, course_values) for d in docs})


def compare_class(course: Course, assignment: str, *, settings: Settings | None = None,
                  say: Say | None = None) -> ClassSimilarity:
    """Compare every submission of ``assignment`` with every other, pruned by the fingerprint index."""
    settings = settings or Settings()
    say = say or (lambda _: None)
    started = time.monotonic()
    students = course.students(course.require(assignment))
    if len(students) < 2:
        raise UsageError(f"nothing to compare: {len(students)} submission(s) of {assignment} under submitted/ "
                         "(similarity needs two or more)")
    material = course_material(course, assignment)
    say(f"similarity: reading {len(students)} submission(s) of {assignment}")
    step = max(1, len(students) // 10)
    done = [0]

    def read(_: str) -> None:
        done[0] += 1
        if len(students) >= 50 and (done[0] % step == 0 or done[0] == len(students)):
            say(f"  [{done[0]}/{len(students)}] read")

    docs, skipped = load_documents(course, assignment, material, students, read)
    for student, why in skipped.items():
        say(f"  left out {student}: {why}")
    index = ClassIndex(docs, material.boilerplate, common_limit=settings.common_limit)
    pairs = index.candidates(settings.threshold / 2)
    total = len(docs) * (len(docs) - 1) // 2
    say(f"  comparing {len(pairs)} of {total} pair(s) in full (the others share too few fingerprints; "
        f"code in more than {index.common_limit} submissions counts as common)")
    evidence = _clues(course, assignment, docs, material.source_text)
    flagged = []
    for n, (i, j) in enumerate(pairs, 1):
        match = index.compare(i, j)
        if match.tokens >= settings.min_tokens and match.score >= settings.threshold / 2:
            found = Flagged(match, tuple(evidence.clues(match.a, match.b)))
            if match.score >= settings.threshold or found.rare:
                flagged.append(found)
        if n % max(1, len(pairs) // 10) == 0 and len(pairs) >= 50:
            say(f"  [{n}/{len(pairs)}] compared")
    flagged.sort(key=lambda f: (-f.match.score, f.match.a, f.match.b))
    return ClassSimilarity(assignment, settings, {d.student: d for d in docs}, skipped, total, len(pairs),
                           time.monotonic() - started, evidence.graded, flagged)


def integrity_folder(course: Course, assignment: str) -> Path:
    return course.gradebook_dir / "integrity" / assignment


def pair_page_name(a: str, b: str) -> str:
    return f"{a}--{b}.html"


def _where(doc: Document, start: int, end: int) -> dict[str, Any]:
    snippet, first, last = doc.lines(start, end)
    cell = doc.snippets[snippet]
    return {"notebook": cell.notebook, "cell": cell.cell, "lines": [first, last]}


def _region(result: ClassSimilarity, m: PairMatch, r: Region) -> dict[str, Any]:
    return {"a": _where(result.docs[m.a], r.a_start, r.a_end), "b": _where(result.docs[m.b], r.b_start, r.b_end),
            "tokens": r.size}


def summary(result: ClassSimilarity) -> dict[str, Any]:
    """What ``similarity.json`` holds: the settings, the counts and every reported pair."""
    pairs = [{"a": f.match.a, "b": f.match.b, "score": round(f.match.score, 4), "a_share": round(f.match.a_share, 4),
              "b_share": round(f.match.b_share, 4), "tokens": f.match.tokens, "reason": f.reason,
              "page": pair_page_name(f.match.a, f.match.b),
              "clues": [{"kind": c.kind, "text": c.text, "rare": c.rare} for c in f.clues],
              "regions": [_region(result, f.match, r) for r in f.match.regions]} for f in result.flagged]
    s = result.settings
    return {"schema": 1, "assignment": result.assignment, "threshold": s.threshold, "min_tokens": s.min_tokens,
            "compared": sorted(result.docs), "skipped": result.skipped, "graded": result.graded,
            "pairs_total": result.pairs_total, "pairs_compared": result.pairs_compared,
            "seconds": round(result.seconds, 2), "pairs": pairs}


def read_summary(course: Course, assignment: str) -> dict[str, Any] | None:
    """The last run's ``similarity.json``, or None when there is none (or it does not read)."""
    try:
        found = json.loads((integrity_folder(course, assignment) / "similarity.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) and found.get("schema") == 1 else None


def _finding(f: Flagged, me: str) -> str:
    m = f.match
    other, mine, theirs = (m.b, m.a_share, m.b_share) if me == m.a else (m.a, m.b_share, m.a_share)
    clues = f"; supporting: {'; '.join(c.text for c in f.rare)}" if f.rare else ""
    return (f"integrity: similarity {m.score:.0%} with {other}: {mine:.0%} of this submission's own code and "
            f"{theirs:.0%} of {other}'s match ({m.tokens} tokens in {len(m.regions)} region(s)){clues}; "
            f"see {pair_page_name(m.a, m.b)}")


def merge_csv(existing: str, result: ClassSimilarity) -> str:
    """``existing`` (the integrity CSV) with its similarity rows replaced by ``result``'s."""
    rows = [r for r in csv.reader(io.StringIO(existing)) if len(r) == 3 and r[1] != "similarity"]
    if not rows or rows[0] != ["student", "kind", "finding"]:
        rows.insert(0, ["student", "kind", "finding"])
    for f in result.flagged:
        rows += [[me, "similarity", _finding(f, me)] for me in (f.match.a, f.match.b)]
    out = [",".join(rows[0])]
    out += [",".join([r[0], r[1], '"' + r[2].replace('"', '""') + '"']) for r in rows[1:]]
    return "\n".join(out) + "\n"


def write_similarity(course: Course, result: ClassSimilarity) -> Path:
    """Write the CSV rows, ``similarity.json`` and the pair pages; return the folder of the pages."""
    folder = integrity_folder(course, result.assignment)
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {pair_page_name(f.match.a, f.match.b) for f in result.flagged}
    for old in folder.glob("*--*.html"):
        if old.name not in wanted:
            old.unlink()  # a pair no longer reported keeps no page
    for f in result.flagged:
        page = render_pair_page(result.assignment, f, result.docs[f.match.a], result.docs[f.match.b])
        atomic_write(folder / pair_page_name(f.match.a, f.match.b), page)
    atomic_write(folder / "similarity.json", json.dumps(summary(result), indent=1))
    report = course.gradebook_dir / "integrity" / f"{result.assignment}.csv"
    existing = report.read_text(encoding="utf-8") if report.is_file() else ""
    atomic_write(report, merge_csv(existing, result))
    return folder


def report_similarity(course: Course, assignment: str, *, settings: Settings | None = None,
                      say: Say = print) -> ClassSimilarity:
    """Compare the class, write everything, and tell the TA what was found and where it is."""
    result = compare_class(course, assignment, settings=settings, say=say)
    folder = write_similarity(course, result)
    where = folder.relative_to(course.root) if folder.is_relative_to(course.root) else folder
    threshold = result.settings.threshold
    if result.flagged:
        say(f"similar pairs (a score of {threshold:.0%} or more, or {threshold / 2:.0%} with a rare clue):")
        for f in result.flagged:
            m = f.match
            say(f"  review {m.a} and {m.b}: {m.score:.0%} similar ({m.tokens} tokens in {len(m.regions)} "
                f"region(s); {f.reason}): {where}/{pair_page_name(m.a, m.b)}")
    else:
        say(f"no pair of submissions reaches {threshold:.0%} similarity")
    say(f"similarity: {len(result.docs)} submission(s), {result.pairs_compared} of {result.pairs_total} pair(s) "
        f"compared in full, {result.seconds:.1f} s; {len(result.flagged)} pair(s) reported in "
        f"{where.parent}/{assignment}.csv")
    return result
