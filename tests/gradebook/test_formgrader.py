"""A TA grades a written answer in nbgrader's formgrader, in headless Chromium, on a medgrade-graded course.

The tiny course of :mod:`tests.gradebook.test_written_answers` (one test worth 2 points, a written
answer ``explain_double`` worth 3) is graded by medgrade; nbgrader's formgrader then runs as a
Jupyter server extension on that course, and Chromium, driven over the DevTools protocol, does
what a TA does: opens the formgrader with the server's token, goes to the notebook's submissions,
opens ana's, types a score and a comment, and tabs out of each box (the page saves on ``change``).
What the TA entered must then be in nbgrader's gradebook and reach medgrade's nbgrader and
Gradescope exports and ana's feedback page.

Chromium resolves no outside host: the formgrader page's MathJax (from a CDN) does not load, as
on a machine offline, and the page's script stops at ``MathJax.loaded = false`` after it has bound
the score and comment boxes; that is the one page error allowed.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from medgrade.cli.main import cli
from medgrade.coordinator.engine import grade_class
from medgrade.course import Course
from tests.gradebook.cdp import Browser
from tests.gradebook.test_written_answers import _course
from tests.tiny_course import ASSIGNMENT, TINY_PROFILE, submit

pytestmark = [pytest.mark.xdist_group("engine"), pytest.mark.slow]

TOKEN = "medgrade-formgrader-test-token"
COMMENT = "Cite your numbers."
NOTEBOOK = "tiny"
STARTUP_S = 90  # the formgrader imports nbgrader and jupyter_server: seconds, more on a busy machine
SAVE_S = 20


@pytest.fixture
def course(tmp_path) -> Path:
    """The tiny course, ana's notebook graded by medgrade: her test scored, her written answer awaiting a TA."""
    root = _course(tmp_path / "course")
    submit(root, "ana", {"explain_double": "It doubles: 1 -> 2 and 2 -> 4, a straight line, so it is linear."})
    grade_class(Course(root), ASSIGNMENT, ["ana"], profile=TINY_PROFILE, data_root=None, workers=1)
    return root


