#!/usr/bin/env python3
"""Generates a Llama-style decoder as an ONNX model with weights in external data.

    /usr/bin/python3 scripts/gen_llama.py OUT_DIR [--layers 2 --hidden 64 ...]

The model: token embedding (Gather), per layer RMSNorm (decomposed the way
exporters write it: Pow, ReduceMean, Add, Sqrt, Div, Mul), multi-head attention
with rotary embeddings on Q and K and a causal mask, a residual add, RMSNorm,
a SiLU-gated MLP (gate * sigmoid(gate) * up, down), a residual add; a final
RMSNorm and the LM head. Weights are random (seeded), stored [in, out] as
torch exports them (y = x W), float32, appended to OUT_DIR/weights.bin with
4096-byte alignment so they can be mapped in place. The sequence length is
fixed (--seq); the input is int64 token ids [batch, seq] (--batch, default 1),
the output logits [batch, seq, vocab].

--weights-from FILE.npz takes the weights from a file instead of drawing them
(arrays named as the initializers below, e.g. "layers.0.q_proj" [in, out],
"layers.0.input_norm.weight" [hidden]; scripts/train_bytelm.py writes one).

--outliers C injects outlier channels into the residual stream the way large
models show them: 4 fixed channels of the embedding and of every layer that
writes the stream (o_proj, down_proj) are multiplied by C (20-100 in real
models), so those channels of the stream, and of every normalised input of
q/k/v, gate/up and the head, are about C times larger than the rest.

--matmul-nbits BLOCK writes every projection (q, k, v, o, gate, up, down
and the LM head) as com.microsoft MatMulNBits instead of MatMul: the weight
quantized to 4 bits, symmetric (zero point 8, scale max|w|/7 per BLOCK
values of K), packed [N, K/BLOCK, BLOCK/2] low nibble first, the way ONNX
Runtime's int4 models are written. The embedding stays float32.

--past P makes the model one decode step with a key/value cache: per layer
inputs past.<i>.key and past.<i>.value [batch, heads, P, head_dim], which
the new keys and values are appended to (outputs present.<i>.key/value,
[batch, heads, P + seq, head_dim]); the rotary positions are P .. P+seq-1
and every new token sees the whole cache.

Sizes: --preset tiny (tests), or --preset 1b (about 1.1 billion parameters,
4.5 GB of weights: hidden 2048, 22 layers, 32 heads, MLP 4608, vocab 32000).
Requires Debian's python3-onnx and python3-numpy.
"""
import argparse
import os

import numpy as np
from onnx import TensorProto, helper, save_model

PRESETS = {
    "tiny": dict(layers=2, hidden=64, heads=4, ffn=128, vocab=256, seq=8),
    "1b": dict(layers=22, hidden=2048, heads=32, ffn=4608, vocab=32000, seq=128),
}

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("out")
parser.add_argument("--preset", choices=PRESETS, default="tiny")
for key in PRESETS["tiny"]:
    parser.add_argument("--" + key, type=int)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--batch", type=int, default=1)
parser.add_argument("--weights-from", metavar="FILE.npz")
parser.add_argument("--outliers", type=float, default=1.0, metavar="C")
parser.add_argument("--matmul-nbits", type=int, metavar="BLOCK")
parser.add_argument("--past", type=int, default=0, metavar="P")
args = parser.parse_args()
cfg = dict(PRESETS[args.preset])
for key in cfg:
    if getattr(args, key) is not None:
        cfg[key] = getattr(args, key)
L, H, NH, F, V, S = (cfg[k] for k in ("layers", "hidden", "heads", "ffn", "vocab", "seq"))
if H % NH or (H // NH) % 2:
    raise SystemExit("hidden must be a multiple of 2 * heads")
D = H // NH
P = args.past
if P < 0:
    raise SystemExit("--past must be >= 0")
if args.matmul_nbits is not None:
    block = args.matmul_nbits
    if block < 16 or block & (block - 1) or H % block or F % block:
        raise SystemExit("--matmul-nbits must be a power of two >= 16 dividing hidden and ffn")

os.makedirs(args.out, exist_ok=True)
data_path = os.path.join(args.out, "weights.bin")
data = open(data_path, "wb")
rng = np.random.default_rng(args.seed)
trained = np.load(args.weights_from) if args.weights_from else None
OUTLIER_CHANNELS = [1, H // 3, H // 2 + 1, H - 2]
initializers, nodes = [], []


def external(name, array, dtype=np.float32):
    """Appends `array` to weights.bin (4096-aligned) and returns its name."""
    array = np.ascontiguousarray(array, dtype=dtype)
    pad = (-data.tell()) % 4096
    data.write(b"\0" * pad)
    offset = data.tell()
    data.write(array.tobytes())
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.UINT8 if dtype == np.uint8 else TensorProto.FLOAT
    t.dims.extend(array.shape)
    t.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "weights.bin"), ("offset", str(offset)),
                       ("length", str(array.nbytes))):
        entry = t.external_data.add()
        entry.key, entry.value = key, value
    initializers.append(t)
    return name


