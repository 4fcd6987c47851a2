from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from medgrade.checks import CheckFailure, check_function

G = torch.Generator().manual_seed(0)
CASES = [(torch.randn(2, 3, generator=G),), (torch.randn(4, 3, generator=G),)]


def standardise(x: torch.Tensor) -> torch.Tensor:
    return (x - x.mean(0)) / x.std(0)


def test_equivalent_implementation_passes() -> None:
    check_function(lambda x: (x - x.mean(0, keepdim=True)) / x.std(0, keepdim=True),
                   standardise, CASES, rtol=1e-5, atol=1e-6, name="standardise")


def test_wrong_axis_names_the_first_failing_case() -> None:
    with pytest.raises(CheckFailure, match=r"^check_function\(standardise\): expected case 1 of"
                       r" 2 \(standardise\(Tensor\(2, 3\) torch.float32\)\) to match the "
                       r"reference within rtol=1e-05, atol=1e-08; observed output differs in 6 "
                       r"of 6 elements; max abs difference 1.849 at index \(1, 0\)"):
        check_function(lambda x: (x - x.mean(1, keepdim=True)) / x.std(1, keepdim=True),
                       standardise, CASES, name="standardise")


def test_lost_dimension_reports_shapes() -> None:
    with pytest.raises(CheckFailure, match=r"observed output has shape \(3,\), expected "
                       r"\(2, 3\)"):
        check_function(lambda x: x.mean(0), standardise, CASES, name="standardise")


def test_population_std_reports_difference() -> None:
    with pytest.raises(CheckFailure, match=r"case 1 of 2.*max abs difference \d\.\d+ at "
                       r"index \(\d, \d\)"):
        check_function(lambda x: (x - x.mean(0)) / x.std(0, unbiased=False), standardise,
                       CASES, name="standardise")


def test_in_place_modification_of_input() -> None:
    def in_place(x: torch.Tensor) -> torch.Tensor:
        x -= x.mean(0)
        return x / x.std(0)

    with pytest.raises(CheckFailure, match="leave its inputs unchanged.*out-of-place"):
        check_function(in_place, standardise, CASES, name="standardise")
    assert torch.equal(CASES[0][0], CASES[0][0].clone())


def test_crash_and_nested_outputs_and_seeded_randomness() -> None:
    with pytest.raises(CheckFailure, match="observed ZeroDivisionError"):
        check_function(lambda a, b: a / b, lambda a, b: 0.0, [(1, 0)], name="ratio")
    check_function(lambda x: {"m": (x.mean(), np.float64(1.0))},
                   lambda x: {"m": (x.sum() / x.numel(), 1.0)}, [torch.ones(3)], name="stats")
    check_function(lambda x: F.dropout(x, 0.5), lambda x: F.dropout(x, 0.5),
                   [(torch.ones(10),)], name="drop")
    with pytest.raises(CheckFailure, match=r"output\['m'\]\[1\] differs"):
        check_function(lambda x: {"m": (x.mean(), 2.0)}, lambda x: {"m": (x.mean(), 1.0)},
                       [torch.ones(3)], name="stats")
