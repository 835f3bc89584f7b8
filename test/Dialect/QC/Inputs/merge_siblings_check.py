"""qc-merge-siblings end to end: a generated Llama-style decoder (2 layers,
hidden 256, 4 heads, FFN 480, 5 tokens) whose q/k/v and gate/up projections
read one input each. quant-compile with and without --merge-siblings must
give bit-identical logits on the CPU for float weights, int4 and uint4
weights in groups of 32 ([k, n] weights, sub-channel parameters), W8A8 per
token (per-channel weights, int8 activations), and the same decoder
exported as MatMulNBits ([n, k] codes with zero points); and the pass must
merge: 19 matmuls of the imported (and quantized) decoder become 13 (per
layer q/k/v as one and gate/up as one: 2 x 3 fewer).

usage: merge_siblings_check.py QUANT_TRANSLATE QUANT_OPT QUANT_COMPILE
                               QUANT_RUN GEN_LLAMA WORKDIR
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
from quanttest import compile_and_run, report  # noqa: E402

translate, opt, compile_tool, run_tool, gen, work = sys.argv[1:7]
checks = []
for tag, extra in (("float", []), ("nbits", ["--matmul-nbits", "32"])):
    subprocess.run([sys.executable, gen, "--layers", "2", "--hidden", "256",
                    "--heads", "4", "--ffn", "480", "--seq", "5",
                    os.path.join(work, tag)] + extra, check=True,
                   stdout=subprocess.DEVNULL)
rng = np.random.default_rng(5)
inputs = []
for i in range(2):
    f = os.path.join(work, "input_ids%d" % i)
    os.makedirs(f, exist_ok=True)
    np.save(os.path.join(f, "input_ids.npy"),
            rng.integers(0, 256, (1, 5)).astype(np.int64))
    inputs.append("input_ids=" + os.path.join(f, "input_ids.npy"))


def count_matmuls(model, quantize):
    mlir = os.path.join(work, "count.mlir")
    subprocess.run([translate, "--import-onnx", model, "-o", mlir], check=True)
    if quantize:
        quantized = os.path.join(work, "count.q.mlir")
        subprocess.run([opt, mlir, "-o", quantized, "--qc-quantize-weights=" +
                        quantize], check=True)
        mlir = quantized
    before = open(mlir).read().count("qc.matmul")
    merged = subprocess.run([opt, mlir, "--qc-merge-siblings"], check=True,
                            capture_output=True, text=True).stdout
    return before, merged.count("qc.matmul")


for name, model, flags, quantize in (
        ("float", "float", [], None),
        ("int4 g32", "float", ["--weights=int4", "--group=32"],
         "bits=4 group=32"),
        ("uint4 g32", "float", ["--weights=uint4", "--group=32"],
         "bits=4 group=32 symmetric=false"),
        ("W8A8 per token", "float", ["--weights=int8", "--group=0",
                                     "--activations=int8", "--per-token"],
         "bits=8 group=0"),
        ("MatMulNBits", "nbits", [], None)):
    path = os.path.join(work, model, "model.onnx")
    before, after = count_matmuls(path, quantize)
    slug = name.replace(" ", "_")
    merged = compile_and_run((compile_tool, run_tool), path, work,
                             slug + "_merged", flags, inputs, "logits")
    apart = compile_and_run((compile_tool, run_tool), path, work,
                            slug + "_apart", flags + ["--merge-siblings=false"],
                            inputs, "logits")
    same = all(np.array_equal(a, b) for a, b in zip(merged, apart))
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(merged, apart))
    print("%s: %d matmuls -> %d, logits %s" %
          (name, before, after, "identical" if same else "differ by %g" % diff))
    checks.append(("%s: 19 matmuls merged to 13, identical logits" % name,
                   before == 19 and after == 13 and same))
report(checks)
