#!/usr/bin/env bash
# Builds the ONNX importer's libFuzzer target with clang-22 and
# -fsanitize=fuzzer,address,undefined in build-fuzz/, seeds it with the ONNX
# node-test models and quant's .onnxtxt tests, and runs it for a bounded time.
#   scripts/fuzz.sh [SECONDS]   (default 60)
# Exit status 0 when the run found nothing; libFuzzer's own status (and the
# crashing input under build-fuzz/crashes/) otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
dir=${FUZZ_BUILD_DIR:-build-fuzz}
sanitizers="-fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined"
if [ ! -f "$dir/build.ninja" ]; then
  cmake -G Ninja -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DCMAKE_C_FLAGS="$sanitizers -fsanitize=fuzzer-no-link" \
    -DCMAKE_CXX_FLAGS="$sanitizers -fsanitize=fuzzer-no-link" \
    -DCMAKE_EXE_LINKER_FLAGS="$sanitizers" \
    -DQUANT_ENABLE_TESTS=OFF -DQUANT_BUILD_FUZZER=ON > "$dir.configure.log"
fi
ninja -C "$dir" onnx-import-fuzzer

corpus="$dir/corpus"
mkdir -p "$corpus" "$dir/crashes"
if [ -z "$(ls -A "$corpus")" ]; then
  for model in /usr/share/libonnx-testdata/data/node/*/model.onnx; do
    cp "$model" "$corpus/$(basename "$(dirname "$model")").onnx"
  done
  # Each model of the text tests, split at the '# -----' markers.
  for file in test/Import/ONNX/*.onnxtxt; do
    awk -v out="$corpus/$(basename "$file" .onnxtxt)" \
      '/^# -----/ { n++; next } { print > (out "-" n+0 ".onnxtxt") }' "$file"
  done
fi
echo "fuzzing the ONNX importer for ${seconds}s with $(ls "$corpus" | wc -l) seeds"
ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
  "$dir/bin/onnx-import-fuzzer" "$corpus" -max_total_time="$seconds" \
  -rss_limit_mb=4096 -max_len=1048576 -artifact_prefix="$dir/crashes/" \
  -print_final_stats=1 2>&1 | tail -n 25
