"""Every ``MEDGRADE_*`` environment variable medgrade reads or sets, in one place.

Grader side, set by whoever runs medgrade:

- ``MEDGRADE_DATA``: the data root (:mod:`medgrade.data.root`); the grader also sets it for each
  kernel, to the data link in its folder.
- ``MEDGRADE_SANDBOX_USER``: the user a root grader's kernels run as (default ``nobody``).
- ``MEDGRADE_BWRAP``: a bubblewrap of the site's choosing (0.10 or newer) instead of the wheel's.
- ``MEDGRADE_PROBES``: ``0`` turns the verdict probes off (benchmarks only; every result says so).
- ``MEDGRADE_WORKER_WAIT``: seconds a Dask run waits for its first worker (default 120).
- ``MEDGRADE_LOG_DIR``: where unexpected errors are logged.
- ``MEDGRADE_PYTHON``: the interpreter Gradescope's ``run_autograder`` starts (default ``python3``;
  read by that shell script only).

Kernel side, set by the grader for each kernel (a student's own kernel may set them too):

- ``MEDGRADE_PROFILE``: the grading profile the notebook runs under (``cpu``, ``gpu``).
- ``MEDGRADE_SEED``: the grading seed hidden tests reseed with.
- ``MEDGRADE_EVIDENCE_DIR``: where ``checks.judged`` writes its records.
- ``MEDGRADE_JUDGE``: ``grader`` when the grader judges those records outside the kernel.
- ``MEDGRADE_GPU_MEMORY_FRACTION``: the share of its GPU a kernel's slot may use.
"""

from __future__ import annotations

__all__ = ["DATA", "SANDBOX_USER", "BWRAP", "PROBES", "WORKER_WAIT", "LOG_DIR", "PROFILE", "SEED", "EVIDENCE_DIR",
           "JUDGE", "GPU_MEMORY_FRACTION", "PREFIX"]

PREFIX = "MEDGRADE_"
DATA = "MEDGRADE_DATA"
SANDBOX_USER = "MEDGRADE_SANDBOX_USER"
BWRAP = "MEDGRADE_BWRAP"
PROBES = "MEDGRADE_PROBES"
WORKER_WAIT = "MEDGRADE_WORKER_WAIT"
LOG_DIR = "MEDGRADE_LOG_DIR"
PROFILE = "MEDGRADE_PROFILE"
SEED = "MEDGRADE_SEED"
EVIDENCE_DIR = "MEDGRADE_EVIDENCE_DIR"
JUDGE = "MEDGRADE_JUDGE"
GPU_MEMORY_FRACTION = "MEDGRADE_GPU_MEMORY_FRACTION"
