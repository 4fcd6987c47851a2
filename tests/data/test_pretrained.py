"""The kit's own pretrained ResNet-18: trained at generation, hashed, loadable, and really trained."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from medgrade.data import mednist, pretrained, verify_all
from medgrade.data.manifest import read_manifest
from medgrade.errors import DataError


@pytest.fixture(scope="module")
def short_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root with a network trained for 12 steps only: the files, not the skill."""
    root = tmp_path_factory.mktemp("pretrained-root")
    pretrained.generate(root, seed=0, steps=12)
    return root


def test_generate_writes_a_state_dict_and_a_card_that_the_manifest_hashes(short_root: Path) -> None:
    folder = short_root / "pretrained"
    assert sorted(p.name for p in folder.iterdir()) == ["resnet18_mednist.json", "resnet18_mednist.pt"]
    record = read_manifest(short_root)["resnet18_mednist"]
    assert set(record.files) == {"pretrained/resnet18_mednist.json", "pretrained/resnet18_mednist.pt"}
    assert record.params == {"steps": 12} and not verify_all(short_root)
    state = torch.load(folder / "resnet18_mednist.pt", weights_only=True)
    torchvision.models.resnet18(num_classes=6).load_state_dict(state)  # strict: every key, every shape
    card = json.loads((folder / "resnet18_mednist.json").read_text())
    assert card["classes"] == list(mednist.CLASSES) and card["training"]["steps"] == 12
    assert card["input"] == {"channels": 3, "size": 64, "grey_copied_to_channels": True,
                             "normalise": "(pixel / 255 - mean) / std", "mean": 0.5, "std": 0.25}
    assert 0.0 <= card["unseen_accuracy"] <= 1.0 and card["unseen_images"] == 600


def test_a_damaged_weights_file_is_named_by_verify(tmp_path: Path) -> None:
    pretrained.generate(tmp_path, seed=1, steps=2)
    weights = tmp_path / "pretrained" / "resnet18_mednist.pt"
    weights.write_bytes(weights.read_bytes()[:-10] + bytes(10))
    problems = verify_all(tmp_path)
    assert [(p.path, p.reason) for p in problems] == [("pretrained/resnet18_mednist.pt",
                                                       "corrupted (sha256 differs from manifest)")]
    assert "medgrade data generate --dataset resnet18_mednist --force" in problems[0].message()


def test_the_same_seed_gives_the_same_bytes_on_one_machine_and_another_seed_others(tmp_path: Path) -> None:
    digests = []
    for name, seed in [("a", 3), ("b", 3), ("c", 4)]:
        pretrained.generate(tmp_path / name, seed=seed, steps=2)
        files = read_manifest(tmp_path / name)["resnet18_mednist"].files
        digests.append(files["pretrained/resnet18_mednist.pt"].sha256)
    assert digests[0] == digests[1] != digests[2]


def test_load_returns_the_network_in_eval_mode_and_says_how_to_make_missing_weights(short_root: Path,
                                                                                    tmp_path: Path) -> None:
    model, card = pretrained.load(short_root)
    assert isinstance(model, torchvision.models.ResNet) and not model.training and card["training"]["steps"] == 12
    with pytest.raises(DataError, match=r"resnet18_mednist\.pt is missing: .*`medgrade data generate "
                       r"--dataset resnet18_mednist`"):
        pretrained.load(tmp_path)


def test_preprocess_copies_grey_to_three_normalised_channels() -> None:
    x = pretrained.preprocess(np.array([[[0, 255], [128, 64]]], dtype=np.uint8))
    assert x.shape == (1, 3, 2, 2) and x.dtype == torch.float32
    assert torch.equal(x[:, 0], x[:, 1]) and torch.equal(x[:, 1], x[:, 2])
    assert x[0, 0, 0, 0] == pytest.approx(-2.0) and x[0, 0, 0, 1] == pytest.approx(2.0)


def test_the_generated_network_recognises_mednist_folder_images_it_never_saw(data_root: Path) -> None:
    """The network ``make test`` generated (600 steps): the point of pretraining is that it learnt."""
    if not (data_root / "pretrained" / pretrained.WEIGHTS).is_file():
        pytest.skip(f"no pretrained network under {data_root}: run `medgrade data generate`")
    model, card = pretrained.load(data_root)
    files = [(c, p) for c, name in enumerate(mednist.CLASSES)
             for p in sorted((data_root / "MedNIST" / name).glob("*.jpeg"))[:50]]
    images = np.stack([np.asarray(Image.open(p).convert("L")) for _, p in files])
    with torch.no_grad():
        predicted = model(pretrained.preprocess(images)).argmax(1).numpy()
    accuracy = float((predicted == np.array([c for c, _ in files])).mean())
    assert accuracy >= 0.9, f"accuracy {accuracy:.3f} on 300 MedNIST folder images"
    assert card["unseen_accuracy"] >= 0.9
