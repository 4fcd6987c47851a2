"""MURA-v1.1 stand-in: musculoskeletal radiographs in the real folder tree of PNGs and CSVs.

Layout under ``<root>/MURA-v1.1/`` (as MURA-v1.1.zip unpacks):

* ``{train,valid}/XR_<PART>/patientNNNNN/studyK_{positive,negative}/imageM.png``, parts ELBOW,
  FINGER, FOREARM, HAND, HUMERUS, SHOULDER, WRIST; K counts a patient's studies of one part and
  M a study's views, both from 1;
* ``{train,valid}_image_paths.csv``: one column, no header, each image's path from ``MURA-v1.1/``;
* ``{train,valid}_labeled_studies.csv``: no header, the study folder with a trailing slash, then
  its label (1 abnormal).

The real test set is private; here the grader's ``test`` split has the same tree without the
label suffix (``studyK/``), ``test_image_paths.csv``, and its labels in ``test_labeled_studies.csv``
(answer key ``mura:test``). Rows are grouped by part, then patient, study and view. Each test
patient has one study, so the test split holds exactly ``n_test`` studies whatever the key (a
judged study-level metric names its count as a literal).

Cohort. Patients are numbered from 1 across train, valid and test: no patient is in two splits.
A train or valid patient has 1-3 studies (80/15/5%), a later one of the same part with probability 0.6. Parts and
each part's abnormal rate follow the real train set's study counts (38.5% abnormal). A study has
1-4 views (10/30/40/20%). PNGs are 8-bit grey, 4% RGB with equal channels, 72-128 px high and
64-128 px wide (shoulders wide, long bones narrow): loaders need a padded resize.

Generative model. A view is an attenuation map drawn with the soft ellipses of
:mod:`medgrade.data._draw`: air, soft tissue, and the part's bones (humerus; radius and ulna; an
elbow; a wrist with carpals; a hand with rays; one finger; a shoulder girdle), each a bright
cortex around darker marrow, overlaps adding; intensity ``1 - exp(-gain * attenuation)``. A study
fixes the anatomy (bone sizes, side); each view has its own projection (AP to lateral: paired bones
close up and overlap, the elbow and finger flex), rotation (+-15 deg), scale, shift, exposure,
shading and noise; 8% are under-exposed or very noisy.

An abnormal study has one finding on one bone: a fracture (55%: a dark gap across the bone, up to
10 pixels wide, the far fragment stepped sideways by up to about two bone widths), a lytic lesion
(25%: a dark oval on the bone's axis, up to wider than the bone) or hardware (20%: a bright plate
with screws, or a pin). Each view shows it with probability 0.8, at least one does; the others look
normal, so an image's label is its study's and only the study vote recovers it. A tenth of
fractures and lesions are subtle (a faint thin line, no step; a fainter, smaller oval).
Confounders of every label: a bright side marker in a corner (40% of views), and in young patients
(20%) a growth plate, a faint dark line near a bone's end.

Randomness: split s's cohort (every study's and view's parameters) uses ``default_rng([seed, s,
0])``, its pixels ``default_rng([seed, s, 1])``; the test split appends the words of the data
root's key (:mod:`medgrade.data.heldout`): without the key it cannot be drawn again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from medgrade.data._draw import F, col, ellipse, smooth_noise
from medgrade.data._mura_anatomy import ANATOMY, ASPECT, TARGETS
from medgrade.data.heldout import stream_words
from medgrade.data.root import resolve_root
from medgrade.data.store import DatasetSpec, build

__all__ = ["PARTS", "SPLITS", "STUDY_COUNTS", "FRACTURE", "LESION", "HARDWARE", "SPEC", "Study", "Cohort", "cohort",
           "render", "generate"]

TOP = "MURA-v1.1"
SPLITS = ("train", "valid", "test")
HELDOUT = "test"
PARTS = ("XR_ELBOW", "XR_FINGER", "XR_FOREARM", "XR_HAND", "XR_HUMERUS", "XR_SHOULDER", "XR_WRIST")
# MURA-v1.1 train studies (normal, abnormal) per part: Rajpurkar et al. 2017, table 1.
STUDY_COUNTS = {"XR_ELBOW": (1094, 660), "XR_FINGER": (1280, 655), "XR_FOREARM": (590, 287),
                "XR_HAND": (1497, 521), "XR_HUMERUS": (321, 271), "XR_SHOULDER": (1364, 1457),
                "XR_WRIST": (2134, 1326)}
CSV_ORDER = ("XR_SHOULDER", "XR_HUMERUS", "XR_FINGER", "XR_ELBOW", "XR_WRIST", "XR_FOREARM", "XR_HAND")
FRACTURE, LESION, HARDWARE = 1, 2, 3
FINDINGS = {FRACTURE: 0.55, LESION: 0.25, HARDWARE: 0.20}
SHOW = 0.8  # probability that a view of an abnormal study shows its finding
SUBTLE = 0.1
NZ = 6  # per-study anatomy uniforms
BUCKET = 16  # views are drawn in batches of one part and one size rounded up to this
SOFT, CORTEX, MARROW, METAL = 0.35, 0.9, 0.45, 2.5  # attenuation of each tissue
Views = dict[str, NDArray[Any]]


@dataclass(frozen=True)
class Study:
    """One study: where it lives, its label, and which of its views show the finding (bookkeeping)."""

    split: str
    part: str
    patient: int
    number: int  # K of studyK, from 1 for each patient and part
    label: int  # 1 abnormal
    finding: int  # 0 none, FRACTURE, LESION or HARDWARE
    shown: tuple[bool, ...]  # one per view

    @property
    def folder(self) -> str:
        """``MURA-v1.1/<split>/<part>/patientNNNNN/studyK[_label]/``, as the labelled-studies CSV writes it."""
        suffix = "" if self.split == HELDOUT else ("_positive" if self.label else "_negative")
        return f"{TOP}/{self.split}/{self.part}/patient{self.patient:05d}/study{self.number}{suffix}/"

    @property
    def images(self) -> list[str]:
        return [f"{self.folder}image{m}.png" for m in range(1, len(self.shown) + 1)]


@dataclass(frozen=True)
class Cohort:
    """A split: its studies in CSV order and, for :func:`render`, one row of parameters per view."""

    studies: list[Study]
    views: Views


def _patients(rng: np.random.Generator, n: int, first: int, one_each: bool) -> list[tuple[int, int, int]]:
    """``(part, patient, K)`` of every study, sorted as the CSVs list them; ids in blocks of first part.

    ``one_each``: every patient has one study, so the split has exactly ``n`` studies.
    """
    counts = np.array([sum(STUDY_COUNTS[p]) for p in PARTS], dtype=float)
    weights = counts / counts.sum()
    parts: list[list[int]] = []
    drawn = rng.choice([1, 2, 3], n, p=[0.8, 0.15, 0.05])
    for n_studies in np.ones_like(drawn) if one_each else drawn:
        mine = [int(rng.choice(len(PARTS), p=weights))]
        for _ in range(n_studies - 1):
            mine.append(mine[-1] if rng.random() < 0.6 else int(rng.choice(len(PARTS), p=weights)))
        parts.append(mine)
    rank = [CSV_ORDER.index(PARTS[m[0]]) for m in parts]
    rows = []
    for pid, i in enumerate(sorted(range(n), key=lambda i: rank[i]), start=first):
        rows += [(part, pid, parts[i][:j + 1].count(part)) for j, part in enumerate(parts[i])]
    return sorted(rows, key=lambda r: (CSV_ORDER.index(PARTS[r[0]]), r[1], r[2]))


def cohort(split: str, seed: int, n_patients: int, first_patient: int = 1, key: bytes = b"") -> Cohort:
    """The studies of ``split`` (patients numbered from ``first_patient``) and their views' parameters."""
    rng = np.random.default_rng(stream_words(seed, SPLITS, split, 0, key, HELDOUT))
    rows = _patients(rng, n_patients, first_patient, one_each=split == HELDOUT)
    part = np.array([r[0] for r in rows], dtype=np.int64)
    s = len(rows)
    rate = np.array([STUDY_COUNTS[p][1] / sum(STUDY_COUNTS[p]) for p in PARTS])[part]
    label = rng.random(s) < rate
    finding = np.where(label, rng.choice(list(FINDINGS), s, p=list(FINDINGS.values())), 0)
    n_views = rng.choice([1, 2, 3, 4], s, p=[0.1, 0.3, 0.4, 0.2])
    shown = [label[i] & (rng.random(n_views[i]) < SHOW) for i in range(s)]
    for i in np.flatnonzero(label):
        if not shown[i].any():
            shown[i][rng.integers(n_views[i])] = True
    young = {pid: rng.random() < 0.2 for pid in sorted({r[1] for r in rows})}
    targets = [TARGETS[m] for m in part]
    per_study: Views = {
        "part": part, "finding": finding, "z": rng.random((s, NZ)),
        "young": np.array([young[r[1]] for r in rows]), "flip": rng.choice([-1.0, 1.0], s),
        "bone": np.array([t[rng.integers(len(t))] for t in targets]),
        "site": rng.uniform(-0.45, 0.45, s), "tilt": rng.uniform(-0.5, 0.5, s),
        "severity": np.where(rng.random(s) < SUBTLE, rng.uniform(0.1, 0.4, s), rng.uniform(0.45, 1.0, s)),
        "side": rng.choice([-1.0, 1.0], s), "pin": rng.random(s) < 0.35,
    }
    study_of = np.repeat(np.arange(s), n_views)
    views = {name: values[study_of] for name, values in per_study.items()}
    views["shown"] = np.concatenate(shown) if s else np.zeros(0, dtype=bool)
    views.update(_view_params(rng, part[study_of], np.concatenate([np.arange(k) for k in n_views]) if s else
                              np.zeros(0, dtype=np.int64)))
    studies = [Study(split, PARTS[r[0]], r[1], r[2], int(label[i]), int(finding[i]),
                     tuple(bool(x) for x in shown[i])) for i, r in enumerate(rows)]
    return Cohort(studies, views)


