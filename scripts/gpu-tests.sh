#!/usr/bin/env bash
# The GPU execution tests of --target=cuda, in two halves, because the
# machine with the GPU has no LLVM/MLIR (it cannot compile) and CI has no GPU:
#
#   scripts/gpu-tests.sh prepare DIR   where quant is built: compiles each
#       case's model with --target=cuda, and with the CPU backend, runs the
#       CPU build on the case's inputs and keeps its outputs as the expected
#       ones; copies quant-run and the shared libraries it needs into DIR.
#   scripts/gpu-tests.sh run DIR       on a machine with an NVIDIA GPU and its
#       driver (nothing else needed): runs every GPU build with quant-run
#       against the CPU's outputs, then once more under compute-sanitizer
#       when it is installed (not with GPU_TESTS_SANITIZER=0). Ends with
#       "N passed, N failed"; exits 77 (skipped) with a message when no GPU
#       is present.
#   scripts/gpu-tests.sh check DIR     both, for ctest (gpu-e2e): on a machine
#       without a GPU it compiles everything, then skips the run.
#
# Cases: the bundled CNN and a generated Llama-style decoder in float, W4A16
# (int4 weights, groups of 128) and W8A8 (int8 weights, per-token int8
# activations), and the decoder over 37 tokens in W4A16 (the tensor-core
# kernel), qc.hadamard of sizes 14336 (28·512: the K×K factor, two passes
# through shared memory), 7168 (two transforms per row) and 2048 with
# stride 7 (the one-kernel transform), and the decoder with --rotate (online
# Hadamards before the down projections), W8A8 on the int8 tensor-core
# kernel (the 37-token decoder, and one MatMul whose outputs must match to
# the last bit), the row kernels, attention's probabilities times V at
# one token (a warp per 4 outputs, V read across the lanes' rows), a
# one-row MatMulNBits over K = 16416 whose outputs take 4 warps each, and
# one over N = 12288 outputs (8 rows per warp, one run per iteration with
# the f16 runs; K = 1056: one main iteration and a remainder of 4 words),
# and the W4A16 decoder with its weights in a file (--weights-file: the
# kernels read device copies uploaded from the file's mapping).
# Tolerances: the GPU sums in another order than the CPU
# (float reductions), so outputs agree to rounding, not bit for bit; the
# tensor-core kernel (int4 products of 2 rows or more) and the GEMV (its
# f16-pair body, the default) round the activations to f16
# (W4A16): the 8-token W4A16 decoder forces the GEMV (--cuda-mma-min-rows=9),
# the rotated one takes the defaults; --cuda-f16-products=false gives the
# GEMV's f32 body, exact as the CPU (the nbits-m1 and nbits-m5-gemv
# cases). In the W8A8 decoder such a rounding difference before a per-token quantization
# can move a code by one: the rows of the tokens where that happens differ
# by up to ~3e-2 (2 of 37 rows on the H100), the others by ~1e-6.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
mode=${1:?usage: gpu-tests.sh prepare|run|check DIR}
dir=${2:?usage: gpu-tests.sh prepare|run|check DIR}
build=${BUILD_DIR:-$root/build}
python=/usr/bin/python3

