"""Quantized convolutions, end to end through quant-compile: the CNN of
scripts/gen_models.py (Conv -> BatchNormalization -> Relu -> MaxPool ->
Conv -> BatchNormalization -> Relu -> GlobalAveragePool -> Gemm ->
Softmax) calibrated on 16 input sets and run on 32 other sets (64 images).
Prints output SQNR against the float model and top-1 agreement, and checks:
  W8A8 (int8 per-channel weights, int8 per-tensor activations):
    top-1 agreement with float >= 99 %, SQNR > 30 dB
  W8A8 <= W8A16 + 0.1 dB (quantizing activations adds error)
  W4A16 (int4 per-channel) < W8A16 (fewer bits, more error)
and that the convolutions compute in integers: with the Gemm kept float,
the lowered module still multiplies i32 values (the i32 convolution of
the codes), and without --activations it does not.

usage: quantize_conv_check.py GEN_MODELS QUANT_COMPILE QUANT_RUN WORKDIR
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
from quanttest import compile_and_run, report, sqnr  # noqa: E402

gen, compile_tool, run_tool, work = sys.argv[1:5]
path = os.path.join(work, "cnn.onnx")
subprocess.run([sys.executable, gen, "cnn", path], check=True)
rng = np.random.default_rng(5)
calib = os.path.join(work, "calib")
for s in range(16):
    d = os.path.join(calib, "set%02d" % s)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "x.npy"),
            rng.standard_normal((2, 3, 16, 16)).astype(np.float32))
evals = []
for s in range(32):
    f = os.path.join(work, "eval%d.npy" % s)
    np.save(f, rng.standard_normal((2, 3, 16, 16)).astype(np.float32))
    evals.append(f)


def outputs(tag, flags):
    return compile_and_run((compile_tool, run_tool), path, work, tag, flags,
                           evals, "probs")


def top1(reference, ys):
    return np.mean(np.concatenate([y.argmax(-1) == r.argmax(-1)
                                   for y, r in zip(ys, reference)]))


ref = outputs("float", [])
w8 = ["--weights=int8", "--group=0"]
w8a8 = outputs("w8a8", w8 + ["--activations=int8", "--calib", calib])
results = {
    "W8A16": sqnr(ref, outputs("w8", w8)),
    "W8A8": sqnr(ref, w8a8),
    "W4A16": sqnr(ref, outputs("w4", ["--weights=int4", "--group=0"])),
}
agreement = top1(ref, w8a8)
for tag, value in results.items():
    print("%-6s SQNR %.1f dB" % (tag, value))
print("W8A8 top-1 agreement %.2f %% over %d images" %
      (100 * agreement, 2 * len(evals)))


def lowered(flags):
    return subprocess.run(
        [compile_tool, path, "--emit=mlir", "-o", "-", "--keep-float",
         "Gemm.*"] + w8 + flags, check=True, capture_output=True,
        text=True).stdout


def multiplies_i32(text):
    return re.search(r"llvm\.mul %\S+, %\S+ : i32", text) is not None


report([
    ("W8A8 top-1 >= 99 %", agreement >= 0.99),
    ("W8A8 > 30 dB", results["W8A8"] > 30),
    ("W8A8 <= W8A16 + 0.1 dB", results["W8A8"] <= results["W8A16"] + 0.1),
    ("W4A16 < W8A16", results["W4A16"] < results["W8A16"]),
    ("W8A8 convolutions multiply in i32",
     multiplies_i32(lowered(["--activations=int8", "--calib", calib])) and
     not multiplies_i32(lowered([]))),
])
