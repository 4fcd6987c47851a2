"""The kit's own pretrained ResNet-18: trained at generation, hashed, loadable, and really trained on both corpora."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from sklearn.metrics import roc_auc_score

from medgrade.data import mednist, pretrained, verify_all
from medgrade.data.manifest import read_manifest
from medgrade.errors import DataError

NAME, PT, CARD = "resnet18_mednist_msk", "resnet18_mednist_msk.pt", "resnet18_mednist_msk.json"


@pytest.fixture(scope="module")
def short_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root with a network trained for 12 steps only: the files, not the skill."""
    root = tmp_path_factory.mktemp("pretrained-root")
    pretrained.generate(root, seed=0, steps=12)
    return root


def test_generate_writes_a_state_dict_and_a_card_that_the_manifest_hashes(short_root: Path) -> None:
    folder = short_root / "pretrained"
    assert sorted(p.name for p in folder.iterdir()) == [CARD, PT]
    record = read_manifest(short_root)[NAME]
    assert set(record.files) == {f"pretrained/{CARD}", f"pretrained/{PT}"}
    assert record.params == {"steps": 12} and not verify_all(short_root)
    state = torch.load(folder / PT, weights_only=True)
    torchvision.models.resnet18(num_classes=10).load_state_dict(state)  # strict: every key, every shape
    card = json.loads((folder / CARD).read_text())
    assert card["classes"] == [*mednist.CLASSES, "MSK normal", "MSK fracture", "MSK lesion", "MSK hardware"]
    assert card["training"]["steps"] == 12
    assert card["input"] == {"channels": 3, "size": 64, "grey_copied_to_channels": True,
                             "resize": "pad with black to a centred square, then bilinear",
                             "normalise": "(pixel / 255 - mean) / std", "mean": 0.5, "std": 0.25}
    unseen = card["unseen"]
    assert 0.0 <= unseen["mednist_accuracy"] <= 1.0 and 0.0 <= unseen["msk_abnormal_view_auc"] <= 1.0
    assert unseen["mednist_images"] == 300 and unseen["msk_views"] >= 900


def test_a_data_root_with_the_mednist_only_network_of_before_is_upgraded(tmp_path: Path) -> None:
    from medgrade.data.manifest import DatasetRecord, hash_tree, update_manifest

    folder = tmp_path / "pretrained"
    folder.mkdir()
    (folder / "resnet18_mednist.pt").write_bytes(b"old weights")
    (folder / "resnet18_mednist.json").write_text("{}")
    files = hash_tree(tmp_path, ("pretrained",))
    update_manifest(tmp_path, "resnet18_mednist", DatasetRecord("resnet18_mednist", "1", 0, {"steps": 600},
                                                                ("pretrained",), files, None))
    (tmp_path / "mine.txt").write_text("a file of the user's")
    pretrained.generate(tmp_path, seed=0, steps=2)
    assert sorted(p.name for p in folder.iterdir()) == [CARD, PT]
    assert set(read_manifest(tmp_path)) == {NAME} and (tmp_path / "mine.txt").is_file()
    assert not verify_all(tmp_path)

    record = read_manifest(tmp_path)[NAME]
    update_manifest(tmp_path, NAME, None)
    update_manifest(tmp_path, "resnet18_mednist", record)
    (folder / "notes.txt").write_text("the instructor's own file")  # no record lists it: never deleted
    with pytest.raises(DataError, match=r"pretrained exists but was not written by medgrade"):
        pretrained.generate(tmp_path, seed=0, steps=2)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"] and not read_manifest(tmp_path)


def test_a_damaged_weights_file_is_named_by_verify(tmp_path: Path) -> None:
    pretrained.generate(tmp_path, seed=1, steps=2)
    weights = tmp_path / "pretrained" / PT
    weights.write_bytes(weights.read_bytes()[:-10] + bytes(10))
    problems = verify_all(tmp_path)
    assert [(p.path, p.reason) for p in problems] == [(f"pretrained/{PT}", "corrupted (sha256 differs from manifest)")]
    assert f"medgrade data generate --dataset {NAME} --force" in problems[0].message()


def test_the_same_seed_gives_the_same_bytes_on_one_machine_and_another_seed_others(tmp_path: Path) -> None:
    digests = []
    for name, seed in [("a", 3), ("b", 3), ("c", 4)]:
        pretrained.generate(tmp_path / name, seed=seed, steps=2)
        files = read_manifest(tmp_path / name)[NAME].files
        digests.append(files[f"pretrained/{PT}"].sha256)
    assert digests[0] == digests[1] != digests[2]


