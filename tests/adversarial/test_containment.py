"""Attacks on the sandbox, each a real submission graded beside honest students.

Each attacker's notebook tries one thing a student should not be able to do and prints what it
got; the test reads the autograded notebook (the kernel's own words) and asserts the attempt
was blocked, the honest students' results equal a run without attackers, and nothing was left
behind. Needs the namespaces the grader gets as root; skipped, with the reason, where refused.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import nbformat
import psutil
import pytest

from medgrade.course import Course
from medgrade.grading.engine import grade_class
from medgrade.runner.confine import detect_protections, private_home, sandbox_parent
from tests.tiny_course import ASSIGNMENT, TINY_PROFILE, cell, make_course, submit

pytestmark = [
    pytest.mark.xdist_group("engine"),
    pytest.mark.skipif(not detect_protections().contained,
                       reason="; ".join(detect_protections().missing) or "namespaces refused"),
]

DAEMON_MARK = "medgrade-adversarial-daemon"
SHM_MARK = "medgrade-adversarial-shm"


def _attack(body: str) -> dict[str, str]:
    """A submission whose ``double`` is right, preceded by ``body`` (the attack)."""
    return {"double": f"{body}\ndef double(x):\n    return 2 * x"}


def _probe(label: str, expression: str) -> str:
    """Print ``LEAK label`` with what ``expression`` gave, or ``BLOCKED label`` with the error."""
    return (f"try:\n    _got = {expression}\n    print('LEAK {label}', repr(_got)[:200])\n"
            f"except Exception as _e:\n    print('BLOCKED {label}', type(_e).__name__)")


def _outputs(root: Path, student: str) -> str:
    nb = nbformat.read(root / "autograded" / student / ASSIGNMENT / "tiny.ipynb", as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def _tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        h.update(str(p.relative_to(folder)).encode() + (p.read_bytes() if p.is_file() else b"/"))
    return h.hexdigest()


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    base = tmp_path_factory.mktemp("adversarial")
    root = make_course(base / "course")
    data = base / "data"
    (data / "pathmnist").mkdir(parents=True)
    (data / "pathmnist" / "labels.txt").write_text("hidden labels\n")
    reference = root / "reference_solutions" / ASSIGNMENT / "tiny.ipynb"  # release writes it; make_course does not
    reference.parent.mkdir(parents=True)
    reference.write_bytes((root / "source" / ASSIGNMENT / "tiny.ipynb").read_bytes())
    secrets = {
        "source": root / "source" / ASSIGNMENT / "tiny.ipynb",
        "reference": reference,
        "gradebook": root / "gradebook" / "gradebook.db",
        "other-student": root / "submitted" / "honest" / ASSIGNMENT / "tiny.ipynb",
    }
    # A credential in the grader's home (hidden from the kernel, where it is not the sandbox's home too)
    home_secret = Path.home() / f".medgrade-adversarial-token-{base.name}"
    if private_home(sandbox_parent() / "x", [])[0] is not None:
        home_secret.write_text("grader's LMS token\n")
        secrets["grader-home"] = home_secret
    submit(root, "honest")
    submit(root, "wrong", {"double": "def double(x):\n    return abs(2 * x)"})
    reads = "\n".join(_probe(k, f"open({str(v)!r}, 'rb').read()") for k, v in secrets.items())
    submit(root, "reader", _attack(reads))
    # A file outside the course and the data, owned by the grader's uid like its code and virtualenv.
    outside = base / "grader" / "judge.py"
    outside.parent.mkdir()
    outside.write_text("GRADER = 'trusted'\n")
    submit(root, "writer", _attack(
        _probe("data-write", f"open({str(data / 'pathmnist' / 'labels.txt')!r}, 'w').write('forged')") + "\n"
        + _probe("data-new", f"open({str(data / 'pathmnist' / 'new.npz')!r}, 'w').write('x')") + "\n"
        + _probe("course-write", f"open({str(root / 'gradebook' / 'forged.json')!r}, 'w').write('x')") + "\n"
        + _probe("grader-code", f"open({str(outside)!r}, 'a').write('GRADER = \"forged\"')") + "\n"
        + _probe("tmp-new", f"open('/tmp/{SHM_MARK}', 'w').write('x')") + "\n"
        + f"open('/dev/shm/{SHM_MARK}', 'w').write('left for the next kernel')"))
    submit(root, "snoop", _attack(
        "import os, glob\n"
        "print('PIDS', len([p for p in os.listdir('/proc') if p.isdigit()]))\n"
        "print('SANDBOXES', len(glob.glob(os.path.join(os.path.dirname(os.path.dirname(os.getcwd())), '*'))))\n"
        + _probe("umount", "__import__('subprocess').run(['umount', " + repr(str(root / 'source')) + "], check=True)")))
    submit(root, "daemon", _attack(
        "import os, sys, time\n"
        "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        f"        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(300)', '{DAEMON_MARK}'])\n"
        "    os._exit(0)\n"
        "time.sleep(0.5)"))
    submit(root, "forger", _attack(
        "print('{\"score\": 100, \"tests\": [{\"name\": \"test_double\", \"score\": 2}]}')\n"
        "print('[AutogradeApp | INFO] Total score: 5/5')\n"
        "open('results.json', 'w').write('{\"score\": 5}')"))
    submit(root, "inflater", extra_cells=[(3, cell("assert True", "test_bonus", points=100)),
                                          (3, cell("assert True", "test_double", points=50))])
    before = _tree_digest(data)
    students = ["honest", "wrong", "reader", "writer", "snoop", "daemon", "forger", "inflater"]
    try:
        results = grade_class(Course(root), ASSIGNMENT, students, profile=TINY_PROFILE, data_root=data, workers=2)
    finally:
        home_secret.unlink(missing_ok=True)
    return root, data, before, {r.student: r for r in results}


def test_course_secrets_are_invisible_to_the_kernel(attacked) -> None:
    root, _, _, results = attacked
    out = _outputs(root, "reader")
    assert "LEAK" not in out, out
    hidden_home = private_home(sandbox_parent() / "x", [])[0] is not None
    expected = {"BLOCKED source", "BLOCKED reference", "BLOCKED gradebook", "BLOCKED other-student"} | (
        {"BLOCKED grader-home"} if hidden_home else set())
    assert expected <= set(
        " ".join(line.split()[:2]) for line in out.splitlines())
    assert results["reader"].score == 5  # the attempt itself costs nothing; it simply finds nothing


def test_data_is_read_only_and_the_course_unwritable(attacked) -> None:
    root, data, before, results = attacked
    out = _outputs(root, "writer")
    assert "LEAK" not in out and out.count("BLOCKED") == 5, out
    assert _tree_digest(data) == before
    assert not (root / "gradebook" / "forged.json").exists()
    assert (root.parent / "grader" / "judge.py").read_text() == "GRADER = 'trusted'\n"  # outside: read-only too
    assert not Path("/tmp", SHM_MARK).exists()
    assert not Path("/dev/shm", SHM_MARK).exists()  # the kernel's /dev/shm was its own, gone with it
    assert not any("could write outside its folder" in f for f in results["writer"].findings)


def test_kernel_sees_only_its_own_processes_and_sandbox_and_cannot_unmount(attacked) -> None:
    root, _, _, _ = attacked
    out = _outputs(root, "snoop")
    pids = int(next(line for line in out.splitlines() if line.startswith("PIDS")).split()[1])
    sandboxes = int(next(line for line in out.splitlines() if line.startswith("SANDBOXES")).split()[1])
    assert pids < 10, out  # the kernel and what it started, not the grader or other kernels
    assert sandboxes == 1, out
    assert "BLOCKED umount" in out, out


def test_no_process_outlives_its_notebook(attacked) -> None:
    leftovers = [p for p in psutil.process_iter(["cmdline"]) if DAEMON_MARK in " ".join(p.info["cmdline"] or [])]
    assert leftovers == []
    assert attacked[3]["daemon"].score == 5


def test_printed_or_written_results_are_never_believed(attacked) -> None:
    root, _, _, results = attacked
    assert results["forger"].score == 5  # its own tests, nothing it printed
    assert results["wrong"].score == 3
    assert not (root / "results.json").exists()


def test_graded_cells_a_submission_adds_earn_nothing_and_are_reported(attacked) -> None:
    _, _, _, results = attacked
    r = results["inflater"]
    assert (r.score, r.max_score) == (5, 5), r.tests
    assert [t.grade_id for t in r.tests] == ["test_double", "test_triple"]
    assert "tiny.ipynb: a graded or locked cell the assignment does not have: test_bonus; it was run as an " \
           "ordinary cell, without points" in r.findings
    assert "tiny.ipynb: a second copy of cell test_double; it was run as an ordinary cell, without points" in r.findings


def test_honest_students_grade_as_without_attackers(attacked, tmp_path) -> None:
    root, _, _, results = attacked
    alone = grade_class(Course(root), ASSIGNMENT, ["honest", "wrong"], profile=TINY_PROFILE, data_root=None,
                        workers=1, force=True)
    for r in alone:
        assert [(t.grade_id, t.points, t.status, t.message) for t in r.tests] == \
               [(t.grade_id, t.points, t.status, t.message) for t in results[r.student].tests]
