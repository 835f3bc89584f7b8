"""Per-channel int4 weights (quant-compile --weights=int4 --group=0, W4A16)
on a MatMul with a 3-D input [1, 16, K], the shape every decoder layer has:
the output must equal x · dequant(quant(W)) computed here with numpy
(symmetric RTN: scale = max|W[:, j]| / 7, codes clip(round(W / scale), -8,
7)) to 1e-4 relative. A regression test: vectors of i4 codes were once read
bit-packed from memory laid out one code per byte (SQNR -2 dB instead of 18).

usage: int4_batched_check.py QUANT_COMPILE QUANT_RUN WORKDIR
"""
import os
import subprocess
import sys

sys.path.insert(0, "/usr/lib/python3/dist-packages")
import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper, save_model  # noqa: E402

compile_tool, run_tool, work = sys.argv[1:4]
rng = np.random.default_rng(0)
ok = True
for k, n in [(128, 64), (256, 96)]:
    w = rng.standard_normal((k, n)).astype(np.float32)
    x = rng.standard_normal((1, 16, k)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, n])],
        [numpy_helper.from_array(w, "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = os.path.join(work, "m%d.onnx" % k)
    save_model(model, path)
    np.save(os.path.join(work, "x.npy"), x)
    lib = os.path.join(work, "libm%d.so" % k)
    subprocess.run([compile_tool, path, "--emit=shared", "--name", "m", "-o",
                    lib, "--weights=int4", "--group=0"], check=True)
    out = os.path.join(work, "out%d" % k)
    os.makedirs(out, exist_ok=True)
    subprocess.run([run_tool, lib, "--name", "m", "-i",
                    os.path.join(work, "x.npy"), "-o", out], check=True,
                   stdout=subprocess.DEVNULL)
    y = np.load(os.path.join(out, "y.npy")).astype(np.float64)
    scale = np.abs(w).max(axis=0) / 7
    codes = np.clip(np.round(w / scale), -8, 7)
    expected = x.astype(np.float64) @ (codes * scale)
    err = np.abs(y - expected).max() / np.abs(expected).max()
    print("K=%d N=%d: max relative error %.2e" % (k, n, err))
    passed = err <= 1e-4
    ok = ok and passed
    print(("PASS" if passed else "FAIL") + " per-channel int4 with a 3-D input, K=%d" % k)
sys.exit(0 if ok else 1)
