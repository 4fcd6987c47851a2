"""Shared fixtures: the repository's course, and scratch copies of it for tests that write."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from medgrade.course import Course

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def course() -> Course:
    return Course.at(REPO)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The data root the notebooks read; ``make test`` generates MedNIST there first."""
    from medgrade.data.root import resolve_root

    root = resolve_root()
    if not (root / "MedNIST").is_dir():
        pytest.skip(f"no MedNIST stand-in under {root}: run `medgrade data generate --dataset mednist`")
    os.environ["MEDGRADE_DATA"] = str(root)
    return root


def copy_course(dest: Path) -> Course:
    """A scratch course with this repository's source/, release/ and nbgrader settings."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "nbgrader_config.py", dest / "nbgrader_config.py")
    for folder in ("source", "release"):
        shutil.copytree(REPO / folder, dest / folder)
    for folder in ("submitted", "autograded", "gradebook"):
        (dest / folder).mkdir()
    return Course.at(dest)


@pytest.fixture
def scratch_course(tmp_path: Path) -> Course:
    return copy_course(tmp_path / "course")



def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail a grouped test that ``--dist loadgroup`` did not group, rather than run it unguarded.

    Tests of one ``xdist_group`` share module fixtures and run grading classes that must not
    overlap; pytest 9.2 with pytest-xdist 3.8 silently drops the groups (pytest-xdist#1386),
    which ran module fixtures twice and let two graders race. xdist marks a grouped test by
    suffixing ``@<group>`` to its node id on the worker (``option.loadgroup`` is set there): a
    grouped test without the suffix means the grouping was lost.
    """
    if (getattr(item.config.option, "loadgroup", False) and item.get_closest_marker("xdist_group")
            and "@" not in item.nodeid):
        pytest.fail(f"--dist loadgroup did not group {item.nodeid}: this pytest and pytest-xdist do not work "
                    "together (pytest-xdist#1386); install the versions constraints.txt pins (`make setup`)",
                    pytrace=False)
