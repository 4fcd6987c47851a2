"""Data root, manifest, idempotent generate, verify messages, atomicity and the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from medgrade.cli.data import data
from medgrade.data import generate_all, get_spec, info, resolve_root, verify_all, wmh
from medgrade.data.root import default_root
from medgrade.errors import DataError


def test_resolve_root_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MEDGRADE_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resolve_root() == tmp_path / "xdg" / "medgrade" / "data" == default_root()
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert resolve_root() == Path.home() / ".cache" / "medgrade" / "data"
    (tmp_path / "data").mkdir()
    assert resolve_root() == Path.home() / ".cache" / "medgrade" / "data"  # a data/ folder that is not ours
    (tmp_path / "data" / "manifest.json").write_text("{}")
    assert resolve_root() == tmp_path / "data"  # the course's own, as `make` leaves it in the repository
    monkeypatch.setenv("MEDGRADE_DATA", str(tmp_path / "env"))
    assert resolve_root() == tmp_path / "env"
    assert resolve_root(tmp_path / "flag") == tmp_path / "flag"


def test_grading_gets_the_data_roots_real_path_or_none(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from medgrade.data.root import present_root

    monkeypatch.setenv("MEDGRADE_DATA", str(tmp_path / "absent"))
    assert present_root() is None  # a course that reads no data grades without a data root
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    monkeypatch.setenv("MEDGRADE_DATA", str(tmp_path / "link"))
    assert present_root() == tmp_path / "real"  # what the kernel's sandbox binds, and its data link names


def _small(root: Path) -> Path:
    return wmh.generate(root, seed=0, n_train=1, n_test=1)


def test_manifest_records_hashes_seed_and_version(tmp_path: Path) -> None:
    _small(tmp_path)
    record = json.loads((tmp_path / "manifest.json").read_text())["datasets"]["wmh"]
    assert record["seed"] == 0 and record["generator_version"] == get_spec("wmh").version
    assert len(record["files"]) == 6
    assert all(len(f["sha256"]) == 64 for f in record["files"].values())
    assert verify_all(tmp_path) == []
    # Readable by every user, like the data files: a kernel or cluster worker need not be its owner.
    assert (tmp_path / "manifest.json").stat().st_mode & 0o044 == 0o044


def test_same_seed_and_key_write_same_bytes(tmp_path: Path) -> None:
    from medgrade.data.heldout import KEY_FILE

    a = _small(tmp_path / "a")
    (tmp_path / "b").mkdir()
    shutil.copy(tmp_path / "a" / KEY_FILE, tmp_path / "b" / KEY_FILE)  # the grader's key, carried along
    b, other = _small(tmp_path / "b"), _small(tmp_path / "c")  # c draws its own key
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files and all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    # another key: the same training cases, other held-out ones
    assert all((a / f).read_bytes() == (other / f).read_bytes() for f in files if f.parts[0] == "train")
    assert all((a / f).read_bytes() != (other / f).read_bytes() for f in files if f.parts[0] == "test")


def test_generate_is_idempotent(tmp_path: Path) -> None:
    params = {"wmh": {"n_train": 1, "n_test": 1}}
    (first,) = generate_all(tmp_path, ["wmh"], params=params)
    (second,) = generate_all(tmp_path, ["wmh"], params=params)
    assert (first.status, second.status) == ("generated", "up to date")
    (forced,) = generate_all(tmp_path, ["wmh"], params=params, force=True)
    (reseeded,) = generate_all(tmp_path, ["wmh"], params=params, seed=1)
    assert (forced.status, reseeded.status) == ("generated", "generated")


def test_cli_generate_prints_what_it_did(tmp_path: Path) -> None:
    args = ["generate", "--root", str(tmp_path), "--dataset", "decathlon", "--seed", "3"]
    first = CliRunner().invoke(data, args)
    assert first.exit_code == 0, first.output
    assert "decathlon: generated: 53 files" in first.output
    assert "decathlon: up to date" in CliRunner().invoke(data, args).output


def test_verify_names_corrupted_and_missing_files(tmp_path: Path) -> None:
    root = _small(tmp_path).parent
    (root / "WMH" / "train" / "000" / "wmh.nii.gz").write_bytes(b"corrupted")
    (root / "WMH" / "test" / "000" / "T1_brain.nii.gz").unlink()
    result = CliRunner().invoke(data, ["verify", "--root", str(root)])
    assert result.exit_code == 1
    assert "WMH/train/000/wmh.nii.gz: corrupted" in result.output
    assert "WMH/test/000/T1_brain.nii.gz: missing" in result.output
    assert "repair: medgrade data generate --dataset wmh --force" in result.output
    # plain generate (not up to date any more) repairs it
    wmh.generate(root, seed=0, n_train=1, n_test=1)
    assert CliRunner().invoke(data, ["verify", "--root", str(root)]).exit_code == 0


def test_interrupted_generate_leaves_nothing_verify_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from medgrade.data import _brain

    real_save, calls = _brain.save_nifti, []

    def flaky(path: Path, array: np.ndarray, spacing: tuple[float, float, float]) -> None:
        calls.append(path)
        if len(calls) == 4:
            raise KeyboardInterrupt("simulated interrupt")
        real_save(path, array, spacing)

    monkeypatch.setattr(_brain, "save_nifti", flaky)
    with pytest.raises(KeyboardInterrupt):
        _small(tmp_path)
    assert not (tmp_path / "WMH").exists()
    assert not list(tmp_path.glob(".staging-*"))  # the staging folder is cleaned up
    problems = verify_all(tmp_path, ["wmh"])
    assert problems and "no manifest record" in problems[0].reason
    monkeypatch.setattr(_brain, "save_nifti", real_save)
    _small(tmp_path)
    assert verify_all(tmp_path, ["wmh"]) == []


def test_interrupted_regeneration_keeps_the_old_copy_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from medgrade.data import _brain

    _small(tmp_path)

    def boom(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(_brain, "save_nifti", boom)
    with pytest.raises(RuntimeError):
        wmh.generate(tmp_path, seed=0, n_train=1, n_test=1, force=True)
    assert verify_all(tmp_path, ["wmh"]) == []


def test_real_data_is_not_overwritten_without_force(tmp_path: Path) -> None:
    (tmp_path / "WMH" / "train" / "01").mkdir(parents=True)
    (tmp_path / "WMH" / "train" / "01" / "wmh.nii.gz").write_bytes(b"real data")
    with pytest.raises(DataError, match="not written by medgrade"):
        _small(tmp_path)
    assert (tmp_path / "WMH" / "train" / "01" / "wmh.nii.gz").read_bytes() == b"real data"
    rows = {r.name: r for r in info(tmp_path)}
    assert rows["wmh"].kind.startswith("real") and rows["mednist"].kind == "absent"


def test_info_and_unknown_dataset(tmp_path: Path) -> None:
    _small(tmp_path)
    out = CliRunner().invoke(data, ["info", "--root", str(tmp_path)]).output
    assert "wmh" in out and "synthetic" in out and "absent" in out
    bad = CliRunner().invoke(data, ["generate", "--root", str(tmp_path), "--dataset", "nope"])
    assert bad.exit_code == 2 and "nope" in bad.output
    with pytest.raises(DataError, match="known datasets"):
        get_spec("nope")
