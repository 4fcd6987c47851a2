"""Attacks on the sandbox, each a real submission graded beside honest students, twice.

The class is graded once with the grader as root and once as an unprivileged user the test
creates (a TA without root: kernels then run as that user on the host, in the same sandbox).
Each attacker's notebook tries what a student should not be able to do and prints what it got;
the test reads the autograded notebook (the kernel's own words) and asserts the attempt was
blocked, that honest students' results equal a run without attackers, and that nothing was left
behind. Where the sandbox cannot be built here, grading refuses, and so does this module.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import socket
import subprocess
import threading
from dataclasses import replace
from pathlib import Path

import nbformat
import psutil
import pytest

from medgrade.runner.isolation import sandbox_problem
from tests.adversarial.graders import (
    TA,
    chown_tree,
    ensure_user,
    grade_as,
    owned_scratch,
    reachable_interpreter,
    results,
)
from tests.tiny_course import ASSIGNMENT, TINY_PROFILE, cell, make_course, submit

pytestmark = [pytest.mark.xdist_group("engine"), pytest.mark.slow]

DAEMON_MARK = "medgrade-adversarial-daemon"
UID_MARK = "medgrade-adversarial-uid"
SHM_MARK = "medgrade-adversarial-shm"
# Small caps so exhaustion is met in seconds: 128 tasks, 40 MB of disk, 16 MB of /dev/shm; 10 s a
# cell, so that a neighbour's two seconds of work fit easily on its own core, and never beside 24
# spinning processes on shared ones.
PROFILE = replace(TINY_PROFILE, processes=128, disk_mb=40, shm_mb=16, tmp_mb=16, cell_timeout=10,
                  notebook_budget=60)
RIGHT = "def double(x):\n    return 2 * x"


def _attack(body: str) -> dict[str, str]:
    """A submission whose ``double`` is right, preceded by ``body`` (the attack)."""
    return {"double": f"{body}\n{RIGHT}"}


def _probe(label: str, expression: str) -> str:
    """Print ``LEAK label`` with what ``expression`` gave, or ``BLOCKED label`` with the error."""
    return (f"try:\n    _got = {expression}\n    print('LEAK {label}', repr(_got)[:200])\n"
            f"except BaseException as _e:\n    print('BLOCKED {label}', type(_e).__name__)")


def _outputs(root: Path, student: str) -> str:
    nb = nbformat.read(root / "autograded" / student / ASSIGNMENT / "tiny.ipynb", as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def _lines(out: str, word: str) -> set[str]:
    return {" ".join(line.split()[:2]) for line in out.splitlines() if line.startswith(word)}


def _tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        h.update(str(p.relative_to(folder)).encode() + (p.read_bytes() if p.is_file() else b"/"))
    return h.hexdigest()


def _abstract(base: Path) -> bytes:
    return b"\0medgrade-adversarial-" + base.name.encode()


def _host_listeners(base: Path) -> tuple[Path, list[socket.socket]]:
    """A grader-owned Unix socket in a shared folder and an abstract one, both answering if reached."""
    path = base / "grader.sock"
    servers = []
    for address in (str(path), _abstract(base)):
        s = socket.socket(socket.AF_UNIX)
        s.bind(address)
        s.listen()
        threading.Thread(target=lambda srv=s: srv.accept(), daemon=True).start()
        servers.append(s)
    path.chmod(0o777)
    return path, servers


def _class(root: Path, data: Path, base: Path, home: Path, sock: Path) -> list[str]:
    """Submit the honest students and every attacker; return the grading order."""
    secrets = {
        "source": root / "source" / ASSIGNMENT / "tiny.ipynb",
        "reference": root / "reference_solutions" / ASSIGNMENT / "tiny.ipynb",
        "gradebook": root / "gradebook" / "gradebook.db",
        "other-student": root / "submitted" / "honest" / ASSIGNMENT / "tiny.ipynb",
        "git": root / ".git" / "HEAD",
        "grader-home": home / ".medgrade-adversarial-token",
        "root-file": base / "root-only.txt",
        "shadow": Path("/etc/shadow"),
        "host-hostname": Path("/etc/hostname"),
    }
    submit(root, "honest")
    submit(root, "wrong", {"double": "def double(x):\n    return abs(2 * x)"})
    # a neighbour whose tests need their CPU time within the cell timeout (about a second a call)
    submit(root, "timed", {"double": "import time\ntime.sleep(3)  # its tests run while the hog spins\n"
                                     "def double(x):\n    s = 0\n    for i in range(12_000_000):\n        s += i\n"
                                     "    return 2 * x"})
    reads = "\n".join(_probe(k, f"open({str(v)!r}, 'rb').read()") for k, v in secrets.items())
    submit(root, "reader", _attack(reads + "\n" + _probe("git-log", "__import__('subprocess').run(['git', '-C', "
                                                          f"{str(root)!r}, 'log'], capture_output=True, check=True)")))
    submit(root, "writer", _attack("\n".join([
        _probe("data-write", f"open({str(data / 'pathmnist' / 'labels.txt')!r}, 'w').write('forged')"),
        _probe("data-new", f"open({str(data / 'pathmnist' / 'new.npz')!r}, 'w').write('x')"),
        _probe("course-write", f"open({str(root / 'gradebook' / 'forged.json')!r}, 'w').write('x')"),
        _probe("grader-code", f"open({str(base / 'grader' / 'judge.py')!r}, 'a').write('GRADER = \"forged\"')"),
        _probe("core-pattern", "open('/proc/sys/kernel/core_pattern', 'w').write('|/tmp/x')"),
        _probe("sysrq", "open('/proc/sysrq-trigger', 'w').write('h')"),
        _probe("sys-write", "open('/sys/kernel/mm/transparent_hugepage/enabled', 'w').write('never')"),
        _probe("hostname", "__import__('socket').sethostname('forged')"),
        _probe("root-dir", "open('/forged', 'w').write('x')"),
        _probe("dev-file", "open('/dev/forged', 'w').write('x')"),
        _probe("mknod", "__import__('os').mknod('/tmp/disk', 0o600 | __import__('stat').S_IFBLK, "
                        "__import__('os').makedev(8, 0))"),
        _probe("block-device", "[open(p, 'rb').read(512) for p in ('/dev/sda', '/dev/vda', '/dev/nvme0n1')]"),
        f"open('/tmp/{SHM_MARK}', 'w').write('left for the next kernel')",  # its own /tmp: allowed, private
        f"open('/dev/shm/{SHM_MARK}', 'w').write('left for the next kernel')"])))
    submit(root, "snoop", _attack("\n".join([
        "import os, glob, ctypes",
        "print('PIDS', len([p for p in os.listdir('/proc') if p.isdigit()]))",
        "print('SANDBOXES', len(glob.glob('/tmp/medgrade-[0-9]*')), sorted(os.listdir('/home')), os.getcwd())",
        "print('UID', os.getuid(), os.getgid())",
        "import subprocess, sys, time",
        f"_marked = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(4)', '{UID_MARK}'])",
        "time.sleep(2.5)",
        "print('STATUS', ' '.join(l.split(':')[0] + '=' + l.split(':')[1].strip() for l in "
        "open('/proc/self/status') if l.startswith(('CapEff', 'CapBnd', 'NoNewPrivs', 'Seccomp:'))))",
        "print('ROOT', sorted(os.listdir('/')))",
        _probe("umount", "__import__('subprocess').run(['umount', '/usr'], check=True, capture_output=True)"),
        _probe("userns", "__import__('subprocess').run(['unshare', '--user', 'true'], check=True, "
                         "capture_output=True)"),
        _probe("unshare-call", "ctypes.CDLL(None, use_errno=True).unshare(0x10000000) == 0 or 1 / 0"),
        _probe("ptrace", "ctypes.CDLL(None, use_errno=True).ptrace(16, 1, 0, 0) == 0 or 1 / 0"),
        _probe("keyctl", "ctypes.CDLL(None, use_errno=True).syscall(250, 0, 0, 0, 0) >= 0 or 1 / 0"),
        _probe("affinity", "os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))"),
        _probe("sysv-ipc", "__import__('subprocess').run(['ipcs', '-m'], capture_output=True, text=True)"
                           ".stdout.count('0x') > 0 or 1 / 0"),
        _probe("unix-socket", f"__import__('socket').socket(1).connect({str(sock)!r})"),
        _probe("abstract-socket", f"__import__('socket').socket(1).connect({_abstract(base)!r})"),
        _probe("network", "__import__('socket').create_connection(('127.0.0.1', 22), timeout=2)")])))
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
    # exhaustion, each beside honest neighbours with time-limited tests
    submit(root, "cpuhog", {  # 24 spinning processes, alive until the notebook ends, in sessions of their own
        "double": "import os, signal, time\n"
                  "for _ in range(24):\n    if os.fork() == 0:\n"
                  "        os.setsid()  # a session each: no autogroup shares them out\n"
                  "        signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                  "        while True:\n            pass\n"
                  "time.sleep(1)\n" + RIGHT,
        "triple": "time.sleep(8)\ndef triple(x):\n    return 3 * x"})
    submit(root, "shmhog", {"triple": _probe("shm-fill", "open('/dev/shm/fill', 'wb').write(b'x' * (64 << 20))")
                                      + "\nimport time\ntime.sleep(1)\ndef triple(x):\n    return 3 * x"})
    submit(root, "diskhog", {"triple": _probe("disk-fill", "[open(f'fill{i}', 'wb').write(b'x' * (20 << 20)) "
                                                           "for i in range(50)]")
                                       + "\nimport time\ntime.sleep(1)\ndef triple(x):\n    return 3 * x"})
    submit(root, "forkbomb", {"triple": "import os, time\n_kids = []\nfor _ in range(300):\n"
                                        "    try:\n        _pid = os.fork()\n    except OSError:\n        continue\n"
                                        "    if _pid == 0:\n        os.execv('/usr/bin/sleep', ['sleep', '30'])\n"
                                        "    _kids.append(_pid)\n"
                                        "time.sleep(1)\ndef triple(x):\n    return 3 * x"})
    # the CPU hog and its timed neighbour first, so the two workers grade them side by side
    return ["cpuhog", "timed", "honest", "wrong", "reader", "writer", "snoop", "daemon", "forger", "inflater",
            "shmhog", "diskhog", "forkbomb"]


def _watch_uids(seen: list, stop: threading.Event) -> None:
    """The host uids of the snoop's marked process, as the host sees them while it runs."""
    while not stop.wait(0.1):
        for p in psutil.process_iter(["cmdline", "uids"]):
            if UID_MARK in " ".join(p.info["cmdline"] or []) and p.info["uids"] not in seen:
                seen.append(p.info["uids"])


