#!/usr/bin/env bash
# The gpu profile's proof on the GPU machine, set-up included (DEVELOPERS.md, "Proving the gpu
# profile"). From the repository's root, with the .whl/ that benchmarks/gpu_wheels.py made here:
#
#     bash benchmarks/gpu_proof.sh OUT_DIR [options of benchmarks/gpu_proof.py]
#
# installs medgrade and the wheels its Python lacks (no index needed), registers the kernel,
# generates the two data stand-ins 03 and 06 read, then runs the proof; its log goes to OUT_DIR.
set -euo pipefail
out=${1:?usage: bash benchmarks/gpu_proof.sh OUT_DIR [options of benchmarks/gpu_proof.py]}
shift
py=${PYTHON:-python3}
if ! compgen -G ".whl/*.whl" >/dev/null; then
  echo "no wheels in .whl/: run benchmarks/gpu_wheels.py on a machine with an index and carry .whl" >&2
  exit 2
fi
mkdir -p "$out"
"$py" -m pip install -q --no-index --no-deps --no-compile .whl/*.whl
"$py" -m pip install -q --no-index --no-deps --no-build-isolation .
"$py" -m ipykernel install --sys-prefix --name python3 >/dev/null
export MEDGRADE_DATA=${MEDGRADE_DATA:-$PWD/data}
"$py" -c 'from medgrade.cli.entry import main; main()' data generate --dataset pathmnist --dataset wmh
PYTHONUNBUFFERED=1 "$py" benchmarks/gpu_proof.py --out "$out" "$@" 2>&1 | tee "$out/gpu_proof.log"
