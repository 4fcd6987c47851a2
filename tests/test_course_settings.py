"""A course's nbgrader settings are read as nbgrader reads them: every config folder, then the course's."""

from __future__ import annotations

from pathlib import Path

import pytest

from medgrade.course import Course
from medgrade.errors import CourseError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def own_jupyter_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user config folder of the test's own, so the machine's ~/.jupyter cannot change the answers."""
    folder = tmp_path / "jupyter-config"
    folder.mkdir()
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(folder))
    return folder


def _course(root: Path, config: str | None, *folders: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for folder in folders or ("source",):
        (root / folder).mkdir(parents=True, exist_ok=True)
    if config is not None:
        (root / "nbgrader_config.py").write_text("c = get_config()\n" + config)
    return root


def test_no_config_means_nbgraders_defaults(tmp_path: Path) -> None:
    course = Course.at(_course(tmp_path / "c", None))
    assert course.db_url == f"sqlite:///{tmp_path / 'c' / 'gradebook.db'}"
    assert course.settings.course_id == ""
    assert (course.source, course.release, course.submitted) == (
        tmp_path / "c" / "source", tmp_path / "c" / "release", tmp_path / "c" / "submitted")


def test_this_repositorys_config_puts_the_database_in_gradebook() -> None:
    course = Course.at(REPO)
    assert course.db_path == REPO / "gradebook" / "gradebook.db"
    assert course.settings.course_id == "medgrade"
    assert "mutants" in course.settings.ignore and "feedback.yaml" in course.settings.ignore


def test_a_relative_database_is_relative_to_the_course_not_the_caller(tmp_path: Path, monkeypatch) -> None:
    root = _course(tmp_path / "c", 'c.CourseDirectory.db_url = "sqlite:///grades/course.db"\n')
    monkeypatch.chdir(tmp_path)
    course = Course.at(root)
    assert course.db_url == f"sqlite:///{root / 'grades' / 'course.db'}"
    course.ensure_db_folder()
    assert (root / "grades").is_dir()


def test_folder_names_and_course_id(tmp_path: Path) -> None:
    root = _course(tmp_path / "c", 'c.CourseDirectory.source_directory = "instructor"\n'
                   'c.CourseDirectory.submitted_directory = "inbox"\n'
                   'c.CourseDirectory.course_id = "dlmi-2026"\n', "instructor/a1")
    (root / "instructor" / "a1" / "a1.ipynb").write_text("{}")
    course = Course.at(root)
    assert course.assignments() == ["a1"]
    assert course.submitted == root / "inbox"
    assert course.settings.course_id == "dlmi-2026"


def test_the_course_overrides_the_users_config(tmp_path: Path, own_jupyter_config: Path) -> None:
    (own_jupyter_config / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'from-user'\nc.CourseDirectory.release_directory = 'out'\n")
    course = Course.at(_course(tmp_path / "c", "c.CourseDirectory.course_id = 'from-course'\n"))
    assert course.settings.course_id == "from-course"
    assert course.release == tmp_path / "c" / "out"
    assert course.settings.files == (own_jupyter_config / "nbgrader_config.py", tmp_path / "c" / "nbgrader_config.py")


def test_ignore_patterns_keep_files_out_of_the_kernels_folder(tmp_path: Path) -> None:
    root = _course(tmp_path / "c", 'c.CourseDirectory.ignore = ["*.key", "notes*"]\n', "source/a1", "release/a1")
    for name in ("a1.ipynb", "image.png", "answers.key", "notes.txt"):
        (root / "release" / "a1" / name).write_text("x")
    assert [p.name for p in Course.at(root).aux_files("a1")] == ["image.png"]


def test_excluded_students_are_not_graded(tmp_path: Path) -> None:
    root = _course(tmp_path / "c", 'c.CourseDirectory.student_id_exclude = "instructor, ta"\n',
                   "source", "submitted/ada/a1", "submitted/ta/a1", "submitted/instructor/a1")
    assert Course.at(root).students("a1") == ["ada"]


def test_a_broken_config_names_the_file(tmp_path: Path) -> None:
    root = _course(tmp_path / "c", "c.CourseDirectory.source_directory = \n")
    with pytest.raises(CourseError) as e:
        Course.at(root)
    assert str(e.value) == (f"{root / 'nbgrader_config.py'} could not be read (SyntaxError: invalid syntax "
                            "(nbgrader_config.py, line 2)); fix it, then run `nbgrader generate_config` for an "
                            "example of every setting")


def test_a_wrong_value_names_the_file_and_the_setting(tmp_path: Path) -> None:
    root = _course(tmp_path / "c", "c.CourseDirectory.db_url = 1\n")
    with pytest.raises(CourseError, match=r"nbgrader rejected the course settings in .*nbgrader_config.py "
                                          r"\(TraitError: The 'db_url' trait of a CourseDirectory instance"):
        Course.at(root)


def test_another_directory_structure_is_refused(tmp_path: Path) -> None:
    root = _course(tmp_path / "c", 'c.CourseDirectory.directory_structure = "{student_id}/{assignment_id}"\n')
    with pytest.raises(CourseError, match="medgrade grades nbgrader's default layout"):
        Course.at(root)
