// RUN: quant-opt %s --split-input-file --qc-merge-siblings | FileCheck %s

// Three projections of one input with [n, k] int4 weights in groups of 2
// (the importer's MatMulNBits form): one matmul over the stacked 6 x 4
// codes, whose scales stack with the rows; each former result is its
// columns of the merged one, in order.
// CHECK-LABEL: func.func @qkv
// CHECK: %[[CODES:.*]] = arith.constant dense<{{\[}}[1, 2, 3, 4], [5, 6, 7, -8], [0, 1, 0, 1], [7, 7, -7, -7], [1, -1, 1, -1], [2, 2, 2, 2]]> : tensor<6x4xi4>
// CHECK: %[[W:.*]] = quant.scast %[[CODES]] : tensor<6x4xi4> to tensor<6x4x!quant.uniform<i4:f32:{0:1, 1:2}, {{\{}}{1.000000e+00, 2.000000e+00}, {5.000000e-01, 2.500000e-01}, {3.000000e+00, 4.000000e+00}, {1.250000e-01, 8.000000e+00}, {1.500000e+00, 2.500000e+00}, {7.500000e-01, 5.000000e-01}}>>
// CHECK: %[[Y:.*]] = qc.matmul %arg0, %[[W]] {transpose_rhs} : {{.*}} -> tensor<2x6xf32>
// CHECK-NOT: qc.matmul
// CHECK: %[[Q:.*]] = tensor.extract_slice %[[Y]][0, 0] [2, 3] [1, 1] : tensor<2x6xf32> to tensor<2x3xf32>
// CHECK: %[[K:.*]] = tensor.extract_slice %[[Y]][0, 3] [2, 2] [1, 1] : tensor<2x6xf32> to tensor<2x2xf32>
// CHECK: %[[V:.*]] = tensor.extract_slice %[[Y]][0, 5] [2, 1] [1, 1] : tensor<2x6xf32> to tensor<2x1xf32>
// CHECK: return %[[Q]], %[[K]], %[[V]]
func.func @qkv(%x: tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x2xf32>, tensor<2x1xf32>) {
  %wq = arith.constant dense<[[1, 2, 3, 4], [5, 6, 7, -8], [0, 1, 0, 1]]> : tensor<3x4xi4>
  %q = quant.scast %wq : tensor<3x4xi4> to tensor<3x4x!quant.uniform<i4:f32:{0:1, 1:2}, {{1.0, 2.0}, {0.5, 0.25}, {3.0, 4.0}}>>
  %wk = arith.constant dense<[[7, 7, -7, -7], [1, -1, 1, -1]]> : tensor<2x4xi4>
  %k = quant.scast %wk : tensor<2x4xi4> to tensor<2x4x!quant.uniform<i4:f32:{0:1, 1:2}, {{0.125, 8.0}, {1.5, 2.5}}>>
  %wv = arith.constant dense<[[2, 2, 2, 2]]> : tensor<1x4xi4>
  %v = quant.scast %wv : tensor<1x4xi4> to tensor<1x4x!quant.uniform<i4:f32:{0:1, 1:2}, {{0.75, 0.5}}>>
  %yq = qc.matmul %x, %q {transpose_rhs, qc.weight_error = 0.1 : f32} : (tensor<2x4xf32>, tensor<3x4x!quant.uniform<i4:f32:{0:1, 1:2}, {{1.0, 2.0}, {0.5, 0.25}, {3.0, 4.0}}>>) -> tensor<2x3xf32>
  %yk = qc.matmul %x, %k {transpose_rhs, qc.weight_error = 0.2 : f32} : (tensor<2x4xf32>, tensor<2x4x!quant.uniform<i4:f32:{0:1, 1:2}, {{0.125, 8.0}, {1.5, 2.5}}>>) -> tensor<2x2xf32>
  %yv = qc.matmul %x, %v {transpose_rhs} : (tensor<2x4xf32>, tensor<1x4x!quant.uniform<i4:f32:{0:1, 1:2}, {{0.75, 0.5}}>>) -> tensor<2x1xf32>
  return %yq, %yk, %yv : tensor<2x3xf32>, tensor<2x2xf32>, tensor<2x1xf32>
}

// -----

