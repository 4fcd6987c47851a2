"""The sandbox's plan: what bubblewrap is told to build, read from its options (no kernel runs here).

The containment itself is shown by attackers in tests/adversarial/test_containment.py; these
tests pin down the plan's invariants, each of which an attacker there relies on.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from medgrade.errors import UsageError
from medgrade.runner.confine import CONNECTION, WORK, KernelView, Limits, Sandbox, bwrap_args, launch_script

LIMITS = Limits(shm_mb=16, tmp_mb=32, disk_mb=64, processes=50)


def _pairs(args: list[str], option: str) -> list[tuple[str, str]]:
    return [(args[i + 1], args[i + 2]) for i, a in enumerate(args) if a == option]


def test_the_root_is_an_allowlist_made_read_only_last(tmp_path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    args = bwrap_args(KernelView(LIMITS, read_only=(data,)))
    for option in ("--unshare-user", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                   "--disable-userns", "--die-with-parent"):
        assert option in args
    assert args[-6:] == ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", str(WORK)]
    bound = [inside for _, inside in _pairs(args, "--ro-bind")]
    assert "/usr" in bound and str(data.resolve()) in bound
    assert not any(b in ("/", "/home", "/root", "/etc", "/var", "/opt") for b in bound), bound
    assert _pairs(args, "--bind") == []  # nothing of the host is writable


def test_every_writable_place_is_a_tmpfs_of_its_cap() -> None:
    args = bwrap_args(KernelView(LIMITS))
    sized = [(args[i + 1], args[i + 2], args[i + 3]) for i, a in enumerate(args) if a == "--size"]
    assert sized == [(str(16 << 20), "--tmpfs", "/dev/shm"), (str(32 << 20), "--tmpfs", "/tmp"),
                     (str(64 << 20), "--tmpfs", str(WORK))]


def test_answer_keys_are_masked_after_the_data_is_bound(tmp_path) -> None:
    data, copy = tmp_path / "data", tmp_path / "view.npz"
    (data / "sub").mkdir(parents=True)
    (data / "sub" / "labels.npz").write_bytes(b"real")
    copy.write_bytes(b"zeros")
    args = bwrap_args(KernelView(LIMITS, read_only=(data,), masked=((data.resolve() / "sub" / "labels.npz", copy),)))
    binds = _pairs(args, "--ro-bind")
    assert binds.index((str(data.resolve()), str(data.resolve()))) < binds.index(
        (str(copy), str(data.resolve() / "sub" / "labels.npz")))


def test_a_view_that_would_show_a_secret_folder_is_refused(tmp_path) -> None:
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    with pytest.raises(UsageError, match=r"would be visible to the student's kernel"):
        KernelView(LIMITS, read_only=(course,), secret=(course / "source",)).check()
    KernelView(LIMITS, read_only=(tmp_path / "elsewhere",), secret=(course / "source",)).check()
    with pytest.raises(UsageError, match="keep the data root, the virtualenv and medgrade apart"):
        KernelView(LIMITS, secret=(Path(sys.prefix) / "lib",)).check()  # a virtualenv holding the course


def test_a_root_grader_stages_then_drops_to_its_sandbox_user(tmp_path) -> None:
    conn = tmp_path / "connection.json"
    conn.write_text("{}")
    view = KernelView(LIMITS, files=((conn, CONNECTION),), cpus=(1,))
    script = launch_script(Sandbox(Path("/usr/bin/bwrap"), (65534, 65534), stage=True), view, ["python"], tmp_path)
    lines = script.splitlines()
    assert lines[1] == "trap '' INT"
    assert f"chown 65534:65534 {conn}" in lines
    assert any(line.startswith("mount -t tmpfs") for line in lines)
    last = lines[-1]
    assert last.startswith("exec setpriv --reuid=65534 --regid=65534 --clear-groups --pdeathsig KILL -- "
                           "taskset --cpu-list 1 ")
    assert "prlimit --nproc=50:50" in last and last.endswith(" -- python")
    bpf = (tmp_path / "seccomp.bpf").stat()
    assert bpf.st_size > 0 and oct(bpf.st_mode)[-3:] == "600"
