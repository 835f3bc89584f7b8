"""qc-pack-weights end to end: an MLP (x[4, 64] -> MatMul 64x64 -> Relu ->
MatMul 64x32) with int4 group-32 weights (and int8 per-channel ones for
vnni) is packed in every layout; each packed module holds two
qc.packed_weight ops and its compiled outputs match those of the unpacked
module on 4 random inputs: bit-identical for the layouts that the lowering
unpacks at compile time (vnni, mma), and within 1e-5 of the largest output
for nibbles, whose contraction reads the packed words and sums each word's
codes before scaling (another order of float additions); the nibbles
lowering must contain that packed contraction, and the CPU's vector kernels
(qc-vectorize-packed-contractions) must replace it. The reference is the
quantized module lowered to linalg first (one code per byte), since
quant-compile's CPU pipeline packs int4 weights itself.

usage: pack_weights_check.py QUANT_TRANSLATE QUANT_OPT QUANT_COMPILE
                             QUANT_RUN WORKDIR
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
from quanttest import compile_and_run, report, save_mlp  # noqa: E402

translate, opt, compile_tool, run_tool, work = sys.argv[1:6]
rng = np.random.default_rng(3)
model = os.path.join(work, "mlp.onnx")
save_mlp(model, [rng.standard_normal((64, 64)).astype(np.float32),
                 rng.standard_normal((64, 32)).astype(np.float32)], 4)
inputs = []
for i in range(4):
    f = os.path.join(work, "x%d.npy" % i)
    np.save(f, rng.standard_normal((4, 64)).astype(np.float32))
    inputs.append(f)


def run_opt(source, target, args):
    subprocess.run([opt, source, "-o", target] + args, check=True)
    with open(target) as f:
        return f.read()


imported = os.path.join(work, "mlp.mlir")
subprocess.run([translate, "--import-onnx", model, "-o", imported],
               check=True)
checks = []
for bits, group, layouts in ((4, 32, ("nibbles", "vnni", "mma")),
                             (8, 0, ("vnni",))):
    quantized = os.path.join(work, "w%d.mlir" % bits)
    run_opt(imported, quantized,
            ["--qc-quantize-weights=bits=%d group=%d" % (bits, group)])
    # The reference contracts one code per byte: lowered to linalg before
    # quant-compile, whose CPU pipeline would otherwise pack the int4
    # weights itself.
    unpacked = quantized + ".linalg.mlir"
    run_opt(quantized, unpacked, ["--convert-qc-to-linalg"])
    reference = compile_and_run((compile_tool, run_tool), unpacked, work,
                                "w%d" % bits, [], inputs, "y")
    for layout in layouts:
        packed = os.path.join(work, "w%d_%s.mlir" % (bits, layout))
        text = run_opt(quantized, packed,
                       ["--qc-pack-weights=layout=" + layout])
        count = text.count("qc.packed_weight")
        got = compile_and_run((compile_tool, run_tool), packed, work,
                              "w%d_%s" % (bits, layout), [], inputs, "y")
        if layout == "nibbles":
            lowered = run_opt(packed, packed + ".lowered",
                              ["--convert-qc-to-linalg"])
            reads = lowered.count("qc.packed_contraction")
            # ... and the CPU pipeline turns them into its vector kernels.
            kernels = run_opt(packed + ".lowered", packed + ".kernels",
                              ["--qc-vectorize-packed-contractions"])
            reads = reads if ("qc.packed_contraction" not in kernels and
                              "vector.fma" in kernels) else -1
            err = max(float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
                      for a, b in zip(got, reference))
            print("int%d nibbles: %d packed weights, %d packed contractions,"
                  " relative error %.2e" % (bits, count, reads, err))
            checks.append(("int%d nibbles: 2 packed weights read packed, "
                           "outputs within 1e-5" % bits,
                           count == 2 and reads == 2 and err <= 1e-5))
            continue
        same = all(np.array_equal(a, b) for a, b in zip(got, reference))
        print("int%d %s: %d packed weights, outputs %s" %
              (bits, layout, count, "identical" if same else "DIFFER"))
        checks.append(("int%d %s: 2 packed weights, identical outputs" %
                       (bits, layout), count == 2 and same))
report(checks)
