"""Grade on an existing Dask cluster: the same jobs as the local pool; the coordinator still writes.

``medgrade grade A --scheduler tcp://HOST:8786`` connects a ``distributed.Client`` to the
scheduler, checks that its workers can grade (medgrade of the same version, the course and data
at the same paths, a CUDA device where the profile needs one), then submits one task per
:class:`~medgrade.runner.job.Job`. Workers return :class:`~medgrade.runner.job.JobOutput`; only
this process writes files and the gradebook (:func:`medgrade.coordinator.engine.grade_class`).

- A job on a GPU profile asks for one ``GPU`` worker resource. A GPU worker is started with
  ``--resources GPU=N`` on one visible CUDA device (the site sets ``CUDA_VISIBLE_DEVICES``, as
  Slurm does for ``--gres=gpu:1``); its jobs run on its first visible device, each capped to
  ``1/N`` of its memory, as ``--slots-per-gpu N`` does locally.
- A worker lost mid-job (``KilledWorker``, a closed connection) gives the job back as lost: the
  coordinator resubmits it once, then reports an infrastructure failure, never a student's.
- Nothing waits forever: connecting times out, a cluster with no usable worker for
  ``MEDGRADE_WORKER_WAIT`` seconds (default 120) stops the run with what to do; finished
  results are kept, so a rerun resumes.

Dask is optional: this module is imported only when a scheduler is given.
"""

from __future__ import annotations

import os
import queue
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medgrade import __version__, envvars
from medgrade.errors import MedgradeError, UsageError
from medgrade.profiles import Profile
from medgrade.runner.isolation import sandbox_problem
from medgrade.runner.job import Job, JobOutput, run_job
from medgrade.runner.slots import DeviceSlot, claim_slot, detect_gpus, plan_slots

if TYPE_CHECKING:
    from distributed import Client, Future

__all__ = ["dask_rounds", "run_on_worker", "worker_slot", "WorkerSetupError", "CONNECT_TIMEOUT"]

CONNECT_TIMEOUT = 10.0  # seconds to reach the scheduler
POLL = 2.0  # seconds between checks that the cluster still has workers


class WorkerSetupError(RuntimeError):
    """A worker cannot grade as it is set up (it offers a GPU but sees none): infrastructure."""


def _worker_wait() -> float:
    return float(os.environ.get(envvars.WORKER_WAIT, "120"))


def worker_slot(profile: Profile) -> DeviceSlot:
    """This Dask worker's slot: its first visible GPU, shared ``GPU``-resource ways; else the CPU."""
    if profile.device != "cuda":
        return DeviceSlot()
    from distributed import get_worker

    gpus = detect_gpus()
    if not gpus:
        raise WorkerSetupError("this worker offers the GPU resource but sees no CUDA device "
                               "(CUDA_VISIBLE_DEVICES is empty, or nvidia-smi lists none)")
    shares = max(1, int(get_worker().state.total_resources.get("GPU", 1)))
    return plan_slots(profile, workers=1, gpus=gpus[:1], slots_per_gpu=shares)[0]


def run_on_worker(job: Job) -> JobOutput:
    """The task a Dask worker runs: take this worker's device slot, then grade as the pool does."""
    slot: queue.Queue[DeviceSlot] = queue.Queue()
    slot.put(worker_slot(Profile(**job.profile)))
    claim_slot(slot)  # every task of a worker gets the same slot, so threads may race harmlessly
    return run_job(job)


def worker_facts(shared: list[str]) -> dict[str, Any]:
    """Runs on each worker before grading: its medgrade version, the shared paths it lacks, its GPUs,
    and why it cannot build the kernel's sandbox (None when it can)."""
    return {"version": __version__, "missing": [p for p in shared if not Path(p).is_dir()], "gpus": detect_gpus(),
            "sandbox": sandbox_problem()}


def _connect(address: str) -> Client:
    from distributed import Client

    try:
        return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        raise UsageError(
            f"cannot reach the Dask scheduler at {address} within {CONNECT_TIMEOUT:g} s ({type(e).__name__}: {e}); "
            "start one (`dask scheduler`, or a dask-jobqueue / dask-kubernetes cluster) and pass its address, "
            "e.g. --scheduler tcp://HOST:8786, or leave out --scheduler to grade with this machine's pool") from e


def _usable(client: Client, gpu: bool) -> list[str]:
    """Addresses of the workers that can take a job (with a GPU resource when ``gpu``)."""
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    return [a for a, w in workers.items() if not gpu or (w.get("resources") or {}).get("GPU", 0) >= 1]


def _no_workers(address: str, gpu: bool, waited: float) -> UsageError:
    kind = "worker with a GPU resource" if gpu else "worker"
    start = f"dask worker {address}" + (" --resources GPU=1 (one per GPU)" if gpu else "")
    return UsageError(f"the Dask cluster at {address} has had no {kind} for {waited:.0f} s; start some "
                      f"(`{start}`) and rerun: finished submissions are kept (MEDGRADE_WORKER_WAIT sets the wait)")


