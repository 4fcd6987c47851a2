"""What a student calls from a notebook: the self-check and plot evidence for feedback.

``from medgrade.student import self_check; self_check()`` runs the public tests of the saved
notebook in a fresh sandboxed kernel and prints the report ``medgrade check`` prints.
"""

from __future__ import annotations

from typing import Any

from medgrade.publish import publish

__all__ = ["publish", "self_check"]


def self_check(*args: Any, **kwargs: Any) -> Any:
    """See :func:`medgrade.student.selfcheck.self_check` (imported on call: the runner is heavy)."""
    from medgrade.student.selfcheck import self_check as run

    return run(*args, **kwargs)
