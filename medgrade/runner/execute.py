"""Run a prepared notebook in a sandboxed kernel and report what happened to every test.

Cells run in order; each test cell runs in place, full source included, after the grader
reseeds every random generator. Whether a test passed is decided by the grader from what it saw
of the kernel (:mod:`medgrade.runner.verdicts`): the kernel's reply to the grader's own request
for that cell, the kernel seen starting it, and no error sent; stderr and displayed values do not
matter. Probes of known outcome run among the tests (:mod:`medgrade.runner.probes`); a kernel
that misreports one has every test scored 0, with a finding for the TA. A test the run never
reached (a timeout that the kernel did not survive, a dead kernel, memory or budget exhausted)
fails with a message saying which and where. Messages of tests with hidden parts are built by the
grader and scrubbed of the hidden source (:mod:`medgrade.intake.scrub`).
"""

from __future__ import annotations

import random
import secrets
import time
from pathlib import Path

import psutil
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError

from medgrade.intake.prepare import Prepared, TestCell
from medgrade.judge.grader import forget_records
from medgrade.profiles import Profile
from medgrade.results import Stop
from medgrade.runner.kernel import Client
from medgrade.runner.probes import OFF_FINDING, ProbePlan, plan_probes, probes_off
from medgrade.runner.sandbox import KERNEL_NAME, SandboxKernelManager, connection_file, evidence_dir
from medgrade.runner.testrun import LIED, Execution, TestOutcome, TestRun
from medgrade.runner.verdicts import TIMEOUT_ENAME
from medgrade.runner.watchdog import Caps, Watchdog

__all__ = ["TestOutcome", "Execution", "execute", "TAMPERED"]

TAMPERED = ("not scored: the kernel misreported a check whose outcome the grader knew, so none of its "
            "verdicts can be trusted; your TA will review the notebook")


def execute(
    prepared: Prepared, *, workdir: Path, spec_dir: Path, env: dict[str, str], profile: Profile, seed: int = 0,
    data_root: Path | None = None, caps: Caps | None = None, confined: bool = False,
    rng: random.Random | None = None,
) -> Execution:
    """Execute ``prepared.notebook`` in a fresh sandboxed kernel; never raises for student errors.

    A test cell with ``checks.judged`` calls passes only if it ran without error and the
    grader's judgement of its records (against the labels under ``data_root``) passes too.
    ``workdir`` is the kernel's folder as the kernel sees it; ``confined``, the grader reaches it
    through the sandbox (:class:`~medgrade.runner.sandbox.SandboxKernelManager`). ``rng`` places
    the probes (a secret one by default: the kernel must not predict them).
    """
    nb = prepared.notebook
    run = Execution(nb)
    tests = {t.index: t for t in prepared.tests}
    rng = rng or secrets.SystemRandom()
    plan = ProbePlan() if probes_off() else plan_probes([(t.grade_id, nb.cells[t.index].source)
                                                         for t in prepared.tests], rng)
    if probes_off():
        run.notes.append(OFF_FINDING)
    # Async, as nbclient expects: with a blocking client its timeouts never fire.
    specs = KernelSpecManager(kernel_dirs=[str(spec_dir)])
    km = SandboxKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs, confined=confined)
    km.transport = "ipc"  # Unix sockets in the folder: they cross the empty network namespace
    km.ip = str(workdir / "kernel")
    km.connection_file = str(connection_file(spec_dir))  # beside the kernelspec: only this kernel sees it
    client = Client(nb, km=km, timeout=profile.cell_timeout, allow_errors=True, interrupt_on_timeout=True,
                    error_on_timeout={"ename": TIMEOUT_ENAME, "evalue": "", "traceback": []},
                    resources={"metadata": {"path": str(spec_dir if confined else workdir)}},  # the launcher's cwd
                    startup_timeout=120)
    start = time.monotonic()
    try:
        with client.setup_kernel(env=env):
            pid = km.provisioner.process.pid  # type: ignore[union-attr]
            with Watchdog(pid, memory_mb=profile.memory_mb, budget_s=profile.notebook_budget, caps=caps) as dog:
                runner = TestRun(client, run, profile, seed, evidence_dir(km.reach(workdir)), data_root, rng)
                try:
                    _run_cells(client, runner, tests, plan, dog)
                finally:
                    run.findings.extend(runner.findings())
                run.peak_memory_mb = dog.peak_mb
    except Exception as e:  # the kernel did not start: no test can have run
        run.stopped, run.stop = f"the kernel could not start: {type(e).__name__}: {e}", Stop.NO_START
    finally:
        _shutdown(km)
    for t in prepared.tests:
        if t.grade_id not in run.outcomes:
            reason = run.stopped or "the cell was not run"
            run.outcomes[t.grade_id] = TestOutcome(t.grade_id, "not_run", f"not reached: {reason}", run.stop)
    _distrust(run, prepared)
    run.seconds = time.monotonic() - start
    return run


def _run_cells(client: Client, runner: TestRun, tests: dict[int, TestCell], plan: ProbePlan, dog: Watchdog) -> None:
    """Every code cell in order; each test with its probes around it; a dead kernel stops the run."""
    run, current = runner.run, 0
    try:
        runner.seed()
        for current, cell in enumerate(client.nb.cells):
            if cell.cell_type != "code":
                continue
            test = tests.get(current)
            if test is None:
                client.execute_cell(cell, current)
                continue
            for probe in plan.before.get(test.grade_id, []):
                runner.probe(probe, test)
            runner.test(test, cell, current)
            for probe in plan.after.get(test.grade_id, []):
                runner.probe(probe, test)
    except (DeadKernelError, RuntimeError) as e:
        reason = dog.reason or "the kernel died"
        run.stopped, run.stop = f"{reason} in cell {current + 1}", dog.stop or Stop.DIED
        if current in tests and tests[current].grade_id not in run.outcomes:
            gid = tests[current].grade_id
            run.outcomes[gid] = TestOutcome(gid, "failed", f"{reason} while this test ran ({type(e).__name__})",
                                            run.stop)


def _distrust(run: Execution, prepared: Prepared) -> None:
    """A kernel seen lying about a probe: every test scores 0, and the TA is told what it did."""
    if not any(f.startswith(LIED) for f in run.findings):
        return
    for t in prepared.tests:
        run.outcomes[t.grade_id] = TestOutcome(t.grade_id, "failed", TAMPERED)


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
