#!/usr/bin/env bash
# Installs every Debian package Tessera builds, tests or drives. Idempotent: packages that
# are already present are not fetched again, and apt-get update runs only when something
# is missing.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build ccache pkg-config
  # libraries
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libfmt-dev
  libonnx-dev libprotobuf-dev protobuf-compiler zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev pybind11-dev
  # HLS front end (tessera hls): clang-14 and the LLVM 14 libraries
  clang-14 llvm-14-dev
  # external hardware tools the toolchain drives and tests against
  verilator iverilog yosys nextpnr-ice40 fpga-icestorm
  # Python reference stack (Debian's /usr/bin/python3)
  python3 python3-dev python3-numpy python3-onnx python3-torch python3-torchvision
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