# name | model | quant-compile flags | rtol | atol
cases() {
  cat <<'CASES'
cnn-f32|cnn.onnx||1e-4|1e-5
llama-f32|llama/model.onnx||1e-3|1e-4
llama-w4a16-g128|llama/model.onnx|--weights=int4 --group=128 --cuda-mma-min-rows=9|2e-2|1e-2
llama-w8a8-per-token|llama/model.onnx|--weights=int8 --group=0 --activations=int8 --per-token|1e-3|1e-3
prefill-w4a16-g32|prefill/model.onnx|--weights=int4 --group=32|2e-2|1e-2
prefill-nbits-g32|prefill-nbits/model.onnx||2e-2|1e-2
hadamard|hadamard.mlir||1e-4|1e-5
llama-rotate-w4a16|llama/model.onnx|--rotate --weights=int4 --group=128|2e-2|1e-2
prefill-w8a8-per-token|prefill/model.onnx|--weights=int8 --group=0 --activations=int8 --per-token|1e-2|5e-2
w8a8-matmul|w8a8-matmul.onnx|--weights=int8 --group=0 --activations=int8 --per-token|0|0
nbits-m5-gemv|nbits-m5.onnx|--cuda-mma-min-rows=9 --cuda-f16-products=false|1e-4|1e-5
nbits-m5-mma|nbits-m5.onnx||2e-2|1e-2
nbits-m1|nbits-m1.onnx|--cuda-f16-products=false|1e-4|1e-5
nbits-m1-f16|nbits-m1.onnx||2e-2|1e-2
rows|rows.mlir||1e-4|1e-5
attention-values|attention.onnx||1e-4|1e-5
nbits-split|nbits-split.onnx|--cuda-f16-products=false|1e-4|1e-5
nbits-split-f16|nbits-split.onnx||2e-2|1e-2
nbits-wide-f16|nbits-wide.onnx||2e-2|1e-2
llama-w4a16-weights-file|llama/model.onnx|--weights=int4 --group=128 --weights-file=@ --weights-threshold=4096|2e-2|1e-2
CASES
}