// [k, n] weights (ONNX MatMul's layout): the columns interleave row by row,
// and the per-axis (axis 1) zero points and scales follow them; biases
// stack too. A batched lhs keeps its leading dimensions in the slices.
// CHECK-LABEL: func.func @gate_up
// CHECK: arith.constant dense<{{\[}}[1, 2, 5], [3, 4, 6]]> : tensor<2x3xi8>
// CHECK: quant.scast %{{.*}} : tensor<2x3xi8> to tensor<2x3x!quant.uniform<u8:f32:1, {5.000000e-01:1,2.500000e-01:2,1.250000e-01:3}>>
// CHECK: arith.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<3xf32>
// CHECK: %[[Y:.*]] = qc.matmul %arg0, %{{.*}}, %{{.*}} : {{.*}} -> tensor<3x1x3xf32>
// CHECK: tensor.extract_slice %[[Y]][0, 0, 0] [3, 1, 2] [1, 1, 1] : tensor<3x1x3xf32> to tensor<3x1x2xf32>
// CHECK: tensor.extract_slice %[[Y]][0, 0, 2] [3, 1, 1] [1, 1, 1] : tensor<3x1x3xf32> to tensor<3x1x1xf32>
func.func @gate_up(%x: tensor<3x1x2xf32>) -> (tensor<3x1x2xf32>, tensor<3x1x1xf32>) {
  %wg = arith.constant dense<[[1, 2], [3, 4]]> : tensor<2x2xi8>
  %g = quant.scast %wg : tensor<2x2xi8> to tensor<2x2x!quant.uniform<u8:f32:1, {0.5:1, 0.25:2}>>
  %wu = arith.constant dense<[[5], [6]]> : tensor<2x1xi8>
  %u = quant.scast %wu : tensor<2x1xi8> to tensor<2x1x!quant.uniform<u8:f32:1, {0.125:3}>>
  %bg = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %bu = arith.constant dense<[3.0]> : tensor<1xf32>
  %yg = qc.matmul %x, %g, %bg : (tensor<3x1x2xf32>, tensor<2x2x!quant.uniform<u8:f32:1, {0.5:1, 0.25:2}>>, tensor<2xf32>) -> tensor<3x1x2xf32>
  %yu = qc.matmul %x, %u, %bu : (tensor<3x1x2xf32>, tensor<2x1x!quant.uniform<u8:f32:1, {0.125:3}>>, tensor<1xf32>) -> tensor<3x1x1xf32>
  return %yg, %yu : tensor<3x1x2xf32>, tensor<3x1x1xf32>
}

// -----

// Float weights merge as well.
// CHECK-LABEL: func.func @float
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK: qc.matmul %arg0, %{{.*}} {transpose_rhs} : (tensor<2xf32>, tensor<2x2xf32>) -> tensor<2xf32>
// CHECK-COUNT-2: tensor.extract_slice
func.func @float(%x: tensor<2xf32>) -> (tensor<1xf32>, tensor<1xf32>) {
  %a = arith.constant dense<[[1.0, 2.0]]> : tensor<1x2xf32>
  %b = arith.constant dense<[[3.0, 4.0]]> : tensor<1x2xf32>
  %ya = qc.matmul %x, %a {transpose_rhs} : (tensor<2xf32>, tensor<1x2xf32>) -> tensor<1xf32>
  %yb = qc.matmul %x, %b {transpose_rhs} : (tensor<2xf32>, tensor<1x2xf32>) -> tensor<1xf32>
  return %ya, %yb : tensor<1xf32>, tensor<1xf32>
}

// -----

// A projection split into heads by a reshape of its last dimension reads
// its slice through tensor.expand_shape (a view of the merged result; a
// tensor.reshape of the strided slice would be a copy); a reshape that
// merges dimensions stays.
// CHECK-LABEL: func.func @heads
// CHECK: %[[Y:.*]] = qc.matmul %arg0, %{{.*}} {transpose_rhs} : {{.*}} -> tensor<2x8xf32>
// CHECK: %[[Q:.*]] = tensor.extract_slice %[[Y]][0, 0] [2, 4] [1, 1]
// CHECK: %[[K:.*]] = tensor.extract_slice %[[Y]][0, 4] [2, 4] [1, 1]
// CHECK: tensor.expand_shape %[[Q]] {{\[}}[0], [1, 2]] output_shape [2, 2, 2] : tensor<2x4xf32> into tensor<2x2x2xf32>
// CHECK: tensor.reshape %[[K]]
func.func @heads(%x: tensor<2x2xf32>) -> (tensor<2x2x2xf32>, tensor<8xf32>) {
  %a = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]> : tensor<4x2xf32>
  %b = arith.constant dense<[[8.0, 7.0], [6.0, 5.0], [4.0, 3.0], [2.0, 1.0]]> : tensor<4x2xf32>
  %ya = qc.matmul %x, %a {transpose_rhs} : (tensor<2x2xf32>, tensor<4x2xf32>) -> tensor<2x4xf32>
  %yb = qc.matmul %x, %b {transpose_rhs} : (tensor<2x2xf32>, tensor<4x2xf32>) -> tensor<2x4xf32>
  %s3 = arith.constant dense<[2, 2, 2]> : tensor<3xi64>
  %s1 = arith.constant dense<[8]> : tensor<1xi64>
  %h = tensor.reshape %ya(%s3) : (tensor<2x4xf32>, tensor<3xi64>) -> tensor<2x2x2xf32>
  %f = tensor.reshape %yb(%s1) : (tensor<2x4xf32>, tensor<1xi64>) -> tensor<8xf32>
  return %h, %f : tensor<2x2x2xf32>, tensor<8xf32>
}

