"""qc-fold-scales end to end, against numpy references of the ONNX graphs.

CNN of scripts/gen_models.py (Conv -> BatchNormalization -> Relu -> MaxPool
-> Conv -> BatchNormalization -> Relu -> GlobalAveragePool -> Gemm ->
Softmax): after import and qc-fold-scales no tosa.mul is left (both
BatchNorm scales went into the conv filters), and the compiled model (whose
pipeline folds) matches a numpy evaluation of the unfolded graph to 1e-5
relative on 8 random inputs.

QDQ model (QuantizeLinear/DequantizeLinear around a MatMul + Add, then
QLinearMatMul): after qc-fold-scales the first matmul reads the codes
(no qc.dequantize is left before a qc.matmul) and the compiled output
equals numpy's dequantize -> float product -> quantize evaluation to within
one output step everywhere, and exactly on >= 99 % of the elements.

usage: fold_scales_check.py GEN_MODELS QUANT_TRANSLATE QUANT_OPT
                            QUANT_COMPILE QUANT_RUN WORKDIR
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import numpy_helper  # noqa: E402
from quanttest import compile_and_run, report  # noqa: E402

gen, translate, opt, compile_tool, run_tool, work = sys.argv[1:7]
rng = np.random.default_rng(11)


def initializers(path):
    model = onnx.load(path)
    return {t.name: numpy_helper.to_array(t).astype(np.float64)
            for t in model.graph.initializer}


def folded_ir(path):
    imported = subprocess.run([translate, "--import-onnx", path], check=True,
                              capture_output=True, text=True).stdout
    before = imported
    after = subprocess.run([opt, "--qc-fold-scales"], input=imported,
                           check=True, capture_output=True, text=True).stdout
    return before, after


def conv2d(x, w, b, stride, pad):
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    oh, ow = (h - kh) // stride + 1, (wd - kw) // stride + 1
    y = np.zeros((n, f, oh, ow))
    for i in range(kh):
        for j in range(kw):
            patch = x[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
            y += np.einsum("nchw,fc->nfhw", patch, w[:, :, i, j])
    return y + (0 if b is None else b[None, :, None, None])


def batch_norm(x, p, prefix):
    s, b = p[prefix + "_scale"], p[prefix + "_bias"]
    m, v = p[prefix + "_mean"], p[prefix + "_var"]
    e = lambda a: a[None, :, None, None]  # noqa: E731
    return (x - e(m)) / np.sqrt(e(v) + 1e-5) * e(s) + e(b)


def cnn_reference(x, p):
    h = np.maximum(batch_norm(conv2d(x, p["c1_w"], p["c1_b"], 1, 1), p,
                              "bn1"), 0)
    n, c, hh, ww = h.shape
    h = h.reshape(n, c, hh // 2, 2, ww // 2, 2).max(axis=(3, 5))
    h = np.maximum(batch_norm(conv2d(h, p["c2_w"], None, 2, 1), p, "bn2"), 0)
    logits = h.mean(axis=(2, 3)) @ p["fc_w"].T + p["fc_b"]
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def quantize(x, scale, zero, lo, hi):
    return np.clip(np.round(x / scale) + zero, lo, hi)


def qdq_reference(x, p):
    xq = quantize(x, 0.02, 128, 0, 255)
    xd = (xq - 128) * 0.02
    h = xd @ (p["wq1"] * p["ws1"][None, :]) + p["b1"]
    r = np.maximum(h, 0)
    rq = quantize(r, 0.01, 0, 0, 255)
    y = (rq * 0.01) @ (p["wq2"] * 0.003)
    yq = quantize(y, 0.02, 128, 0, 255)
    return (yq - 128) * 0.02


def run(path, tag, shape, reference):
    params = initializers(path)
    inputs, expected = [], []
    for i in range(8):
        x = rng.standard_normal(shape).astype(np.float32)
        f = os.path.join(work, "%s_in%d.npy" % (tag, i))
        np.save(f, x)
        inputs.append(f)
        expected.append(reference(x.astype(np.float64), params))
    name = "probs" if tag == "cnn" else "y"
    got = compile_and_run((compile_tool, run_tool), path, work, tag, [],
                          inputs, name)
    return got, expected


cnn = os.path.join(work, "cnn.onnx")
qdq = os.path.join(work, "qdq.onnx")
for kind, path in (("cnn", cnn), ("qdq", qdq)):
    subprocess.run([sys.executable, gen, kind, path], check=True)

before, after = folded_ir(cnn)
muls_before = len(re.findall(r"tosa\.mul ", before))
muls_after = len(re.findall(r"tosa\.mul ", after))
convs_after = len(re.findall(r"linalg\.conv_2d_nchw_fchw ", after))
got, want = run(cnn, "cnn", (2, 3, 16, 16), cnn_reference)
rel = max(np.abs(g - w).max() / np.abs(w).max() for g, w in zip(got, want))
print("CNN: tosa.mul %d -> %d, convs %d, max relative error %.2e" %
      (muls_before, muls_after, convs_after, rel))

_, qdq_after = folded_ir(qdq)
dequantized_operand = re.search(
    r"(%\S+) = qc\.dequantize [^\n]*\n(?:[^\n]*\n)*?[^\n]*qc\.matmul \1\b",
    qdq_after) is not None
got_q, want_q = run(qdq, "qdq", (8, 64), qdq_reference)
steps = np.concatenate([np.abs(g - w).ravel() / 0.02
                        for g, w in zip(got_q, want_q)])
print("QDQ: max difference %.3f steps, %.2f %% exact" %
      (steps.max(), 100 * np.mean(steps < 1e-3)))

report([
    ("BatchNorm folded into the convs", muls_before >= 2 and muls_after == 0
     and convs_after == 2),
    ("CNN float output preserved (<= 1e-5 relative)", rel <= 1e-5),
    ("QDQ matmul reads the codes", not dequantized_operand
     and "qc.dequantize" in qdq_after),
    ("QDQ output within one step, >= 99 % exact",
     steps.max() <= 1 + 1e-3 and np.mean(steps < 1e-3) >= 0.99),
])
