"""The held-out key: the held-out splits cannot be drawn again from public code; calibration draws its own."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from medgrade.cli.main import cli
from medgrade.data import generate_all, pathmnist, verify_all, wmh
from medgrade.data.calibration import calibration_root
from medgrade.data.heldout import (
    KEY_FILE,
    calibration_key,
    fingerprint,
    kernel_masks,
    read_key,
)
from medgrade.errors import DataError

SMALL = {"wmh": {"n_train": 1, "n_test": 2}}


def test_generate_keeps_a_private_key_and_the_manifest_only_its_fingerprint(pathmnist_root: Path) -> None:
    key_file = pathmnist_root / KEY_FILE
    key = read_key(pathmnist_root)
    assert key is not None and len(key) == 32
    assert key_file.stat().st_mode & 0o777 == 0o600  # no other user's kernel opens it
    manifest = (pathmnist_root / "manifest.json").read_text()
    record = json.loads(manifest)["datasets"]["pathmnist"]
    assert record["heldout"] == fingerprint(key)
    assert key.hex() not in manifest and str(list(key)) not in manifest


def test_the_test_split_cannot_be_drawn_again_without_the_key(pathmnist_root: Path) -> None:
    key = read_key(pathmnist_root)
    assert key is not None
    with np.load(pathmnist_root / "pathmnist.npz") as npz:
        test, train = npz["test_labels"][:, 0], npz["train_labels"][:, 0]
    # with the key the split is reproducible; from public code (any guess of the seed) it is chance
    assert np.array_equal(test, pathmnist.split_labels("test", 0, key)[:, 0])
    for guess in (0, 1):
        agree = float((test == pathmnist.split_labels("test", guess)[:, 0]).mean())
        assert agree < 0.16, agree  # chance agreement of two draws with these class proportions: 0.13
    # the training split is the same for every course: public, drawn from the seed alone
    assert np.array_equal(train, pathmnist.split_labels("train", 0)[:, 0])


def test_a_lost_key_is_refused_with_the_fix_and_force_draws_a_new_one(tmp_path: Path) -> None:
    generate_all(tmp_path, ["wmh"], params=SMALL)
    old = read_key(tmp_path)
    (tmp_path / KEY_FILE).unlink()
    with pytest.raises(DataError) as caught:
        generate_all(tmp_path, ["wmh"], params=SMALL)
    message = str(caught.value)
    assert f"{tmp_path / KEY_FILE} is missing" in message and "Restore the file" in message
    assert "medgrade data generate --dataset wmh --force" in message
    result = CliRunner().invoke(cli, ["data", "generate", "--root", str(tmp_path), "--dataset", "wmh"])
    assert result.exit_code == 2 and "Traceback" not in result.output and "is missing" in result.output, result.output
    (forced,) = generate_all(tmp_path, ["wmh"], params=SMALL, force=True)
    new = read_key(tmp_path)
    assert forced.status == "generated" and new is not None and new != old
    assert json.loads((tmp_path / "manifest.json").read_text())["datasets"]["wmh"]["heldout"] == fingerprint(new)


def test_verify_names_a_key_that_did_not_draw_the_split(tmp_path: Path) -> None:
    generate_all(tmp_path, ["wmh"], params=SMALL)
    assert verify_all(tmp_path) == []
    os.chmod(tmp_path / KEY_FILE, 0o600)
    (tmp_path / KEY_FILE).write_bytes(bytes(32))
    (problem,) = verify_all(tmp_path)
    assert problem.path == KEY_FILE and "another key" in problem.reason
    with pytest.raises(DataError, match="not a 32-byte held-out key"):
        (tmp_path / KEY_FILE).write_bytes(b"short")
        read_key(tmp_path)


def test_a_dataset_without_held_out_split_has_no_key(tmp_path: Path) -> None:
    generate_all(tmp_path, ["decathlon"], params={"decathlon": {"n_train": 2, "n_test": 1}})
    assert not (tmp_path / KEY_FILE).exists()
    assert "heldout" not in json.loads((tmp_path / "manifest.json").read_text())["datasets"]["decathlon"]
    assert calibration_root(tmp_path, 3) == tmp_path  # nothing held out: calibration grades on it as it is
    assert calibration_root(None, 0) is None


def test_calibration_roots_redraw_only_the_held_out_split_from_a_public_key(tmp_path: Path) -> None:
    import nibabel as nib

    root = tmp_path / "course-data"
    generate_all(root, ["wmh", "decathlon"], params={**SMALL, "decathlon": {"n_train": 2, "n_test": 1}})
    (root / "WMH" / "README.txt").write_text("not ours")  # an extra file beside the stand-in is not copied
    first = calibration_root(root, 0)  # the cache shared by validate and every calibration
    assert first is not None and first != root and verify_all(first) == []
    try:
        stamp = (first / ".stamp").stat().st_mtime_ns
        assert calibration_root(root, 0) == first and (first / ".stamp").stat().st_mtime_ns == stamp  # reused
        other = calibration_root(root, 1, into=tmp_path / "mine")  # a calibration's own, removed by it
        assert other == tmp_path / "mine"
        case = Path("WMH/test/001/wmh.nii.gz")
        train = Path("WMH/train/000/FLAIR_brain.nii.gz")
        assert (first / train).read_bytes() == (root / train).read_bytes() == (other / train).read_bytes()
        assert len({(r / case).read_bytes() for r in (root, first, other)}) == 3
        expected = wmh.case(0, "test", 1, calibration_key(1))["wmh"]
        assert np.array_equal(np.asarray(nib.load(other / case).dataobj), expected)
        assert (first / "Task01_BrainTumour" / "dataset.json").read_bytes() == \
               (root / "Task01_BrainTumour" / "dataset.json").read_bytes()  # no held-out split: as it is
        assert not (first / KEY_FILE).exists()  # a public key: nothing to keep
        assert first.stat().st_mode & 0o755 == 0o755  # a root grader's kernels, as nobody, list it
        generate_all(root, ["wmh"], params=SMALL, force=True)  # the same key: the same files, the copy holds
        assert calibration_root(root, 0) == first and (first / ".stamp").stat().st_mtime_ns == stamp
        (root / KEY_FILE).unlink()
        generate_all(root, ["wmh"], params=SMALL, force=True)  # a new key: a new copy, the old one removed
        newer = calibration_root(root, 0)
        assert newer is not None and newer != first and not first.exists() and newer.is_dir()
        assert calibration_root(tmp_path / "elsewhere", 0) == tmp_path / "elsewhere"  # no data: as it is
    finally:
        shutil.rmtree(calibration_root(root, 0), ignore_errors=True)


def test_the_sandbox_masks_the_key_with_an_empty_file(tmp_path: Path) -> None:
    assert kernel_masks(tmp_path) == () and kernel_masks(None) == ()
    generate_all(tmp_path, ["wmh"], params=SMALL)
    ((real, empty),) = kernel_masks(tmp_path)
    assert real == (tmp_path / KEY_FILE).resolve() and empty.read_bytes() == b""
    assert empty.stat().st_mode & 0o777 == 0o644
    shutil.rmtree(tmp_path / "WMH")
