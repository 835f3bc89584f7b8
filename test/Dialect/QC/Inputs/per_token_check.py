"""Dynamic per-token activation quantization, end to end through
quant-compile --activations=intB --per-token: a one-layer model y = x W
(x [16, 64], W [64, 48]) compiled with per-channel or group-wise integer
weights and per-token activations, run, and compared with an independent
numpy model of the same arithmetic:
  weights: s_n = max|W[:, n]| / (2^(b-1) - 1) (per group of rows for g > 0),
           codes round_half_even(W / s) clamped;
  tokens:  s_m = max|x[m, :]| / (2^(a-1) - 1), codes likewise;
  y = (codes_x * s_x) @ (codes_W * s_W).
Checks max |y - reference| <= 1e-4 * max |reference| for W8A8, W4A4
per-channel (the integer path: codes multiplied in i32) and W4A4 g32 (i32
partial sums per group, scaled and summed in f32), that the W8A8 and W4A4
g32 modules multiply in i32, and that a row of zeros comes out as zeros
(its scale is 1, not 0/0).

usage: per_token_check.py QUANT_COMPILE QUANT_RUN WORKDIR
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
from quanttest import compile_and_run, report, save_mlp  # noqa: E402

compile_tool, run_tool, work = sys.argv[1:4]
rng = np.random.default_rng(3)
w = (rng.standard_normal((64, 48)) * 0.2).astype(np.float32)
path = os.path.join(work, "linear.onnx")
save_mlp(path, [w], 16)
x = rng.standard_normal((16, 64)).astype(np.float32)
x[3] *= 20  # rows of very different ranges: one scale per row matters
x[5] = 0
inp = os.path.join(work, "x.npy")
np.save(inp, x)


def fake_quant(a, bits, axis, group=0):
    """Symmetric round-to-nearest-even quantization along `axis` (one scale
    per slice, or per `group` elements of it), returned dequantized."""
    a = a.astype(np.float64)
    qmax = 2 ** (bits - 1) - 1
    if group:
        shape = a.shape
        a = a.reshape(shape[0] // group, group, shape[1])
        amax = np.abs(a).max(axis=1, keepdims=True)
    else:
        amax = np.abs(a).max(axis=axis, keepdims=True)
    s = np.where(amax == 0, 1.0, (amax.astype(np.float32) /
                                  np.float32(qmax)).astype(np.float64))
    q = np.clip(np.round(a / s), -qmax - 1, qmax) * s
    return q.reshape(-1, a.shape[-1]) if group else q


checks = []
for tag, wbits, abits, group in [("W8A8", 8, 8, 0), ("W4A4", 4, 4, 0),
                                 ("W4A4 g32", 4, 4, 32)]:
    flags = ["--weights=int%d" % wbits, "--group=%d" % group,
             "--activations=int%d" % abits, "--per-token"]
    y = compile_and_run((compile_tool, run_tool), path, work,
                        tag.replace(" ", "_"), flags, [inp], "y")[0]
    ref = fake_quant(x, abits, axis=1) @ fake_quant(w, wbits, axis=0,
                                                    group=group)
    err = np.abs(y - ref).max() / np.abs(ref).max()
    print("%-9s max relative error %.2e" % (tag, err))
    checks.append(("%s matches numpy" % tag, err <= 1e-4))
    checks.append(("%s zero row stays zero" % tag, np.all(y[5] == 0)))
for tag, flags in [("W8A8", ["--weights=int8", "--group=0",
                             "--activations=int8"]),
                   ("W4A4 g32", ["--weights=int4", "--group=32",
                                 "--activations=int4"])]:
    lowered = subprocess.run(
        [compile_tool, path, "--emit=mlir", "-o", "-", "--per-token"] + flags,
        check=True, capture_output=True, text=True).stdout
    # Integer products: scalar i32 multiplies, or the int8 kernel's dot
    # products (vpdpbusd; vpmaddwd on AVX2 without VNNI).
    checks.append(("%s per-token multiplies in i32" % tag,
                   re.search(r"llvm\.mul %\S+, %\S+ : i32|"
                             r"\"(\{vex\} )?(vpdpbusd|vpmaddwd) ", lowered)
                   is not None))
report(checks)
