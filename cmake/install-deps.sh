#!/usr/bin/env bash
# Installs the Debian packages coconut needs to build, test and run its examples.
# Run by `make` before configuring; does nothing when everything is already there.
# Usage: cmake/install-deps.sh [extra-package ...]
set -euo pipefail

packages=(
  g++ cmake make            # the toolchain
  libeigen3-dev             # tensors and GEMM (Eigen 3.4)
  libxsimd-dev              # element-wise SIMD kernels
  libboost-test-dev         # Boost.Test, the test framework
  libcereal-dev             # checkpoints
  nlohmann-json3-dev        # data sets (JSON files of samples)
  libopenmpi-dev openmpi-bin  # data-parallel training (coconut::mpi) and its tests
  ccache                    # faster rebuilds (optional, used when present)
  libopenblas-dev           # bench only: OpenBLAS for bench_matmul and PyTorch's BLAS (the library never uses it)
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "coconut: installing missing Debian packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "coconut: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
