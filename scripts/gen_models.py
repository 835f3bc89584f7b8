#!/usr/bin/env python3
"""Generates small float ONNX models for end-to-end tests and the demo.

    /usr/bin/python3 scripts/gen_models.py {mlp,cnn,nbits,qdq} OUT.onnx [--seed S]

mlp: x[4, 64] -> Gemm(128) -> Relu -> MatMul(128x64) + Add -> Gelu-free tanh
     -> MatMul(64x10) -> Softmax.
cnn: x[2, 3, 16, 16] -> Conv 3x3 (8, pad 1) -> BatchNormalization -> Relu ->
     MaxPool 2x2 -> Conv 3x3 (16, stride 2, pad 1) -> BatchNormalization ->
     Relu -> GlobalAveragePool -> Flatten -> Gemm(10) -> Softmax.
nbits: x[4, 256] -> com.microsoft MatMulNBits (K 256, N 128, 4 bits, block 32,
     packed 4-bit zero points) -> Relu -> MatMul(128x16): ONNX Runtime's int4
     weight-only layout.
qdq: x[8, 64] -> QuantizeLinear/DequantizeLinear (uint8, per tensor) ->
     MatMul with an int8 per-channel DequantizeLinear weight -> Add -> Relu
     -> QuantizeLinear (uint8) -> QLinearMatMul (int8 weight) ->
     DequantizeLinear: a statically quantized graph as ONNX Runtime's
     quantization tool writes them (QDQ and QOperator forms; opset 17).
Weights are seeded random initializers (opset 17). Requires Debian's
python3-onnx and python3-numpy.
"""
import argparse

import numpy as np
from onnx import TensorProto, checker, helper, numpy_helper, save_model


def const(name, array):
    return numpy_helper.from_array(np.asarray(array, dtype=np.float32), name)


def mlp(rng):
    inits = [
        const("w1", rng.standard_normal((128, 64)) * 0.1),
        const("b1", rng.standard_normal(128) * 0.1),
        const("w2", rng.standard_normal((128, 64)) * 0.1),
        const("b2", rng.standard_normal(64) * 0.1),
        const("w3", rng.standard_normal((64, 10)) * 0.1),
    ]
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h1"], transB=1),
        helper.make_node("Relu", ["h1"], ["r1"]),
        helper.make_node("MatMul", ["r1", "w2"], ["h2"]),
        helper.make_node("Add", ["h2", "b2"], ["h3"]),
        helper.make_node("Tanh", ["h3"], ["t"]),
        helper.make_node("MatMul", ["t", "w3"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 64])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [4, 10])],
        inits)
    return graph


def cnn(rng):
    def bn(prefix, c):
        return [
            const(prefix + "_scale", 1 + 0.1 * rng.standard_normal(c)),
            const(prefix + "_bias", 0.1 * rng.standard_normal(c)),
            const(prefix + "_mean", 0.1 * rng.standard_normal(c)),
            const(prefix + "_var", 1 + 0.1 * np.abs(rng.standard_normal(c))),
        ]

    inits = [const("c1_w", rng.standard_normal((8, 3, 3, 3)) * 0.2),
             const("c1_b", rng.standard_normal(8) * 0.1)]
    inits += bn("bn1", 8)
    inits += [const("c2_w", rng.standard_normal((16, 8, 3, 3)) * 0.2)]
    inits += bn("bn2", 16)
    inits += [const("fc_w", rng.standard_normal((10, 16)) * 0.3),
              const("fc_b", rng.standard_normal(10) * 0.1)]
    nodes = [
        helper.make_node("Conv", ["x", "c1_w", "c1_b"], ["c1"],
                         pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization",
                         ["c1", "bn1_scale", "bn1_bias", "bn1_mean",
                          "bn1_var"], ["n1"], epsilon=1e-5),
        helper.make_node("Relu", ["n1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Conv", ["p1", "c2_w"], ["c2"], pads=[1, 1, 1, 1],
                         strides=[2, 2]),
        helper.make_node("BatchNormalization",
                         ["c2", "bn2_scale", "bn2_bias", "bn2_mean",
                          "bn2_var"], ["n2"], epsilon=1e-5),
        helper.make_node("Relu", ["n2"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes, "cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 16, 16])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [2, 10])],
        inits)
    return graph


def nbits(rng):
    k, n, block = 256, 128, 32
    blocks = k // block
    q = rng.integers(0, 16, (n, blocks, block)).astype(np.uint8)
    packed = (q[:, :, 0::2] | (q[:, :, 1::2] << 4)).astype(np.uint8)
    zp = rng.integers(0, 16, (n, blocks)).astype(np.uint8)
    zp_packed = (zp[:, 0::2] | (zp[:, 1::2] << 4)).astype(np.uint8)
    scales = (rng.random((n, blocks)) * 0.02 + 0.005).astype(np.float32)
    inits = [
        numpy_helper.from_array(packed, "B"),
        numpy_helper.from_array(scales.reshape(-1), "S"),
        numpy_helper.from_array(zp_packed.reshape(-1), "Z"),
        const("w2", rng.standard_normal((n, 16)) * 0.1),
    ]
    nodes = [
        helper.make_node("MatMulNBits", ["x", "B", "S", "Z"], ["h"],
                         domain="com.microsoft", K=k, N=n, bits=4,
                         block_size=block),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("MatMul", ["r", "w2"], ["y"]),
    ]
    return helper.make_graph(
        nodes, "nbits",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 16])],
        inits)


