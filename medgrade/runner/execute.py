"""Run a prepared notebook in a sandboxed kernel and report what happened to every test.

Cells run in order; each test cell runs in place, full source included, after the grader
reseeds every random generator. A test passes when its cell ran and raised nothing: stderr
and displayed values do not matter. A test the run never reached (a timeout that the kernel
did not survive, a dead kernel, memory or budget exhausted) fails with a message saying which
and where.
"""

from __future__ import annotations

import ast
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import psutil
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbformat.v4 import new_output

from medgrade.grading.judge import forget_records, judge_cell
from medgrade.profiles import Profile
from medgrade.runner.prepare import Prepared, TestCell
from medgrade.runner.sandbox import KERNEL_NAME, SandboxKernelManager, connection_file, evidence_dir
from medgrade.runner.seeding import seed_code
from medgrade.runner.watchdog import Caps, Watchdog

__all__ = ["TestOutcome", "Execution", "execute"]

TIMEOUT_ENAME = "CellTimeout"
MAX_OUTPUT_BYTES = 1_000_000  # per cell; the rest is dropped with a note
_DROPPED = "[medgrade: output"
# Evaluated in the kernel after a test cell: medgrade.checks.measure's log, drained, if the
# notebook loaded it. Never imported here: medgrade.checks loads torch (about 700 MB), which
# would blow a small memory cap and cost seconds in notebooks that do not use it.
MEASURE_EXPRESSION = ("(lambda m: m.drain_json() if m else '[]')"
                      "(__import__('sys').modules.get('medgrade.checks.measure'))")
_MEASURED_KEYS = {"check", "name", "value", "threshold", "direction", "passed"}



@dataclass(frozen=True)
class TestOutcome:
    grade_id: str
    status: str  # "passed" | "failed" | "not_run"
    message: str = ""


@dataclass
class Execution:
    notebook: NotebookNode
    outcomes: dict[str, TestOutcome] = field(default_factory=dict)
    stopped: str | None = None
    seconds: float = 0.0
    peak_memory_mb: float = 0.0


class _Client(NotebookClient):
    """nbclient with outputs capped per cell, so a flood of prints cannot exhaust the grader.

    The kernel may send megabytes in one stream message, so the cap applies to the message
    that would cross it: a stream is cut to what still fits, anything else is dropped.
    """

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


def _error_message(cell: NotebookNode) -> str:
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not errors:
        return ""
    e = errors[-1]
    return f"{e.get('ename')}: {str(e.get('evalue', '')).strip()}".rstrip(": ")


def _seed(client: _Client, seed: int, profile: Profile) -> None:
    assert client.kc is not None
    code = seed_code(seed, deterministic=profile.deterministic)
    msg_id = client.kc.execute(code, silent=True, store_history=False)
    client.wait_for_reply(msg_id)


def _keep_measurements(client: _Client, cell: NotebookNode) -> None:
    """Move the kernel's measurement log into the cell's metadata (for calibration only)."""
    assert client.kc is not None
    try:
        msg_id = client.kc.execute("", silent=True, store_history=False, user_expressions={"m": MEASURE_EXPRESSION})
        reply = client.wait_for_reply(msg_id) or {}
        found = reply["content"]["user_expressions"]["m"]
        text = found["data"]["text/plain"] if found.get("status") == "ok" else "'[]'"
        records = json.loads(ast.literal_eval(text[:1_000_000]))
    except Exception:  # a dead or busy kernel, or a log the student broke: nothing to keep
        return
    kept = [{k: r[k] for k in _MEASURED_KEYS} for r in records if isinstance(r, dict) and _MEASURED_KEYS <= r.keys()]
    if kept:
        cell.metadata.setdefault("medgrade", {})["measured"] = kept


