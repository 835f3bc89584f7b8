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
import subprocess
import sys

sys.path.insert(0, "/usr/lib/python3/dist-packages")
import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper, save_model  # noqa: E402

compile_tool, run_tool, work = sys.argv[1:4]
rng = np.random.default_rng(7)
w1 = rng.standard_normal((256, 128)).astype(np.float32) * 0.05
w1[rng.integers(0, 256, 8), rng.integers(0, 128, 8)] *= 20  # outliers
w2 = rng.standard_normal((128, 64)).astype(np.float32) * 0.05
graph = helper.make_graph(
    [helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
     helper.make_node("Relu", ["h"], ["r"], name="relu"),
     helper.make_node("MatMul", ["r", "w2"], ["y"], name="fc2")],
    "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [16, 256])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [16, 64])],
    [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
path = os.path.join(work, "mlp.onnx")
save_model(model, path)
np.save(os.path.join(work, "x.npy"),
        rng.standard_normal((16, 256)).astype(np.float32))


def run(tag, flags):
    lib = os.path.join(work, "lib%s.so" % tag)
    out = os.path.join(work, tag)
    os.makedirs(out, exist_ok=True)
    subprocess.run([compile_tool, path, "--emit=shared", "--name", "m", "-o",
                    lib] + flags, check=True)
    subprocess.run([run_tool, lib, "--name", "m", "-i",
                    os.path.join(work, "x.npy"), "-o", out], check=True,
                   stdout=subprocess.DEVNULL)
    return np.load(os.path.join(out, "y.npy")).astype(np.float64)


ref = run("float", [])
settings = {
    "int8-channel": ["--weights=int8", "--group=0"],
    "int4-channel": ["--weights=int4", "--group=0"],
    "int4-g32": ["--weights=int4", "--group=32"],
    "uint4-g32": ["--weights=uint4", "--group=32"],
    "int4-g32-clip": ["--weights=int4", "--group=32",
                      "--weight-method=rtn-clip"],
}
sqnr = {}
for tag, flags in settings.items():
    y = run(tag, flags)
    sqnr[tag] = 10 * np.log10(np.sum(ref ** 2) / np.sum((y - ref) ** 2))
    print("%-14s SQNR %.1f dB" % (tag, sqnr[tag]))
checks = [
    ("int8 per-channel > 35 dB", sqnr["int8-channel"] > 35),
    ("int4 g32 > int4 per-channel", sqnr["int4-g32"] > sqnr["int4-channel"]),
    ("rtn-clip >= rtn - 0.5 dB", sqnr["int4-g32-clip"] >= sqnr["int4-g32"] - 0.5),
    ("group 32 > 10 dB", min(v for k, v in sqnr.items() if "g32" in k) > 10),
]
for name, ok in checks:
    print("%s %s" % ("PASS" if ok else "FAIL", name))
sys.exit(0 if all(ok for _, ok in checks) else 1)