def _view_params(rng: np.random.Generator, part: NDArray[np.int64], m: NDArray[np.int64]) -> Views:
    """Per-view projection, placement, size, exposure, marker and file mode."""
    n = len(part)
    lo, hi = np.array(ASPECT)[part].T
    h = rng.integers(72, 129, n)
    w = np.clip(np.round(h * rng.uniform(lo, hi)), 64, 128).astype(np.int64)
    hard = rng.random(n) < 0.08
    dark = hard & (rng.random(n) < 0.5)
    proj = np.select([m == 0, m == 1], [rng.uniform(0, 0.25, n), rng.uniform(0.7, 1, n)], rng.uniform(0.25, 0.7, n))
    return {
        "view": m, "proj": proj, "h": h, "w": w, "angle": rng.uniform(-0.26, 0.26, n),
        "scale": rng.uniform(0.8, 1.0, n), "dx": rng.uniform(-0.08, 0.08, n), "dy": rng.uniform(-0.06, 0.06, n),
        "gain": np.where(dark, rng.uniform(0.4, 0.55, n), rng.uniform(0.8, 1.3, n)),
        "contrast": rng.uniform(0.85, 1.1, n), "bright": rng.uniform(-0.05, 0.05, n),
        "gamma": rng.uniform(0.8, 1.25, n),
        "sigma": np.where(hard & ~dark, rng.uniform(0.08, 0.12, n), rng.uniform(0.01, 0.04, n)),
        "marker": np.where(rng.random(n) < 0.4, rng.integers(0, 4, n), -1), "rgb": rng.random(n) < 0.04,
    }


