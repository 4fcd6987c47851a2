"""The kit's own "pretrained" network: torchvision's ResNet-18 trained on two stand-in corpora.

Transfer learning needs weights learnt elsewhere, and nothing may be downloaded, so the kit trains
them itself when the data is generated: ``torchvision.models.resnet18(num_classes=10)`` on

* the six MedNIST classes (:mod:`medgrade.data.mednist`), drawn in memory from image numbers the
  ``MedNIST`` folder never uses (from 1,000,000), so the folder stays unseen data for it;
* four classes of musculoskeletal radiograph views (normal, fracture, lesion, hardware; a view of
  an abnormal study that does not show its finding is normal), drawn in memory by the MURA
  stand-in (:mod:`medgrade.data.mura`) for patients of their own (the cohort seeded
  ``1,000,000 + seed``): no patient, view or pixel of the ``MURA-v1.1`` folder.

Why the second corpus (``benchmarks/transfer_probe.py``: study AUC on MURA's valid split of a
logistic probe on the frozen pooled features, 64 px): a ResNet-18 trained on MedNIST alone scored
0.64, a random one 0.68, so its features carry nothing of a fracture, and fine-tuning it for the
budget of an assignment could not beat training from scratch; this network scores 0.90.
It is the kit's stand-in for what the courses do with ImageNet, and for radiology pretraining
such as RadImageNet: features learnt on many labelled images, reused on a smaller task.

Files under ``<root>/pretrained/``:

* ``resnet18_mednist_msk.pt``: the ``state_dict`` (``torch.save``), to load into
  ``torchvision.models.resnet18(num_classes=10)``;
* ``resnet18_mednist_msk.json``: its card: architecture, classes, the input it expects (three equal
  channels of a grey image padded to a square and resized to ``size`` x ``size``, normalised
  ``(x / 255 - mean) / std``), how it was trained, and what it scores on images it never saw.

Training: Adam (lr 1e-3), batch 32, ``steps`` steps over ``steps * 32`` images in a fixed shuffled
order (a quarter MedNIST, three quarters radiographs: the six MedNIST classes are learnt in far
fewer steps), augmentation by random horizontal flips; seeded by ``seed`` and run on two threads.
On one machine the same seed gives the same bytes; another CPU may round
differently, so the manifest holds the hash of what this machine wrote, and the card its scores.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from medgrade.data import mednist, mura
from medgrade.data.root import resolve_root
from medgrade.data.store import DatasetSpec, build
from medgrade.errors import DataError

__all__ = ["FOLDER", "WEIGHTS", "CARD", "CLASSES", "MEAN", "STD", "SIZE", "SPEC", "preprocess", "square",
           "mura_split", "load", "generate"]

FOLDER = "pretrained"
WEIGHTS = "resnet18_mednist_msk.pt"
CARD = "resnet18_mednist_msk.json"
MSK_CLASSES = ("MSK normal", "MSK fracture", "MSK lesion", "MSK hardware")  # mura's finding codes 0-3
CLASSES = (*mednist.CLASSES, *MSK_CLASSES)
SIZE = mednist.SIZE
MEAN, STD = 0.5, 0.25  # of pixel / 255, the same for all three channels
FIRST_IMAGE = 1_000_000  # MedNIST image numbers and MURA cohort seeds: far above any folder's
FIRST_TEST_IMAGE = 2_000_000
VIEWS_PER_PATIENT = 3.2  # about: 1.25 studies of 2.7 views
BATCH = 32
THREADS = 2


def preprocess(images: Any) -> Any:
    """uint8 grey images (B, H, W) -> the float tensor (B, 3, H, W) the network expects."""
    import torch

    x = torch.as_tensor(np.asarray(images)).float()[:, None] / 255.0
    return ((x - MEAN) / STD).expand(-1, 3, -1, -1).contiguous()


def square(pixels: np.ndarray, size: int = SIZE) -> np.ndarray:
    """A grey or RGB radiograph (H, W[, 3]) padded with black to a centred square, resized to ``size``."""
    image = Image.fromarray(pixels).convert("L")
    side = max(image.size)
    canvas = Image.new("L", (side, side))
    canvas.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return np.asarray(canvas.resize((size, size), Image.Resampling.BILINEAR))


def mura_split(root: Path, split: str) -> tuple[Any, np.ndarray, list[str]]:
    """A split of ``<root>/MURA-v1.1`` as this network takes it: the images (``preprocess`` of
    ``square``), each image's study label (int64) and study folder, in ``<split>_image_paths.csv``'s order."""
    import csv

    top = root / mura.TOP
    with open(top / f"{split}_labeled_studies.csv", newline="") as f:
        labels = {folder: int(y) for folder, y in csv.reader(f)}
    paths = (top / f"{split}_image_paths.csv").read_text().split()
    studies = [path.rsplit("/", 1)[0] + "/" for path in paths]
    images = np.stack([square(np.asarray(Image.open(root / path))) for path in paths])
    return preprocess(images), np.array([labels[s] for s in studies], dtype=np.int64), studies


def _mednist(seed: int, first: int, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    idx = range(first, first + per_class)
    images = np.concatenate([mednist.render(seed, c, idx) for c in range(len(mednist.CLASSES))])
    return images, np.repeat(np.arange(len(mednist.CLASSES)), per_class)


def _msk(seed: int, n_views: int) -> tuple[np.ndarray, np.ndarray]:
    """At least ``n_views`` views of a cohort of their own, and their classes (6 + finding shown)."""
    cohort = mura.cohort("train", seed, int(n_views / VIEWS_PER_PATIENT) + 1)
    views = cohort.views
    pixels = mura.render(views, np.random.default_rng([seed, 1]))
    labels = len(mednist.CLASSES) + np.where(views["shown"], views["finding"], 0)
    return np.stack([square(p) for p in pixels]), labels


def _corpus(seed: int, first: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    a, ya = _mednist(seed, first, -(-n // 4 // len(mednist.CLASSES)))
    b, yb = _msk(first + seed, n - n // 4)
    return np.concatenate([a, b]), np.concatenate([ya, yb])


def _train(seed: int, steps: int) -> tuple[Any, dict[str, Any]]:
    """The trained network and what it scores on images it never saw."""
    import torch
    import torch.nn.functional as F
    import torchvision

    images, labels = _corpus(seed, FIRST_IMAGE, steps * BATCH)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = torchvision.models.resnet18(num_classes=len(CLASSES))
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
    return model, _scores(model, seed)


def _scores(model: Any, seed: int) -> dict[str, Any]:
    import torch
    from sklearn.metrics import roc_auc_score

    images, labels = _corpus(seed, FIRST_TEST_IMAGE, 1200)
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(preprocess(images[i:i + 200])) for i in range(0, len(labels), 200)])
    predicted = logits.argmax(1).numpy()
    ours = labels < len(mednist.CLASSES)
    msk = logits[~ours][:, len(mednist.CLASSES):].softmax(1).numpy()
    return {"mednist_accuracy": round(float((predicted[ours] == labels[ours]).mean()), 4),
            "mednist_images": int(ours.sum()),
            "msk_abnormal_view_auc": round(float(roc_auc_score(labels[~ours] > len(mednist.CLASSES),
                                                               1 - msk[:, 0])), 4),
            "msk_views": int((~ours).sum())}


def _write(stage: Path, *, seed: int, steps: int) -> None:
    import torch
    import torchvision

    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        model, scores = _train(seed, steps)
    finally:
        torch.set_num_threads(threads)
    folder = stage / FOLDER
    folder.mkdir()
    torch.save(model.state_dict(), folder / WEIGHTS)
    card = {
        "architecture": f"torchvision.models.resnet18(num_classes={len(CLASSES)})",
        "classes": list(CLASSES),
        "input": {"channels": 3, "size": SIZE, "grey_copied_to_channels": True,
                  "resize": "pad with black to a centred square, then bilinear",
                  "normalise": "(pixel / 255 - mean) / std", "mean": MEAN, "std": STD},
        "training": {"data": "MedNIST stand-in images (numbers from 1,000,000) and MURA stand-in views of "
                             "patients of their own (cohort seed 1,000,000 + seed), 1:3, drawn in memory",
                     "steps": steps, "batch": BATCH, "optimizer": "Adam", "lr": 1e-3,
                     "augmentation": "random horizontal flip", "seed": seed, "threads": THREADS,
                     "torch": torch.__version__, "torchvision": torchvision.__version__},
        "unseen": scores,
    }
    (folder / CARD).write_text(json.dumps(card, indent=2) + "\n")


SPEC = DatasetSpec(
    name="resnet18_mednist_msk",
    title="ResNet-18 pretrained by the kit on MedNIST and musculoskeletal stand-in images (state_dict + card)",
    version="1",
    entries=(FOLDER,),
    writer=_write,
    defaults={"steps": 1500},
    real_source="none: the courses use ImageNet weights, which cannot be downloaded here; any "
                "resnet18 state_dict with a 10-class head can take its place",
    replaces=("resnet18_mednist",),  # the MedNIST-only network of before, in the same folder
)


def load(root: str | Path | None = None) -> tuple[Any, dict[str, Any]]:
    """The pretrained network (eval mode) and its card, from ``<root>/pretrained``."""
    import torch
    import torchvision

    folder = resolve_root(root) / FOLDER
    missing = [f for f in (WEIGHTS, CARD) if not (folder / f).is_file()]
    if missing:
        raise DataError(f"{folder / missing[0]} is missing: the kit's pretrained network is written by "
                        f"`medgrade data generate --dataset {SPEC.name}` (a few minutes)")
    model = torchvision.models.resnet18(num_classes=len(CLASSES))
    model.load_state_dict(torch.load(folder / WEIGHTS, map_location="cpu", weights_only=True))
    return model.eval(), json.loads((folder / CARD).read_text())


def generate(root: str | Path | None = None, *, seed: int = 0, steps: int = 1500, force: bool = False) -> Path:
    """Train and write ``<root>/pretrained`` (skipped when the manifest says it is up to date); its path."""
    return build(resolve_root(root), SPEC, seed=seed, params={"steps": steps}, force=force).path
