#!/bin/bash
# Everything the GPU machine runs, in one call (each new machine costs
# minutes of a session's 30 device minutes; it has no LLVM/MLIR, so all is
# compiled here).
#
#   scripts/device-run.sh prepare [DEC_WORK]   (here, after `ninja` in build/)
#       build/device/gpu.txz       scripts/gpu-tests.sh prepare (xz)
#       build/device/nodegpu.tgz   the ONNX node tests for sm_90a
#       build/device/bench.tar     bench/gpu_vs_torch.py prepare: the M = 1
#                                  W4A16 shapes, the Hadamard at M = 1, and
#                                  with DEC_WORK (a directory of a few GB,
#                                  kept for next time) the decoder
#       About 5 minutes, 10 more with the decoder. The three files and the
#       tracked tree must stay under the device's 64 MiB.
#   device run:  command "bash scripts/device-run.sh run",
#                carry ["build/device"]
#       Runs the benchmark (GPU_BENCH_ONLY=hadamard,decoder), gpu-tests
#       (without compute-sanitizer unless GPU_TESTS_SANITIZER=1), the node
#       tests, and ncu on the 28672 x 8192 GEMV, each under a timeout
#       (BENCH_S, TESTS_S, NODE_S, NCU_S seconds; NCU_S=0 skips ncu), the
#       log into $OUT/log.txt as it goes.
set -u
mode=${1:?usage: device-run.sh prepare [DEC_WORK] | run}
root=$(cd "$(dirname "$0")/.." && pwd)
dev=$root/build/device

prepare() {
  local work=${1:-}
  rm -rf "$dev" && mkdir -p "$dev" || exit 1
  "$root/scripts/gpu-tests.sh" prepare "$dev/gpu" || exit 1
  /usr/bin/python3 "$root/test/Conformance/run_node_tests.py" \
    "$root/build/bin/quant-compile" "$root/build/bin/quant-run" \
    /usr/share/libonnx-testdata/data/node "$dev/nodegpu" --prepare \
    --compile-flag=--target=cuda:sm_90a -j 2 | tail -1
  /usr/bin/python3 - "$root" "$dev/benchdir" "$work" <<'EOF' || exit 1
import sys
root, out, work = sys.argv[1:]
sys.path.insert(0, root + "/bench")
import gpu_vs_torch as g
g.SHAPES = [(1, 4096, 4096), (1, 14336, 4096), (1, 4096, 14336),
            (1, 28672, 8192)]
g.HADAMARD_ROWS = (1,)
g.W8A8_SIZES = ()
g.prepare(root + "/build/bin", out)
if work:
    g.prepare_decoder(root + "/build/bin", out, work)
EOF
  rm -f "$dev/benchdir/quant-run"
  (cd "$dev" && tar cJf gpu.txz gpu && tar czf nodegpu.tgz nodegpu &&
     tar cf bench.tar benchdir && rm -rf gpu nodegpu benchdir) || exit 1
  ls -la "$dev"
}

run() {
  cd "$dev" || exit 1
  exec > >(tee -a "${OUT:-.}/log.txt") 2>&1
  local start
  start=$(date +%s)
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  tar xJf gpu.txz && tar xzf nodegpu.tgz && tar xf bench.tar
  cp gpu/bin/quant-run benchdir/
  echo "== bench $(($(date +%s) - start)) s"
  GPU_BENCH_ONLY=${GPU_BENCH_ONLY:-hadamard,decoder} timeout "${BENCH_S:-300}" \
    python3 "$root/bench/gpu_vs_torch.py" run benchdir
  echo "== gpu-tests $(($(date +%s) - start)) s"
  GPU_TESTS_SANITIZER=${GPU_TESTS_SANITIZER:-0} timeout "${TESTS_S:-100}" \
    "$root/scripts/gpu-tests.sh" run gpu 2>&1 | tail -30
  echo "== node tests $(($(date +%s) - start)) s"
  LD_LIBRARY_PATH=gpu/lib timeout "${NODE_S:-120}" python3 \
    "$root/test/Conformance/run_node_tests.py" --run-manifest nodegpu \
    gpu/bin/quant-run 2>&1 | tail -25
  if [ "${NCU_S:-45}" != 0 ]; then
    echo "== ncu $(($(date +%s) - start)) s"
    gunzip -c benchdir/libw4a16_m1_n28672_k8192.so.gz > benchdir/big.so
    LD_LIBRARY_PATH=gpu/lib timeout "${NCU_S:-45}" ncu --clock-control none \
      -k regex:main_kernel --launch-skip 3 --launch-count 1 \
      --section SpeedOfLight --section MemoryWorkloadAnalysis \
      --section WarpStateStats --section Occupancy --section LaunchStats \
      benchdir/quant-run benchdir/big.so --name model \
      -i benchdir/w4a16_m1_n28672_k8192.x.npy --bench 5 \
      > "${OUT:-.}/ncu.txt" 2>&1
    tail -80 "${OUT:-.}/ncu.txt" | cut -c1-150
  fi
  echo "== end $(($(date +%s) - start)) s"
}

case "$mode" in
prepare) shift; prepare "${1:-}" ;;
run) run ;;
*) echo "usage: device-run.sh prepare [DEC_WORK] | run" >&2; exit 2 ;;
esac
