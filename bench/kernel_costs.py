#!/usr/bin/env python3
"""Measures the cost model qc-assign-precision's latency budget uses: our own
CPU matmul kernels, one weight format at a time.

    /usr/bin/python3 bench/kernel_costs.py BUILD_BIN_DIR [--k 4096] [--n 4096]
        [--m 32] [--runs 20]

For each weight format (float, int8, int4-g32, int4-g128, int4, fp8) it
compiles a single MatMul [M, K] x [K, N] (quant-compile --parallel=false,
so one core: the model is per core) at M = 1 and at M = --m, times it with
quant-run --bench, and prints

- at M = 1: the time per weight byte our kernel reads (ns/byte, codes one
  per byte for int4: the CPU kernels do not read packed nibbles yet) — the
  memory term;
- at M = --m: the multiply-accumulates per ns — the compute term.

numerics::defaultCpuCostModel() holds the figures of one run of this
script (docs/transforms.md says which); the model of a layer is
max(bytes · ns/byte, m·n·k / MACs per ns).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, "/usr/lib/python3/dist-packages")
import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper, save_model  # noqa: E402

FORMATS = [
    ("float", []),
    ("int8", ["--weights=int8", "--group=0"]),
    ("int4-g32", ["--weights=int4", "--group=32"]),
    ("int4-g128", ["--weights=int4", "--group=128"]),
    ("int4", ["--weights=int4", "--group=0"]),
    ("fp8", ["--weights=fp8", "--group=0"]),
]


def weight_bytes(name, k, n):
    """Bytes our kernel reads: codes one per byte (4 for float), f32 scales."""
    if name == "float":
        return 4 * k * n
    group = {"int4-g32": 32, "int4-g128": 128}.get(name, k)
    return k * n + 4 * n * (k // group)


def model(path, m, k, n, rng):
    w = numpy_helper.from_array(
        (rng.standard_normal((k, n)) * 0.05).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")], "mm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])], [w])
    onnx_model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx_model.ir_version = 8
    save_model(onnx_model, path)


def median_ms(run_tool, lib, x, runs):
    out = subprocess.run([run_tool, lib, "-i", x, "--bench", str(runs)],
                         check=True, capture_output=True, text=True).stdout
    match = re.search(r"median ([0-9.]+) ms", out)
    if not match:
        sys.exit("no latency in quant-run's output:\n" + out)
    return float(match.group(1))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bin")
    p.add_argument("--k", type=int, default=4096)
    p.add_argument("--n", type=int, default=4096)
    p.add_argument("--m", type=int, default=32)
    p.add_argument("--runs", type=int, default=20)
    a = p.parse_args()
    qc, qr = (os.path.join(a.bin, t) for t in ("quant-compile", "quant-run"))
    rng = np.random.default_rng(0)
    print("| format | M=1 ms | ns/byte | M=%d ms | MACs/ns |" % a.m)
    print("|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="kernel-costs-") as tmp:
        for m in (1, a.m):
            model(os.path.join(tmp, "m%d.onnx" % m), m, a.k, a.n, rng)
            np.save(os.path.join(tmp, "x%d.npy" % m),
                    rng.standard_normal((m, a.k)).astype(np.float32))
        for name, flags in FORMATS:
            times = {}
            for m in (1, a.m):
                lib = os.path.join(tmp, "%s_%d.so" % (name, m))
                subprocess.run([qc, os.path.join(tmp, "m%d.onnx" % m),
                                "--emit=shared", "--parallel=false", "-o", lib]
                               + flags, check=True)
                times[m] = median_ms(qr, lib, os.path.join(tmp, "x%d.npy" % m),
                                     a.runs)
            nbytes = weight_bytes(name, a.k, a.n)
            print("| %s | %.3f | %.4f | %.3f | %.2f |" % (
                name, times[1], times[1] * 1e6 / nbytes, times[a.m],
                a.m * a.k * a.n / (times[a.m] * 1e6)))


if __name__ == "__main__":
    main()