def qdq(rng):
    # 7-bit weights (what ONNX Runtime's own quantizer makes with
    # reduce_range): ONNX Runtime's x86 u8 x s8 kernels without VNNI add
    # pairs of products in 16 bits (vpmaddubsw), which saturates for 8-bit
    # weights and made its outputs, the test's expected ones, wrong by up to
    # 0.9 on an AVX2-only CPU.
    wq1 = rng.integers(-63, 64, (64, 32)).astype(np.int8)
    ws1 = (rng.random(32) * 0.008 + 0.002).astype(np.float32)
    wq2 = rng.integers(-63, 64, (32, 16)).astype(np.int8)
    u8 = lambda v: np.array(v, dtype=np.uint8)  # noqa: E731
    inits = [
        numpy_helper.from_array(np.float32(0.02), "sx"),
        numpy_helper.from_array(u8(128), "zx"),
        numpy_helper.from_array(wq1, "wq1"),
        numpy_helper.from_array(ws1, "ws1"),
        numpy_helper.from_array(np.zeros(32, np.int8), "wz1"),
        const("b1", rng.standard_normal(32) * 0.05),
        numpy_helper.from_array(np.float32(0.01), "sr"),
        numpy_helper.from_array(u8(0), "zr"),
        numpy_helper.from_array(wq2, "wq2"),
        numpy_helper.from_array(np.float32(0.003), "ws2"),
        numpy_helper.from_array(np.int8(0), "wz2"),
        numpy_helper.from_array(np.float32(0.02), "sy"),
        numpy_helper.from_array(u8(128), "zy"),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "sx", "zx"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "sx", "zx"], ["xd"]),
        helper.make_node("DequantizeLinear", ["wq1", "ws1", "wz1"], ["w1"],
                         axis=1),
        helper.make_node("MatMul", ["xd", "w1"], ["h"]),
        helper.make_node("Add", ["h", "b1"], ["hb"]),
        helper.make_node("Relu", ["hb"], ["r"]),
        helper.make_node("QuantizeLinear", ["r", "sr", "zr"], ["rq"]),
        helper.make_node("QLinearMatMul", ["rq", "sr", "zr", "wq2", "ws2",
                                           "wz2", "sy", "zy"], ["yq"]),
        helper.make_node("DequantizeLinear", ["yq", "sy", "zy"], ["y"]),
    ]
    return helper.make_graph(
        nodes, "qdq",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [8, 16])],
        inits)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("kind", choices=["mlp", "cnn", "nbits", "qdq"])
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)
    graph = {"mlp": mlp, "cnn": cnn, "nbits": nbits,
             "qdq": qdq}[args.kind](rng)
    opsets = [helper.make_opsetid("", 17)]
    if args.kind == "nbits":
        opsets.append(helper.make_opsetid("com.microsoft", 1))
    model = helper.make_model(graph, opset_imports=opsets,
                              producer_name="quant gen_models.py")
    model.ir_version = 8
    if args.kind != "nbits":  # ONNX's checker does not know com.microsoft
        checker.check_model(model)
    save_model(model, args.out)


if __name__ == "__main__":
    main()
