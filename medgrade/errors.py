"""The exception tree of medgrade.

MedgradeError                  anything medgrade reports to a user on purpose
 +-- UsageError                bad input on the command line or in configuration
 |    +-- UnknownAssignment    an assignment id that the course does not have
 +-- CourseError               the course directory is missing something it needs
 +-- DataError                 a dataset stand-in is missing, stale or corrupted
 +-- SandboxUnavailable        the kernel's sandbox cannot be built on this machine
 +-- SubmissionError           one student's submission cannot be graded as is
 +-- ValidationFailure         the autograder's fairness proof did not hold

``CheckFailure`` (in :mod:`medgrade.checks`) is deliberately *not* here: it is an
``AssertionError`` raised inside student kernels, a verdict and not an error of the tool.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "MedgradeError",
    "UsageError",
    "UnknownAssignment",
    "CourseError",
    "DataError",
    "SandboxUnavailable",
    "SubmissionError",
    "ValidationFailure",
]


class MedgradeError(Exception):
    """Base of every error medgrade raises for a user to read."""


class UsageError(MedgradeError):
    """The user asked for something that cannot be done as asked."""


class UnknownAssignment(UsageError):
    """An assignment id that is not in ``source/``; the message names the known ones."""

    def __init__(self, assignment: str, known: Iterable[str]) -> None:
        self.assignment = assignment
        self.known = sorted(known)
        listing = ", ".join(self.known) if self.known else "none (source/ is empty)"
        super().__init__(f"unknown assignment {assignment!r}; known assignments: {listing}")


class CourseError(MedgradeError):
    """The course directory lacks a file or folder that the command needs."""


class DataError(MedgradeError):
    """A dataset stand-in is missing, stale or corrupted; the message says how to repair it."""


class SandboxUnavailable(MedgradeError):
    """Student code would run unconfined here; the message says what is missing and how to get it."""


class SubmissionError(MedgradeError):
    """One submission cannot be graded as is; the message names the student and the file."""

    def __init__(self, student: str, path: str, reason: str) -> None:
        self.student = student
        self.path = path
        self.reason = reason
        super().__init__(f"{student}: {path}: {reason}")


class ValidationFailure(MedgradeError):
    """The reference, the release or a mutant did not score what it must."""
