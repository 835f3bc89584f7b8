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
args = parser.parse_args()
cfg = dict(PRESETS[args.preset])
for key in cfg:
    if getattr(args, key) is not None:
        cfg[key] = getattr(args, key)
L, H, NH, F, V, S = (cfg[k] for k in ("layers", "hidden", "heads", "ffn", "vocab", "seq"))
if H % NH or (H // NH) % 2:
    raise SystemExit("hidden must be a multiple of 2 * heads")
D = H // NH

os.makedirs(args.out, exist_ok=True)
data_path = os.path.join(args.out, "weights.bin")
data = open(data_path, "wb")
rng = np.random.default_rng(args.seed)
trained = np.load(args.weights_from) if args.weights_from else None
OUTLIER_CHANNELS = [1, H // 3, H // 2 + 1, H - 2]
initializers, nodes = [], []


def external(name, array):
    """Appends `array` to weights.bin (4096-aligned) and returns its TensorProto."""
    array = np.ascontiguousarray(array, dtype=np.float32)
    pad = (-data.tell()) % 4096
    data.write(b"\0" * pad)
    offset = data.tell()
    data.write(array.tobytes())
    t = TensorProto()
    t.name, t.data_type = name, TensorProto.FLOAT
    t.dims.extend(array.shape)
    t.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "weights.bin"), ("offset", str(offset)),
                       ("length", str(array.nbytes))):
        entry = t.external_data.add()
        entry.key, entry.value = key, value
    initializers.append(t)
    return name


def weight(name, rows, cols, outliers=False):
    if trained is not None:
        array = trained[name].astype(np.float32)
        if array.shape != (rows, cols):
            raise SystemExit(f"{args.weights_from}: {name} is {array.shape}, expected {(rows, cols)}")
        return external(name, inject(array) if outliers else array)
    # Generated in row blocks to bound the generator's memory.
    scale = 1.0 / np.sqrt(rows)
    chunks = [(rng.standard_normal((min(4096, rows - r), cols), dtype=np.float32) * scale)
              for r in range(0, rows, 4096)]
    array = np.concatenate(chunks)
    return external(name, inject(array) if outliers else array)


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
angles = np.outer(np.arange(S, dtype=np.float32), inv)
const("cos", np.cos(np.concatenate([angles, angles], -1)).astype(np.float32))
const("sin", np.sin(np.concatenate([angles, angles], -1)).astype(np.float32))
mask = np.triu(np.full((S, S), -1e9, np.float32), k=1)
const("mask", mask)

x = node("Gather", [weight("embed_tokens", V, H, outliers=True), "input_ids"], "embed")
for i in range(L):
    p = f"layers.{i}"
    h = rms_norm(x, p + ".input_norm")
    q = rotary(heads(node("MatMul", [h, weight(p + ".q_proj", H, H)], p + ".q"), p + ".qh"), p + ".q")
    k = rotary(heads(node("MatMul", [h, weight(p + ".k_proj", H, H)], p + ".k"), p + ".kh"), p + ".k")
    v = heads(node("MatMul", [h, weight(p + ".v_proj", H, H)], p + ".v"), p + ".vh")
    kt = node("Transpose", [k], p + ".kt", perm=[0, 1, 3, 2])
    scores = node("Mul", [node("MatMul", [q, kt], p + ".qk"), "scale"], p + ".scaled")
    probs = node("Softmax", [node("Add", [scores, "mask"], p + ".masked")], p + ".probs", axis=-1)
    ctx = node("Transpose", [node("MatMul", [probs, v], p + ".ctx")], p + ".ctx_t", perm=[0, 2, 1, 3])
    merged = node("Reshape", [ctx, "shape_merge"], p + ".merge")
    x = node("Add", [x, node("MatMul", [merged, weight(p + ".o_proj", H, H, outliers=True)], p + ".o")], p + ".attn_residual")
    h = rms_norm(x, p + ".post_norm")
    gate = node("MatMul", [h, weight(p + ".gate_proj", H, F)], p + ".gate")
    silu = node("Mul", [gate, node("Sigmoid", [gate], p + ".sigmoid")], p + ".silu")
    up = node("MatMul", [h, weight(p + ".up_proj", H, F)], p + ".up")
    down = node("MatMul", [node("Mul", [silu, up], p + ".gated"), weight(p + ".down_proj", F, H, outliers=True)], p + ".down")
    x = node("Add", [x, down], p + ".mlp_residual")
h = rms_norm(x, "final_norm")
node("MatMul", [h, weight("lm_head", H, V)], "logits")
data.close()

graph = helper.make_graph(
    nodes, "llama",
    [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [args.batch, S])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [args.batch, S, V])],
    initializer=initializers)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
save_model(model, os.path.join(args.out, "model.onnx"))
params = sum(int(np.prod(t.dims)) for t in initializers if t.data_location == TensorProto.EXTERNAL)
print(f"wrote {args.out}/model.onnx: {L} layers, {params} parameters, "
      f"{os.path.getsize(data_path)} bytes of external data")
