"""qc-fold-norms and qc-rotate keep the float function, end to end:
generated Llama-style decoders (scripts/gen_llama.py; RMSNorm with gains,
rotary attention, SiLU MLP) at hidden 64 / MLP 128 (powers of two), hidden
48 / heads 2 / MLP 96 (K = 12 Paley factors: 48 = 12·4, head 24 = 12·2,
96 = 12·8) and MLP 104 (= 8·13, the block-diagonal fallback of size 8),
compiled float and with --rotate, run on the same token ids (the first
also with --rotation random-orthogonal); and a
LayerNorm model (LayerNormalization with gain and bias feeding two MatMuls
with bias) imported, run through quant-opt --qc-fold-norms, compiled and
compared with the unfolded module; and a LayerNorm decoder (embedding,
LayerNorms with gain and bias, MLP blocks with biases) compiled with
--rotate, which bakes the LayerNorms' mean subtraction into the writers.
Checks max |y - y_float| <= tol * max |y_float|: tol 1e-4 for rotation,
1e-5 for norm folding.

usage: rotate_check.py QUANT_COMPILE QUANT_RUN WORKDIR
"""
import os
import subprocess
import sys

sys.path.insert(0, "/usr/lib/python3/dist-packages")
import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper, save_model  # noqa: E402

compile_tool, run_tool, work = sys.argv[1:4]
tools = os.path.dirname(os.path.abspath(compile_tool))
here = os.path.dirname(os.path.abspath(__file__))
gen = os.path.join(here, "..", "..", "..", "..", "scripts", "gen_llama.py")


def run(lib, inputs, output):
    out = lib + ".out"
    os.makedirs(out, exist_ok=True)
    args = [run_tool, lib, "--name", "m", "-o", out]
    for f in inputs:
        args += ["-i", f]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return np.load(os.path.join(out, output + ".npy")).astype(np.float64)


def build(model, tag, flags):
    lib = os.path.join(work, "lib%s.so" % tag)
    subprocess.run([compile_tool, model, "--emit=shared", "--name", "m",
                    "-o", lib] + flags, check=True)
    return lib


checks = []
ids = os.path.join(work, "ids.npy")
np.save(ids, np.random.default_rng(0).integers(0, 256, (1, 8)).astype(
    np.int64))
for tag, extra in [("pow2", []),
                   ("k12", ["--hidden", "48", "--heads", "2", "--ffn", "96"]),
                   ("fallback", ["--ffn", "104"])]:
    d = os.path.join(work, tag)
    subprocess.run([sys.executable, gen, d] + extra, check=True,
                   stdout=subprocess.DEVNULL)
    model = os.path.join(d, "model.onnx")
    y = run(build(model, tag, []), [ids], "logits")
    r = run(build(model, tag + "_rot", ["--rotate", "--rotate-seed", "3"]),
            [ids], "logits")
    err = np.abs(r - y).max() / np.abs(y).max()
    print("%-8s rotate: max relative error %.2e" % (tag, err))
    checks.append(("rotate keeps the %s decoder" % tag, err <= 1e-4))
    if tag == "pow2":
        o = run(build(model, tag + "_orth", ["--rotate", "--rotate-seed", "3",
                                             "--rotation",
                                             "random-orthogonal"]),
                [ids], "logits")
        err = np.abs(o - y).max() / np.abs(y).max()
        print("%-8s random-orthogonal: max relative error %.2e" % (tag, err))
        checks.append(("random-orthogonal rotation keeps the pow2 decoder",
                       err <= 1e-4 and not np.array_equal(o, r)))
    # Structure: two online Hadamards per layer (o_proj per head, down_proj),
    # every norm gain-free.
    imported = os.path.join(d, "model.mlir")
    subprocess.run([os.path.join(tools, "quant-translate"), "--import-onnx",
                    model, "-o", imported], check=True)
    rotated = subprocess.run(
        [os.path.join(tools, "quant-opt"), imported, "--qc-fold-norms",
         "--qc-rotate"], check=True, capture_output=True, text=True).stdout
    norms = [l for l in rotated.splitlines() if "qc.rms_norm" in l]
    checks.append(("rotate puts 2 online Hadamards per layer in %s" % tag,
                   rotated.count("qc.hadamard") == 4 and len(norms) == 5 and
                   all(" scale " not in l for l in norms)))

# LayerNorm with gain and bias -> two MatMuls with bias.
rng = np.random.default_rng(1)
x = rng.standard_normal((6, 32)).astype(np.float32) * 3 + 1
inits = [numpy_helper.from_array(a.astype(np.float32), n) for a, n in [
    (rng.uniform(0.5, 2, 32), "g"), (rng.standard_normal(32), "b"),
    (rng.standard_normal((32, 16)), "w1"), (rng.standard_normal(16), "c1"),
    (rng.standard_normal((32, 8)), "w2")]]
nodes = [helper.make_node("LayerNormalization", ["x", "g", "b"], ["n"],
                          axis=-1, epsilon=1e-5, name="ln"),
         helper.make_node("MatMul", ["n", "w1"], ["m1"], name="fc1"),
         helper.make_node("Add", ["m1", "c1"], ["y1"], name="bias1"),
         helper.make_node("MatMul", ["n", "w2"], ["y2"], name="fc2")]
