#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing (Debian
# packages, npm packages for the browser tests), builds faaset with
# AddressSanitizer and UndefinedBehaviorSanitizer, and runs every test
# through ctest (C unit tests, the runtime's tests, jupyter_kernel_test,
# protocol tests, nbconvert / console / classic notebook in Chromium /
# @jupyterlab/services). Each test starts the kernels and servers it needs.
# Then (for the whole suite, not when ctest arguments pick suites) the
# release build is made (warnings are errors there too), and every
# libFuzzer target of tests/fuzz runs from its seed corpus for
# FAASET_FUZZ_SECONDS (default 10) in a clang build.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-debian.sh --tests
if [[ -f tests/clients/package-lock.json ]]; then
  (cd tests/clients && npm ci --no-audit --no-fund --loglevel=error)
fi
if [[ -f tests/gcf/node/package-lock.json ]]; then
  (cd tests/gcf/node && npm ci --no-audit --no-fund --loglevel=error)
fi
if [[ -f tests/openwhisk/node/package-lock.json ]]; then
  (cd tests/openwhisk/node && npm ci --no-audit --no-fund --loglevel=error)
fi
if [[ -f tests/azure/node/package-lock.json ]]; then
  (cd tests/azure/node && npm ci --no-audit --no-fund --loglevel=error)
fi

cmake -S . -B build-sanitize -DFAASET_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-sanitize -j"$(nproc)"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --test-dir build-sanitize --output-on-failure --timeout 900 "$@"

if (($# == 0)); then
  # The optimised build users and the benchmarks make: its warnings (GCC's
  # -O2 format-truncation analysis) are errors too.
  cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build-release -j"$(nproc)"
  CC=clang cmake -S . -B build-fuzz -DFAASET_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build build-fuzz -j"$(nproc)" --target fuzz_targets
  FAASET_FUZZ_SECONDS="${FAASET_FUZZ_SECONDS:-10}" ctest --test-dir build-fuzz -L fuzz --output-on-failure
fi
