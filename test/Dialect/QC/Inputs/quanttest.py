"""Helpers shared by the quantization tests' scripts: build small ONNX
models, compile them with quant-compile, run them with quant-run, and
measure output SQNR against the float model."""
import os
import subprocess
import sys

sys.path.insert(0, "/usr/lib/python3/dist-packages")
import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper, save_model  # noqa: E402


def save_mlp(path, weights, rows):
    """An ONNX MLP: x [rows, K] -> MatMul fc1 -> Relu -> MatMul fc2 ... -> y,
    one MatMul per weight ([K, N] arrays), Relu between them."""
    nodes, inits, value = [], [], "x"
    for i, w in enumerate(weights):
        out = "y" if i == len(weights) - 1 else "h%d" % i
        nodes.append(helper.make_node("MatMul", [value, "w%d" % i], [out],
                                      name="fc%d" % (i + 1)))
        inits.append(numpy_helper.from_array(w, "w%d" % i))
        value = out
        if i != len(weights) - 1:
            nodes.append(helper.make_node("Relu", [out], ["r%d" % i],
                                          name="relu%d" % (i + 1)))
            value = "r%d" % i
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                       [rows, weights[0].shape[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT,
                                       [rows, weights[-1].shape[1]])], inits)
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    save_model(model, path)


def compile_and_run(tools, model, work, tag, flags, inputs, output):
    """Compiles `model` with `flags` to WORK/lib<tag>.so and runs it on each
    input file; returns the output `output` of each run as float64."""
    compile_tool, run_tool = tools
    lib = os.path.join(work, "lib%s.so" % tag)
    subprocess.run([compile_tool, model, "--emit=shared", "--name", "m", "-o",
                    lib] + flags, check=True)
    results = []
    for i, f in enumerate(inputs):
        out = os.path.join(work, "%s%d" % (tag, i))
        os.makedirs(out, exist_ok=True)
        subprocess.run([run_tool, lib, "--name", "m", "-i", f, "-o", out],
                       check=True, stdout=subprocess.DEVNULL)
        results.append(np.load(os.path.join(out, output + ".npy")).astype(
            np.float64))
    return results


def sqnr(reference, outputs):
    """Signal-to-quantization-noise ratio in dB over lists of arrays."""
    signal = sum(np.sum(r ** 2) for r in reference)
    noise = sum(np.sum((y - r) ** 2) for y, r in zip(outputs, reference))
    return 10 * np.log10(signal / noise)


def report(checks):
    """Prints PASS/FAIL per (name, ok) and exits non-zero on any FAIL."""
    for name, ok in checks:
        print("%s %s" % ("PASS" if ok else "FAIL", name))
    sys.exit(0 if all(ok for _, ok in checks) else 1)
