#!/usr/bin/env bash
# Installs ONNX Runtime for Node.js (npm package onnxruntime-node, CPU only)
# into bench/ort/node_modules, the peer that tests and benchmarks compare
# against. Idempotent; skips npm when the package is already there.
# ONNXRUNTIME_NODE_INSTALL=skip stops its install script from downloading
# CUDA binaries from nuget.org (not reachable here, not needed on the CPU).
set -euo pipefail
cd "$(dirname "$0")/../bench/ort"
if [ -f node_modules/onnxruntime-node/package.json ]; then
  echo "install-ort: onnxruntime-node $(node -p 'require("onnxruntime-node/package.json").version') present"
  exit 0
fi
command -v npm >/dev/null || { echo "install-ort: npm is missing (run scripts/install-deps.sh)" >&2; exit 1; }
ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --loglevel=error
echo "install-ort: installed onnxruntime-node $(node -p 'require("onnxruntime-node/package.json").version')"
