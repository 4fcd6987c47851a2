"""What each student wrote, as one token document, and what the course gave everyone.

A student's code is the code cells they could write: solution cells and cells they added (the
same cells the integrity scan reads). What is not theirs is subtracted by fingerprint, not by
trusting cell metadata: every k-gram of the release notebook (starter code, locked cells,
``raise NotImplementedError()``) and of the source's test and locked cells (hidden tests
included) is *boilerplate*, so test code pasted into a cell of one's own, or a notebook whose
metadata was stripped, still counts for nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from medgrade.course import Course
from medgrade.errors import UsageError
from medgrade.similarity.fingerprints import SEPARATOR, Names, bound_names, kgram_hashes, tokens

__all__ = ["Snippet", "Document", "CourseMaterial", "student_snippets", "course_material", "load_documents"]

_MARKERS = re.compile(r"^\s*### (BEGIN|END) (SOLUTION|HIDDEN TESTS)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Snippet:
    """One cell of code: the notebook's file name, the cell's grade id (or ``#position``), its text."""

    notebook: str
    cell: str
    source: str


@dataclass
class Document:
    """The normalised tokens of one student's code, where each came from, and its k-gram hashes."""

    student: str
    snippets: tuple[Snippet, ...]
    words: list[str]
    where: list[tuple[int, int]]  # (snippet index, line) per token; (-1, 0) for a separator
    hashes: list[int | None]

    @classmethod
    def build(cls, student: str, snippets: Iterable[Snippet], course_names: Names) -> Document:
        cells = tuple(snippets)
        names = course_names | bound_names(s.source for s in cells)
        words: list[str] = []
        where: list[tuple[int, int]] = []
        for i, snippet in enumerate(cells):
            if words:
                words.append(SEPARATOR)
                where.append((-1, 0))
            for word, line in tokens(snippet.source, names):
                words.append(word)
                where.append((i, line))
        return cls(student, cells, words, where, kgram_hashes(words))

    def lines(self, start: int, end: int) -> tuple[int, int, int]:
        """``(snippet, first line, last line)`` of tokens ``[start, end)`` (one cell), on the code's own lines.

        A dedent is a token of the line after a block: it does not stretch a region onto that line.
        """
        inner = [t for t in range(start, end) if self.words[t] not in ("}", SEPARATOR)] or [start]
        snippet = self.where[inner[0]][0]
        return snippet, self.where[inner[0]][1], self.where[inner[-1]][1]


@dataclass(frozen=True)
class CourseMaterial:
    """What the course gave every student of one assignment."""

    notebooks: tuple[str, ...]  # file names
    names: Names  # bound by the source or the release: written as V in everyone's code
    boilerplate: frozenset[int]  # k-gram hashes of release and test code
    source_text: str  # every code cell of the source (for "odd choices": a value the course uses is not odd)


def _is_test(cell: nbformat.NotebookNode) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade") or meta.get("locked")) and not meta.get("solution")


def student_snippets(nb: nbformat.NotebookNode, notebook: str) -> list[Snippet]:
    """The code cells of ``nb`` a student could write: solution cells and cells without a grade id."""
    out = []
    for i, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and (meta.get("solution") or not meta.get("grade_id")):
            out.append(Snippet(notebook, str(meta.get("grade_id") or f"#{i + 1}"), str(cell.get("source", ""))))
    return out


def course_material(course: Course, assignment: str) -> CourseMaterial:
    """Boilerplate fingerprints and course names of ``assignment`` from ``release/`` and ``source/``."""
    names, given, source_text = Names(), [], []
    notebooks = tuple(p.name for p in course.source_notebooks(assignment))
    for name in notebooks:
        source = nbformat.read(course.source / assignment / name, as_version=4)
        code = [c for c in source.cells if c.get("cell_type") == "code"]
        source_text += [_MARKERS.sub("", c.source) for c in code]
        given += [Snippet(name, "test", _MARKERS.sub("", c.source)) for c in code if _is_test(c)]
        release_path = course.release / assignment / name
        if not release_path.is_file():
            raise UsageError(f"{release_path.relative_to(course.root)} is missing: run `medgrade release {assignment}` "
                             "first (the release tells which code every student was given)")
        release = nbformat.read(release_path, as_version=4)
        given += [Snippet(name, "release", c.source) for c in release.cells if c.get("cell_type") == "code"]
    names = bound_names(source_text + [s.source for s in given])
    boilerplate: set[int] = set()
    for snippet in given:  # one document per cell: no k-gram spans two cells of the course either
        boilerplate.update(h for h in Document.build("", [snippet], names).hashes if h is not None)
    return CourseMaterial(notebooks, names, frozenset(boilerplate), "\n".join(source_text))


def load_documents(course: Course, assignment: str, material: CourseMaterial, students: list[str],
                   progress: Callable[[str], None] | None = None) -> tuple[list[Document], dict[str, str]]:
    """Each student's document, and why a student was left out (a notebook that does not read)."""
    docs: list[Document] = []
    skipped: dict[str, str] = {}
    for student in students:
        folder = course.submitted / student / assignment
        snippets: list[Snippet] = []
        for name in material.notebooks:
            path = folder / name
            if not path.is_file():
                continue
            try:
                snippets += student_snippets(nbformat.read(path, as_version=4), name)
            except Exception as e:  # any unreadable file: the grader reports it; here it is left out
                skipped[student] = f"{_rel(course, path)} is not a notebook this can read ({type(e).__name__})"
                break
        else:
            if not snippets:
                skipped[student] = f"no {' or '.join(material.notebooks)} under {_rel(course, folder)}/"
            else:
                docs.append(Document.build(student, snippets, material.names))
        if progress:
            progress(student)
    return docs, skipped


def _rel(course: Course, path: Path) -> str:
    try:
        return str(path.relative_to(course.root))
    except ValueError:
        return str(path)