def weight(name, rows, cols, outliers=False):
    return external(name, weight_array(name, rows, cols, outliers))


def weight_array(name, rows, cols, outliers=False):
    if trained is not None:
        array = trained[name].astype(np.float32)
        if array.shape != (rows, cols):
            raise SystemExit(f"{args.weights_from}: {name} is {array.shape}, expected {(rows, cols)}")
        return inject(array) if outliers else array
    # Generated in row blocks to bound the generator's memory.
    scale = 1.0 / np.sqrt(rows)
    chunks = [(rng.standard_normal((min(4096, rows - r), cols), dtype=np.float32) * scale)
              for r in range(0, rows, 4096)]
    array = np.concatenate(chunks)
    return inject(array) if outliers else array


def project(x, name, rows, cols, out, outliers=False):
    """x · W for W [rows, cols]: a MatMul, or with --matmul-nbits a
    MatMulNBits over W quantized to 4 bits per block of rows."""
    if args.matmul_nbits is None:
        return node("MatMul", [x, weight(name, rows, cols, outliers)], out)
    w = weight_array(name, rows, cols, outliers).T.reshape(cols, rows // block, block)
    scale = np.maximum(np.abs(w).max(axis=2), 1e-8) / 7.0
    q = np.clip(np.rint(w / scale[:, :, None]) + 8, 0, 15).astype(np.uint8)
    packed = q[:, :, 0::2] | (q[:, :, 1::2] << 4)
    b = external(name + ".qweight", packed, np.uint8)
    s = external(name + ".scales", scale.reshape(-1))
    nodes.append(helper.make_node("MatMulNBits", [x, b, s], [out], name=out,
                                  domain="com.microsoft", K=rows, N=cols, bits=4,
                                  block_size=block))
    return out


def inject(array):
    """The output columns of the outlier channels times --outliers."""
    if args.outliers != 1.0:
        array = array.copy()
        array[:, OUTLIER_CHANNELS] *= args.outliers
    return array


def const(name, array):
    initializers.append(helper.make_tensor(name, TensorProto.FLOAT if array.dtype == np.float32
                                           else TensorProto.INT64, array.shape,
                                           array.flatten().tolist()))
    return name


def node(op, inputs, name, **attrs):
    nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
    return name


def rms_norm(x, prefix):
    name = prefix + ".weight"
    gamma = external(name, trained[name] if trained is not None
                     else 1.0 + 0.1 * rng.standard_normal(H, dtype=np.float32))
    sq = node("Pow", [x, "two"], prefix + ".pow")
    mean = node("ReduceMean", [sq], prefix + ".mean", axes=[-1], keepdims=1)
    var = node("Add", [mean, "eps"], prefix + ".add_eps")
    rms = node("Sqrt", [var], prefix + ".sqrt")
    normed = node("Div", [x, rms], prefix + ".div")
    return node("Mul", [normed, gamma], prefix + ".scale")


def rotary(x, prefix):
    """x: [1, NH, S, D]; rotate_half with the cos/sin tables."""
    first = node("Slice", [x, "zero1", "half1", "minus1"], prefix + ".x1")
    second = node("Slice", [x, "half1", "big1", "minus1"], prefix + ".x2")
    neg = node("Neg", [second], prefix + ".neg")
    rot = node("Concat", [neg, first], prefix + ".rot", axis=-1)
    a = node("Mul", [x, "cos"], prefix + ".xcos")
    b = node("Mul", [rot, "sin"], prefix + ".rsin")
    return node("Add", [a, b], prefix + ".rope")


def heads(x, prefix):
    r = node("Reshape", [x, "shape_heads"], prefix + ".reshape")
    return node("Transpose", [r], prefix + ".transpose", perm=[0, 2, 1, 3])


const("two", np.array(2.0, np.float32))
const("eps", np.array(1e-5, np.float32))
const("scale", np.array(1.0 / np.sqrt(D), np.float32))
const("zero1", np.array([0], np.int64))
const("half1", np.array([D // 2], np.int64))
const("big1", np.array([1 << 62], np.int64))
const("minus1", np.array([-1], np.int64))
const("shape_heads", np.array([0, 0, NH, D], np.int64))
const("shape_merge", np.array([0, 0, H], np.int64))
inv = 1.0 / (10000 ** (np.arange(0, D, 2, dtype=np.float32) / D))
angles = np.outer(np.arange(P, P + S, dtype=np.float32), inv)
const("cos", np.cos(np.concatenate([angles, angles], -1)).astype(np.float32))
const("sin", np.sin(np.concatenate([angles, angles], -1)).astype(np.float32))
mask = np.triu(np.full((S, P + S), -1e9, np.float32), k=P + 1)
const("mask", mask)

x = node("Gather", [weight("embed_tokens", V, H, outliers=True), "input_ids"], "embed")
for i in range(L):
    p = f"layers.{i}"
    h = rms_norm(x, p + ".input_norm")
    q = rotary(heads(project(h, p + ".q_proj", H, H, p + ".q"), p + ".qh"), p + ".q")
    k = rotary(heads(project(h, p + ".k_proj", H, H, p + ".k"), p + ".kh"), p + ".k")
    v = heads(project(h, p + ".v_proj", H, H, p + ".v"), p + ".vh")
    if P:
        k = node("Concat", [f"past.{i}.key", k], f"present.{i}.key", axis=2)
        v = node("Concat", [f"past.{i}.value", v], f"present.{i}.value", axis=2)
    kt = node("Transpose", [k], p + ".kt", perm=[0, 1, 3, 2])
    scores = node("Mul", [node("MatMul", [q, kt], p + ".qk"), "scale"], p + ".scaled")
    probs = node("Softmax", [node("Add", [scores, "mask"], p + ".masked")], p + ".probs", axis=-1)
    ctx = node("Transpose", [node("MatMul", [probs, v], p + ".ctx")], p + ".ctx_t", perm=[0, 2, 1, 3])
    merged = node("Reshape", [ctx, "shape_merge"], p + ".merge")
    x = node("Add", [x, project(merged, p + ".o_proj", H, H, p + ".o", outliers=True)], p + ".attn_residual")
    h = rms_norm(x, p + ".post_norm")
    gate = project(h, p + ".gate_proj", H, F, p + ".gate")
    silu = node("Mul", [gate, node("Sigmoid", [gate], p + ".sigmoid")], p + ".silu")
    up = project(h, p + ".up_proj", H, F, p + ".up")
    down = project(node("Mul", [silu, up], p + ".gated"), p + ".down_proj", F, H, p + ".down", outliers=True)
    x = node("Add", [x, down], p + ".mlp_residual")
h = rms_norm(x, "final_norm")
project(h, "lm_head", H, V, "logits")
data.close()

inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [args.batch, S])]
outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [args.batch, S, V])]
for i in range(L if P else 0):
    for kind in ("key", "value"):
        inputs.append(helper.make_tensor_value_info(
            f"past.{i}.{kind}", TensorProto.FLOAT, [args.batch, NH, P, D]))
        outputs.append(helper.make_tensor_value_info(
            f"present.{i}.{kind}", TensorProto.FLOAT, [args.batch, NH, P + S, D]))
graph = helper.make_graph(nodes, "llama", inputs, outputs, initializer=initializers)
opsets = [helper.make_opsetid("", 17)]
if args.matmul_nbits is not None:
    opsets.append(helper.make_opsetid("com.microsoft", 1))
model = helper.make_model(graph, opset_imports=opsets)
model.ir_version = 8
save_model(model, os.path.join(args.out, "model.onnx"))
params = sum(int(np.prod(t.dims)) * (2 if t.name.endswith(".qweight") else 1)
             for t in initializers
             if t.data_location == TensorProto.EXTERNAL and not t.name.endswith(".scales"))
print(f"wrote {args.out}/model.onnx: {L} layers, {params} parameters, "
      f"{os.path.getsize(data_path)} bytes of external data")
