"""The kit's own "pretrained" network: torchvision's ResNet-18 trained on MedNIST stand-in images.

Transfer learning needs weights learnt elsewhere, and nothing may be downloaded, so the kit trains
them itself when the data is generated: ``torchvision.models.resnet18(num_classes=6)`` on the six
MedNIST classes (:mod:`medgrade.data.mednist`), drawn in memory from image numbers the ``MedNIST``
folder never uses (from 1,000,000), so the folder stays unseen data for this network.

Files under ``<root>/pretrained/``:

* ``resnet18_mednist.pt``: the ``state_dict`` (``torch.save``), to load into
  ``torchvision.models.resnet18(num_classes=6)``;
* ``resnet18_mednist.json``: its card: architecture, classes, the input it expects (three equal
  channels of a grey image, ``size`` x ``size``, normalised ``(x / 255 - mean) / std``), how it was
  trained, and its accuracy on 100 further images per class that it never saw.

Training: Adam (lr 1e-3), batch 32, ``steps`` steps over ``steps * 32`` images in a fixed shuffled
order, augmentation by random horizontal flips; seeded by ``seed`` and run on two threads. On one
machine the same seed gives the same bytes; another CPU may round differently, so the manifest
holds the hash of what this machine wrote, and the card its measured accuracy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from medgrade.data import mednist
from medgrade.data.root import resolve_root
from medgrade.data.store import DatasetSpec, build
from medgrade.errors import DataError

__all__ = ["FOLDER", "WEIGHTS", "CARD", "MEAN", "STD", "SPEC", "preprocess", "load", "generate"]

FOLDER = "pretrained"
WEIGHTS = "resnet18_mednist.pt"
CARD = "resnet18_mednist.json"
MEAN, STD = 0.5, 0.25  # of pixel / 255, the same for all three channels
FIRST_IMAGE = 1_000_000  # image numbers drawn for training: far above any MedNIST folder's
FIRST_TEST_IMAGE = 2_000_000
BATCH = 32
THREADS = 2


def preprocess(images: Any) -> Any:
    """uint8 grey images (B, H, W) -> the float tensor (B, 3, H, W) the network expects."""
    import torch

    x = torch.as_tensor(np.asarray(images)).float()[:, None] / 255.0
    return ((x - MEAN) / STD).expand(-1, 3, -1, -1).contiguous()


def _images(seed: int, first: int, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    idx = range(first, first + per_class)
    images = np.concatenate([mednist.render(seed, c, idx) for c in range(len(mednist.CLASSES))])
    return images, np.repeat(np.arange(len(mednist.CLASSES)), per_class)


def _train(seed: int, steps: int) -> tuple[Any, float]:
    """The trained network and its accuracy on 100 unseen images per class."""
    import torch
    import torch.nn.functional as F
    import torchvision

    images, labels = _images(seed, FIRST_IMAGE, -(-steps * BATCH // len(mednist.CLASSES)))
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = torchvision.models.resnet18(num_classes=len(mednist.CLASSES))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.randperm(len(labels), generator=gen)
    y_all = torch.from_numpy(labels)
    model.train()
    for step in range(steps):
        idx = order[step * BATCH:(step + 1) * BATCH]
        x = preprocess(images[idx.numpy()])
        flip = torch.rand(len(idx), generator=gen) < 0.5
        x[flip] = x[flip].flip(-1)
        optimizer.zero_grad()
        F.cross_entropy(model(x), y_all[idx]).backward()
        optimizer.step()
    test_images, test_labels = _images(seed, FIRST_TEST_IMAGE, 100)
    model.eval()
    with torch.no_grad():
        predicted = torch.cat([model(preprocess(test_images[i:i + 200])).argmax(1)
                               for i in range(0, len(test_labels), 200)])
    return model, float((predicted.numpy() == test_labels).mean())


def _write(stage: Path, *, seed: int, steps: int) -> None:
    import torch
    import torchvision

    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        model, accuracy = _train(seed, steps)
    finally:
        torch.set_num_threads(threads)
    folder = stage / FOLDER
    folder.mkdir()
    torch.save(model.state_dict(), folder / WEIGHTS)
    card = {
        "architecture": "torchvision.models.resnet18(num_classes=6)",
        "classes": list(mednist.CLASSES),
        "input": {"channels": 3, "size": mednist.SIZE, "grey_copied_to_channels": True,
                  "normalise": "(pixel / 255 - mean) / std", "mean": MEAN, "std": STD},
        "training": {"data": "MedNIST stand-in images drawn in memory (numbers from 1,000,000)",
                     "steps": steps, "batch": BATCH, "optimizer": "Adam", "lr": 1e-3,
                     "augmentation": "random horizontal flip", "seed": seed, "threads": THREADS,
                     "torch": torch.__version__, "torchvision": torchvision.__version__},
        "unseen_accuracy": round(accuracy, 4),
        "unseen_images": 100 * len(mednist.CLASSES),
    }
    (folder / CARD).write_text(json.dumps(card, indent=2) + "\n")


SPEC = DatasetSpec(
    name="resnet18_mednist",
    title="ResNet-18 pretrained by the kit on MedNIST stand-in images (state_dict + card)",
    version="1",
    entries=(FOLDER,),
    writer=_write,
    defaults={"steps": 600},
    real_source="none: the courses use ImageNet weights, which cannot be downloaded here; any "
                "resnet18 state_dict with a 6-class head can take its place",
)


def load(root: str | Path | None = None) -> tuple[Any, dict[str, Any]]:
    """The pretrained network (eval mode) and its card, from ``<root>/pretrained``."""
    import torch
    import torchvision

    folder = resolve_root(root) / FOLDER
    missing = [f for f in (WEIGHTS, CARD) if not (folder / f).is_file()]
    if missing:
        raise DataError(f"{folder / missing[0]} is missing: the kit's pretrained network is written by "
                        f"`medgrade data generate --dataset {SPEC.name}` (about a minute)")
    model = torchvision.models.resnet18(num_classes=len(mednist.CLASSES))
    model.load_state_dict(torch.load(folder / WEIGHTS, map_location="cpu", weights_only=True))
    return model.eval(), json.loads((folder / CARD).read_text())


def generate(root: str | Path | None = None, *, seed: int = 0, steps: int = 600, force: bool = False) -> Path:
    """Train and write ``<root>/pretrained`` (skipped when the manifest says it is up to date); its path."""
    return build(resolve_root(root), SPEC, seed=seed, params={"steps": steps}, force=force).path
