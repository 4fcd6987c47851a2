from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from medgrade.checks import CheckFailure, check_nt_xent, nt_xent


def loop_nt_xent(z1: torch.Tensor, z2: torch.Tensor, t: float) -> torch.Tensor:
    """An independent, explicit-loop implementation of the SimCLR loss."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n2 = z.shape[0]
    total = z.new_zeros(())
    for i in range(n2):
        j = (i + n2 // 2) % n2
        denom = sum(torch.exp(z[i] @ z[k] / t) for k in range(n2) if k != i)
        total = total - torch.log(torch.exp(z[i] @ z[j] / t) / denom)
    return total / n2


def no_self_mask(z1: torch.Tensor, z2: torch.Tensor, t: float) -> torch.Tensor:
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = z1.shape[0]
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return F.cross_entropy(z @ z.T / t, targets)


def one_view_only(z1: torch.Tensor, z2: torch.Tensor, t: float) -> torch.Tensor:
    a, b = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    return F.cross_entropy(a @ torch.cat([a, b]).T / t - torch.eye(len(a), 2 * len(a)) * 1e9,
                           torch.arange(len(a), 2 * len(a)))


def not_normalised(z1: torch.Tensor, z2: torch.Tensor, t: float) -> torch.Tensor:
    z, n = torch.cat([z1, z2]), len(z1)
    sim = (z @ z.T / t).masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    return F.cross_entropy(sim, torch.cat([torch.arange(n, 2 * n), torch.arange(n)]))


def test_reference_matches_an_explicit_loop_and_log_2n_minus_1() -> None:
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(3, 5, generator=g), torch.randn(3, 5, generator=g)
    assert float(nt_xent(z1, z2, 0.5)) == pytest.approx(float(loop_nt_xent(z1, z2, 0.5)),
                                                        rel=1e-5)
    big1, big2 = torch.randn(8, 4096, generator=g), torch.randn(8, 4096, generator=g)
    assert float(nt_xent(big1, big2, 1.0)) == pytest.approx(math.log(15), abs=0.02)


@pytest.mark.parametrize("temperature", [0.1, 0.5])
def test_correct_implementations_pass(temperature: float) -> None:
    check_nt_xent(nt_xent, temperature=temperature)
    check_nt_xent(loop_nt_xent, temperature=temperature, n=4)


def test_missing_self_mask() -> None:
    with pytest.raises(CheckFailure, match=r"about log\(2N - 1\) = 2\.708 for random embeddings"
                       r" \(N = 8\); observed 3\.\d+\. Hint: mask the self-similarity"):
        check_nt_xent(no_self_mask)


def test_only_first_view_anchors_is_asymmetric() -> None:
    with pytest.raises(CheckFailure, match="same loss with the two views swapped.*all 2N "
                       "anchors"):
        check_nt_xent(one_view_only)


def test_not_normalised() -> None:
    with pytest.raises(CheckFailure, match="L2-normalise the embeddings"):
        check_nt_xent(not_normalised)


def test_sum_instead_of_mean() -> None:
    with pytest.raises(CheckFailure, match="mean over the 2N anchors, not the sum"):
        check_nt_xent(lambda a, b, t: nt_xent(a, b, t) * 2 * len(a))


def test_returns_a_float() -> None:
    with pytest.raises(CheckFailure, match="expected a scalar loss tensor; observed float"):
        check_nt_xent(lambda a, b, t: nt_xent(a, b, t).item())