def execute(
    prepared: Prepared, *, workdir: Path, spec_dir: Path, env: dict[str, str], profile: Profile, seed: int = 0,
    data_root: Path | None = None, caps: Caps | None = None, confined: bool = False,
) -> Execution:
    """Execute ``prepared.notebook`` in a fresh sandboxed kernel; never raises for student errors.

    A test cell with ``checks.judged`` calls passes only if it ran without error and the
    grader's judgement of its records (against the labels under ``data_root``) passes too.
    ``workdir`` is the kernel's folder as the kernel sees it; ``confined``, the grader reaches it
    through the sandbox (:class:`~medgrade.runner.sandbox.SandboxKernelManager`).
    """
    nb = prepared.notebook
    run = Execution(nb)
    tests = {t.index: t for t in prepared.tests}
    # Async, as nbclient expects: with a blocking client its timeouts never fire.
    specs = KernelSpecManager(kernel_dirs=[str(spec_dir)])
    km = SandboxKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs, confined=confined)
    km.transport = "ipc"  # Unix sockets in the folder: they cross the empty network namespace
    km.ip = str(workdir / "kernel")
    km.connection_file = str(connection_file(spec_dir))  # beside the kernelspec: only this kernel sees it
    client = _Client(nb, km=km, timeout=profile.cell_timeout, allow_errors=True, interrupt_on_timeout=True,
                     error_on_timeout={"ename": TIMEOUT_ENAME, "evalue": "", "traceback": []},
                     resources={"metadata": {"path": str(spec_dir if confined else workdir)}},  # the launcher's cwd
                     startup_timeout=120)
    start = time.monotonic()
    current = 0
    try:
        with client.setup_kernel(env=env):
            pid = km.provisioner.process.pid  # type: ignore[union-attr]
            with Watchdog(pid, memory_mb=profile.memory_mb, budget_s=profile.notebook_budget, caps=caps) as dog:
                try:
                    _seed(client, seed, profile)
                    for current, cell in enumerate(nb.cells):
                        if cell.cell_type != "code":
                            continue
                        if current in tests:
                            _seed(client, seed, profile)
                            _forget_records(km.reach(workdir), tests[current])
                        client.execute_cell(cell, current)
                        if current in tests:
                            _judge(run, tests[current], cell, profile)
                            _keep_measurements(client, cell)
                            _judge_outside(run, tests[current], cell, profile, km.reach(workdir), data_root)
                except (DeadKernelError, RuntimeError) as e:
                    reason = dog.reason or "the kernel died"
                    run.stopped = f"{reason} in cell {current + 1}"
                    if current in tests:
                        run.outcomes[tests[current].grade_id] = TestOutcome(
                            tests[current].grade_id, "failed", f"{reason} while this test ran ({type(e).__name__})")
                run.peak_memory_mb = dog.peak_mb
    except Exception as e:  # the kernel did not start: no test can have run
        run.stopped = f"the kernel could not start: {type(e).__name__}: {e}"
    finally:
        _shutdown(km)
    for t in prepared.tests:
        if t.grade_id not in run.outcomes:
            reason = run.stopped or "the cell was not run"
            run.outcomes[t.grade_id] = TestOutcome(t.grade_id, "not_run", f"not reached: {reason}")
    run.seconds = time.monotonic() - start
    return run


def _shutdown(km: SandboxKernelManager) -> None:
    """Stop the kernel and anything it started (nbclient leaves a kernel it does not own)."""
    process = getattr(km.provisioner, "process", None)
    leftovers: list[psutil.Process] = []
    if process is not None:
        try:
            leftovers = psutil.Process(process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            pass
    try:
        if km.has_kernel:
            run_sync(km.shutdown_kernel)(now=True)
    finally:
        Watchdog.kill(leftovers)


def _forget_records(workdir: Path, test: TestCell) -> None:
    """Records a judged test will write: one left from an earlier cell must not stand in."""
    if test.judges:
        forget_records(evidence_dir(workdir), [k for spec in test.judges for k in spec.keys])


def _judge_outside(run: Execution, test: TestCell, cell: NotebookNode, profile: Profile, workdir: Path,
                   data_root: Path | None) -> None:
    """The grader's judgement of a judged test that ran without error (see medgrade.grading.judge)."""
    if not test.judges or run.outcomes[test.grade_id].status != "passed":
        return
    verdict = judge_cell(test.judges, evidence_dir(workdir), data_root, profile.name)
    if verdict.measured:
        cell.metadata.setdefault("medgrade", {}).setdefault("measured", []).extend(verdict.measured)
    cell.outputs.extend(nbformat.from_dict(o) for o in verdict.outputs)
    if verdict.message:
        ename, _, evalue = verdict.message.partition(": ")
        cell.outputs.append(new_output("error", ename=ename, evalue=evalue, traceback=[verdict.message]))
        run.outcomes[test.grade_id] = TestOutcome(test.grade_id, "failed", verdict.message)


def _judge(run: Execution, test: Any, cell: NotebookNode, profile: Profile) -> None:
    message = _error_message(cell)
    # The grader interrupts a cell at its timeout: the kernel reports KeyboardInterrupt, or
    # nbclient its own timeout error when the kernel did not answer.
    if message.startswith((TIMEOUT_ENAME, "KeyboardInterrupt")):
        message = f"the test ran past the {profile.cell_timeout} s per-cell limit and was interrupted"
    status = "failed" if message else "passed"
    run.outcomes[test.grade_id] = TestOutcome(test.grade_id, status, message)