def _setup(base: Path, owner: pwd.struct_passwd | None) -> tuple[Path, Path, Path]:
    root = make_course(base / "course")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", "add", "source"],
                   check=True)
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "s"],
                   check=True)
    data = base / "data"
    (data / "pathmnist").mkdir(parents=True)
    (data / "pathmnist" / "labels.txt").write_text("hidden labels\n")
    reference = root / "reference_solutions" / ASSIGNMENT / "tiny.ipynb"  # release writes it; make_course does not
    reference.parent.mkdir(parents=True)
    reference.write_bytes((root / "source" / ASSIGNMENT / "tiny.ipynb").read_bytes())
    (base / "grader").mkdir()
    (base / "grader" / "judge.py").write_text("GRADER = 'trusted'\n")
    if owner is not None:
        chown_tree(base, owner)
    (base / "root-only.txt").write_text("root's secret\n")
    (base / "root-only.txt").chmod(0o600)
    return root, data, base / "grader" / "judge.py"


@pytest.fixture(scope="module", params=["root", "unprivileged"])
def attacked(request):
    if sandbox_problem():
        pytest.fail(f"the sandbox cannot be built here, so grading refuses: {sandbox_problem()}")
    if request.param == "root" and os.geteuid() != 0:
        pytest.skip("the grader runs as root only where the tests do")
    user = ensure_user(TA) if request.param == "unprivileged" and os.geteuid() == 0 else None
    base = owned_scratch(user or pwd.getpwuid(os.getuid()), "medgrade-adversarial-")
    home = Path(user.pw_dir if user else Path.home())
    token = home / ".medgrade-adversarial-token"
    token.write_text("grader's LMS token\n")
    if user is not None:
        os.chown(token, user.pw_uid, user.pw_gid)
    root, data, judge = _setup(base, user)
    sock, servers = _host_listeners(base)
    students = _class(root, data, base, home, sock)
    if user is not None:
        chown_tree(root, user)
    ipc = subprocess.run(["ipcmk", "-M", "4096"], capture_output=True, text=True)
    before = _tree_digest(data)
    seen, stop = [], threading.Event()
    watcher = threading.Thread(target=_watch_uids, args=(seen, stop), daemon=True)
    watcher.start()
    try:
        with reachable_interpreter():
            grade_as(user, root, ASSIGNMENT, students, PROFILE, data)
    finally:
        stop.set()
        watcher.join()
        token.unlink(missing_ok=True)
        for s in servers:
            s.close()
        if ipc.returncode == 0:
            subprocess.run(["ipcrm", "-m", ipc.stdout.split()[-1]], capture_output=True)
    yield request.param, root, data, before, results(root, ASSIGNMENT, students), seen
    subprocess.run(["rm", "-rf", str(base)], check=False)


