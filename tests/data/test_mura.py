"""The MURA-v1.1 stand-in: the real tree and CSVs, patient splits, findings in only some views, a keyed test split."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medgrade.data import get_spec, mura, verify_all
from medgrade.data.answers import answer_labels, withheld_view
from medgrade.data.store import build
from medgrade.errors import UsageError

PART = "XR_(?:ELBOW|FINGER|FOREARM|HAND|HUMERUS|SHOULDER|WRIST)"
STUDY = {
    "train": rf"MURA-v1\.1/train/{PART}/patient(\d{{5}})/study([1-9]\d*)_(positive|negative)/",
    "valid": rf"MURA-v1\.1/valid/{PART}/patient(\d{{5}})/study([1-9]\d*)_(positive|negative)/",
    "test": rf"MURA-v1\.1/test/{PART}/patient(\d{{5}})/study([1-9]\d*)()/",
}
SMALL = {"n_train": 6, "n_valid": 3, "n_test": 8}
KEY_A, KEY_B = b"a" * 32, b"b" * 32


def _rows(root: Path, split: str, kind: str) -> list[str]:
    text = (root / "MURA-v1.1" / f"{split}_{kind}.csv").read_text()
    assert text.endswith("\n") and "\r" not in text
    return text.splitlines()


@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_the_tree_and_both_csvs_have_the_real_format(mura_root: Path, split: str) -> None:
    images = _rows(mura_root, split, "image_paths")
    assert images and all("," not in row for row in images)  # one column, no header
    for row in images:
        assert re.fullmatch(STUDY[split] + r"image([1-9]\d*)\.png", row), row
        assert (mura_root / row).is_file()
    on_disk = {p.relative_to(mura_root).as_posix() for p in (mura_root / "MURA-v1.1" / split).rglob("*.png")}
    assert on_disk == set(images) and len(images) == len(set(images))
    studies = [row.rsplit(",", 1) for row in _rows(mura_root, split, "labeled_studies")]
    assert all(len(row) == 2 and row[1] in ("0", "1") for row in studies)  # two columns, no header
    folders = [folder for folder, _ in studies]
    for folder, label in studies:
        suffix = re.fullmatch(STUDY[split], folder)
        assert suffix is not None and folder.endswith("/") and (mura_root / folder).is_dir(), folder
        if split != "test":
            assert suffix.group(3) == ("positive" if label == "1" else "negative")
    views = Counter(row.rsplit("/", 1)[0] + "/" for row in images)
    assert list(views) == folders  # same studies, same order
    for folder, n in views.items():
        assert 1 <= n <= 4
        assert sorted(p.name for p in (mura_root / folder).iterdir()) == [f"image{m}.png" for m in range(1, n + 1)]


def test_studies_are_numbered_from_one_for_each_patient_and_part(mura_root: Path) -> None:
    numbers: dict[str, list[int]] = defaultdict(list)
    for split in ("train", "valid", "test"):
        for row in _rows(mura_root, split, "labeled_studies"):
            patient_part, study = row.rsplit(",", 1)[0].rstrip("/").rsplit("/", 1)
            numbers[patient_part].append(int(re.match(r"study(\d+)", study).group(1)))  # type: ignore[union-attr]
    assert all(sorted(ks) == list(range(1, len(ks) + 1)) for ks in numbers.values())


def test_patients_are_disjoint_across_the_three_splits(mura_root: Path) -> None:
    patients = {split: {re.search(r"patient(\d{5})", row).group(1)  # type: ignore[union-attr]
                        for row in _rows(mura_root, split, "image_paths")} for split in ("train", "valid", "test")}
    assert len(patients["train"]) == 24 and len(patients["valid"]) == 8 and len(patients["test"]) == 10
    assert not patients["train"] & patients["valid"]
    assert not patients["train"] & patients["test"] and not patients["valid"] & patients["test"]


def test_the_cohort_has_several_studies_per_patient_and_about_forty_percent_abnormal() -> None:
    studies = mura.cohort("train", 0, 600).studies
    per_patient: dict[int, list[str]] = defaultdict(list)
    for s in studies:
        per_patient[s.patient].append(s.part)
    sizes = Counter(len(parts) for parts in per_patient.values())
    assert len(per_patient) == 600 and set(sizes) == {1, 2, 3} and 0.7 < sizes[1] / 600 < 0.9
    assert any(len(set(parts)) > 1 for parts in per_patient.values())  # some patients, several body parts
    assert {s.part for s in studies} == set(mura.PARTS)
    assert 0.34 < np.mean([s.label for s in studies]) < 0.44
    assert Counter(len(s.shown) for s in studies).keys() == {1, 2, 3, 4}


def test_the_test_split_has_one_study_per_patient_so_its_count_is_fixed_whatever_the_key() -> None:
    # judged() names the number of graded studies as a literal; a count that moved with the key could not be
    for key in (KEY_A, KEY_B, b""):
        studies = mura.cohort("test", 0, 150, key=key).studies
        assert len(studies) == 150 and len({s.patient for s in studies}) == 150
        assert all(s.number == 1 for s in studies)
    counts = {key: len(mura.cohort("valid", 0, 150, key=key).studies) for key in (KEY_A, KEY_B)}
    assert all(n > 150 for n in counts.values())  # valid patients keep their several studies


def test_an_abnormal_study_shows_its_finding_in_some_views_not_all() -> None:
    studies = mura.cohort("train", 0, 400).studies
    assert all(not any(s.shown) and s.finding == 0 for s in studies if not s.label)
    positive = [s for s in studies if s.label]
    assert all(any(s.shown) and s.finding in (mura.FRACTURE, mura.LESION, mura.HARDWARE) for s in positive)
    several = [s for s in positive if len(s.shown) >= 2]
    normal_view = np.mean([not all(s.shown) for s in several])
    assert 0.4 < normal_view < 0.95, normal_view  # often a normal-looking view: the study vote matters
    assert Counter(s.finding for s in positive).keys() == {mura.FRACTURE, mura.LESION, mura.HARDWARE}


def test_the_finding_is_drawn_exactly_in_the_views_that_show_it() -> None:
    # bookkeeping checked against pixels: the same views drawn without findings (same noise) differ
    # from the real ones in every view that shows its finding, and in no other
    views = mura.cohort("valid", 2, 40).views
    drawn = mura.render(views, np.random.default_rng(5))
    clean = mura.render({**views, "shown": np.zeros_like(views["shown"])}, np.random.default_rng(5))
    diff = np.array([np.abs(a.astype(int) - b.astype(int)).max() for a, b in zip(drawn, clean, strict=True)])
    assert views["shown"].sum() >= 20 and (~views["shown"]).sum() >= 40
    assert (diff[~views["shown"]] == 0).all()
    assert (diff[views["shown"]] >= 4).all(), sorted(diff[views["shown"]])[:5]
    # ...subtle findings change few grey levels: the task is not trivial
    subtle = views["shown"] & (views["severity"] < 0.4) & (views["finding"] != mura.HARDWARE)
    assert subtle.any() and np.median(diff[subtle]) < np.median(diff[views["shown"]])


def test_pngs_are_mostly_grey_some_rgb_of_varying_non_square_size(mura_root: Path) -> None:
    modes, sizes = Counter(), []
    for path in sorted((mura_root / "MURA-v1.1").rglob("*.png")):
        with Image.open(path) as img:
            modes[img.mode] += 1
            sizes.append(img.size)
            if img.mode == "RGB":
                rgb = np.asarray(img)
                assert np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])
    assert set(modes) == {"L", "RGB"} and 0 < modes["RGB"] / sum(modes.values()) < 0.15, modes
    widths, heights = zip(*sizes, strict=True)
    assert 64 <= min(widths) and max(widths) <= 128 and 64 <= min(heights) and max(heights) <= 128
    assert len(set(widths)) > 10 and len(set(heights)) > 10
    assert np.mean([w != h for w, h in sizes]) > 0.8


def test_the_images_are_radiographs_bright_bone_on_dark_air(mura_root: Path) -> None:
    air, bone = [], []
    for row in _rows(mura_root, "train", "image_paths"):
        x = np.asarray(Image.open(mura_root / row).convert("L"), dtype=float)
        air.append(min(np.median(x[:4, :4]), np.median(x[-4:, -4:]), np.median(x[:4, -4:]), np.median(x[-4:, :4])))
        bone.append(np.percentile(x, 99))
    assert np.mean(np.array(air) < 40) > 0.95 and np.mean(np.array(bone) > 140) > 0.85  # a few are under-exposed


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in (root / "MURA-v1.1").rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, bytes]]:
    """Small trees: seed 0 key A twice, seed 0 key B, seed 1 key A."""
    out = {}
    for name, seed, key in (("a", 0, KEY_A), ("a again", 0, KEY_A), ("b", 0, KEY_B), ("seed 1", 1, KEY_A)):
        root = tmp_path_factory.mktemp("mura-keyed")
        build(root, mura.SPEC, seed=seed, params=SMALL, key=key)
        out[name] = _tree(root)
    return out


def test_same_seed_and_key_same_bytes_another_seed_other_data(keyed: dict[str, dict[str, bytes]]) -> None:
    assert keyed["a"] == keyed["a again"]
    assert keyed["a"]["MURA-v1.1/train_image_paths.csv"] != keyed["seed 1"]["MURA-v1.1/train_image_paths.csv"]


def test_the_test_split_depends_on_the_key_train_and_valid_do_not(keyed: dict[str, dict[str, bytes]]) -> None:
    a, b = keyed["a"], keyed["b"]
    for split in ("train", "valid"):
        mine = {path for path in a if path.startswith(f"MURA-v1.1/{split}")}
        assert mine and all(a[p] == b.get(p) for p in mine)
    assert a["MURA-v1.1/test_labeled_studies.csv"] != b["MURA-v1.1/test_labeled_studies.csv"]
    labels = {key: [s.label for s in mura.cohort("test", 0, 200, key=key).studies] for key in (KEY_A, KEY_B, b"")}
    assert labels[KEY_A] != labels[KEY_B] and labels[KEY_A] != labels[b""]
    valid = [mura.cohort("valid", 0, 50, key=key).studies for key in (KEY_A, KEY_B)]
    assert valid[0] == valid[1]


def test_the_dataset_is_registered_and_verifies(tmp_path: Path) -> None:
    assert get_spec("mura") is mura.SPEC and mura.SPEC.heldout
    mura.generate(tmp_path, seed=0, **SMALL)
    assert verify_all(tmp_path, ["mura"]) == []
    (tmp_path / "MURA-v1.1" / "valid_image_paths.csv").write_text("tampered\n")
    (problem,) = verify_all(tmp_path, ["mura"])
    assert problem.path == "MURA-v1.1/valid_image_paths.csv" and "corrupted" in problem.reason


def test_the_answer_key_reads_the_test_labels_in_csv_order(mura_root: Path) -> None:
    rows = [row.rsplit(",", 1) for row in _rows(mura_root, "test", "labeled_studies")]
    truth = [int(label) for _, label in rows]
    assert answer_labels(mura_root, "mura:test", len(rows)).tolist() == truth
    assert answer_labels(mura_root, "mura:test", 3, positive=0).tolist() == [1 - y for y in truth[:3]]
    with pytest.raises(UsageError, match=rf"mura:test has {len(rows)} answers; a test asked for {len(rows) + 1}"):
        answer_labels(mura_root, "mura:test", len(rows) + 1)
    ((real, view),) = withheld_view(mura_root, "mura:test")
    assert real == (mura_root / "MURA-v1.1" / "test_labeled_studies.csv").resolve()
    shown = [row.rsplit(",", 1) for row in view.read_text().splitlines()]
    assert [folder for folder, _ in shown] == [folder for folder, _ in rows]
    assert sorted(label for _, label in shown) == sorted(label for _, label in rows)


def _write_studies(root: Path, labels: list[int]) -> Path:
    path = root / "MURA-v1.1" / "test_labeled_studies.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"MURA-v1.1/test/XR_HAND/patient{i:05d}/study1/,{y}\n" for i, y in enumerate(labels)))
    return path


def test_the_kernels_view_keeps_rows_and_counts_but_not_the_order(tmp_path: Path) -> None:
    labels = [int(y) for y in np.random.default_rng(0).random(60) < 0.4]
    real = _write_studies(tmp_path / "data", labels)
    ((_, view),) = withheld_view(tmp_path / "data", "mura:test")
    a, b = real.read_text().splitlines(), view.read_text().splitlines()
    assert view.read_text().endswith("\n") and len(a) == len(b) == 60
    assert [row.rsplit(",", 1)[0] for row in a] == [row.rsplit(",", 1)[0] for row in b]
    shuffled = [int(row.rsplit(",", 1)[1]) for row in b]
    assert sorted(shuffled) == sorted(labels) and shuffled != labels  # identical by chance: 1 in C(60, 24)
    assert answer_labels(tmp_path / "data", "mura:test", 60).tolist() == labels  # the grader reads the real one


def test_a_malformed_labels_file_is_refused_naming_the_line(tmp_path: Path) -> None:
    path = _write_studies(tmp_path / "data", [0, 1])
    path.write_text(path.read_text() + "MURA-v1.1/test/XR_HAND/patient00009/study1/,abnormal\n")
    with pytest.raises(UsageError, match=r"test_labeled_studies.csv, line 3: expected '<study folder>,<0 or 1>'"):
        answer_labels(tmp_path / "data", "mura:test", 1)
