"""Execute a notebook in a fresh kernel under a grading profile (reference solutions)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

from medgrade.course import kernel_env
from medgrade.errors import CourseError
from medgrade.profiles import get_profile

__all__ = ["ExecutionResult", "execute_notebook"]


@dataclass(frozen=True)
class ExecutionResult:
    path: Path
    seconds: float


def execute_notebook(
    src: Path, dest: Path, *, profile: str = "cpu", data_root: Path | None = None
) -> ExecutionResult:
    """Run ``src`` top to bottom in a scratch folder and write the executed notebook to ``dest``.

    Errors are not allowed: a reference solution that raises is a broken assignment, and
    nbclient's ``CellExecutionError`` names the cell.
    """
    prof = get_profile(profile)
    nb = nbformat.read(src, as_version=4)
    _train_baselines(nb, src, prof.name, data_root)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="medgrade-exec-") as tmp:
        for extra in src.parent.iterdir():
            if extra.is_file() and extra.suffix != ".ipynb":
                shutil.copy2(extra, Path(tmp) / extra.name)
        client = NotebookClient(
            nb,
            timeout=prof.cell_timeout,
            kernel_name="python3",
            resources={"metadata": {"path": tmp}},
        )
        # Keyword arguments of execute() reach the kernel manager's start_kernel().
        try:
            # The kernel's own stderr (ipykernel's start-up warnings) is noise here; errors
            # of the notebook arrive as cell outputs.
            client.execute(
                env=kernel_env(profile=prof.name, data_root=data_root), stderr=subprocess.DEVNULL
            )
        except CellExecutionError as e:
            last = str(e).strip().splitlines()[-1]
            raise CourseError(
                f"{src} failed when executed on the {prof.name} profile: {last}\n"
                "the reference solution must run top to bottom without errors"
            ) from e
        except CellTimeoutError as e:
            raise CourseError(
                f"{src}: a cell ran past the {prof.name} profile's {prof.cell_timeout} s per-cell limit "
                f"when executed: {str(e).split('Here is a preview', 1)[-1].strip()[:300]}\n"
                "the reference solution must fit the profile's budget: shorten that cell's work"
            ) from e
    seconds = time.monotonic() - start
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp_dest = dest.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp_dest)
    tmp_dest.replace(dest)
    return ExecutionResult(dest, seconds)


def _train_baselines(nb: nbformat.NotebookNode, src: Path, profile: str, data_root: Path | None) -> None:
    """Train (or find cached) the baselines the notebook's tests name, before its kernel starts.

    A reference run judges in its own kernel, and a baseline the grader trains must not eat a
    test cell's time limit there: training it first leaves the kernel a cached file to read.
    """
    from medgrade.data.baselines import baseline_predictions
    from medgrade.data.root import resolve_root
    from medgrade.judge.grader import judge_specs
    from medgrade.profiles import grading_seed

    names = {spec.trained_baseline for cell in nb.cells if cell.cell_type == "code"
             for spec in judge_specs(cell.source, f"{src}") if spec.trained_baseline}
    for name in sorted(names):
        baseline_predictions(name, Path(data_root) if data_root else resolve_root(), profile, grading_seed())
