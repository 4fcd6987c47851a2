"""Benchmark the class similarity report on a class of synthetic submissions, in one run.

Builds a scratch course with 01_pytorch_basics's source and release and a class of N
submissions in the real notebook format:

- every student fills the solution cells with the reference solution under names of their own
  (and now and then a learning rate of their own): the canonical code most of a class writes,
  which the report must treat as common, not as copying;
- every student adds a cell of their own experiments (15 to 30 statements drawn from a pool,
  with their own names and constants): what makes each submission theirs;
- ``--copies`` students copy another's whole notebook and disguise it: every name renamed,
  comments rewritten, two statements swapped, blank lines added.

Then runs ``compare_class`` (what ``medgrade similarity`` runs) and prints the time, the pairs
compared in full against all pairs, how many planted copies were reported with their source,
and how many other pairs were reported. Target on 2 cores: 300 submissions in under a minute.

    python benchmarks/similarity.py [--students 300] [--copies 15] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from medgrade.author.mutants import completed_notebook  # noqa: E402
from medgrade.course import Course  # noqa: E402
from medgrade.similarity.run import compare_class  # noqa: E402

ASSIGNMENT, NOTEBOOK = "01_pytorch_basics", "pytorch_basics.ipynb"
LOCALS = ["tensor", "outputs", "loss", "optimizer", "loss_fn", "losses", "trues", "preds", "matrix", "transform",
          "dataset", "train_set", "test_set", "train_loader", "test_loader", "images", "labels"]
POOL = [
    "{a} = torch.randn({n}, {m})",
    "{a} = {b}.mean(dim={d}) * {c}",
    "{a} = ({b} - {b}.mean()) / ({b}.std() + {eps})",
    "plt.plot({a}.flatten().numpy(), label='{word}')",
    "for {i} in range({n}):\n    {a} = {a} * {c} + {b}.std()\n    print({i}, float({a}.sum()))",
    "{a} = nn.Sequential(nn.Linear({n}, {m}), nn.ReLU(), nn.Dropout({c}), nn.Linear({m}, 6))",
    "print(f'{word}: {{{a}.shape}}')",
    "def {f}({a}, {b}={c}):\n    return torch.clamp({a} * {b}, min=0.0, max={m})",
    "{a} = torch.optim.SGD({b}.parameters(), lr={c}, momentum={eps})",
    "if {a}.sum() > {n}:\n    {b} = {a}.max()\nelse:\n    {b} = {a}.min() - {c}",
    "{a} = [{b}[{i}] ** 2 for {i} in range({d}) if {i} % {m} == 0]",
    "{a}, {b} = torch.topk({a}.flatten(), k={d})",
    "{a} = F.interpolate({b}[None], size=({n}, {m}), mode='bilinear', align_corners=False)[0]",
    "{a} = torch.stack([{b}[:, {d}] * {c}, {b}[:, {d}] + {eps}], dim=1).sum(dim=0)",
    "with torch.no_grad():\n    {a} = {b}({a}.reshape(-1, {n})).softmax(dim=1)[:, {d}]",
    "{a} = {{'{word}': {c}, 'steps': {n}, 'width': {m}}}",
    "{a} = np.histogram({b}.numpy().ravel(), bins={m}, range=(0.0, {c}))[0]",
]
WORDS = ["baseline", "probe", "trial", "check", "look", "sanity", "ablation", "warmup", "debug", "curve"]


def _names(rng: random.Random, n: int) -> list[str]:
    stems = ["x", "val", "tmp", "res", "acc", "arr", "buf", "feat", "out", "z", "net", "w", "vec", "agg", "cur"]
    return [f"{rng.choice(stems)}_{rng.randrange(10_000)}" for _ in range(n)]


def _program(rng: random.Random) -> list[tuple[str, dict[str, object]]]:
    """A student's own experiments: statement templates with their constants (names filled in later)."""
    out = []
    for _ in range(rng.randint(15, 30)):
        consts = {"n": rng.randint(3, 512), "m": rng.randint(2, 256), "d": rng.randint(0, 3),
                  "c": round(rng.uniform(0.01, 3), rng.randint(1, 3)), "eps": rng.choice([1e-5, 1e-6, 0.9, 0.95]),
                  "word": rng.choice(WORDS)}
        out.append((rng.choice(POOL), consts))
    return out


