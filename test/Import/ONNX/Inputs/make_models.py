#!/usr/bin/env python3
"""Writes the binary ONNX models of test/Import/ONNX/binary.test into a directory.

Run with Debian's /usr/bin/python3 (python3-onnx 1.12). Data types newer than
ONNX 1.12 (float8 17-20, uint4/int4 21/22) are set by their numeric codes.
"""
import os
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def raw_tensor(name, data_type, dims, raw):
    t = TensorProto()
    t.name = name
    t.data_type = data_type
    t.dims.extend(dims)
    t.raw_data = raw
    return t


def save(name, graph, opset=17):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    with open(os.path.join(out, name), "wb") as f:
        f.write(model.SerializeToString())
    return model


def identity_graph(name, tensors):
    """A graph returning each initializer through Identity."""
    nodes = [helper.make_node("Identity", [t.name], [t.name + "_out"]) for t in tensors]
    outputs = [helper.make_tensor_value_info(t.name + "_out", t.data_type, list(t.dims))
               for t in tensors]
    return helper.make_graph(nodes, name, [], outputs, initializer=tensors)


# Element types and payload encodings.
tensors = [
    # int4: -8..6 step 2 packed low nibble first; odd count leaves a pad nibble.
    raw_tensor("i4", 22, [5], bytes([0xA8, 0xEC, 0x00])),  # -8,-6,-4,-2,0
    raw_tensor("u4", 21, [3], bytes([0x21, 0x0F])),         # 1,2,15
    raw_tensor("e4m3", 17, [2], bytes([0x38, 0xC0])),       # 1.0, -2.0
    raw_tensor("e5m2", 19, [2], bytes([0x3C, 0x40])),       # 1.0, 2.0
    raw_tensor("bf16", 16, [2], struct.pack("<HH", 0x3F80, 0xC000)),  # 1.0, -2.0
    raw_tensor("f16", 10, [2], np.array([0.5, -1.5], np.float16).tobytes()),
    raw_tensor("b", 9, [3], bytes([1, 0, 1])),
    helper.make_tensor("i64", TensorProto.INT64, [2], [-3, 9000000000]),
    helper.make_tensor("u8", TensorProto.UINT8, [2], [7, 255]),
    # 2048 bytes: becomes a resource blob.
    helper.make_tensor("big", TensorProto.FLOAT, [16, 32],
                       np.arange(512, dtype=np.float32).tolist()),
]
save("tensors.onnx", identity_graph("tensors", tensors))

# External data: a [64, 32] weight in weights.bin at offset 4096.
w = np.arange(64 * 32, dtype=np.float32).reshape(64, 32) / 100.0
with open(os.path.join(out, "weights.bin"), "wb") as f:
    f.write(b"\0" * 4096)
    f.write(w.tobytes())


def external_graph(name, location, offset, length):
    t = TensorProto()
    t.name = "W"
    t.data_type = TensorProto.FLOAT
    t.dims.extend([64, 32])
    t.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", str(offset)),
                       ("length", str(length))):
        entry = t.external_data.add()
        entry.key, entry.value = key, value
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 64])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", 32])
    node = helper.make_node("MatMul", ["X", "W"], ["Y"], name="proj")
    return helper.make_graph([node], name, [x], [y], initializer=[t])


nbytes = w.nbytes
save("external.onnx", external_graph("ext", "weights.bin", 4096, nbytes))
save("external-missing.onnx", external_graph("ext", "nowhere.bin", 0, nbytes))
save("external-short.onnx", external_graph("ext", "weights.bin", 8192, nbytes))
save("external-escape.onnx", external_graph("ext", "../weights.bin", 0, nbytes))
save("external-absolute.onnx", external_graph("ext", "/etc/passwd", 0, nbytes))
save("external-length.onnx", external_graph("ext", "weights.bin", 4096, 100))

# Payloads that do not match their shape.
save("bad-raw-size.onnx", identity_graph("bad", [raw_tensor("r", 1, [4], b"\0" * 12)]))
save("bad-int4-size.onnx", identity_graph("bad", [raw_tensor("q", 22, [5], b"\0\0")]))
neg = raw_tensor("n", 1, [2], b"\0" * 8)
neg.dims[0] = -2
save("negative-dim.onnx", identity_graph("bad", [neg]))
huge = raw_tensor("h", 1, [1 << 30, 1 << 30], b"")
save("huge-dim.onnx", identity_graph("bad", [huge]))

# A valid model cut short, and a file that is not ONNX at all.
valid = open(os.path.join(out, "external.onnx"), "rb").read()
with open(os.path.join(out, "truncated.onnx"), "wb") as f:
    f.write(valid[: len(valid) // 2])
with open(os.path.join(out, "not-onnx.onnx"), "wb") as f:
    f.write(b"\xff\xff\xff\xff this is not a protobuf \x00\x01")
open(os.path.join(out, "empty.onnx"), "wb").close()

# MatMulNBits with weights large enough to be resource blobs (N = 64,
# K = 128, block 32: 4096 packed bytes, scales 256 floats).
n, k, block = 64, 128, 32
blocks = k // block
# Deterministic bytes: 11 (0x0B), 48 (0x30), ... (37 i + 11 mod 256).
packed = ((np.arange(n * blocks * (block // 2)) * 37 + 11) % 256).astype(np.uint8)
packed = packed.reshape(n, blocks, block // 2)
scales = (np.arange(n * blocks, dtype=np.float32) / 64 + 0.5).astype(np.float32)
node = helper.make_node("MatMulNBits", ["A", "B", "S"], ["Y"], domain="com.microsoft",
                        K=k, N=n, bits=4, block_size=block, name="proj_nbits")
graph = helper.make_graph(
    [node], "nbits", [helper.make_tensor_value_info("A", TensorProto.FLOAT, [1, k])],
    [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, n])],
    initializer=[helper.make_tensor("B", TensorProto.UINT8, [n, blocks, block // 2],
                                    packed.tobytes(), raw=True),
                 helper.make_tensor("S", TensorProto.FLOAT, [n * blocks], scales.tobytes(), raw=True)])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                helper.make_opsetid("com.microsoft", 1)])
model.ir_version = 8
with open(os.path.join(out, "matmulnbits.onnx"), "wb") as f:
    f.write(model.SerializeToString())

# float8 QDQ (opset 19): QuantizeLinear to E4M3FN with a zero zero point,
# DequantizeLinear back; and one to E5M2 without saturation.
fp8_nodes = [
    helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"], name="to_e4m3"),
    helper.make_node("DequantizeLinear", ["q", "s", "zp"], ["y"], name="from_e4m3"),
    helper.make_node("QuantizeLinear", ["x", "s", "zp2"], ["q2"], name="to_e5m2",
                     saturate=0),
]
fp8_graph = helper.make_graph(
    fp8_nodes, "fp8",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4]),
     helper.make_tensor_value_info("q2", 19, [4])],
    initializer=[helper.make_tensor("s", TensorProto.FLOAT, [], [0.5]),
                 raw_tensor("zp", 17, [], bytes([0x00])),
                 raw_tensor("zp2", 19, [], bytes([0x00]))])
save("fp8-qdq.onnx", fp8_graph, opset=19)
