"""The same checks on CUDA tensors and models (skipped where no GPU is present)."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from medgrade.checks import (
    CheckFailure,
    check_auc,
    check_close,
    check_dice,
    check_forward_shape,
    check_nt_xent,
    check_shape,
    check_train_step,
    nt_xent,
)

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.gpu
@cuda
def test_checks_accept_cuda_tensors_and_models() -> None:
    dev = torch.device("cuda")
    check_shape(torch.zeros(2, 3, device=dev), (2, 3), name="x")
    check_close(torch.ones(2, device=dev), torch.ones(2), name="x")
    with pytest.raises(CheckFailure, match="max abs difference 1"):
        check_close(torch.zeros(2, device=dev), torch.ones(2), name="x")
    check_auc(torch.tensor([0, 1], device=dev), torch.tensor([0.2, 0.7], device=dev),
              at_least=0.9)
    mask = torch.ones(1, 1, 2, 2, device=dev)
    check_dice(mask, mask, at_least=1.0)
    check_nt_xent(lambda a, b, t: nt_xent(a.to(dev), b.to(dev), t))
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to(dev)
    check_forward_shape(net, (2, 4), (2, 3))

    def step(model: nn.Module, opt: Any, loss_fn: Any, x: Any, y: Any) -> float:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    x, y = torch.randn(8, 4, device=dev), torch.randint(0, 3, (8,), device=dev)
    check_train_step(step, net, loss_fn=nn.CrossEntropyLoss(), x=x, y=y)
