"""Output error of weight-only quantization, end to end: a two-layer MLP
(ONNX MatMul, [K, N] weights with a few outlier weights) compiled in float
and with each --weights/--group/--weight-method setting, run on the same
inputs; prints the SQNR (dB) of each quantized output against the float one
and checks the orderings the formats must obey:
  int8 per-channel  > 35 dB
  int4 group 32     > int4 per-channel (finer groups, less error)
  int4 rtn-clip g32 >= int4 rtn g32 - 0.5 dB (the clip search does not hurt)
  every group-32 setting > 10 dB (int4 per channel is not: a column's
  outlier sets its scale and rounds its ordinary weights to 0)

usage: quantize_weights_check.py QUANT_COMPILE QUANT_RUN WORKDIR
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
from quanttest import compile_and_run, report, save_mlp, sqnr  # noqa: E402

compile_tool, run_tool, work = sys.argv[1:4]
rng = np.random.default_rng(7)
w1 = rng.standard_normal((256, 128)).astype(np.float32) * 0.05
w1[rng.integers(0, 256, 8), rng.integers(0, 128, 8)] *= 20  # outliers
w2 = rng.standard_normal((128, 64)).astype(np.float32) * 0.05
path = os.path.join(work, "mlp.onnx")
save_mlp(path, [w1, w2], 16)
x = os.path.join(work, "x.npy")
np.save(x, rng.standard_normal((16, 256)).astype(np.float32))


def run(tag, flags):
    return compile_and_run((compile_tool, run_tool), path, work, tag, flags,
                           [x], "y")


ref = run("float", [])
settings = {
    "int8-channel": ["--weights=int8", "--group=0"],
    "int4-channel": ["--weights=int4", "--group=0"],
    "int4-g32": ["--weights=int4", "--group=32"],
    "uint4-g32": ["--weights=uint4", "--group=32"],
    "int4-g32-clip": ["--weights=int4", "--group=32",
                      "--weight-method=rtn-clip"],
}
db = {}
for tag, flags in settings.items():
    db[tag] = sqnr(ref, run(tag, flags))
    print("%-14s SQNR %.1f dB" % (tag, db[tag]))
checks = [
    ("int8 per-channel > 35 dB", db["int8-channel"] > 35),
    ("int4 g32 > int4 per-channel", db["int4-g32"] > db["int4-channel"]),
    ("rtn-clip >= rtn - 0.5 dB", db["int4-g32-clip"] >= db["int4-g32"] - 0.5),
    ("group 32 > 10 dB", min(v for k, v in db.items() if "g32" in k) > 10),
]
report(checks)
