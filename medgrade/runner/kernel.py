"""The grader's kernel client: nbclient, with outputs capped and its own record of every request.

nbclient turns the kernel's messages into cell outputs, which the kernel controls (it can divert
them, clear them or never send them). The grader needs its own account, kept here as messages
arrive: for each request it sends, whether the kernel was seen to start it and which errors were
sent for it, and the kernel's reply to it (:mod:`medgrade.runner.verdicts` turns these into an
:class:`~medgrade.runner.verdicts.Observation`).
"""

from __future__ import annotations

from typing import Any

from nbclient import NotebookClient
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_output

from medgrade.runner.verdicts import Observation, Seen, observe

__all__ = ["Client", "MAX_OUTPUT_BYTES"]

MAX_OUTPUT_BYTES = 1_000_000  # per cell; the rest is dropped with a note
_DROPPED = "[medgrade: output"


class Client(NotebookClient):
    """nbclient with outputs capped per cell, so a flood of prints cannot exhaust the grader.

    The kernel may send megabytes in one stream message, so the cap applies to the message
    that would cross it: a stream is cut to what still fits, anything else is dropped.
    """

    def __init__(self, nb: NotebookNode, **kwargs: Any) -> None:
        super().__init__(nb, **kwargs)
        self.seen: dict[str, Seen] = {}
        self.last_reply: dict[str, Any] | None = None
        self.on_cell_executed = self._replied

    def _replied(self, cell: NotebookNode, cell_index: int, execute_reply: dict[str, Any]) -> None:
        self.last_reply = execute_reply

    def process_message(self, msg: dict[str, Any], cell: NotebookNode, cell_index: int) -> NotebookNode | None:
        """Note what the request this message answers did (before nbclient turns it into outputs)."""
        parent = msg.get("parent_header", {}).get("msg_id")
        if isinstance(parent, str):
            seen = self.seen.setdefault(parent, Seen())
            if msg.get("msg_type") == "execute_input":
                seen.began = True
            elif msg.get("msg_type") == "error":
                content = msg.get("content") or {}
                seen.errors.append((str(content.get("ename", ""))[:200], str(content.get("evalue", ""))[:20_000]))
        return super().process_message(msg, cell, cell_index)

    def output(self, outs: list[Any], msg: dict[str, Any], display_id: str | None, cell_index: int) -> Any:
        room = MAX_OUTPUT_BYTES - sum(len(str(o)) for o in outs)
        if len(str(msg.get("content", ""))) <= room:
            return super().output(outs, msg, display_id, cell_index)
        if room > 0 and msg.get("msg_type") == "stream":
            cut = {**msg, "content": {**msg["content"], "text": str(msg["content"].get("text", ""))[:room]}}
            super().output(outs, cut, display_id, cell_index)
        if not any(str(o.get("text", "")).startswith(_DROPPED) for o in outs):
            note = f"{_DROPPED} past {MAX_OUTPUT_BYTES} bytes dropped]\n"
            outs.append(new_output("stream", name="stderr", text=note))
        return None

    def observe_cell(self, cell: NotebookNode, index: int, code: str) -> Observation:
        """Run ``code`` for ``cell`` (outputs go to the cell, which keeps its own source); what the grader saw."""
        self.last_reply = None
        self.seen.clear()
        own = cell.source
        cell.source = code
        try:
            self.execute_cell(cell, index)
        finally:
            cell.source = own
        reply = self.last_reply
        parent: Any = reply.get("parent_header", {}) if isinstance(reply, dict) else {}
        msg_id = parent.get("msg_id") if isinstance(parent, dict) else None
        return observe(reply, self.seen.get(msg_id) if isinstance(msg_id, str) else None)

    def observe_code(self, code: str) -> Observation:
        """Run ``code`` as a cell of its own that the notebook does not keep."""
        cell = new_code_cell(code)
        self.nb.cells.append(cell)
        index = len(self.nb.cells) - 1
        try:
            return self.observe_cell(cell, index, code)
        finally:
            if self.nb.cells[index] is cell:
                del self.nb.cells[index]

    def quiet(self, code: str, user_expressions: dict[str, str] | None = None) -> dict[str, Any] | None:
        """Run grader code silently (no history, no outputs kept); its reply."""
        assert self.kc is not None
        msg_id = self.kc.execute(code, silent=True, store_history=False, user_expressions=user_expressions or {})
        return self.wait_for_reply(msg_id)
