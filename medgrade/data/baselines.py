"""Baselines the grader trains itself: what a graded model must beat, out of the student's reach.

A hidden test may ask a model to beat a baseline by a margin (``checks.judged(..., baseline=...,
gain=...)``). When the baseline depends on nothing the student wrote (08's ResNet-18 trained from
scratch on the kit's data), the test names it by a string and the grader computes its predictions
here, in a process of its own, from the kit's code and data. Trained in the kernel, the same
baseline could be sabotaged by the student (an ``Adam`` patched to do nothing makes any model
"beat" it), and it cost every graded notebook its training time; here it costs one run per seed
and profile, cached for the whole class.

A baseline that needs the student's code (05's random encoder is the student's ``Encoder``) is
still passed as predictions, and is evidence at best; see :mod:`medgrade.judge.grader`. This module
sits with the data, below both of its callers: the grader, and ``checks.judged`` in a reference run.

Baselines:

- ``mura_scratch_resnet18``: torchvision's ResNet-18 (``num_classes=1``) from random weights
  (``torch.manual_seed(seed)``), trained on every image of ``MURA-v1.1``'s train split (the
  pretrained network's input: :func:`medgrade.data.pretrained.square` then ``preprocess``) with
  Adam (lr 1e-3), batch 32 shuffled by ``torch.Generator().manual_seed(seed)``, and
  ``BCEWithLogitsLoss`` weighting abnormal images by N_normal / N_abnormal, for as many steps as
  08's graded pipeline takes (head and fine-tuning: 60 + 30 on ``cpu``, 500 + 200 on ``gpu``).
  Its predictions: the mean probability of abnormal over each study of the test split, in the
  order of ``test_labeled_studies.csv`` (the ``mura:test`` answer key).

Cache: ``<private tmp>/baselines/<name>-<profile>-seed<seed>-<data hash>.npy``, readable by the
grader's user only, keyed by the hash of the files the baseline reads (from the data manifest), so
regenerated data trains a fresh one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medgrade.errors import DataError

__all__ = ["Baseline", "BASELINES", "baseline_predictions", "known"]


@dataclass(frozen=True)
class Baseline:
    """A baseline the grader computes: its answer key, its datasets, and how it is trained."""

    answers: str  # the answer key its predictions are in the order of
    dataset: str  # the data manifest's dataset whose files it reads (the cache key)
    steps: dict[str, int]  # training steps per profile
    compute: Callable[[Path, str, int, int], np.ndarray]  # (data root, profile, seed, steps) -> predictions


def _mura_scratch_resnet18(data_root: Path, profile: str, seed: int, steps: int) -> np.ndarray:
    import csv

    import torch
    import torchvision
    from torch.utils.data import DataLoader, TensorDataset

    from medgrade.data.mura import TOP
    from medgrade.data.pretrained import mura_split

    x_train, train_labels, _ = mura_split(data_root, "train")
    y_train = torch.from_numpy(train_labels).float()[:, None]
    x_test, _, test_studies = mura_split(data_root, "test")
    with open(data_root / TOP / "test_labeled_studies.csv", newline="") as f:
        order = [folder for folder, _ in csv.reader(f)]

    device = torch.device("cuda" if profile == "gpu" and torch.cuda.is_available() else "cpu")
    torch.manual_seed(seed)
    net = torchvision.models.resnet18(num_classes=1).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    pos_weight = torch.tensor([float((y_train == 0).sum() / (y_train == 1).sum())])
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight).to(device)
    net.train()
    done = 0
    while done < steps:
        for images, labels in loader:
            optimizer.zero_grad()
            loss_fn(net(images.to(device)), labels.to(device)).backward()
            optimizer.step()
            done += 1
            if done == steps:
                break
    net.eval()
    with torch.no_grad():
        p = torch.cat([torch.sigmoid(net(x_test[i:i + 256].to(device))).reshape(-1).cpu()
                       for i in range(0, len(x_test), 256)]).numpy()
    by_study: dict[str, list[float]] = {}
    for study, v in zip(test_studies, p, strict=True):
        by_study.setdefault(study, []).append(float(v))
    return np.array([np.mean(by_study[s]) for s in order], dtype=np.float64)


BASELINES: dict[str, Baseline] = {
    "mura_scratch_resnet18": Baseline("mura:test", "mura", {"cpu": 90, "gpu": 700}, _mura_scratch_resnet18),
}


def known(name: str) -> Baseline:
    """The baseline called ``name``; the error lists the known ones."""
    try:
        return BASELINES[name]
    except KeyError:
        raise KeyError(f"unknown baseline {name!r}; the grader computes {', '.join(sorted(BASELINES))}") from None


def _data_hash(data_root: Path, dataset: str) -> str:
    """The hash of the files of ``dataset`` as the data manifest records them."""
    try:
        manifest = json.loads((data_root / "manifest.json").read_text())
        files = manifest["datasets"][dataset]["files"]
    except (OSError, ValueError, KeyError, TypeError):
        raise DataError(f"{data_root / 'manifest.json'} records no {dataset!r} dataset; "
                        "run: medgrade data generate") from None
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]


def baseline_predictions(name: str, data_root: Path, profile: str, seed: int) -> np.ndarray:
    """The predictions of baseline ``name`` at ``seed`` under ``profile``: cached, else trained.

    Training runs in a process of its own (its threads, its seeds, its memory), on the
    profile's thread count, so every grader on a machine computes the same numbers.
    """
    from medgrade.profiles import get_profile
    from medgrade.scratch import private_dir

    spec = known(name)
    prof = get_profile(profile)
    cache = private_dir("baselines") / f"{name}-{profile}-seed{int(seed)}-{_data_hash(data_root, spec.dataset)}.npy"
    from medgrade.data.manifest import exclusive

    with exclusive(cache.with_suffix(".lock")):  # two graders at the same seed train it once
        if cache.is_file():
            try:
                return np.asarray(np.load(cache, allow_pickle=False), dtype=np.float64)
            except (OSError, ValueError):
                cache.unlink(missing_ok=True)  # not a saved array (written by hand?): train it again
        fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=f".{cache.stem}.", suffix=".npy")
        os.close(fd)
        threads = str(prof.threads if prof.device == "cpu" else max(1, (os.cpu_count() or 1)))
        env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "PYTHONHASHSEED": "0",
               "CUBLAS_WORKSPACE_CONFIG": ":4096:8"}
        argv = [sys.executable, "-m", "medgrade.data.baselines", name, "--profile", profile, "--seed", str(int(seed)),
                "--data-root", str(data_root), "--out", tmp]
        run = subprocess.run(argv, env=env, capture_output=True, text=True)
        if run.returncode != 0:
            Path(tmp).unlink(missing_ok=True)
            last = (run.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise DataError(f"the grader could not train the baseline {name!r} "
                            f"(seed {seed}, {profile} profile): {last}")
        os.replace(tmp, cache)
    return np.asarray(np.load(cache, allow_pickle=False), dtype=np.float64)


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m medgrade.data.baselines",
                                     description="Train one of the grader's baselines and save its predictions.")
    parser.add_argument("name", choices=sorted(BASELINES))
    parser.add_argument("--profile", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    import torch

    from medgrade.profiles import get_profile

    prof = get_profile(args.profile)
    if prof.device == "cpu":
        torch.set_num_threads(prof.threads)
    torch.use_deterministic_algorithms(prof.deterministic, warn_only=True)
    spec = BASELINES[args.name]
    predictions = spec.compute(args.data_root, args.profile, args.seed, spec.steps[args.profile])
    with open(args.out, "wb") as f:
        np.save(f, predictions, allow_pickle=False)
    return 0


if __name__ == "__main__":
    sys.exit(_main())
