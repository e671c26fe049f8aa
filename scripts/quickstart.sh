#!/usr/bin/env bash
# Quick start on a new Debian 12 machine (as root): installs what is missing,
# builds faaset, installs its kernelspec for this user, and executes
# notebooks/quickstart.ipynb headless with it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-debian.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
./build/faaset install --user --python /usr/bin/python3

mkdir -p build/notebooks
jupyter nbconvert --to notebook --execute --ExecutePreprocessor.kernel_name=faaset \
  --output-dir build/notebooks notebooks/quickstart.ipynb
echo
echo "The executed notebook is $(pwd)/build/notebooks/quickstart.ipynb"
echo "Open it with: jupyter notebook build/notebooks/quickstart.ipynb"
