"""The curriculum medgrade ships: its assignments, their datasets, and where their files are.

An installed wheel carries the course's ``source/``, ``release/``, ``reference_solutions/``,
``nbgrader_config.py`` and ``constraints.txt`` as ``medgrade/_course`` (``setup.py``); an
editable install reads them from its checkout, which is itself that course.
"""

from __future__ import annotations

from pathlib import Path

from medgrade.errors import CourseError, UsageError

__all__ = ["DATASETS", "kit_root", "checkout_root", "kit_assignments", "choose", "datasets_for"]

# The data stand-ins each assignment reads (`medgrade data generate --dataset NAME`).
DATASETS: dict[str, tuple[str, ...]] = {
    "01_pytorch_basics": ("mednist",),
    "02_data_exploration": ("pathmnist",),
    "03_cnn_classification": ("pathmnist",),
    "04_radiomics": ("brats",),
    "05_contrastive_learning": ("pathmnist",),
    "06_unet_segmentation": ("wmh",),
    "07_monai_segmentation": ("decathlon",),
    "08_mura_transfer": ("mura", "resnet18_mednist_msk"),
    "09_pneumonia_capstone": ("pneumoniamnist",),
}


def checkout_root() -> Path | None:
    """The repository medgrade runs from, for an editable install; None for an installed wheel."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() and (root / "source").is_dir() else None


def kit_root() -> Path:
    """The folder holding the shipped course's files."""
    shipped = Path(__file__).resolve().parent / "_course"
    if (shipped / "source").is_dir():
        return shipped
    checkout = checkout_root()
    if checkout is not None:
        return checkout
    raise CourseError(f"this medgrade has no assignments ({shipped} is missing): install it from a wheel "
                      "built by `pip wheel --no-deps -w dist .` in its repository, or install the repository itself")


def kit_assignments() -> list[str]:
    """The shipped assignment ids, in order."""
    source = kit_root() / "source"
    return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def choose(spec: str | None) -> list[str]:
    """Assignment ids from ``"01,03"`` (numbers or full ids), in the kit's order; all of them for None."""
    known = kit_assignments()
    if spec is None:
        return known
    chosen: list[str] = []
    for token in (t.strip() for t in spec.split(",")):
        if not token:
            continue
        match = [a for a in known if a == token or a.startswith(f"{token}_")]
        if len(match) != 1:
            raise UsageError(f"--assignments: no assignment {token!r}; the kit has {', '.join(known)} "
                             "(give numbers such as 01,03 or full names)")
        if match[0] not in chosen:
            chosen.append(match[0])
    if not chosen:
        raise UsageError(f"--assignments names none; the kit has {', '.join(known)}")
    return [a for a in known if a in chosen]  # in the course's order, whatever the order given


def datasets_for(assignments: list[str]) -> list[str]:
    """The datasets ``assignments`` read, each once, in the catalogue's order."""
    from medgrade.data.catalog import NAMES

    wanted = {d for a in assignments for d in DATASETS.get(a, ())}
    return [n for n in NAMES if n in wanted]
