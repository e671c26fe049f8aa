#!/usr/bin/env bash
# Installs what building (and, with --tests, testing) faaset needs on Debian 12,
# skipping apt entirely when everything is already there. Run as root.
set -euo pipefail

build_packages=(cmake make gcc pkg-config libzmq3-dev libjansson-dev libsodium-dev uuid-dev libssl-dev libcurl4-openssl-dev zlib1g-dev)
jupyter_packages=(python3 python3-jupyter-client jupyter-client jupyter-nbconvert python3-nbclient)
test_packages=(python3-jupyter-kernel-test python3-pytest python3-zmq python3-pexpect python3-ipykernel python3-ipywidgets python3-cryptography nginx-light
               jupyter-notebook jupyter-console chromium nodejs clang docker-registry skopeo apache2-utils)

wanted=("${build_packages[@]}" "${jupyter_packages[@]}")
if [[ "${1:-}" == "--tests" ]]; then
  wanted+=("${test_packages[@]}")
fi

missing=()
for package in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
# Node may come from another apt source already; npm is all the tests need from it.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep . || true))

if ((${#missing[@]} > 0)); then
  echo "Installing: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [[ " ${missing[*]} " == *" nodejs "* ]] && ! command -v npm >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm
  fi
else
  echo "All Debian packages needed are installed."
fi