prepare() {
  rm -rf "$dir"
  mkdir -p "$dir/lib" "$dir/bin"
  cp "$build/bin/quant-run" "$dir/bin/"
  # quant-run's shared libraries that a bare machine may lack.
  for lib in $(ldd "$build/bin/quant-run" | awk '/onnx|protobuf/ {print $3}'); do
    cp -L "$lib" "$dir/lib/"
  done
  cp "$root/examples/tiny-cnn.onnx" "$dir/cnn.onnx"
  $python "$root/scripts/gen_llama.py" --layers 2 --hidden 256 --heads 4 \
    --ffn 512 "$dir/llama" >/dev/null
  # 37 tokens at once (prefill): the matmuls have 37 rows, which take the
  # tensor-core kernel (not a multiple of its 16-row tiles); FFN 480 is not
  # a multiple of its 64-column blocks, nor of its 128-code chunks (the
  # down projection's K). Quantized by quant (int4, groups of 32, signed)
  # and as MatMulNBits (groups of 32, zero point 8).
  $python "$root/scripts/gen_llama.py" --layers 2 --hidden 256 --heads 4 \
    --ffn 480 --seq 37 "$dir/prefill" >/dev/null
  $python "$root/scripts/gen_llama.py" --layers 2 --hidden 256 --heads 4 \
    --ffn 480 --seq 37 --matmul-nbits 32 "$dir/prefill-nbits" >/dev/null
  cat >"$dir/hadamard.mlir" <<'MLIR'
func.func @main(%x: tensor<3x14336xf32> {onnx.name = "x"}) -> (
    tensor<3x14336xf32> {onnx.name = "a_h14336"},
    tensor<3x14336xf32> {onnx.name = "b_h7168"},
    tensor<3x14336xf32> {onnx.name = "c_h2048s7"}) {
  %a = qc.hadamard %x : tensor<3x14336xf32>
  %b = qc.hadamard %x size 7168 stride 1 : tensor<3x14336xf32>
  %c = qc.hadamard %x size 2048 stride 7 : tensor<3x14336xf32>
  return %a, %b, %c : tensor<3x14336xf32>, tensor<3x14336xf32>, tensor<3x14336xf32>
}
MLIR
  # Row kernels (a block per row, GPURowKernel.cpp): a residual-style add
  # and an RMS norm over rows of 4100 (17 elements per thread of 256, in
  # passes of 8, the last partial), and a softmax over rows of 150 (164
  # rows, 160 threads, the last 10 idle).
  cat >"$dir/rows.mlir" <<'MLIR'
func.func @main(%x: tensor<6x4100xf32> {onnx.name = "x"}) -> (
    tensor<6x4100xf32> {onnx.name = "a_norm"},
    tensor<164x150xf32> {onnx.name = "b_softmax"}) {
  %two = arith.constant dense<2.0> : tensor<6x4100xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %x2 = tosa.mul %x, %two, %shift : (tensor<6x4100xf32>, tensor<6x4100xf32>, tensor<1xi8>) -> tensor<6x4100xf32>
  %h = tosa.add %x2, %x : (tensor<6x4100xf32>, tensor<6x4100xf32>) -> tensor<6x4100xf32>
  %g = arith.constant dense<0.75> : tensor<4100xf32>
  %y = qc.rms_norm %h scale %g : (tensor<6x4100xf32>, tensor<4100xf32>) -> tensor<6x4100xf32>
  %flat = tensor.collapse_shape %x [[0, 1]] : tensor<6x4100xf32> into tensor<24600xf32>
  %s = tensor.expand_shape %flat [[0, 1]] output_shape [164, 150] : tensor<24600xf32> into tensor<164x150xf32>
  %m = tosa.reduce_max %s {axis = 1 : i32} : (tensor<164x150xf32>) -> tensor<164x1xf32>
  %d = tosa.sub %s, %m : (tensor<164x150xf32>, tensor<164x1xf32>) -> tensor<164x150xf32>
  %e = tosa.exp %d : (tensor<164x150xf32>) -> tensor<164x150xf32>
  %t = tosa.reduce_sum %e {axis = 1 : i32} : (tensor<164x150xf32>) -> tensor<164x1xf32>
  %i = tosa.reciprocal %t : (tensor<164x1xf32>) -> tensor<164x1xf32>
  %p = tosa.mul %e, %i, %shift : (tensor<164x150xf32>, tensor<164x1xf32>, tensor<1xi8>) -> tensor<164x150xf32>
  return %y, %p : tensor<6x4100xf32>, tensor<164x150xf32>
}
MLIR
  $python - "$dir" <<'PY'
import sys, onnx, onnx.helper, onnx.numpy_helper
import numpy as np
d = sys.argv[1]
np.save(d + "/rows.x.npy",
        np.random.default_rng(4).standard_normal((6, 4100)).astype(np.float32))
np.save(d + "/hadamard.x.npy",
        np.random.default_rng(1).standard_normal((3, 14336)).astype(np.float32))
np.save(d + "/cnn.x.npy", np.sin(0.1 * np.arange(2 * 3 * 16 * 16))
        .astype(np.float32).reshape(2, 3, 16, 16))
rng = np.random.default_rng(0)
# W8A8 on the int8 tensor-core kernel: 300 rows (3 blocks of 128, the
# last partial), 200 columns (2 blocks, the last partial), K = 496 (7.75
# slices of 64: the last one half zero-filled). Integer sums and the same
# epilogue as the CPU's: the outputs should agree to the last bit.
k, n = 496, 200
rng_w = np.random.default_rng(2)
w = rng_w.standard_normal((k, n)).astype(np.float32)
g = onnx.helper.make_graph(
    [onnx.helper.make_node("MatMul", ["x", "w"], ["y"])], "w8a8",
    [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [300, k])],
    [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [300, n])],
    [onnx.numpy_helper.from_array(w, "w")])
onnx.save(onnx.helper.make_model(
    g, opset_imports=[onnx.helper.make_opsetid("", 17)]), d + "/w8a8-matmul.onnx")