def test_course_secrets_and_the_host_are_invisible_to_the_kernel(attacked) -> None:
    _, root, _, _, res, _ = attacked
    out = _outputs(root, "reader")
    assert "LEAK" not in out, out
    assert _lines(out, "BLOCKED") == {f"BLOCKED {k}" for k in (
        "source", "reference", "gradebook", "other-student", "git", "grader-home", "root-file", "shadow",
        "host-hostname", "git-log")}, out
    assert res["reader"].score == 5  # the attempt itself costs nothing; it simply finds nothing


def test_data_course_host_and_root_are_unwritable(attacked) -> None:
    _, root, data, before, res, _ = attacked
    out = _outputs(root, "writer")
    assert "LEAK" not in out, out
    assert len(_lines(out, "BLOCKED")) == 12, out
    assert _tree_digest(data) == before
    assert not (root / "gradebook" / "forged.json").exists()
    assert (root.parent / "grader" / "judge.py").read_text() == "GRADER = 'trusted'\n"
    assert socket.gethostname() != "forged"
    assert not Path("/tmp", SHM_MARK).exists() and not Path("/dev/shm", SHM_MARK).exists()
    assert res["writer"].score == 5


def test_the_kernel_is_unprivileged_filtered_and_alone(attacked) -> None:
    who, root, _, _, _, _ = attacked
    out = _outputs(root, "snoop")
    assert "LEAK" not in out, out
    assert _lines(out, "BLOCKED") == {f"BLOCKED {k}" for k in (
        "umount", "userns", "unshare-call", "ptrace", "keyctl", "affinity", "sysv-ipc", "unix-socket",
        "abstract-socket", "network")}, out
    facts = {line.split()[0]: line.split(maxsplit=1)[1] for line in out.splitlines()
             if line.split() and line.split()[0] in ("PIDS", "SANDBOXES", "UID", "STATUS", "ROOT")}
    assert int(facts["PIDS"]) < 10, out  # the kernel and what it started, not the grader or other kernels
    assert facts["SANDBOXES"] == "0 ['student'] /home/student", out  # no other sandbox, no other home
    assert facts["UID"] == "1000 1000", out
    # seen from the host while it ran: an unprivileged uid (nobody for a root grader), never root
    expected = pwd.getpwnam("nobody").pw_uid if who == "root" else pwd.getpwnam(TA).pw_uid
    assert attacked[5] and {uids.real for uids in attacked[5]} == {expected}, attacked[5]
    assert "CapEff=0000000000000000" in facts["STATUS"] and "NoNewPrivs=1" in facts["STATUS"]
    assert "Seccomp=2" in facts["STATUS"], out
    assert "'opt'" not in facts["ROOT"] and "'var'" not in facts["ROOT"] and "'mnt'" not in facts["ROOT"], out


