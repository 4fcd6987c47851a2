"""The examples in the docstrings are runnable: each public check's example passes."""

from __future__ import annotations

import doctest
import importlib

import pytest
import torch

MODULES = ["medgrade.checks", "medgrade.checks.tensors", "medgrade.checks.models",
           "medgrade.checks.segmentation", "medgrade.checks.contrastive",
           "medgrade.checks.functions", "medgrade.checks.evidence"]


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_run(module: str) -> None:
    mod = importlib.import_module(module)
    result = doctest.testmod(mod, extraglobs={"torch": torch, "nn": torch.nn},
                             optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_all_lists_only_existing_names() -> None:
    checks = importlib.import_module("medgrade.checks")
    assert all(hasattr(checks, n) for n in checks.__all__)
    assert len(set(checks.__all__)) == len(checks.__all__)
