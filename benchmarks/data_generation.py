"""Benchmark the dataset stand-ins: generation cost and PathMNIST learnability.

Prints the wall time and peak memory of ``medgrade data generate`` for every dataset (run in a
child process so its peak RSS is its own), then, for PathMNIST, the test accuracy of the
majority class, of a logistic regression on per-channel means, and of a small CNN trained for
one epoch on 5,000 training images (Adam 1e-3, batch 64, per-channel standardised
input). Targets: under 6 min (about 4 of them train the pretrained network) and 2 GiB on 2 cores; the CNN clearly
above the linear model, neither near 100%.

    python benchmarks/data_generation.py [--root DIR] [--skip-generate] [--threads 2]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

_GENERATE = "from medgrade.cli.data import data; data()"


def bench_generate(root: Path) -> None:
    """Generate everything in a child process; print wall time and the child's peak RSS."""
    t0 = time.perf_counter()
    cmd = [sys.executable, "-c", _GENERATE, "generate", "--root", str(root), "--force"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    seconds = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(out.rstrip())
    print(f"generate all: {seconds:.1f} s wall, peak RSS {peak_kib / 2**20:.2f} GiB "
          f"(targets: < 6 min, < 2 GiB)")


def _cnn(n_classes: int) -> torch.nn.Module:
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(128, n_classes),
    )


def _cnn_accuracy(xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray, yte: np.ndarray) -> float:
    torch.manual_seed(0)
    model, tr = _cnn(9), torch.from_numpy(xtr).permute(0, 3, 1, 2).float() / 255.0
    mean, std = tr.mean((0, 2, 3), keepdim=True), tr.std((0, 2, 3), keepdim=True)
    tr = (tr - mean) / std  # per-channel standardisation, from the training images only
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    labels = torch.from_numpy(ytr).long()
    perm = torch.randperm(len(tr))
    for start in range(0, len(tr), 64):  # one epoch, batch 64
        i = perm[start : start + 64]
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(tr[i]), labels[i]).backward()
        opt.step()
    model.eval()
    te = (torch.from_numpy(xte).permute(0, 3, 1, 2).float() / 255.0 - mean) / std
    with torch.no_grad():
        pred = torch.cat([model(te[s : s + 1024]).argmax(1) for s in range(0, len(te), 1024)])
    return float((pred.numpy() == yte).mean())


def bench_pathmnist(root: Path, n_train: int = 5000) -> None:
    import medmnist
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train = medmnist.PathMNIST(split="train", root=str(root), download=False)
    test = medmnist.PathMNIST(split="test", root=str(root), download=False)
    idx = np.random.default_rng(0).choice(len(train), n_train, replace=False)
    xtr, ytr = train.imgs[idx], train.labels[idx, 0]
    xte, yte = test.imgs, test.labels[:, 0]
    majority = float((yte == np.bincount(ytr).argmax()).mean())
    linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    linear.fit(xtr.mean(axis=(1, 2)), ytr)
    lin_acc = float(linear.score(xte.mean(axis=(1, 2)), yte))
    t0 = time.perf_counter()
    cnn_acc = _cnn_accuracy(xtr, ytr, xte, yte)
    print(f"PathMNIST test accuracy ({len(yte)} images; models fit on {n_train} train images):")
    print(f"  majority class                         {majority:.3f}")
    print(f"  logistic regression, per-channel means {lin_acc:.3f}")
    print(f"  small CNN, one epoch                   {cnn_acc:.3f}  "
          f"({time.perf_counter() - t0:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None)
    parser.add_argument("--skip-generate", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="medgrade-bench-") as tmp:
        root = args.root or Path(tmp)
        if not args.skip_generate:
            bench_generate(root)
        bench_pathmnist(root)


if __name__ == "__main__":
    main()
