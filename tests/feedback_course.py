"""The tiny course plus cells that publish plot evidence: a loss curve, an ROC curve, masks.

Shared by the feedback, class-report and self-check tests; still torch-free (seconds a notebook).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from click.testing import CliRunner
from nbformat.v4 import new_notebook

from tests.tiny_course import ASSIGNMENT, REPO, cell, source_cells

# A distinctive string that lives only in a hidden region: no page may contain it while hidden.
HIDDEN_MARKER = "SECRET-HIDDEN-MARKER-7f3a"


def evidence_cells() -> list:
    return [
        cell("def train(steps):\n    ### BEGIN SOLUTION\n    return [2.0 / (1 + 0.3 * s) for s in range(steps)]\n"
             "    ### END SOLUTION", "train", solution=True),
        cell("from medgrade.student import publish\nlosses = train(30)\npublish('loss_curve', losses=losses)\n"
             "assert losses[-1] < losses[0], 'the loss should fall during training'", "test_train", points=1),
        cell("y_true = [0, 0, 1, 1, 0, 1, 1, 0, 1, 0]\n"
             "scores = [0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.7, 0.6, 0.55, 0.3]\n"
             "publish('roc', y_true=y_true, scores=scores)\n"
             "publish('confusion', y_true=y_true, y_pred=[int(s > 0.5) for s in scores], labels=['benign', 'tumour'])\n"
             f"### BEGIN HIDDEN TESTS\nassert sum(y_true) == 5  # {HIDDEN_MARKER}\n### END HIDDEN TESTS",
             "test_classify", points=1),
        cell("def segment(image):\n    ### BEGIN SOLUTION\n"
             "    return [[1 if v > 0.5 else 0 for v in row] for row in image]\n    ### END SOLUTION",
             "segment", solution=True),
        cell("image = [[(i * j % 7) / 6 for j in range(12)] for i in range(12)]\n"
             "true = [[1 if v > 0.5 else 0 for v in row] for row in image]\npred = segment(image)\n"
             "publish('masks', pred=pred, true=true)\n"
             "assert pred == true, 'segment(image) should equal the true mask'", "test_segment", points=1),
    ]


def make_feedback_course(root: Path, policy: str | None = None) -> Path:
    """The tiny course with evidence cells, released; ``policy`` is written as feedback.yaml."""
    from medgrade.cli.main import cli

    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    (root / "nbgrader_config.py").write_text((REPO / "nbgrader_config.py").read_text())
    nb = new_notebook(cells=source_cells() + evidence_cells())
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "source" / ASSIGNMENT / "tiny.ipynb")
    if policy is not None:
        (root / "source" / ASSIGNMENT / "feedback.yaml").write_text(policy)
    result = CliRunner().invoke(cli, ["release", ASSIGNMENT, "--no-execute", "--course-dir", str(root)])
    assert result.exit_code == 0, result.output
    return root
