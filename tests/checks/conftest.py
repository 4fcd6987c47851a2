"""Shared fixtures for the check-library tests: tiny seeded models, one thread (shared CPUs)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest
import torch
from torch import nn

torch.set_num_threads(1)


class TinyCNN(nn.Module):
    """(B, 1, 8, 8) -> (B, 3) logits, with BatchNorm and Dropout: the assignment-03 shape."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(4 * 4 * 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.max_pool2d(torch.relu(self.bn(self.conv(x))), 2)
        return self.fc(self.drop(x.flatten(1)))


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def cnn() -> TinyCNN:
    torch.manual_seed(0)
    return TinyCNN()


@pytest.fixture
def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(8, 4, generator=g), torch.randint(0, 3, (8,), generator=g)


def snapshot(model: nn.Module) -> tuple[dict[str, torch.Tensor], list[bool]]:
    """State and every submodule's mode, to assert a check left the model alone."""
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return state, [m.training for m in model.modules()]


def assert_unchanged(model: nn.Module, before: tuple[dict[str, torch.Tensor], list[bool]]) -> None:
    state, modes = snapshot(model)
    assert modes == before[1], "a check changed the train/eval mode"
    for k, v in state.items():
        assert torch.equal(v, before[0][k]), f"a check changed {k}"


@pytest.fixture
def unchanged() -> Callable[[nn.Module], AbstractContextManager[None]]:
    """``with unchanged(model): ...`` fails the test if the block changed state or modes."""

    @contextlib.contextmanager
    def guard(model: nn.Module) -> Iterator[None]:
        before = snapshot(model)
        yield
        assert_unchanged(model, before)

    return guard