def test_load_returns_the_network_in_eval_mode_and_says_how_to_make_missing_weights(short_root: Path,
                                                                                    tmp_path: Path) -> None:
    model, card = pretrained.load(short_root)
    assert isinstance(model, torchvision.models.ResNet) and not model.training and card["training"]["steps"] == 12
    with pytest.raises(DataError, match=r"resnet18_mednist_msk\.pt is missing: .*`medgrade data generate "
                       r"--dataset resnet18_mednist_msk`"):
        pretrained.load(tmp_path)


def test_preprocess_copies_grey_to_three_normalised_channels() -> None:
    x = pretrained.preprocess(np.array([[[0, 255], [128, 64]]], dtype=np.uint8))
    assert x.shape == (1, 3, 2, 2) and x.dtype == torch.float32
    assert torch.equal(x[:, 0], x[:, 1]) and torch.equal(x[:, 1], x[:, 2])
    assert x[0, 0, 0, 0] == pytest.approx(-2.0) and x[0, 0, 0, 1] == pytest.approx(2.0)


def test_square_pads_to_a_centred_square_before_resizing() -> None:
    wide = np.zeros((2, 6), dtype=np.uint8)
    wide[:, 2:4] = 200
    assert pretrained.square(wide, 6).tolist() == [[0] * 6] * 2 + [[0, 0, 200, 200, 0, 0]] * 2 + [[0] * 6] * 2
    rgb = np.repeat(np.full((3, 1), 90, dtype=np.uint8)[..., None], 3, axis=2)
    assert pretrained.square(rgb, 3).tolist() == [[0, 90, 0]] * 3  # RGB views are read as grey


def _trained(data_root: Path) -> tuple[torch.nn.Module, dict]:  # type: ignore[type-arg]
    if not (data_root / "pretrained" / pretrained.WEIGHTS).is_file():
        pytest.skip(f"no pretrained network under {data_root}: run `medgrade data generate`")
    return pretrained.load(data_root)


def test_the_generated_network_recognises_mednist_folder_images_it_never_saw(data_root: Path) -> None:
    """The network ``make test`` generated (1,500 steps): the point of pretraining is that it learnt."""
    model, card = _trained(data_root)
    files = [(c, p) for c, name in enumerate(mednist.CLASSES)
             for p in sorted((data_root / "MedNIST" / name).glob("*.jpeg"))[:50]]
    images = np.stack([np.asarray(Image.open(p).convert("L")) for _, p in files])
    with torch.no_grad():
        predicted = model(pretrained.preprocess(images)).argmax(1).numpy()
    accuracy = float((predicted == np.array([c for c, _ in files])).mean())
    assert accuracy >= 0.9, f"accuracy {accuracy:.3f} on 300 MedNIST folder images"
    assert card["unseen"]["mednist_accuracy"] >= 0.9


def test_the_generated_network_sees_findings_in_the_mura_folder_it_never_saw(data_root: Path) -> None:
    """Why it trains on radiographs too: its own head tells abnormal MURA valid studies from normal ones.

    Measured when this test was written: study AUC 0.85 (150 studies). A network trained on MedNIST
    alone has features no better than a random one's (benchmarks/transfer_probe.py).
    """
    model, card = _trained(data_root)
    top = data_root / "MURA-v1.1"
    rows = (top / "valid_image_paths.csv").read_text().split()
    with open(top / "valid_labeled_studies.csv", newline="") as f:
        labels = {folder: int(y) for folder, y in csv.reader(f)}
    images = np.stack([pretrained.square(np.asarray(Image.open(data_root / row))) for row in rows])
    with torch.no_grad():
        normal = model(pretrained.preprocess(images))[:, len(mednist.CLASSES):].softmax(1)[:, 0].numpy()
    by_study: dict[str, list[float]] = {}
    for row, p in zip(rows, normal, strict=True):
        by_study.setdefault(row.rsplit("/", 1)[0] + "/", []).append(1.0 - float(p))
    auc = roc_auc_score([labels[s] for s in by_study], [np.mean(v) for v in by_study.values()])
    assert auc >= 0.75, f"study AUC {auc:.3f} on {len(by_study)} MURA valid studies"
    assert card["unseen"]["msk_abnormal_view_auc"] >= 0.75
