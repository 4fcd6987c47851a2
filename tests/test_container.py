"""The container files install exactly the pins of constraints.txt, as `make setup` does.

Nothing is built here (no container engine runs in CI): the files are parsed.
"""

from __future__ import annotations

import re
import shlex
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "container" / "Dockerfile"
APPTAINER = REPO / "container" / "medgrade.def"
EXTRAS = {"otter", "radiomics", "dask"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[_norm(name)] = version.strip()
    return pins


def _pip_installs(text: str) -> list[list[str]]:
    """The arguments after ``pip install`` of every install command in a Dockerfile or a .def."""
    joined = re.sub(r"\\\n", " ", text)
    commands = []
    for line in joined.splitlines():
        if line.lstrip().startswith("#") or "pip install" not in line:
            continue
        for part in re.split(r"&&|;", line):
            words = shlex.split(part)
            for i, word in enumerate(words[:-1]):
                if word.endswith("pip") and words[i + 1] == "install":
                    commands.append(words[i + 2:])
    return commands


def _requirements(args: list[str]) -> tuple[bool, list[str]]:
    """Whether ``-c constraints.txt`` is given, and the requirement arguments."""
    constrained, reqs, skip = False, [], False
    for i, a in enumerate(args):
        if skip:
            skip = False
            continue
        if a in ("-c", "--constraint"):
            constrained |= args[i + 1] == "constraints.txt"
            skip = True
        elif a.startswith("--constraint="):
            constrained |= a.split("=", 1)[1] == "constraints.txt"
        elif not a.startswith("-"):
            reqs.append(a)
    return constrained, reqs


@pytest.mark.parametrize("path", [DOCKERFILE, APPTAINER], ids=["Dockerfile", "apptainer"])
def test_every_pip_install_is_pinned_by_constraints(path: Path) -> None:
    pins = _pins()
    installs = _pip_installs(path.read_text())
    assert len(installs) == 3, installs  # base tools + numpy, pyradiomics, medgrade
    for args in installs:
        constrained, reqs = _requirements(args)
        assert constrained, f"{path.name}: `pip install {' '.join(args)}` lacks -c constraints.txt"
        for req in reqs:
            if req.startswith("."):
                extras = set(re.findall(r"\w+", req.partition("[")[2]))
                assert extras == EXTRAS, f"{path.name}: medgrade installed with extras {extras}, expected {EXTRAS}"
                continue
            name, _, version = req.partition("==")
            assert _norm(name) in pins, f"{path.name}: {name} is not pinned in constraints.txt"
            if version:
                assert version == pins[_norm(name)], f"{path.name}: {req} but constraints.txt pins {pins[_norm(name)]}"


@pytest.mark.parametrize("path", [DOCKERFILE, APPTAINER], ids=["Dockerfile", "apptainer"])
def test_container_installs_in_the_makefiles_order(path: Path) -> None:
    """numpy first, pyradiomics built against it, then medgrade: as `make setup` (without dev, editable)."""
    def plain(args: list[str]) -> list[str]:
        return [a.replace(",dev", "").replace("dev,", "") for a in args if a not in ("-q", "-e")]

    make = [plain(a) for a in _pip_installs((REPO / "Makefile").read_text())]
    ours = [plain(a) for a in _pip_installs(path.read_text())]
    assert ours == make
    text = path.read_text()
    assert "--name python3" in text and "ipykernel install --sys-prefix" in text


def test_dockerfile_runs_medgrade_as_a_non_root_user() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM \$\{BASE\}$", text, re.M) and re.search(r"^ARG BASE=nvidia/cuda:\S+-runtime-", text, re.M)
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["medgrade"]' in text and "COPY constraints.txt" in text
    assert "constraints.txt /src/constraints.txt" in APPTAINER.read_text()
    assert 'exec medgrade "$@"' in APPTAINER.read_text()


def _closure(name: str, extras: set[str], seen: set[str]) -> None:
    """Every distribution ``name[extras]`` needs, by the installed metadata."""
    for line in metadata.requires(name) or []:
        req = Requirement(line)
        envs = [{"extra": e} for e in extras] or [{"extra": ""}]
        if req.marker is not None and not any(req.marker.evaluate(env) for env in envs):
            continue
        key = _norm(req.name)
        if key not in seen:
            seen.add(key)
            _closure(req.name, set(req.extras), seen)


def test_constraints_pin_everything_the_container_installs() -> None:
    """pip enforces a constraint only on what it lists: every dependency must be listed, at its pin."""
    pins = _pins()
    needed: set[str] = set()
    _closure("medgrade", EXTRAS, needed)
    assert {"dask", "distributed", "otter-grader", "pyradiomics", "torch"} <= needed
    assert sorted(needed - set(pins)) == []
    wrong = {n: (metadata.version(n), pins[n]) for n in needed if metadata.version(n) != pins[n]}
    assert wrong == {}, "installed version differs from constraints.txt"


def test_the_container_flags_documented_are_the_ones_grading_asks_for() -> None:
    """The flags `medgrade grade` prints where a container refuses the sandbox, in the README and Dockerfile."""
    from medgrade.runner.isolation import CONTAINER_FLAGS

    readme = re.sub(r"\s*\\\n\s*", " ", (REPO / "README.md").read_text())
    docker_run = next(line for line in readme.splitlines() if line.startswith("docker run"))
    for flag in re.findall(r"--security-opt \S+", CONTAINER_FLAGS):
        assert flag in docker_run, flag
        assert flag.split()[1] in DOCKERFILE.read_text(), flag
    assert "libseccomp2" in DOCKERFILE.read_text() and "libseccomp2" in APPTAINER.read_text()
