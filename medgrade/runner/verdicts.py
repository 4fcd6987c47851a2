"""Whether a test passed: established by the grader from the messages it received, not from the cell.

A cell's outputs are whatever the kernel chose to send: a notebook can patch IPython's traceback
display, divert outputs, or tag a test cell so nbclient skips it, and a failing test then shows no
error. So the grader keeps its own record of every request it sends (:class:`Seen`, filled from
the kernel's IOPub messages for that request) and reads the kernel's reply to it. A test passed
only when all of these hold:

- the kernel replied to the grader's own request for that cell with status ``ok``;
- the grader saw the kernel start that request (``execute_input`` on IOPub);
- no error output was sent for it.

A reply and its messages that contradict each other (``ok`` after an error output, ``ok`` for a
request never seen to start, an error sent without its traceback) are named as
:func:`anomalies`: an honest kernel never produces them, and they say what was patched.
What runs inside the kernel's own process can still lie consistently (a patched ``do_execute``
or input transformer); :mod:`medgrade.runner.probes` makes that detectable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from medgrade.intake.scrub import Hidden, failure_message

__all__ = ["Seen", "Observation", "observe", "anomalies", "verdict_of", "TIMEOUT_ENAME"]

TIMEOUT_ENAME = "CellTimeout"
_INTERRUPTED = (TIMEOUT_ENAME, "KeyboardInterrupt")


@dataclass
class Seen:
    """What the kernel sent on IOPub for one request of the grader."""

    began: bool = False  # execute_input
    errors: list[tuple[str, str]] = field(default_factory=list)  # (ename, evalue) of error outputs


@dataclass(frozen=True)
class Observation:
    """One request as the grader saw it: the kernel's reply and what IOPub carried for it."""

    status: str  # the reply's status: ok, error, aborted; "" when no request was sent or answered
    ename: str = ""
    evalue: str = ""
    began: bool = False
    error_output: tuple[str, str] | None = None

    @property
    def clean(self) -> bool:
        """Ran to the end without an exception, by every account the grader has."""
        return self.status == "ok" and self.began and self.error_output is None

    @property
    def raised(self) -> str:
        """The exception the cell raised: the reply's, else the last error output's (empty: none seen)."""
        if self.status == "error" and self.ename:
            return self.ename
        return self.error_output[0] if self.error_output else ""

    @property
    def interrupted(self) -> bool:
        """Stopped by the grader at the per-cell limit (nbclient's own reply, or the kernel's)."""
        names = {self.ename, self.error_output[0] if self.error_output else ""}
        return bool(names & set(_INTERRUPTED))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def observe(reply: dict[str, Any] | None, seen: Seen | None) -> Observation:
    """The observation of a request from its reply (None: never answered) and its IOPub record."""
    seen = seen or Seen()
    content = reply.get("content", {}) if isinstance(reply, dict) else {}
    content = content if isinstance(content, dict) else {}
    return Observation(_text(content.get("status")), _text(content.get("ename")), _text(content.get("evalue")),
                       seen.began, seen.errors[-1] if seen.errors else None)


def anomalies(obs: Observation) -> list[str]:
    """What in ``obs`` no honest kernel sends, each as what it implies (empty for an honest kernel)."""
    found = []
    if obs.status == "ok" and not obs.began:
        found.append("the kernel answered ok without the grader seeing it run the cell")
    if obs.status == "ok" and obs.error_output is not None:
        found.append("the kernel answered ok after sending an error")
    if obs.status == "error" and obs.error_output is None and not obs.interrupted:
        found.append("the kernel reported an exception without sending its traceback (error display patched)")
    return found


def verdict_of(obs: Observation, *, cell_timeout: int, hidden: Hidden, structured: Any = None) -> tuple[str, str]:
    """``(status, message)`` of a test cell from what the grader observed of its run.

    ``structured`` is the kernel's account of a ``CheckFailure`` (its ``to_dict()``), from which
    the grader builds the message; ``hidden`` is scrubbed from every kernel-made text.
    """
    if obs.interrupted:
        return "failed", f"the test ran past the {cell_timeout} s per-cell limit and was interrupted"
    if obs.clean:
        return "passed", ""
    if not obs.status:
        return "failed", "the grader did not see this test run: the kernel never answered its request"
    if obs.status == "ok" and not obs.began:
        return "failed", "the grader did not see this test run: the kernel answered without running it"
    ename = obs.raised
    evalue = obs.evalue if obs.status == "error" and obs.ename else (obs.error_output or ("", ""))[1]
    if not ename:
        return "failed", f"the test did not run to the end (the kernel answered {obs.status!r})"
    return "failed", failure_message(ename, evalue, structured, hidden)