np.save(d + "/w8a8.x.npy", rng_w.standard_normal((300, k)).astype(np.float32))
# MatMulNBits with 5 rows, N = 200 (not a multiple of the tensor-core
# kernel's 16 columns), K = 4128 (129 groups of 32: the last of its 256-code
# steps a quarter full) and a zero point per group (packed uint8): the
# tensor-core kernel by default, the GEMV mapping with --cuda-mma-min-rows=9
# (in f32: --cuda-f16-products=false); and with 1 row (a decoder's step), the
# GEMV, in f16 pairs by default and in f32 with --cuda-f16-products=false.
def nbits(name, rows, k, n, bs, seed, x_rng):
    # Weights (codes, scales, packed zero points) from `seed`: the same for
    # the same seed and shape.
    w_rng = np.random.default_rng(seed)
    blocks = k // bs
    packed = w_rng.integers(0, 256, (n, blocks, bs // 2), dtype=np.uint8)
    scales = (w_rng.random(n * blocks) * 0.02 + 0.005).astype(np.float32)
    zp = w_rng.integers(0, 256, (n, (blocks + 1) // 2), dtype=np.uint8)
    g = onnx.helper.make_graph(
        [onnx.helper.make_node("MatMulNBits", ["x", "B", "S", "Z"], ["y"],
                               domain="com.microsoft", K=k, N=n, bits=4,
                               block_size=bs)], "nbits",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [rows, k])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [rows, n])],
        [onnx.numpy_helper.from_array(packed, "B"),
         onnx.numpy_helper.from_array(scales, "S"),
         onnx.numpy_helper.from_array(zp, "Z")])
    m = onnx.helper.make_model(g, opset_imports=[
        onnx.helper.make_opsetid("", 17), onnx.helper.make_opsetid("com.microsoft", 1)])
    m.ir_version = 8
    onnx.save(m, d + "/" + name + ".onnx")
    np.save(d + "/" + name + ".x.npy",
            x_rng.standard_normal((rows, k)).astype(np.float32))
x_rng = np.random.default_rng(3)
for rows in (5, 1):
    nbits("nbits-m%d" % rows, rows, 4128, 200, 32, 3, x_rng)
# One row over K = 16416 (513 groups of 32): 50 warps of 4 rows, so 4 warps
# share each output (the GEMV's split, sums through shared memory).
nbits("nbits-split", 1, 16416, 200, 32, 7, x_rng)
nbits("nbits-wide", 1, 1056, 12288, 32, 11, x_rng)
# Attention's probabilities times V at one token over 129 positions, 32
# heads of 64 ([32, 1, 129] x [32, 129, 64], the probabilities a sum of V
# here): few outputs over long rows, V along another loop than the
# reduction: a warp per 4 outputs with strided lanes (MapToGPU's
# kFewOutputs).
h = onnx.helper
g = h.make_graph(
    [h.make_node("ReduceSum", ["v", "axes"], ["s"], keepdims=1),
     h.make_node("Transpose", ["s"], ["p"], perm=[0, 2, 1]),
     h.make_node("MatMul", ["p", "v"], ["y"])], "attention",
    [h.make_tensor_value_info("v", onnx.TensorProto.FLOAT, [32, 129, 64])],
    [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [32, 1, 64])],
    [onnx.numpy_helper.from_array(np.array([2], dtype=np.int64), "axes")])
m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
m.ir_version = 8
onnx.save(m, d + "/attention.onnx")
np.save(d + "/attention.x.npy",
        np.random.default_rng(6).standard_normal((32, 129, 64)).astype(np.float32) / 8)
for name in ("llama", "prefill"):
    m = onnx.load(d + "/" + name + "/model.onnx", load_external_data=False)
    shape = [x.dim_value for x in m.graph.input[0].type.tensor_type.shape.dim]
    np.save(d + "/" + name + ".x.npy",
            rng.integers(0, 256, size=shape).astype(np.int64))
