"""A time budget that a hidden test puts around a call into student code.

The kernel's per-cell timeout protects the grader; this protects the *test*: a student's
``train()`` that never returns fails its own test in seconds with a message that says so,
instead of eating the cell timeout of every test that calls it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["BudgetExceeded", "time_limit"]


class BudgetExceeded(AssertionError):
    """Student code ran past the time a test allows; a failed test, not a crash."""


@contextmanager
def time_limit(seconds: float, *, what: str = "this call", hint: str = "") -> Iterator[None]:
    """Raise :class:`BudgetExceeded` in the main thread if the block runs past ``seconds``.

    Uses ``SIGALRM``, so it interrupts pure-Python loops and returns between PyTorch ops.
    Off the main thread (or where SIGALRM does not exist) the block runs unguarded.
    """
    if seconds <= 0:
        raise ValueError(f"time_limit needs a positive number of seconds, got {seconds}")
    usable = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def _expire(signum: int, frame: FrameType | None) -> None:
        message = f"{what} did not finish within {seconds:g} s (the grading budget)."
        if hint:
            message += f" Hint: {hint}"
        raise BudgetExceeded(message)

    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