def _frame(v: Views, hq: int, wq: int) -> tuple[F, F, F, F, F]:
    """Image coordinates (x, y: y in [-1, 1] over the view's own height), object coordinates (u, w), pixel."""
    half = col(v["h"] / 2)
    x = (np.arange(wq, dtype=np.float32)[None, None] + 0.5 - col(v["w"] / 2)) / half
    y = (np.arange(hq, dtype=np.float32)[None, :, None] + 0.5 - half) / half
    x, y = np.broadcast_arrays(x, y)
    xs, ys = x - col(v["dx"]), y - col(v["dy"])
    c, s, scale = col(np.cos(v["angle"])), col(np.sin(v["angle"])), col(v["scale"])
    u = (c * xs + s * ys) / scale * col(v["flip"])
    return x, y, u, (-s * xs + c * ys) / scale, 2 / (col(v["h"]) * scale)


def _axes(u: F, v: F, g: NDArray[Any]) -> tuple[F, F]:
    """Bone-local coordinates: across and along the bone ``g`` (5, B, 1, 1)."""
    du, dv = u - g[0], v - g[1]
    c, s = np.cos(g[4]), np.sin(g[4])
    return c * du + s * dv, c * dv - s * du


def _bone(u: F, v: F, g: NDArray[Any]) -> F:
    """A bone's attenuation: a cortex as thick as 0.4 of its smaller radius around the marrow."""
    t = 0.4 * np.minimum(g[2], g[3])
    cortex = ellipse(u, v, g[0], g[1], g[2], g[3], g[4], edge=0.015)
    marrow = ellipse(u, v, g[0], g[1], g[2] - t, g[3] - t, g[4], edge=0.02)
    return CORTEX * cortex - (CORTEX - MARROW) * marrow


