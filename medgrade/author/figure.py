"""The figure of a calibration record: each seed's figure per submission against its threshold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medgrade.author.columns import REFERENCE

__all__ = ["draw_record"]


def draw_record(record: dict[str, Any], path: Path) -> Path | None:
    """One panel per measurement: each seed's figure per submission, and the threshold."""
    panels = [(gid, m) for gid, t in record["tests"].items() for m in t["measurements"]]
    if not panels:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = 1 + len(record["mutants"]) + len(record.get("alternatives", {}))
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 1.2 + 0.35 * columns * len(panels)),
                             squeeze=False)
    for ax, (gid, m) in zip(axes[:, 0], panels, strict=True):
        correct = [(REFERENCE, m["reference"])] + sorted(m.get("alternatives", {}).items())
        rows = correct + sorted(m["mutants"].items())
        must_fail = record["tests"][gid]["must_fail"]
        for y, (name, vals) in enumerate(rows):
            xs = [v for v in vals if v is not None]
            colour = "tab:green" if y < len(correct) else "tab:red" if name in must_fail else "tab:gray"
            ax.scatter(xs, [y] * len(xs), s=12, alpha=0.7, color=colour)
        ax.axvline(m["threshold"], color="black", linestyle="--", linewidth=1, label="threshold")
        if m.get("recommended") is not None:
            ax.axvline(m["recommended"], color="tab:blue", linestyle=":", linewidth=1, label="recommended")
        ax.set_yticks(range(len(rows)), [n for n, _ in rows], fontsize=7)
        ax.set_title(f"{gid}: {m['name']} ({m['direction']} {m['threshold']:g})", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    axes[0, 0].legend(fontsize=7, loc="best")
    fig.suptitle(f"{record['assignment']}: {record['seeds']} seeds, {record['profile']} profile on "
                 f"{record['device']}\n"
                 "(green: reference and alternatives; red: mutants that must fail the test; "
                 "grey: mutants that need not)", fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
