"""Drive headless Chromium over the DevTools protocol: open a page, run script, click, type, press keys.

The browser is Debian's ``chromium`` (found by :func:`tests.gradebook.browser.find_chromium`),
started with ``--remote-debugging-port=0``: it writes the port it chose to ``DevToolsActivePort``
in its profile folder, and the test talks to the page target's websocket with ``websocket-client``
(a dependency of jupyter_server, which nbgrader requires). Every wait has a deadline and says what
did not happen; the page's uncaught exceptions and console messages are kept for those messages.
Outside hosts resolve to nothing, so a page that pulls something from a CDN sees it fail, as offline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import websocket

from tests.gradebook.browser import FLAGS

# browser.py's headless flags, less the virtual time budget (meant for --dump-dom of a static page)
# and with the local servers exempt from the "resolve nothing" rule.
LIVE_FLAGS = [f for f in FLAGS if not f.startswith(("--virtual-time-budget", "--host-resolver-rules"))] + [
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    "--remote-debugging-port=0", "--remote-allow-origins=*", "--window-size=1200,1600",
]


class PageError(AssertionError):
    """Something the page was asked to do did not happen; the message says what and what the page logged."""


class Browser:
    """One headless Chromium and its first tab; use as a context manager (the browser always ends)."""

    def __init__(self, chromium: str, scratch: Path, *, timeout: float = 30.0) -> None:
        self.chromium = chromium
        self.scratch = scratch
        self.timeout = timeout
        self.profile = scratch / "chromium-profile"
        self.log_path = scratch / "chromium.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.ws: websocket.WebSocket | None = None
        self._next_id = 0
        self.exceptions: list[str] = []
        self.console: list[str] = []

    # -- life cycle -------------------------------------------------------------------------------

    def __enter__(self) -> Browser:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        self.profile.mkdir(parents=True, exist_ok=True)
        port_file = self.profile / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)  # a reused profile's: it names a port long closed
        with self.log_path.open("wb") as log:
            # Its own session: the browser's helper processes are ended with it, by its process group.
            self.proc = subprocess.Popen([self.chromium, *LIVE_FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + self.timeout
        while not (port_file.is_file() and port_file.read_text().strip()):
            if self.proc.poll() is not None:
                raise PageError(f"chromium exited with {self.proc.returncode} before it opened its DevTools port; "
                                f"its log:\n{self._log_tail()}")
            if time.monotonic() > deadline:
                raise PageError(f"chromium did not write {port_file} within {self.timeout:.0f} s; "
                                f"its log:\n{self._log_tail()}")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        page = self._page_target(port, deadline)
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=self.timeout,
                                              suppress_origin=True)
        self.send("Runtime.enable")
        self.send("Page.enable")

    def _page_target(self, port: int, deadline: float) -> dict[str, Any]:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as answer:
                    pages = [t for t in json.load(answer) if t.get("type") == "page"]
                if pages:
                    return pages[0]
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise PageError(f"chromium's DevTools port {port} listed no page within {self.timeout:.0f} s")
            time.sleep(0.1)

    def close(self) -> None:
        if self.ws is not None:
            try:
                self.send("Browser.close", timeout=5)
            except Exception:  # it is going away anyway; its process group is ended below
                pass
            try:
                self.ws.close()
            except Exception:  # already closed by the browser
                pass
            self.ws = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # helpers (zygote, renderers) that outlived it
            except ProcessLookupError:
                pass
            if self.proc.poll() is None:
                self.proc.wait(timeout=10)
            self.proc = None

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- the protocol ----------------------------------------------------------------------------

    def send(self, method: str, *, timeout: float | None = None, **params: Any) -> dict[str, Any]:
        """Call ``method``; its result. Events that arrive meanwhile are recorded (exceptions, console)."""
        assert self.ws is not None, "the browser is not started"
        self._next_id += 1
        call = self._next_id
        self.ws.send(json.dumps({"id": call, "method": method, "params": params}))
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise PageError(f"chromium did not answer {method} within {timeout or self.timeout:.0f} s")
            self.ws.settimeout(left)
            try:
                message = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            if message.get("id") == call:
                if "error" in message:
                    raise PageError(f"{method} failed: {message['error']}")
                return message.get("result", {})
            self._event(message)

    def _event(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.exceptions.append(details.get("exception", {}).get("description") or details.get("text", "?"))
        elif method == "Runtime.consoleAPICalled":
            self.console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))

    def evaluate(self, expression: str) -> Any:
        """The value of a script expression in the page (a promise is awaited)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise PageError(f"{expression!r} threw: "
                            f"{details.get('exception', {}).get('description') or details.get('text')}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, what: str, timeout: float | None = None) -> Any:
        """Poll ``expression`` until it is truthy; its value. On timeout, fail saying ``what`` did not happen."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                value = self.evaluate(expression)
            except PageError:  # e.g. a page still navigating: its context is gone for a moment
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise PageError(f"{what} did not happen within {timeout or self.timeout:.0f} s\n{self.report()}")
            time.sleep(0.1)

    def report(self) -> str:
        """What the page logged: its uncaught exceptions and console messages."""
        return (f"page exceptions: {self.exceptions or 'none'}\nconsole: {self.console or 'none'}\n"
                f"at: {self._safe_location()}")

    def _safe_location(self) -> str:
        try:
            return str(self.evaluate("location.href"))
        except PageError:
            return "?"

    # -- a user's actions --------------------------------------------------------------------------

    def goto(self, url: str, ready: str = "true") -> None:
        """Open ``url`` and wait until a new document has loaded and ``ready`` holds in it (it may redirect)."""
        self.evaluate("window.__cdpLeft = true")  # the page being left has it; the one opened does not
        answer = self.send("Page.navigate", url=url)
        if answer.get("errorText"):
            raise PageError(f"could not open {url}: {answer['errorText']}")
        self.wait_for(f"!window.__cdpLeft && document.readyState === 'complete' && ({ready})", f"opening {url}")

    def click(self, selector: str) -> None:
        """Click the middle of the first shown element ``selector`` with the mouse (scrolled into view first)."""
        box = self.evaluate(f"""(() => {{
            const el = [...document.querySelectorAll({json.dumps(selector)})].find(e => e.getClientRects().length);
            if (!el) return null;
            el.scrollIntoView({{block: 'center'}});
            const r = el.getBoundingClientRect();
            return {{x: r.left + r.width / 2, y: r.top + r.height / 2}};
        }})()""")
        if box is None:
            raise PageError(f"no element {selector} shown to click on {self._safe_location()}\n{self.report()}")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"], button="left", clickCount=1)

    def type(self, text: str) -> None:
        """Type ``text`` into whatever has the keyboard focus."""
        self.send("Input.insertText", text=text)

    def press(self, key: str, code: int) -> None:
        """Press and release a key that types nothing (``"Tab"``, 9; ``"Escape"``, 27)."""
        for kind in ("rawKeyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", type=kind, key=key, code=key, windowsVirtualKeyCode=code,
                      nativeVirtualKeyCode=code)
