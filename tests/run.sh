#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing (Debian
# packages, npm packages for the browser tests), builds faaset with
# AddressSanitizer and UndefinedBehaviorSanitizer, and runs every test
# through ctest (C unit tests, the runtime's tests, jupyter_kernel_test,
# protocol tests, nbconvert / console / classic notebook in Chromium /
# @jupyterlab/services). Each test starts the kernels and servers it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-debian.sh --tests
if [[ -f tests/clients/package-lock.json ]]; then
  (cd tests/clients && npm ci --no-audit --no-fund --loglevel=error)
fi

cmake -S . -B build-sanitize -DFAASET_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-sanitize -j"$(nproc)"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --test-dir build-sanitize --output-on-failure --timeout 900 "$@"