def test_no_process_outlives_its_notebook(attacked) -> None:
    marked = [p for p in psutil.process_iter(["cmdline"]) if DAEMON_MARK in " ".join(p.info["cmdline"] or [])]
    _, alive = psutil.wait_procs(marked, timeout=15)
    assert alive == []
    assert attacked[4]["daemon"].score == 5


def test_printed_or_written_results_are_never_believed(attacked) -> None:
    _, root, _, _, res, _ = attacked
    assert res["forger"].score == 5  # its own tests, nothing it printed
    assert res["wrong"].score == 3
    assert not (root / "results.json").exists()


def test_graded_cells_a_submission_adds_earn_nothing_and_are_reported(attacked) -> None:
    r = attacked[4]["inflater"]
    assert (r.score, r.max_score) == (5, 5), r.tests
    assert [t.grade_id for t in r.tests] == ["test_double", "test_triple"]
    assert "tiny.ipynb: a graded or locked cell the assignment does not have: test_bonus; it was run as an " \
           "ordinary cell, without points" in r.findings


def test_exhaustion_is_capped_with_its_reason_and_costs_only_the_attacker(attacked) -> None:
    _, root, _, _, res, _ = attacked
    for hog, label, cap in (("shmhog", "/dev/shm", 16), ("diskhog", "its folder", 40)):
        assert "LEAK" not in _outputs(root, hog)  # the write itself failed (if the kernel lived to say so)
        triple = {t.grade_id: t for t in res[hog].tests}["test_triple"]
        assert res[hog].score == 2
        assert f"the kernel ran out of space in {label} (the cap is {cap} MB)" in triple.message
    forks = {t.grade_id: t for t in res["forkbomb"].tests}["test_triple"]
    assert res["forkbomb"].score == 2
    assert "the kernel ran out of processes (it reached the cap of 128 processes and threads)" in forks.message


def test_honest_students_grade_as_without_attackers(attacked) -> None:
    """The timed neighbour was graded beside 24 spinning processes: its core was its own."""
    _, root, _, _, res, _ = attacked
    assert res["timed"].score == 5, res["timed"].tests
    assert (res["honest"].score, res["honest"].findings) == (5, ())
    alone = owned_scratch(pwd.getpwuid(os.getuid()), "medgrade-alone-")
    try:
        course = make_course(alone / "course")
        for student in ("honest", "wrong"):
            (course / "submitted").mkdir(exist_ok=True)
            subprocess.run(["cp", "-r", str(root / "submitted" / student), str(course / "submitted")], check=True)
        grade_as(None, course, ASSIGNMENT, ["honest", "wrong"], PROFILE, None)
        for student, r in results(course, ASSIGNMENT, ["honest", "wrong"]).items():
            assert [(t.grade_id, t.points, t.status, t.message) for t in r.tests] == \
                   [(t.grade_id, t.points, t.status, t.message) for t in res[student].tests]
    finally:
        subprocess.run(["rm", "-rf", str(alone)], check=False)