PY
  while IFS='|' read -r name model flags rtol atol; do
    local c="$dir/$name" input cpu_flags
    mkdir -p "$c"
    case $model in
    cnn*) input=cnn.x.npy ;;
    prefill*) input=prefill.x.npy ;;
    hadamard*) input=hadamard.x.npy ;;
    rows*) input=rows.x.npy ;;
    attention*) input=attention.x.npy ;;
    w8a8*) input=w8a8.x.npy ;;
    nbits-m5*) input=nbits-m5.x.npy ;;
    nbits-m1*) input=nbits-m1.x.npy ;;
    nbits-split*) input=nbits-split.x.npy ;;
    nbits-wide*) input=nbits-wide.x.npy ;;
    *) input=llama.x.npy ;;
    esac
    # --weights-file=@: the library's weights file, where quant-run looks
    # for it (libmodel.weights).
    # shellcheck disable=SC2086
    "$build/bin/quant-compile" "$dir/$model" ${flags//@/$c/libmodel.weights} \
      --target=cuda --emit=shared --name model -o "$c/libmodel.so"
    # The CPU build without the flags that only --target=cuda takes, and
    # with its weights in the object.
    cpu_flags=$(sed -E 's/--(cuda-[a-z0-9-]+|weights-file|weights-threshold)(=[^ ]*)?//g' <<<"$flags")
    # shellcheck disable=SC2086
    "$build/bin/quant-compile" "$dir/$model" $cpu_flags --parallel=false \
      --emit=shared --name cpu -o "$c/libcpu.so"
    mkdir -p "$c/expected"
    # The expected outputs, and their names in the model's output order
    # (--print writes one line per output, the name first): run() passes
    # them in that order.
    "$build/bin/quant-run" "$c/libcpu.so" --name cpu -i "$dir/$input" \
      -o "$c/expected" --print | awk '/^[^ ]+ [a-z0-9]+ \[/ {print $1}' >"$c/expected/order.txt"
    rm "$c/libcpu.so" "$c/libcpu.h" "$c/libmodel.h"
    printf '%s|%s|%s|%s\n' "$name" "$input" "$rtol" "$atol" >>"$dir/cases.txt"
  done < <(cases)
  # The models (compiled into each case; the random ones do not compress).
  rm -rf "$dir/llama" "$dir/prefill" "$dir/prefill-nbits" "$dir"/*.onnx \
    "$dir"/*.mlir
  echo "prepared $(wc -l <"$dir/cases.txt") GPU cases in $dir"
}

run() {
  export LD_LIBRARY_PATH="$dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1' &&
     [ -z "${QUANT_CUDA_DRIVER:-}" ]; then
    echo "SKIP: no NVIDIA GPU driver (libcuda.so.1) on this machine"
    exit 77
  fi
  local passed=0 failed=0 sanitizer
  sanitizer=$(command -v compute-sanitizer || true)
  [ -z "$sanitizer" ] && [ -x /usr/local/cuda/bin/compute-sanitizer ] &&
    sanitizer=/usr/local/cuda/bin/compute-sanitizer
  # GPU_TESTS_SANITIZER=0: without the compute-sanitizer pass (a quick run).
  [ "${GPU_TESTS_SANITIZER:-1}" = 0 ] && sanitizer=
  while IFS='|' read -r name input rtol atol; do
    local c="$dir/$name" expects=()
    while read -r output; do
      expects+=(--expect "$c/expected/$output.npy")
    done <"$c/expected/order.txt"
    # --bench 3: three more calls on device buffers (the second and third
    # captured and replayed as a CUDA graph), whose outputs quant-run
    # checks against the first run's, bit for bit.
    if "$dir/bin/quant-run" "$c/libmodel.so" --name model -i "$dir/$input" \
         "${expects[@]}" --rtol "$rtol" --atol "$atol" --bench 3 \
         >"$c/run.log" 2>&1; then
      echo "PASS $name: $(grep -m1 -o 'max abs error [^,]*' "$c/run.log" || true)"
      passed=$((passed + 1))
    else
      echo "FAIL $name:"; sed 's/^/  /' "$c/run.log"
      failed=$((failed + 1))
    fi
    if [ -n "$sanitizer" ]; then
      if "$sanitizer" --tool memcheck --error-exitcode 3 \
           "$dir/bin/quant-run" "$c/libmodel.so" --name model \
           -i "$dir/$input" >"$c/sanitizer.log" 2>&1; then
        echo "PASS $name under compute-sanitizer memcheck: $(tail -1 "$c/sanitizer.log")"
        passed=$((passed + 1))
      else
        echo "FAIL $name under compute-sanitizer:"; tail -20 "$c/sanitizer.log" | sed 's/^/  /'
        failed=$((failed + 1))
      fi
    fi
  done <"$dir/cases.txt"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

case $mode in
prepare) prepare ;;
run) run ;;
# (prepare as a command of its own, so that set -e stops at a failing
# compile: on the left of && it would not, and run would then skip.)
check)
  prepare
  run
  ;;
*) echo "usage: gpu-tests.sh prepare|run|check DIR" >&2; exit 2 ;;
esac