def _band(a: F, b: F, at: Any, tilt: Any, half: Any, px: F) -> F:
    """A line across a bone, ``half`` wide either side, anti-aliased over one pixel."""
    return np.clip((half - np.abs(b - at - tilt * a)) / px + 0.5, 0.0, 1.0)


def _fracture(u: F, v: F, g: NDArray[Any], f: Views, px: F) -> F:
    """The bone broken at ``site``: a dark line, the far fragment shifted across by a step."""
    a, b = _axes(u, v, g)
    sev, at = col(f["severity"]), col(f["site"]) * g[3]
    far = (b - at - col(f["tilt"]) * a > 0).astype(np.float32)
    step = np.maximum(sev - 0.4, 0.0) * (6.0 * g[2] + 0.08) * col(f["side"]) * far
    bone = _bone(u - step * np.cos(g[4]), v - step * np.sin(g[4]), g)
    return bone * (1.0 - (0.25 + 0.7 * sev) * _band(a, b, at, col(f["tilt"]), px * (1.0 + 4.0 * sev), px))


def _lesion(u: F, v: F, g: NDArray[Any], f: Views) -> F:
    """The bone with a lytic (dark) oval on its axis at ``site``, soft-edged when subtle."""
    sev, at = col(f["severity"]), col(f["site"]) * g[3]
    c, s = np.cos(g[4]), np.sin(g[4])
    off = 0.2 * g[2] * col(f["side"])
    r = g[2] * (0.8 + 0.8 * sev) + 0.02
    hole = ellipse(u, v, g[0] - s * at + c * off, g[1] + c * at + s * off, r, 1.8 * r, g[4], edge=0.04)
    return _bone(u, v, g) * (1.0 - (0.4 + 0.6 * sev) * hole)


def _hardware(u: F, v: F, g: NDArray[Any], f: Views) -> F:
    """Metal on the bone: a plate beside it with three screws across it, or one oblique pin."""
    at, side, length = col(f["site"]) * g[3], col(f["side"]), 0.15 + 0.15 * col(f["severity"])
    c, s = np.cos(g[4]), np.sin(g[4])
    x0, y0 = g[0] - s * at, g[1] + c * at
    off = side * (g[2] + 0.03)
    metal = ellipse(u, v, x0 + c * off, y0 + s * off, 0.022, length, g[4])
    for k in (-0.7, 0.0, 0.7):
        screw = ellipse(u, v, x0 - s * k * length, y0 + c * k * length, g[2] + 0.04, 0.016, g[4], edge=0.01)
        metal = np.maximum(metal, screw)
    pin = ellipse(u, v, x0, y0, 0.014, 2.2 * g[2] + 0.1, g[4] + 0.7 * side, edge=0.01)
    return METAL * np.where(col(f["pin"]) > 0, pin, metal)


def _marker(x: F, y: F, v: Views) -> F:
    """A bright side marker (an L) in one corner of the view."""
    sx, sy = np.where(v["marker"] % 2 == 0, -1.0, 1.0), np.where(v["marker"] < 2, -1.0, 1.0)
    cx, cy = col(sx * (v["w"] / v["h"] - 0.15)), col(sy * 0.82)
    stroke = np.maximum(ellipse(x, y, cx, cy, 0.018, 0.07, edge=0.01),
                        ellipse(x, y, cx + 0.035, cy + 0.055, 0.04, 0.016, edge=0.01))
    return 1.6 * stroke


