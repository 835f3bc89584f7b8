#!/usr/bin/env bash
# The main job: compile the bundled ONNX model (examples/tiny-cnn.onnx, a small
# CNN with BatchNorm) with quant-compile into an object file, link it into a
# tiny C program (examples/run_tiny_cnn.c), run it, and print its outputs next
# to ONNX Runtime's for the same input.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
demo="$build_dir/demo"
./scripts/install-ort.sh >/dev/null
mkdir -p "$demo/ort"
"$build_dir/bin/quant-compile" examples/tiny-cnn.onnx -o "$demo/tiny_cnn.o"
cc -O2 -I "$demo" examples/run_tiny_cnn.c "$demo/tiny_cnn.o" -lm -lomp -o "$demo/run_tiny_cnn"
/usr/bin/python3 - "$demo" <<'PY'
import sys
import numpy as np
d = sys.argv[1]
x = np.sin(0.1 * np.arange(2 * 3 * 16 * 16)).astype(np.float32).reshape(2, 3, 16, 16)
np.save(d + "/x.npy", x)
x.tofile(d + "/x.bin")
PY
echo "quant-compile examples/tiny-cnn.onnx -> $demo/tiny_cnn.o + tiny_cnn.h, linked into run_tiny_cnn:"
"$demo/run_tiny_cnn" "$demo/x.bin" "$demo/y.bin"
echo "ONNX Runtime $(node -p 'require("./bench/ort/node_modules/onnxruntime-node/package.json").version'), same input:"
node bench/ort/ort_run.js examples/tiny-cnn.onnx -i "x=$demo/x.npy" --print -o "$demo/ort"
/usr/bin/python3 - "$demo" <<'PY'
import sys
import numpy as np
d = sys.argv[1]
ours = np.fromfile(d + "/y.bin", dtype=np.float32)
ort = np.load(d + "/ort/probs.npy").ravel()
diff = float(np.abs(ours - ort).max())
print("max |quant - ONNX Runtime| = %.3g over %d outputs" % (diff, ours.size))
if not diff <= 1e-5:
    sys.exit("demo: the outputs differ by more than 1e-5")
PY
