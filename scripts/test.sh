#!/usr/bin/env bash
# Runs every test (GoogleTest unit tests, the lit suite, the ONNX node-test
# conformance sweep, end-to-end comparisons with ONNX Runtime, the importer
# fuzzer) through ctest and ends with one line CI reads: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
# The ONNX Runtime peer (npm) for the end-to-end tests.
./scripts/install-ort.sh || echo "test: ONNX Runtime could not be installed; e2e-ort will fail"
build_dir=${BUILD_DIR:-build}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -n 1)
if [ -n "$summary" ]; then
  failed=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$summary")
  total=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/' <<<"$summary")
  # Skipped tests (gpu-e2e without a GPU) are neither passed nor failed.
  skipped=$(grep -cE '^[[:space:]]*[0-9]+ - .* \(Skipped\)$' "$log" || true)
  [ "$skipped" -gt 0 ] && echo "$skipped skipped (see 'The following tests did not run' above)"
  echo "$((total - failed - skipped)) passed, $failed failed"
else
  echo "0 passed, 1 failed"
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"
