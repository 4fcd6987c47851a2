"""Bad submissions are named, per student, with the fix, before any code runs."""

from __future__ import annotations

import shutil

import pytest

from medgrade.errors import SubmissionError
from medgrade.intake.submission import check_submission
from tests.conftest import REPO

RELEASED = REPO / "release" / "01_pytorch_basics" / "pytorch_basics.ipynb"
NAME = ["pytorch_basics.ipynb"]


@pytest.fixture
def folder(tmp_path):
    f = tmp_path / "01_pytorch_basics"
    f.mkdir()
    return f


def test_valid_notebook_passes(folder) -> None:
    shutil.copy2(RELEASED, folder / NAME[0])
    check_submission("ada", folder, NAME)


def test_truncated_json_names_student_file_and_fix(folder) -> None:
    text = RELEASED.read_text()
    (folder / NAME[0]).write_text(text[: len(text) // 3])
    with pytest.raises(SubmissionError) as e:
        check_submission("finn", folder, NAME)
    msg = str(e.value)
    assert msg.startswith("finn: submitted/finn/01_pytorch_basics/pytorch_basics.ipynb: is not valid JSON")
    assert "re-open it in Jupyter, save, and submit again" in msg


def test_renamed_notebook_lists_what_was_found(folder) -> None:
    shutil.copy2(RELEASED, folder / "my_notebook.ipynb")
    with pytest.raises(SubmissionError, match=r"missing \(found my_notebook.ipynb\); submit the released notebook"):
        check_submission("gus", folder, NAME)


def test_json_that_is_not_a_notebook(folder) -> None:
    (folder / NAME[0]).write_text('{"cells": "not a list"}')
    with pytest.raises(SubmissionError, match="is not a valid Jupyter notebook"):
        check_submission("hal", folder, NAME)


def test_binary_file(folder) -> None:
    (folder / NAME[0]).write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(SubmissionError, match="is not a text file"):
        check_submission("ivy", folder, NAME)
