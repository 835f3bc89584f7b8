// The numbers the qc lowering computes, end to end: compiled for the host,
// run on x = [1, 2, 3, 4], checked against values worked out by hand.
// RUN: rm -rf %t && mkdir -p %t
// RUN: quant-compile %s --emit=shared -o %t/libnum.so
// RUN: %onnx_python -c "import numpy as np; np.save('%t/x.npy', np.array([[1, 2, 3, 4]], dtype=np.float32))"
// RUN: quant-run %t/libnum.so -i %t/x.npy --print | FileCheck %s

// H4/2 · x = [10, -2, -4, 0] / 2.
// CHECK: hadamard float32 [1, 4]: 5 -1 -2 0
// x / sqrt(mean(x²) + 1e-30) with mean(x²) = 7.5.
// CHECK: rms float32 [1, 4]: 0.3651483{{[0-9]*}} 0.7302967{{[0-9]*}} 1.095445{{[0-9]*}} 1.460593{{[0-9]*}}
// u4 weights in groups of two along K: row 0 = [(1-8)·0.5, (2-8)·0.5,
// (3-8)·1, (4-8)·1] · x = -40.5; row 1 = [15·2, 0·2, 8·0.25, 7·0.25] · x =
// 43 (15 is read unsigned).
// CHECK: w4 float32 [1, 2]: -40.5 43
// int8 × int8 -> int8: a = (s - 1)·0.5 = [[0, 0.5], [1, 1.5]], b = s·0.25 =
// [[0.25, 0], [0, -0.5]]; a·b = [[0, -0.25], [0.25, -0.75]] at scale 0.125.
// CHECK: int8 int8 [2, 2]: 0 -2 2 -6
// W4A8 with the same grouped u4 weights (the i32 path with per-group partial
// sums): x as u8 at scale 0.5, zero point 3 -> codes [5, 7, 9, 11], shifted
// [2, 4, 6, 8]. Row 0: group 0 = 2·(1-8) + 4·(2-8) = -38, × 0.5; group 1 =
// 6·(3-8) + 8·(4-8) = -62, × 1; (-19 - 62) × 0.5 = -40.5. Row 1: group 0 =
// 2·15 + 4·0 = 30, × 2; group 1 = 6·8 + 8·7 = 104, × 0.25; (60 + 26) × 0.5
// = 43.
// CHECK: w4a8 float32 [1, 2]: -40.5 43
func.func @main(%x: tensor<1x4xf32> {onnx.name = "x"})
    -> (tensor<1x4xf32> {onnx.name = "hadamard"}, tensor<1x4xf32> {onnx.name = "rms"},
        tensor<1x2xf32> {onnx.name = "w4"}, tensor<2x2xi8> {onnx.name = "int8"},
        tensor<1x2xf32> {onnx.name = "w4a8"}) {
  %h = qc.hadamard %x : tensor<1x4xf32>
  %r = qc.rms_norm %x {epsilon = 1.0e-30 : f32} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  %w = arith.constant dense<[[1, 2, 3, 4], [-1, 0, -8, 7]]> : tensor<2x4xi4>
  %wq = quant.scast %w : tensor<2x4xi4> to tensor<2x4x!quant.uniform<u4:f32:{0:1, 1:2}, {{0.5:8, 1.0:8}, {2.0:0, 0.25:0}}>>
  %y = qc.matmul %x, %wq {transpose_rhs} : (tensor<1x4xf32>, tensor<2x4x!quant.uniform<u4:f32:{0:1, 1:2}, {{0.5:8, 1.0:8}, {2.0:0, 0.25:0}}>>) -> tensor<1x2xf32>
  %as = arith.constant dense<[[1, 2], [3, 4]]> : tensor<2x2xi8>
  %bs = arith.constant dense<[[1, 0], [0, -2]]> : tensor<2x2xi8>
  %a = quant.scast %as : tensor<2x2xi8> to tensor<2x2x!quant.uniform<i8:f32, 0.5:1>>
  %b = quant.scast %bs : tensor<2x2xi8> to tensor<2x2x!quant.uniform<i8:f32, 0.25>>
  %p = qc.matmul %a, %b : (tensor<2x2x!quant.uniform<i8:f32, 0.5:1>>, tensor<2x2x!quant.uniform<i8:f32, 0.25>>) -> tensor<2x2x!quant.uniform<i8:f32, 0.125>>
  %ps = quant.scast %p : tensor<2x2x!quant.uniform<i8:f32, 0.125>> to tensor<2x2xi8>
  %xq = qc.quantize %x : tensor<1x4xf32> -> tensor<1x4x!quant.uniform<u8:f32, 0.5:3>>
  %y8 = qc.matmul %xq, %wq {transpose_rhs} : (tensor<1x4x!quant.uniform<u8:f32, 0.5:3>>, tensor<2x4x!quant.uniform<u4:f32:{0:1, 1:2}, {{0.5:8, 1.0:8}, {2.0:0, 0.25:0}}>>) -> tensor<1x2xf32>
  return %h, %r, %y, %ps, %y8 : tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x2xf32>, tensor<2x2xi8>, tensor<1x2xf32>
}