def _render(program: list[tuple[str, dict[str, object]]], rng: random.Random, disguise: bool) -> str:
    names = _names(rng, 5)
    lines = []
    for n, (template, consts) in enumerate(program):
        text = template.format(a=names[0], b=names[1], i=names[2], f=names[3], **consts)
        comment = f"# {rng.choice(WORDS)} step {n}" if rng.random() < 0.4 else ""
        lines.append((comment + "\n" if comment else "") + text + ("\n" if disguise and rng.random() < 0.3 else ""))
        names = names[1:] + names[:1] if rng.random() < 0.5 else names
    if disguise and len(lines) > 3:
        k = rng.randrange(len(lines) - 1)
        lines[k], lines[k + 1] = lines[k + 1], lines[k]
    return "\n".join(lines)


def _solutions(reference: nbformat.NotebookNode, rng: random.Random, lr: str) -> dict[str, str]:
    mapping = dict(zip(LOCALS, _names(rng, len(LOCALS)), strict=True))
    out = {}
    for cell in reference.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            text = re.sub(r"\b(" + "|".join(LOCALS) + r")\b", lambda m: mapping[m.group(1)], cell.source)
            out[meta["grade_id"]] = text.replace("lr=1e-3", f"lr={lr}")
    return out


def _student(reference: nbformat.NotebookNode, solutions: dict[str, str], own: str) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(reference)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in solutions:
            cell.source = solutions[gid]
    nb.cells.append(new_code_cell(own))
    return nb


def build_class(root: Path, students: int, copies: int, seed: int) -> tuple[Course, set[tuple[str, str]]]:
    """The scratch course and its class; returns the planted (source, copier) pairs."""
    for folder in ("source", "release"):
        shutil.copytree(REPO / folder / ASSIGNMENT, root / folder / ASSIGNMENT)
    course = Course.at(root)
    reference = completed_notebook(course, ASSIGNMENT, NOTEBOOK)
    rng = random.Random(seed)
    work: dict[str, tuple[str, list[tuple[str, dict[str, object]]]]] = {}  # student -> (lr, own program)
    planted: set[tuple[str, str]] = set()
    for s in range(students):
        name = f"s{s:03d}"
        copier = s >= students - copies
        if copier:  # the source's choices and experiments, under new names and comments
            source = rng.choice(sorted(work))
            lr, program = work[source]
            planted.add((source, name))
        else:
            lr, program = rng.choice(["1e-3"] * 8 + ["3e-3", "5e-4"]), _program(rng)
            work[name] = (lr, program)
        nb = _student(reference, _solutions(reference, rng, lr), _render(program, rng, disguise=copier))
        folder = root / "submitted" / name / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / NOTEBOOK)
    return course, planted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--copies", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        built = time.monotonic()
        course, planted = build_class(Path(tmp), args.students, args.copies, args.seed)
        print(f"class: {args.students} synthetic submissions of {ASSIGNMENT} ({args.copies} disguised copies "
              f"planted), written in {time.monotonic() - built:.1f} s")
        started = time.monotonic()
        result = compare_class(course, ASSIGNMENT, say=lambda line: print(line, flush=True))
        seconds = time.monotonic() - started
    found = {(f.match.a, f.match.b) for f in result.flagged}
    sources: dict[str, list[str]] = {}
    for source, copier in planted:
        sources.setdefault(source, []).append(copier)
    siblings = {tuple(sorted(pair)) for copiers in sources.values() for pair in combinations(copiers, 2)}
    print(f"similarity: {seconds:.1f} s wall for {len(result.docs)} submissions (target < 60 s on 2 cores)")
    print(f"pairs compared in full: {result.pairs_compared} of {result.pairs_total} "
          f"({100 * result.pairs_compared / max(result.pairs_total, 1):.2f}%)")
    print(f"planted copies reported with their source: {len(found & planted)} of {len(planted)}")
    print(f"two copies of one source reported together: {len(found & siblings)} of {len(siblings)}")
    print(f"other pairs reported: {len(found - planted - siblings)}")
    scores = sorted(f.match.score for f in result.flagged if (f.match.a, f.match.b) in planted)
    if scores:
        print(f"scores of the planted copies: {scores[0]:.0%} to {scores[-1]:.0%}")


if __name__ == "__main__":
    main()
