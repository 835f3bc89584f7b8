#!/usr/bin/env bash
# Installs everything quant needs to build and test, from Debian 12 packages only.
# Idempotent: when every package is already installed it runs no apt command at all
# and finishes in well under a second.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build ccache git pkg-config python3
  # LLVM/MLIR 22 (libLLVM.so, libMLIR.so, mlir-tblgen, lit, FileCheck, not)
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
  # OpenMP runtime: compiled models run their matmuls on libomp threads
  libomp-22-dev
  # ONNX
  libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata
  python3-onnx python3-numpy
  # unit tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # the importer fuzzer (scripts/fuzz.sh): clang with libFuzzer and sanitizers
  clang-22 libclang-rt-22-dev
  # needed by LLVM's CMake config (LLVMExports references these)
  zlib1g-dev libzstd-dev libxml2-dev libcurl4-openssl-dev libedit-dev libffi-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

# Node.js/npm (for the onnxruntime-node peer in bench/) may come from elsewhere, e.g.
# NodeSource, whose nodejs conflicts with Debian's npm package: only ask for them when the
# commands are absent.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
