"""Seeding: every generator starts from the grader's seed, imported early or late, torch never forced."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from medgrade.intake.prepare import Prepared
from medgrade.intake.prepare import TestCell as Graded
from medgrade.profiles import get_profile
from medgrade.runner.confine import Sandbox
from medgrade.runner.execute import execute
from medgrade.runner.sandbox import sandbox_env, write_kernelspec
from medgrade.runner.seeding import seed_code


def _python(code: str) -> str:
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def test_a_library_imported_after_seeding_starts_from_the_seed() -> None:
    expected = np.random.RandomState(7).randint(1 << 30)
    drawn = _python(f"exec({seed_code(7)!r})\nimport numpy\nprint(numpy.random.randint(1 << 30))")
    assert int(drawn) == expected


def test_a_library_imported_before_seeding_is_reseeded() -> None:
    expected = np.random.RandomState(7).randint(1 << 30)
    drawn = _python(f"import numpy\nnumpy.random.rand(5)\nexec({seed_code(7)!r})\n"
                    "print(numpy.random.randint(1 << 30))")
    assert int(drawn) == expected


def test_seeding_imports_nothing_heavy_and_leaves_one_hook() -> None:
    out = _python(f"import sys\nexec({seed_code(1)!r})\nexec({seed_code(2)!r})\n"
                  "print('torch' in sys.modules, 'numpy' in sys.modules,"
                  " sum(type(f).__name__ == 'SeedOnImport' for f in sys.meta_path),"
                  " [n for n in dir() if n.startswith('_mg')])")
    assert out == "False False 1 []"


def test_torch_imported_late_starts_from_the_seed() -> None:
    pytest.importorskip("torch")
    import torch

    expected = torch.randint(0, 1 << 30, (1,), generator=torch.Generator().manual_seed(5)).item()
    drawn = _python(f"exec({seed_code(5)!r})\nimport torch\nprint(torch.randint(0, 1 << 30, (1,)).item())")
    assert int(drawn) == expected


def test_kernel_draws_the_same_numbers_in_a_late_import_test_cell(tmp_path: Path) -> None:
    """In a real kernel: a test cell reseeded before it runs sees the seeded numpy stream."""
    expected = int(np.random.RandomState(0).randint(1 << 30))
    nb = new_notebook(cells=[
        new_code_cell("x = 1"),
        new_code_cell(f"import numpy\nassert numpy.random.randint(1 << 30) == {expected}"),
        new_code_cell(f"import numpy\nnumpy.random.rand(3)\nassert numpy.random.randint(1 << 30) != {expected}"),
        new_code_cell(f"assert numpy.random.randint(1 << 30) == {expected}"),
    ])
    prepared = Prepared(nbformat.from_dict(nb), (Graded("late", 1, 1), Graded("again", 1, 3)), ())
    workdir = tmp_path / "work"
    (workdir / "tmp").mkdir(parents=True)
    spec = write_kernelspec(tmp_path / "spec", Sandbox(None))  # seeding, not the sandbox, is under test
    profile = get_profile("cpu")
    run = execute(prepared, workdir=workdir, spec_dir=spec, env=sandbox_env(profile, workdir, None), profile=profile)
    assert {g: o.status for g, o in run.outcomes.items()} == {"late": "passed", "again": "passed"}, run.outcomes
