"""Benchmark the kit's pretrained network: do its frozen features carry MURA's findings?

What a replaced head sees is ResNet-18's pooled layer4 features (512 per image). For three
networks, a logistic probe (standardised features, C=0.03) is fitted on the MURA stand-in's
train images (each image labelled with its study) and scores the valid studies (the mean of their
views' probabilities); the study AUC is printed for

* a random, untrained ResNet-18 (seed 0): what features alone are worth;
* a ResNet-18 trained on MedNIST stand-in images only (600 steps, the kit's recipe otherwise):
  the network the transfer assignment was first drafted on;
* the kit's network, ``<root>/pretrained/resnet18_mednist_msk.pt``.

Target: the kit's network well above the random one, by more than the MedNIST-only one is.
Images are padded to squares and resized to 64 px, as the network's card says.

    python benchmarks/transfer_probe.py [--root DIR] [--threads 2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torchvision
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from medgrade.data import mednist, pretrained
from medgrade.data.root import resolve_root


def _features(model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    model.fc = torch.nn.Identity()
    model.eval()
    with torch.no_grad():
        return torch.cat([model(x[i:i + 256]) for i in range(0, len(x), 256)]).numpy()


def _mednist_only(steps: int = 600) -> torch.nn.Module:
    images, labels = pretrained._mednist(0, pretrained.FIRST_IMAGE, -(-steps * 32 // 6))
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    model = torchvision.models.resnet18(num_classes=len(mednist.CLASSES))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.randperm(len(labels), generator=gen)
    model.train()
    for step in range(steps):
        idx = order[step * 32:(step + 1) * 32].numpy()
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(pretrained.preprocess(images[idx])),
                                                 torch.from_numpy(labels[idx]))
        loss.backward()
        optimizer.step()
    return model


def _probe_auc(model: torch.nn.Module, train: tuple, valid: tuple) -> float:  # type: ignore[type-arg]
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=0.03, max_iter=3000))
    probe.fit(_features(model, train[0]), train[1])
    p = probe.predict_proba(_features(model, valid[0]))[:, 1]
    by_study: dict[str, list[float]] = {}
    for study, v in zip(valid[2], p, strict=True):
        by_study.setdefault(study, []).append(float(v))
    truth = dict(zip(valid[2], valid[1], strict=True))
    return float(roc_auc_score([truth[s] for s in by_study], [np.mean(v) for v in by_study.values()]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    root = resolve_root(args.root)
    t0 = time.perf_counter()
    train, valid = pretrained.mura_split(root, "train"), pretrained.mura_split(root, "valid")
    print(f"MURA stand-in under {root}: {len(train[1])} train images, {len(set(valid[2]))} valid studies "
          f"({time.perf_counter() - t0:.0f} s to read)")
    torch.manual_seed(0)
    kit, _ = pretrained.load(root)
    t1 = time.perf_counter()
    mednist_only = _mednist_only()
    print(f"MedNIST-only network trained in {time.perf_counter() - t1:.0f} s")
    aucs = {"random ResNet-18": _probe_auc(torchvision.models.resnet18(), train, valid),
            "MedNIST only (600 steps)": _probe_auc(mednist_only, train, valid),
            f"the kit's {pretrained.SPEC.name}": _probe_auc(kit, train, valid)}
    base = aucs["random ResNet-18"]
    for name, auc in aucs.items():
        print(f"  {name:<34} study AUC {auc:.3f}  ({auc - base:+.3f} over random)")
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
