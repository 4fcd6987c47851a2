"""Offline dataset stand-ins in the exact on-disk format of the real datasets.

``medgrade data generate`` writes each stand-in under the data root (:func:`resolve_root`),
records every file's sha256 in ``<root>/manifest.json`` and installs files atomically, so the
real loaders (``torchvision.datasets.ImageFolder``, ``medmnist``, ``monai.apps.DecathlonDataset``,
``nibabel``) read them unchanged; pointing the root at the real data switches to it.
One module per dataset documents its generative model: what separates the classes and what
makes a case hard.
"""

from __future__ import annotations

from medgrade.data.catalog import NAMES, DatasetInfo, generate_all, get_spec, info, verify_all
from medgrade.data.root import default_root, resolve_root
from medgrade.data.store import BuildResult, DatasetSpec, Problem

__all__ = [
    "NAMES",
    "BuildResult",
    "DatasetInfo",
    "DatasetSpec",
    "Problem",
    "default_root",
    "generate_all",
    "get_spec",
    "info",
    "resolve_root",
    "verify_all",
]
