"""Grading on a real Dask cluster on loopback: a scheduler and two workers as subprocesses.

The cluster's gradebook equals the local pool's; a worker killed mid-batch (its whole process
group, as a lost machine) costs its jobs a retry, and the class still completes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from medgrade.coordinator import engine
from medgrade.coordinator.engine import grade_class
from medgrade.course import Course
from medgrade.errors import UsageError
from medgrade.gradebook.files import result_path
from medgrade.profiles import get_profile
from tests.tiny_course import ASSIGNMENT, TINY_PROFILE, gradebook_rows, make_course, submit

pytest.importorskip("distributed")
pytestmark = pytest.mark.xdist_group("engine")

DASK = Path(sys.executable).parent / "dask"
PROFILE = replace(TINY_PROFILE, threads=1)
# Slow enough (1.5 s a submission) that a worker killed after the first result is mid-job.
SLOW = "import time\ntime.sleep(1.5)\ndef double(x):\n    return 2 * x"
CLASS = {
    "right": None,
    "wrong": {"double": "def double(x):\n    return abs(2 * x)"},
    "dies": {"triple": "import os\nos._exit(1)"},
    "slow1": {"double": SLOW}, "slow2": {"double": SLOW}, "slow3": {"double": SLOW}, "slow4": {"double": SLOW},
}
SCORES = {"right": 5, "wrong": 3, "dies": 2, "slow1": 5, "slow2": 5, "slow3": 5, "slow4": 5}


@dataclass
class Cluster:
    address: str
    logs: Path
    env: dict[str, str]
    workers: list[subprocess.Popen] = field(default_factory=list)
    procs: list[subprocess.Popen] = field(default_factory=list)

    def add_worker(self, name: str, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """One single-process worker without a nanny (a killed worker stays dead)."""
        proc = _spawn([str(DASK), "worker", self.address, "--nthreads", "1", "--nworkers", "1", "--no-nanny",
                       "--no-dashboard", "--host", "127.0.0.1", "--name", name,
                       "--local-directory", str(self.logs / name), *extra],
                      self.logs / f"{name}.log", {**self.env, **(env or {})})
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        """SIGKILL a process, its group and its descendants (kernels run in their own sessions),
        as losing its machine would."""
        import psutil

        try:
            family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            family = []
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for p in family:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        proc.wait(timeout=30)


def _spawn(argv: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _scheduler_address(log: Path, proc: subprocess.Popen) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        found = re.search(r"Scheduler at:\s+(tcp://127\.0\.0\.1:\d+)", log.read_text(errors="replace"))
        if found:
            return found.group(1)
        time.sleep(0.2)
    raise RuntimeError(f"dask scheduler did not start:\n{log.read_text(errors='replace')}")


def _wait_for_workers(address: str, n: int) -> None:
    from distributed import Client

    with Client(address, timeout=30, set_as_default=False) as client:
        client.wait_for_workers(n, timeout=60)


@pytest.fixture
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A scheduler and two single-thread workers without nannies (a killed worker stays dead).

    ``allowed-failures=0``: the scheduler does not rerun a lost worker's task itself, so the
    coordinator's own retry is what the tests exercise.
    """
    logs = tmp_path_factory.mktemp("dask")
    env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
    scheduler = _spawn([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"],
                       logs / "scheduler.log", env)
    c = Cluster("", logs, env, procs=[scheduler])
    try:
        c.address = _scheduler_address(logs / "scheduler.log", scheduler)
        c.workers = [c.add_worker(f"w{i}") for i in range(2)]
        _wait_for_workers(c.address, 2)
        yield c
    finally:
        for proc in reversed(c.procs):
            c.kill(proc)


@pytest.fixture(scope="module")
def course_class(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_course(tmp_path_factory.mktemp("dask-class") / "course")
    for student, edits in CLASS.items():
        submit(root, student, edits)
    return root


def _copy(root: Path, dest: Path) -> Path:
    shutil.copytree(root, dest)
    return dest


def _journal(root: Path) -> dict[str, dict]:
    """The result JSONs, without the one field that measures time."""
    out = {}
    for student in CLASS:
        data = json.loads(result_path(Course(root), ASSIGNMENT, student).read_text())
        data.pop("seconds")
        out[student] = data
    return out


@pytest.mark.slow
def test_cluster_gradebook_equals_the_local_pool(cluster: Cluster, course_class: Path, tmp_path: Path) -> None:
    local, remote = _copy(course_class, tmp_path / "local"), _copy(course_class, tmp_path / "remote")
    students = list(CLASS)
    mine = grade_class(Course(local), ASSIGNMENT, students, profile=PROFILE, data_root=None, workers=2)
    theirs = grade_class(Course(remote), ASSIGNMENT, students, profile=PROFILE, data_root=None, workers=2,
                         scheduler=cluster.address)
    assert {r.student: r.score for r in theirs} == SCORES
    assert [r.score for r in theirs] == [r.score for r in mine]
    assert gradebook_rows(remote) == gradebook_rows(local) and len(gradebook_rows(remote)) == 2 * len(CLASS)
    assert _journal(remote) == _journal(local)
    again = []
    grade_class(Course(remote), ASSIGNMENT, students, profile=PROFILE, data_root=None, workers=2,
                scheduler=cluster.address, progress=lambda i, n, r, reused: again.append(reused))
    assert again == [True] * len(CLASS)  # resume works the same on a cluster


@pytest.mark.slow
def test_worker_killed_mid_batch_costs_a_retry_not_a_grade(cluster: Cluster, course_class: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from medgrade.coordinator import dask_backend

    root = _copy(course_class, tmp_path / "course")
    lost: list[str] = []
    outcome = dask_backend._outcome

    def recording(future):  # type: ignore[no-untyped-def]
        out = outcome(future)
        if isinstance(out, str):
            lost.append(out)
        return out

    monkeypatch.setattr(dask_backend, "_outcome", recording)

    def kill_first_worker(i: int, n: int, r, reused: bool) -> None:  # type: ignore[no-untyped-def]
        if i == 1:
            cluster.kill(cluster.workers[0])

    results = grade_class(Course(root), ASSIGNMENT, list(CLASS), profile=PROFILE, data_root=None, workers=2,
                          scheduler=cluster.address, progress=kill_first_worker)
    assert cluster.workers[0].poll() is not None
    assert {r.student: r.score for r in results} == SCORES
    assert all(r.outcome == "graded" for r in results)
    # The kill landed on a running job, which was retried (and maybe on a result not yet read).
    assert "KilledWorker" in lost and set(lost) <= {"KilledWorker", "result lost with its worker"}


def test_job_lost_twice_is_an_infrastructure_failure(course_class: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The retry rule shared by both backends: a second loss is reported, not blamed on the student."""
    rounds: list[list[str]] = []

    def always_lost(slots):  # type: ignore[no-untyped-def]
        def run(jobs):  # type: ignore[no-untyped-def]
            rounds.append([j.student for j in jobs])
            for job in jobs:
                yield job, "KilledWorker"
        return run

    monkeypatch.setattr(engine, "_local_rounds", always_lost)
    root = _copy(course_class, tmp_path / "course")
    [r] = grade_class(Course(root), ASSIGNMENT, ["right"], profile=PROFILE, data_root=None, workers=1)
    assert rounds == [["right"], ["right"]]
    assert r.outcome == "error" and r.score == 0 and r.fingerprint == ""  # a rerun grades it again
    assert "lost twice (KilledWorker)" in r.message and "infrastructure failure, not yours" in r.message
    assert {t.status for t in r.tests} == {"not_run"}


def test_unreachable_scheduler_fails_fast_with_the_fix(course_class: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from medgrade.coordinator import dask_backend

    monkeypatch.setattr(dask_backend, "CONNECT_TIMEOUT", 2.0)
    start = time.monotonic()
    with pytest.raises(UsageError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9 .*leave out "
                                         r"--scheduler"):
        grade_class(Course(course_class), ASSIGNMENT, ["right"], profile=PROFILE, data_root=None, workers=1,
                    force=True, scheduler="tcp://127.0.0.1:9")
    assert time.monotonic() - start < 30


@pytest.mark.slow
def test_cluster_checks_paths_and_gpus_before_grading(cluster: Cluster, course_class: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    kw = {"workers": 1, "force": True, "scheduler": cluster.address}
    with pytest.raises(UsageError, match=r"cannot see .*nowhere.*\(a shared filesystem\)"):
        grade_class(Course(course_class), ASSIGNMENT, ["right"], profile=PROFILE, data_root=tmp_path / "nowhere",
                    **kw)  # type: ignore[arg-type]
    monkeypatch.setenv("MEDGRADE_WORKER_WAIT", "1")
    gpu = replace(get_profile("gpu"), cell_timeout=4)
    with pytest.raises(UsageError, match=r"no worker with a GPU resource for 1 s.*--resources GPU=1"):
        grade_class(Course(course_class), ASSIGNMENT, ["right"], profile=gpu, data_root=None,
                    **kw)  # type: ignore[arg-type]
    assert not result_path(Course(course_class), ASSIGNMENT, "right").exists()  # nothing was written


@pytest.mark.slow
def test_gpu_jobs_go_to_gpu_workers_and_share_their_device(cluster: Cluster, tmp_path: Path) -> None:
    """A worker with ``--resources GPU=2`` on device 3 (no real GPU needed: the tiny notebooks
    import no torch): only it takes the jobs, and each kernel sees device 3 and half its memory."""
    cluster.add_worker("gpu", "--resources", "GPU=2", "--nthreads", "2", env={"CUDA_VISIBLE_DEVICES": "3"})
    _wait_for_workers(cluster.address, 3)
    root = make_course(tmp_path / "course")
    probe = ("import os\nprint('SLOT', os.environ['CUDA_VISIBLE_DEVICES'],"
             " os.environ['MEDGRADE_GPU_MEMORY_FRACTION'])\ndef double(x):\n    return 2 * x")
    for student in ("ann", "bob", "cyd"):
        submit(root, student, {"double": probe})
    results = grade_class(Course(root), ASSIGNMENT, ["ann", "bob", "cyd"], profile=replace(PROFILE, device="cuda"),
                          data_root=None, workers=1, scheduler=cluster.address)
    assert [r.score for r in results] == [5, 5, 5]
    for student in ("ann", "bob", "cyd"):
        nb = nbformat.read(root / "autograded" / student / ASSIGNMENT / "tiny.ipynb", as_version=4)
        text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        assert "SLOT 3 0.4750" in text, student


def test_cli_refuses_local_sizing_options_with_a_scheduler(course_class: Path) -> None:
    from medgrade.cli.main import cli

    run = CliRunner().invoke(cli, ["grade", ASSIGNMENT, "--course-dir", str(course_class), "--workers", "2",
                                   "--scheduler", "tcp://127.0.0.1:9"])
    assert run.exit_code != 0
    assert "--workers size the local pool and do not apply with --scheduler" in run.output