def _free_port() -> int:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])
    except OSError as e:
        pytest.skip(f"cannot bind a localhost port for the formgrader here: {e}")


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@pytest.fixture
def formgrader(course, tmp_path) -> Iterator[str]:
    """nbgrader's formgrader on ``course`` (root dir and cwd, so nbgrader reads its nbgrader_config.py); its URL.

    Only this extension is loaded, from no Jupyter configuration but the command line's
    (``JUPYTER_NO_CONFIG``): the environment's and the user's enable JupyterLab and more.
    """
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "formgrader.log"
    command = [sys.executable, "-m", "jupyter_server", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}",
               f"--ServerApp.root_dir={course}",
               "--ServerApp.jpserver_extensions={'nbgrader.server_extensions.formgrader': True}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    env = {**os.environ, "JUPYTER_NO_CONFIG": "1", "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime")}
    with log.open("wb") as out:
        server = subprocess.Popen(command, cwd=course, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_until_it_answers(server, base, log)
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(server.pid, signal.SIGKILL)  # anything it left in its group, or itself if it hung
        except ProcessLookupError:
            pass
        server.wait(timeout=10)


def _wait_until_it_answers(server: subprocess.Popen[bytes], base: str, log: Path) -> None:
    status = urllib.request.Request(f"{base}/formgrader/api/status", headers={"Authorization": f"token {TOKEN}"})
    deadline = time.monotonic() + STARTUP_S
    while True:
        if server.poll() is not None:
            pytest.fail(f"the formgrader server exited with {server.returncode} before it answered; "
                        f"its log:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(status, timeout=5) as answer:
                body = json.load(answer)
            assert body == {"status": True}, f"formgrader's status is {body}, not ready; its log:\n{_tail(log)}"
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the formgrader at {base} did not answer /formgrader/api/status within {STARTUP_S} s; "
                        f"its log:\n{_tail(log)}")
        time.sleep(0.25)


def _entered(root: Path) -> tuple[float | None, str | None]:
    """ana's explain_double as nbgrader's gradebook has it: the manual score and the manual comment."""
    with Course(root).gradebook() as gb:
        grade = gb.find_grade("explain_double", NOTEBOOK, ASSIGNMENT, "ana")
        comment = gb.find_comment("explain_double", NOTEBOOK, ASSIGNMENT, "ana")
        return grade.manual_score, comment.manual_comment


def _wait_saved(root: Path, page: Browser) -> None:
    deadline = time.monotonic() + SAVE_S
    while (seen := _entered(root)) != (2.0, COMMENT):
        if time.monotonic() > deadline:
            pytest.fail(f"the formgrader did not save the TA's score 2 and comment {COMMENT!r} to the gradebook "
                        f"within {SAVE_S} s: it holds (manual_score, manual_comment) = {seen}\n{page.report()}")
        time.sleep(0.2)


def _cli(root: Path, *args: str):
    return CliRunner().invoke(cli, [*args, "--course-dir", str(root)])


def test_a_ta_grades_a_written_answer_in_formgrader_and_it_reaches_exports_and_feedback(
        course, formgrader, chromium, tmp_path) -> None:
    with Course(course).gradebook() as gb:
        submission = gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, "ana").id
        awaiting = gb.find_grade("explain_double", NOTEBOOK, ASSIGNMENT, "ana")
        assert (awaiting.manual_score, awaiting.needs_manual_grade) == (None, True)
    listing = f"{formgrader}/formgrader/gradebook/{ASSIGNMENT}/{NOTEBOOK}"
    ana_row = (f"[...document.querySelectorAll('a[href$=\"/formgrader/submissions/{submission}\"]')]"
               ".map(a => a.closest('tr').innerText)[0]")

    with Browser(chromium, tmp_path / "browser") as page:
        # The TA opens the formgrader with the token the server printed; it lists the assignment.
        page.goto(f"{formgrader}/formgrader?token={TOKEN}",
                  f"location.pathname === '/formgrader/manage_assignments' && document.querySelector("
                  f"'#main-table') && document.querySelector('#main-table').innerText.includes('{ASSIGNMENT}')")
        # Manual grading -> the notebook's submissions: ana's, 2 / 5 and needing a manual grade.
        page.goto(listing, ana_row)
        row = page.evaluate(ana_row)
        assert "2 / 5" in row and "0 / 3" in row, row
        page.click(f'a[href$="/formgrader/submissions/{submission}"]')
        page.wait_for("location.pathname.startsWith('/formgrader/submissions/') && window.formgrader "
                      "&& formgrader.grades && formgrader.grades.loaded "
                      "&& formgrader.comments && formgrader.comments.loaded "
                      "&& document.getElementById('explain_double') "
                      "&& document.getElementById('explain_double-comment')",
                      "opening ana's submission with its score and comment boxes bound to the gradebook")

        # Grade like a TA: click in the box, type, tab out (the page saves on change).
        page.click("#explain_double")
        page.type("2")
        page.press("Tab", 9)
        page.click("#explain_double-comment")
        page.type(COMMENT)
        page.press("Tab", 9)
        _wait_saved(course, page)
        page.wait_for("document.getElementById('explain_double').value === '2' "
                      f"&& document.getElementById('explain_double-comment').value === {json.dumps(COMMENT)}",
                      "the page showing the saved score and comment")

        # The formgrader's own listing now counts the TA's points.
        page.goto(listing, f"({ana_row} || '').includes('4 / 5')")
        row = page.evaluate(ana_row)
        assert "4 / 5" in row and "2 / 3" in row, row
        unexpected = [e for e in page.exceptions if "MathJax is not defined" not in e]
        assert not unexpected, page.report()

    assert _entered(course) == (2.0, COMMENT)
    with Course(course).gradebook() as gb:
        assert gb.find_grade("explain_double", NOTEBOOK, ASSIGNMENT, "ana").needs_manual_grade is False

    result = _cli(course, "export", ASSIGNMENT, "--format", "nbgrader-csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((course / "gradebook" / "exports" / f"{ASSIGNMENT}-nbgrader-csv.csv").open()))
    assert [(r["student_id"], float(r["score"]), float(r["max_score"])) for r in rows] == [("ana", 4.0, 5.0)]

    result = _cli(course, "export", ASSIGNMENT, "--format", "gradescope-csv", "-o", str(tmp_path / "gs.csv"))
    assert result.exit_code == 0, result.output
    assert "await grading" not in result.output
    assert [(r["SID"], r["Total Score"]) for r in csv.DictReader((tmp_path / "gs.csv").open())] == [("ana", "4")]

    result = _cli(course, "feedback", ASSIGNMENT)
    assert result.exit_code == 0, result.output
    html = (course / "gradebook" / "feedback" / ASSIGNMENT / "ana.html").read_text()
    assert "Score <strong>4 / 5</strong>" in html
    assert "explain_double: 2 / 3 points</h3>" in html
    assert f'<div class="note">{COMMENT}</div>' in html