graph = helper.make_graph(
    nodes, "ln",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [6, 32])],
    [helper.make_tensor_value_info("y1", TensorProto.FLOAT, [6, 16]),
     helper.make_tensor_value_info("y2", TensorProto.FLOAT, [6, 8])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx_path = os.path.join(work, "ln.onnx")
save_model(model, onnx_path)
xin = os.path.join(work, "x.npy")
np.save(xin, x)
plain = os.path.join(work, "ln.mlir")
folded = os.path.join(work, "ln_folded.mlir")
subprocess.run([os.path.join(tools, "quant-translate"), "--import-onnx",
                onnx_path, "-o", plain], check=True)
subprocess.run([os.path.join(tools, "quant-opt"), plain, "--qc-fold-norms",
                "-o", folded], check=True)
text = open(folded).read()
checks.append(("fold-norms leaves a LayerNorm without gain and bias",
               "qc.layer_norm" in text and " scale " not in text and
               " bias " not in text.split("qc.layer_norm")[1].split("\n")[0]))
for name in ["y1", "y2"]:
    a = run(build(plain, "ln", []), [xin], name)
    b = run(build(folded, "ln_folded", []), [xin], name)
    err = np.abs(a - b).max() / np.abs(a).max()
    print("layernorm %s fold-norms: max relative error %.2e" % (name, err))
    checks.append(("fold-norms keeps the LayerNorm model's %s" % name,
                   err <= 1e-5))
# A LayerNorm decoder (OPT-style): Gather embedding -> 2 x [LayerNorm with
# gain and bias -> MatMul + bias -> Relu -> MatMul + bias -> residual Add]
# -> LayerNorm -> MatMul head. --rotate folds the gains and biases, bakes
# the mean subtraction into the writers (and their biases, and the
# embedding), turns the LayerNorms into RMS norms and rotates.
hidden, vocab = 16, 32
inits = [numpy_helper.from_array(
    rng.standard_normal((vocab, hidden)).astype(np.float32) + 0.5, "emb")]
nodes = [helper.make_node("Gather", ["emb", "ids"], ["h0"], name="embed")]
value = "h0"
for layer in range(2):
    p = "l%d_" % layer
    inits += [numpy_helper.from_array(a.astype(np.float32), p + n) for a, n in [
        (rng.uniform(0.5, 2, hidden), "g"), (rng.standard_normal(hidden), "b"),
        (rng.standard_normal((hidden, 32)) * 0.3, "w1"),
        (rng.standard_normal(32), "c1"),
        (rng.standard_normal((32, hidden)) * 0.3, "w2"),
        (rng.standard_normal(hidden) + 1, "c2")]]
    nodes += [
        helper.make_node("LayerNormalization", [value, p + "g", p + "b"],
                         [p + "n"], axis=-1, epsilon=1e-5, name=p + "ln"),
        helper.make_node("MatMul", [p + "n", p + "w1"], [p + "m1"],
                         name=p + "fc1"),
        helper.make_node("Add", [p + "m1", p + "c1"], [p + "a1"]),
        helper.make_node("Relu", [p + "a1"], [p + "r"]),
        helper.make_node("MatMul", [p + "r", p + "w2"], [p + "m2"],
                         name=p + "fc2"),
        helper.make_node("Add", [p + "m2", p + "c2"], [p + "a2"]),
        helper.make_node("Add", [value, p + "a2"], [p + "h"])]
    value = p + "h"
inits += [numpy_helper.from_array(a.astype(np.float32), n) for a, n in [
    (rng.uniform(0.5, 2, hidden), "gf"), (rng.standard_normal(hidden), "bf"),
    (rng.standard_normal((hidden, vocab)), "head")]]
nodes += [helper.make_node("LayerNormalization", [value, "gf", "bf"], ["nf"],
                           axis=-1, epsilon=1e-5, name="ln_f"),
          helper.make_node("MatMul", ["nf", "head"], ["logits"], name="head")]
graph = helper.make_graph(
    nodes, "ln_decoder",
    [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 8])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                   [1, 8, vocab])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
ln_decoder = os.path.join(work, "ln_decoder.onnx")
save_model(model, ln_decoder)
ln_ids = os.path.join(work, "ln_ids.npy")
np.save(ln_ids, rng.integers(0, vocab, (1, 8)).astype(np.int64))
y = run(build(ln_decoder, "lndec", []), [ln_ids], "logits")
r = run(build(ln_decoder, "lndec_rot", ["--rotate", "--rotate-seed", "5"]),
        [ln_ids], "logits")
err = np.abs(r - y).max() / np.abs(y).max()
print("layernorm decoder rotate: max relative error %.2e" % err)
checks.append(("rotate keeps the LayerNorm decoder (mean baked)",
               err <= 1e-4))

failures = 0
for name, ok in checks:
    print("%s %s" % ("PASS" if ok else "FAIL", name))
    failures += not ok
sys.exit(1 if failures else 0)