def _attenuation(v: Views, hq: int, wq: int) -> F:
    """Attenuation of a batch of views of one part drawn on an ``hq`` x ``wq`` grid, (B, hq, wq)."""
    x, y, u, w, px = _frame(v, hq, wq)
    b = len(v["h"])
    soft, bones = ANATOMY[int(v["part"][0])](v["z"].T[:, :, None, None], col(v["proj"]))
    att = np.full((b, hq, wq), 0.03, dtype=np.float32)
    for e in soft:
        att += SOFT * ellipse(u, w, *e, edge=0.1)
    g = np.stack([np.stack([np.broadcast_to(np.asarray(q, np.float32), (b, 1, 1)) for q in bone])
                  for bone in bones])  # (bones, 5, B, 1, 1)
    for k in range(len(bones)):
        att += _bone(u, w, g[k])
    young = np.flatnonzero(v["young"])
    if young.size:  # the growth plate near the far end of the main bone
        g0, a_b = g[0][:, young], _axes(u[young], w[young], g[0][:, young])
        att[young] -= 0.4 * _band(*a_b, 0.75 * g0[3], 0.0, px[young] * 0.9, px[young]) * _bone(u[young], w[young], g0)
    for kind in (FRACTURE, LESION, HARDWARE):
        i = np.flatnonzero(v["shown"] & (v["finding"] == kind))
        if i.size:
            gi, fi = g[v["bone"][i], :, i].transpose(1, 0, 2, 3), {name: a[i] for name, a in v.items()}
            if kind == HARDWARE:
                att[i] += _hardware(u[i], w[i], gi, fi)
            else:
                drawn = _fracture(u[i], w[i], gi, fi, px[i]) if kind == FRACTURE else _lesion(u[i], w[i], gi, fi)
                att[i] += drawn - _bone(u[i], w[i], gi)
    i = np.flatnonzero(v["marker"] >= 0)
    if i.size:
        att[i] += _marker(x[i], y[i], {name: a[i] for name, a in v.items()})
    return att


def render(views: Views, rng: np.random.Generator) -> list[NDArray[np.uint8]]:
    """The PNG pixels of ``views`` in order: uint8 (h, w), or (h, w, 3) for RGB views."""
    hq = -(-views["h"] // BUCKET) * BUCKET
    wq = -(-views["w"] // BUCKET) * BUCKET
    out: list[NDArray[np.uint8]] = [np.zeros(0, np.uint8)] * len(hq)
    for part, gh, gw in sorted(set(zip(views["part"].tolist(), hq.tolist(), wq.tolist(), strict=True))):
        idx = np.flatnonzero((views["part"] == part) & (hq == gh) & (wq == gw))
        v = {name: a[idx] for name, a in views.items()}
        shade = smooth_noise(rng.standard_normal((len(idx), 5, 5), dtype=np.float32), max(gh, gw))[:, :gh, :gw]
        img = 1.0 - np.exp(-col(v["gain"]) * _attenuation(v, gh, gw))
        img = np.clip(col(v["bright"]) + col(v["contrast"]) * img, 0.0, 1.0) ** col(v["gamma"])
        img = img * (1.0 + 0.08 * shade) + col(v["sigma"]) * rng.standard_normal(img.shape, dtype=np.float32)
        pixels = (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        for j, i in enumerate(idx):
            one = pixels[j, : views["h"][i], : views["w"][i]]
            out[i] = np.repeat(one[..., None], 3, axis=2) if views["rgb"][i] else np.ascontiguousarray(one)
    return out


def _write(stage: Path, *, seed: int, n_train: int, n_valid: int, n_test: int, key: bytes) -> None:
    first = 1
    for split, n in zip(SPLITS, (n_train, n_valid, n_test), strict=True):
        c = cohort(split, seed, n, first, key)
        first += n
        paths = [path for study in c.studies for path in study.images]
        pixels_rng = np.random.default_rng(stream_words(seed, SPLITS, split, 1, key, HELDOUT))
        for path, pixels in zip(paths, render(c.views, pixels_rng), strict=True):
            (stage / path).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(stage / path, format="PNG")
        (stage / TOP / f"{split}_image_paths.csv").write_text("".join(f"{p}\n" for p in paths))
        rows = "".join(f"{s.folder},{s.label}\n" for s in c.studies)
        (stage / TOP / f"{split}_labeled_studies.csv").write_text(rows)


SPEC = DatasetSpec(
    name="mura",
    title="MURA-v1.1 (musculoskeletal radiographs, 7 parts, studies of 1-4 PNG views, normal/abnormal)",
    version="2",
    entries=(TOP,),
    writer=_write,
    defaults={"n_train": 600, "n_valid": 120, "n_test": 150},
    real_source="MURA-v1.1.zip from the Stanford AIMI Center (40,005 images; test set private)",
    heldout=True,
)


def generate(root: str | Path | None = None, *, seed: int = 0, n_train: int = 600, n_valid: int = 120,
             n_test: int = 150, force: bool = False) -> Path:
    """Write ``<root>/MURA-v1.1`` (skipped when up to date); ``n_*`` count patients. Returns its path."""
    params = {"n_train": n_train, "n_valid": n_valid, "n_test": n_test}
    return build(resolve_root(root), SPEC, seed=seed, params=params, force=force).path
