"""Helpers shared by the check modules: conversion, formatting, seeding. Not public API."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

Shape = Sequence[int | None]


def is_array(obj: object) -> bool:
    return isinstance(obj, (torch.Tensor, np.ndarray))


def describe(obj: object) -> str:
    """A short description of any value for a message: type, shape and dtype where it has them."""
    if isinstance(obj, torch.Tensor):
        return f"a tensor of shape {tuple(obj.shape)} and dtype {obj.dtype} on {obj.device.type}"
    if isinstance(obj, np.ndarray):
        return f"a NumPy array of shape {obj.shape} and dtype {obj.dtype}"
    if isinstance(obj, (list, tuple)):
        return f"a {type(obj).__name__} of length {len(obj)}"
    return f"{type(obj).__name__} {obj!r}"[:120]


def fmt_shape(shape: Shape) -> str:
    """``(8, None)`` -> ``"(8, *)"``; ``*`` matches any size."""
    parts = ["*" if s is None else str(int(s)) for s in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def to_tensor(obj: Any) -> torch.Tensor:
    """A detached CPU copy of a tensor, array, number or nested list (never the caller's object)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    return torch.as_tensor(np.array(obj, copy=True))


def to_numpy(obj: Any) -> npt.NDArray[Any]:
    """A NumPy copy of a tensor, array, number or nested list, moved to the CPU."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach().to("cpu")
        if t.dtype in (torch.bfloat16, torch.float16):
            t = t.float()
        return np.array(t.numpy(), copy=True)
    return np.array(obj, copy=True)


def fmt_num(x: float) -> str:
    return f"{x:.4g}"


def model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return torch.device("cpu")


@contextlib.contextmanager
def seeded(seed: int, device: torch.device | None = None) -> Iterator[None]:
    """Seed torch inside the block and restore the caller's RNG state afterwards.

    A check must not consume or reset the student's random stream, so it forks it.
    """
    cuda = [device.index or 0] if device is not None and device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        yield


def random_input(shape: Sequence[int], seed: int, device: torch.device) -> torch.Tensor:
    """A standard-normal float32 tensor from a private generator (the global one is untouched)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(tuple(shape), generator=gen).to(device)


def mode_flags(model: nn.Module) -> dict[str, bool]:
    return {name: m.training for name, m in model.named_modules()}


def restore_mode(model: nn.Module, flags: dict[str, bool]) -> None:
    for name, m in model.named_modules():
        if name in flags:
            m.training = flags[name]


@contextlib.contextmanager
def preserved_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Restore every submodule's train/eval flag on exit, whatever happens inside."""
    flags = mode_flags(model)
    try:
        yield model
    finally:
        restore_mode(model, flags)