def _check_workers(client: Client, address: str, profile: Profile, shared: list[Path], unconfined: bool = False
                   ) -> None:
    """Fail fast, with the fix, when no worker can grade this class as the coordinator would."""
    gpu, wait = profile.device == "cuda", _worker_wait()
    deadline = time.monotonic() + wait
    while not (ready := _usable(client, gpu)):
        if time.monotonic() > deadline:
            raise _no_workers(address, gpu, wait)
        time.sleep(0.5)
    try:
        facts = client.run(worker_facts, [str(p) for p in shared], workers=ready)
    except Exception as e:  # anything a worker raises: it cannot run medgrade's code
        raise UsageError(f"the workers of {address} cannot run medgrade ({type(e).__name__}: {e}); install "
                         f"medgrade {__version__} with its dask extra on every worker (the grading container has it)"
                         ) from e
    problems = []
    for worker, f in sorted(facts.items()):
        if f["version"] != __version__:
            problems.append(f"{worker} runs medgrade {f['version']}, this coordinator {__version__}")
        if f["missing"]:
            problems.append(f"{worker} cannot see {', '.join(f['missing'])}")
        if gpu and not f["gpus"]:
            problems.append(f"{worker} offers the GPU resource but sees no CUDA device")
        if f.get("sandbox") and not unconfined:
            problems.append(f"{worker} cannot build the kernel's sandbox: {f['sandbox']}")
    if problems:
        raise UsageError("the Dask workers cannot grade this class: " + "; ".join(problems) + ". Workers need "
                         "the same medgrade, and the course and data at the same paths (a shared filesystem)")


def _outcome(future: Future) -> JobOutput | str:
    """The job's output, or why it was lost to infrastructure; a grader bug raises, as in the pool."""
    from distributed import KilledWorker
    from distributed.comm.core import CommClosedError

    if future.status == "finished":
        out: JobOutput = future.result()
        return out
    if future.status == "lost":  # finished, but its result died with its worker before it was read
        return "result lost with its worker"
    if future.status != "error":
        return f"its Dask task was {future.status}"
    exc = future.exception()
    if isinstance(exc, WorkerSetupError):
        return str(exc)
    if isinstance(exc, (KilledWorker, CommClosedError)):
        return type(exc).__name__
    future.result()  # re-raises the worker's exception with its traceback
    raise AssertionError("unreachable")


def _key(job: Job) -> str:
    """A readable, unique task key: the dashboard shows who is being graded."""
    return f"medgrade-{job.assignment}-{job.student}-{uuid.uuid4().hex[:8]}"


class _DaskRounds:
    """One round: submit every job, yield each as it finishes; watch that workers remain."""

    def __init__(self, client: Client, address: str, profile: Profile) -> None:
        self.client, self.address = client, address
        self.gpu = profile.device == "cuda"

    def __call__(self, jobs: list[Job]) -> Iterator[tuple[Job, JobOutput | str]]:
        from distributed import wait

        resources = {"GPU": 1} if self.gpu else None
        futures = {self.client.submit(run_on_worker, j, key=_key(j), pure=False, resources=resources): j
                   for j in jobs}
        pending, idle_since = set(futures), None
        while pending:
            try:
                with self.client.as_current():  # wait() finds its client there, not as a global default
                    finished, pending = wait(list(pending), timeout=POLL, return_when="FIRST_COMPLETED")
            except TimeoutError:
                idle_since = self._watch(idle_since)
                continue
            for future in finished:
                job = futures.pop(future)
                outcome = _outcome(future)
                future.release()  # a finished result need not be recomputed if its worker dies
                yield job, outcome

    def _watch(self, idle_since: float | None) -> float | None:
        """Between polls: stop when the scheduler is gone or no usable worker came back in time."""
        if self.client.status not in ("running", "connecting"):
            raise MedgradeError(f"lost the connection to the Dask scheduler at {self.address}; finished "
                                "submissions are kept: rerun to grade the rest")
        if _usable(self.client, self.gpu):
            return None
        now = time.monotonic()
        if idle_since is not None and now - idle_since > _worker_wait():
            raise _no_workers(self.address, self.gpu, now - idle_since)
        return idle_since if idle_since is not None else now


@contextmanager
def dask_rounds(address: str, *, profile: Profile, shared: list[Path], unconfined: bool = False
                ) -> Iterator[_DaskRounds]:
    """Connect to the scheduler at ``address``, check its workers, yield the rounds, then disconnect."""
    client = _connect(address)
    try:
        _check_workers(client, address, profile, shared, unconfined)
        yield _DaskRounds(client, address, profile)
    finally:
        client.close(timeout=CONNECT_TIMEOUT)