// -----

// Not touched: matmuls of different inputs; a group size that differs; a
// bias on one sibling only; a weight that is not constant; a quantized
// result; a per-tensor scale that differs; one transposed and one not.
// CHECK-LABEL: func.func @untouched
// CHECK-NOT: tensor.extract_slice
// CHECK-COUNT-11: qc.matmul
// CHECK-NOT: tensor.extract_slice
func.func @untouched(%x: tensor<2x4xf32>, %y: tensor<2x4xf32>, %w: tensor<1x4xf32>) -> (tensor<2x1xf32>, tensor<2x1xf32>, tensor<2x1xf32>, tensor<2x1xf32>, tensor<2x1xf32>, tensor<2x1xf32>, tensor<2x1xf32>, tensor<2x1xf32>, tensor<2x1x!quant.uniform<i8:f32, 0.5>>, tensor<2x1xf32>, tensor<2x1xf32>) {
  %c = arith.constant dense<[[1.0, 2.0, 3.0, 4.0]]> : tensor<1x4xf32>
  %d = arith.constant dense<[[4.0, 3.0, 2.0, 1.0]]> : tensor<1x4xf32>
  %0 = qc.matmul %x, %c {transpose_rhs} : (tensor<2x4xf32>, tensor<1x4xf32>) -> tensor<2x1xf32>
  %1 = qc.matmul %y, %d {transpose_rhs} : (tensor<2x4xf32>, tensor<1x4xf32>) -> tensor<2x1xf32>
  %i = arith.constant dense<[[1, 2, 3, 4]]> : tensor<1x4xi4>
  %g2 = quant.scast %i : tensor<1x4xi4> to tensor<1x4x!quant.uniform<i4:f32:{0:1, 1:2}, {{1.0, 2.0}}>>
  %g4 = quant.scast %i : tensor<1x4xi4> to tensor<1x4x!quant.uniform<i4:f32:{0:1, 1:4}, {{1.0}}>>
  %2 = qc.matmul %x, %g2 {transpose_rhs} : (tensor<2x4xf32>, tensor<1x4x!quant.uniform<i4:f32:{0:1, 1:2}, {{1.0, 2.0}}>>) -> tensor<2x1xf32>
  %3 = qc.matmul %x, %g4 {transpose_rhs} : (tensor<2x4xf32>, tensor<1x4x!quant.uniform<i4:f32:{0:1, 1:4}, {{1.0}}>>) -> tensor<2x1xf32>
  %bias = arith.constant dense<[1.0]> : tensor<1xf32>
  %4 = qc.matmul %y, %c, %bias {transpose_rhs} : (tensor<2x4xf32>, tensor<1x4xf32>, tensor<1xf32>) -> tensor<2x1xf32>
  %5 = qc.matmul %y, %w {transpose_rhs} : (tensor<2x4xf32>, tensor<1x4xf32>) -> tensor<2x1xf32>
  %p = quant.scast %i : tensor<1x4xi4> to tensor<1x4x!quant.uniform<i4:f32, 0.5>>
  %q = quant.scast %i : tensor<1x4xi4> to tensor<1x4x!quant.uniform<i4:f32, 0.25>>
  %z = qc.quantize %x : tensor<2x4xf32> -> tensor<2x4x!quant.uniform<i8:f32, 0.1>>
  %6 = qc.matmul %z, %p {transpose_rhs} : (tensor<2x4x!quant.uniform<i8:f32, 0.1>>, tensor<1x4x!quant.uniform<i4:f32, 0.5>>) -> tensor<2x1xf32>
  %7 = qc.matmul %z, %q {transpose_rhs} : (tensor<2x4x!quant.uniform<i8:f32, 0.1>>, tensor<1x4x!quant.uniform<i4:f32, 0.25>>) -> tensor<2x1xf32>
  %8 = qc.matmul %z, %p {transpose_rhs} : (tensor<2x4x!quant.uniform<i8:f32, 0.1>>, tensor<1x4x!quant.uniform<i4:f32, 0.5>>) -> tensor<2x1x!quant.uniform<i8:f32, 0.5>>
  %t = arith.constant dense<[[1.0], [2.0], [3.0], [4.0]]> : tensor<4x1xf32>
  %9 = qc.matmul %z, %t : (tensor<2x4x!quant.uniform<i8:f32, 0.1>>, tensor<4x1xf32>) -> tensor<2x1xf32>
  %10 = qc.matmul %x, %t : (tensor<2x4xf32>, tensor<4x1xf32>) -> tensor<2x1xf32>
  return %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10 : tensor<2x1xf32>, tensor<2x1xf32>, tensor<2x1xf32>, tensor<2x1xf32>, tensor<2x1xf32>, tensor<2x1xf32>, tensor<2x1xf32>, tensor<2x1xf32>, tensor<2x1x!quant.uniform<i8:f32, 0.5>>, tensor<2x1xf32>, tensor<2x1xf32>
}
