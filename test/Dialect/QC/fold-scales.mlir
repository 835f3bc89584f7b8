// RUN: quant-opt %s --split-input-file --qc-fold-scales | FileCheck %s
// Canonical: a second run changes nothing, so the same checks hold.
// RUN: quant-opt %s --split-input-file --qc-fold-scales --qc-fold-scales | FileCheck %s

// A per-channel scale c = [2, -1, 0.5] after a linear layer goes into its
// weight rows and bias: W = [[1, 2], [3, 4], [5, 6]] -> [[2, 4], [-3, -4],
// [2.5, 3]], b = [1, 1, 1] -> [2, -1, 0.5]; the shift [10, 20, 30] (the
// constant is the first operand of the add) then joins the bias:
// [12, 19, 30.5].
// CHECK-LABEL: func.func @matmul_scale_shift
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{\[}}[2.000000e+00, 4.000000e+00], [-3.000000e+00, -4.000000e+00], [2.500000e+00, 3.000000e+00]]> : tensor<3x2xf32>
// CHECK-DAG: %[[B:.*]] = arith.constant dense<[1.200000e+01, 1.900000e+01, 3.050000e+01]> : tensor<3xf32>
// CHECK: %[[Y:.*]] = qc.matmul %arg0, %[[W]], %[[B]] {transpose_rhs}
// CHECK-NOT: tosa.
// CHECK: return %[[Y]]
func.func @matmul_scale_shift(%x: tensor<2x2xf32>) -> tensor<2x3xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %b = arith.constant dense<[1.0, 1.0, 1.0]> : tensor<3xf32>
  %c = arith.constant dense<[[2.0, -1.0, 0.5]]> : tensor<1x3xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %y = qc.matmul %x, %w, %b {transpose_rhs} : (tensor<2x2xf32>, tensor<3x2xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %z = tosa.mul %y, %c, %shift : (tensor<2x3xf32>, tensor<1x3xf32>, tensor<1xi8>) -> tensor<2x3xf32>
  %d = arith.constant dense<[[10.0, 20.0, 30.0]]> : tensor<1x3xf32>
  %e = tosa.add %d, %z : (tensor<1x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %e : tensor<2x3xf32>
}

// -----

// Conv -> bias -> BatchNorm as the importer writes it (x·a + b): the scale
// a = [3, 0.5] goes into the filters ([1, 2] -> [3, 1]); the conv bias
// [1, -1] times a plus b = [0.25, 4] leaves one add of [3.25, 3.5].
// CHECK-LABEL: func.func @conv_batch_norm
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{\[\[\[\[}}3.000000e+00]]], {{\[\[\[}}1.000000e+00]]]]> : tensor<2x1x1x1xf32>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<{{\[\[\[\[}}3.250000e+00]], {{\[\[}}3.500000e+00]]]]> : tensor<1x2x1x1xf32>
// CHECK: %[[C:.*]] = linalg.conv_2d_nchw_fchw {{.*}} ins(%arg0, %[[W]] :
// CHECK-NEXT: %[[R:.*]] = tosa.add %[[C]], %[[S]]
// CHECK-NEXT: return %[[R]]
func.func @conv_batch_norm(%x: tensor<1x1x3x3xf32>) -> tensor<1x2x3x3xf32> {
  %w = arith.constant dense<[[[[1.0]]], [[[2.0]]]]> : tensor<2x1x1x1xf32>
  %zero = arith.constant 0.0 : f32
  %init = tensor.empty() : tensor<1x2x3x3xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%init : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %conv = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : tensor<1x1x3x3xf32>, tensor<2x1x1x1xf32>) outs(%fill : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %bias = arith.constant dense<[1.0, -1.0]> : tensor<2xf32>
  %bias4 = tensor.expand_shape %bias [[0, 1, 2, 3]] output_shape [1, 2, 1, 1] : tensor<2xf32> into tensor<1x2x1x1xf32>
  %0 = tosa.add %conv, %bias4 : (tensor<1x2x3x3xf32>, tensor<1x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  %a = arith.constant dense<[3.0, 0.5]> : tensor<2xf32>
  %a4 = tensor.expand_shape %a [[0, 1, 2, 3]] output_shape [1, 2, 1, 1] : tensor<2xf32> into tensor<1x2x1x1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %1 = tosa.mul %0, %a4, %shift : (tensor<1x2x3x3xf32>, tensor<1x2x1x1xf32>, tensor<1xi8>) -> tensor<1x2x3x3xf32>
  %b = arith.constant dense<[0.25, 4.0]> : tensor<2xf32>
  %b4 = tensor.expand_shape %b [[0, 1, 2, 3]] output_shape [1, 2, 1, 1] : tensor<2xf32> into tensor<1x2x1x1xf32>
  %2 = tosa.add %1, %b4 : (tensor<1x2x3x3xf32>, tensor<1x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  return %2 : tensor<1x2x3x3xf32>
}

// -----

// A scalar factor scales every channel.
// CHECK-LABEL: func.func @scalar_factor
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[4.000000e+00, 8.000000e+00]]> : tensor<1x2xf32>
// CHECK: qc.matmul %arg0, %[[W]] :
// CHECK-NOT: tosa.mul
func.func @scalar_factor(%x: tensor<3x1xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0]]> : tensor<1x2xf32>
  %c = arith.constant dense<4.0> : tensor<1x1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %y = qc.matmul %x, %w : (tensor<3x1xf32>, tensor<1x2xf32>) -> tensor<3x2xf32>
  %z = tosa.mul %c, %y, %shift : (tensor<1x1xf32>, tensor<3x2xf32>, tensor<1xi8>) -> tensor<3x2xf32>
  return %z : tensor<3x2xf32>
}

// -----

// Quantized weights take a positive factor in their scales: per output
// channel {0.1, 0.2, 0.3} x [2, 4, 0.5]; per group (blocks of 2 along K of
// an [N, K] weight) each row's scales times its factor.
// CHECK-LABEL: func.func @quantized_scales
// CHECK: quant.scast %{{.*}} : tensor<4x3xi8> to tensor<4x3x!quant.uniform<i8:f32:1, {2.000000e-01,8.000000e-01,1.500000e-01}>>
// CHECK: quant.scast %{{.*}} : tensor<2x4xi8> to tensor<2x4x!quant.uniform<i8:f32:{0:1, 1:2}, {{\{}}{3.000000e+00, 6.000000e+00}, {5.000000e-01, 1.000000e+00}}>>
// CHECK-NOT: tosa.mul
func.func @quantized_scales(%x: tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x2xf32>) {
  %cst = arith.constant dense<[[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]]> : tensor<4x3xi8>
  %wq = quant.scast %cst : tensor<4x3xi8> to tensor<4x3x!quant.uniform<i8:f32:1, {0.1, 0.2, 0.3}>>
  %y = qc.matmul %x, %wq : (tensor<2x4xf32>, tensor<4x3x!quant.uniform<i8:f32:1, {0.1, 0.2, 0.3}>>) -> tensor<2x3xf32>
  %c = arith.constant dense<[[2.0, 4.0, 0.5]]> : tensor<1x3xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %z = tosa.mul %y, %c, %shift : (tensor<2x3xf32>, tensor<1x3xf32>, tensor<1xi8>) -> tensor<2x3xf32>
  %cg = arith.constant dense<[[1, 2, 3, 4], [5, 6, 7, 8]]> : tensor<2x4xi8>
  %wg = quant.scast %cg : tensor<2x4xi8> to tensor<2x4x!quant.uniform<i8:f32:{0:1, 1:2}, {{1.0, 2.0}, {1.0, 2.0}}>>
  %g = qc.matmul %x, %wg {transpose_rhs} : (tensor<2x4xf32>, tensor<2x4x!quant.uniform<i8:f32:{0:1, 1:2}, {{1.0, 2.0}, {1.0, 2.0}}>>) -> tensor<2x2xf32>
  %cf = arith.constant dense<[[3.0, 0.5]]> : tensor<1x2xf32>
  %h = tosa.mul %g, %cf, %shift : (tensor<2x2xf32>, tensor<1x2xf32>, tensor<1xi8>) -> tensor<2x2xf32>
  return %z, %h : tensor<2x3xf32>, tensor<2x2xf32>
}

// -----

// A QDQ graph: the dequantized operands of the matmul become its quantized
// operands (scales in the epilogue), the quantize of its result its result
// type, and quantize(dequantize(q)) with equal parameters cancels.
// CHECK-LABEL: func.func @qdq
// CHECK: %[[Q:.*]] = qc.quantize %arg0
// CHECK: %[[W:.*]] = quant.scast
// CHECK: %[[Y:.*]] = qc.matmul %[[Q]], %[[W]] : (tensor<2x4x!quant.uniform<u8:f32, 5.000000e-02:128>>, tensor<4x3x!quant.uniform<i8:f32:1, {{.*}}>>) -> tensor<2x3x!quant.uniform<u8:f32, 5.000000e-01:10>>
// CHECK-NEXT: %[[R:.*]] = qc.dequantize %[[Y]]
// CHECK-NEXT: return %[[R]]
func.func @qdq(%x: tensor<2x4xf32>) -> tensor<2x3xf32> {
  %q = qc.quantize %x : tensor<2x4xf32> -> tensor<2x4x!quant.uniform<u8:f32, 0.05:128>>
  %dx = qc.dequantize %q : tensor<2x4x!quant.uniform<u8:f32, 0.05:128>> -> tensor<2x4xf32>
  %cst = arith.constant dense<[[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]]> : tensor<4x3xi8>
  %wq = quant.scast %cst : tensor<4x3xi8> to tensor<4x3x!quant.uniform<i8:f32:1, {0.1, 0.2, 0.3}>>
  %dw = qc.dequantize %wq : tensor<4x3x!quant.uniform<i8:f32:1, {0.1, 0.2, 0.3}>> -> tensor<4x3xf32>
  %y = qc.matmul %dx, %dw : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  %qy = qc.quantize %y : tensor<2x3xf32> -> tensor<2x3x!quant.uniform<u8:f32, 0.5:10>>
  %dy = qc.dequantize %qy : tensor<2x3x!quant.uniform<u8:f32, 0.5:10>> -> tensor<2x3xf32>
  %qy2 = qc.quantize %dy : tensor<2x3xf32> -> tensor<2x3x!quant.uniform<u8:f32, 0.5:10>>
  %r = qc.dequantize %qy2 : tensor<2x3x!quant.uniform<u8:f32, 0.5:10>> -> tensor<2x3xf32>
  return %r : tensor<2x3xf32>
}

// -----

// Left alone: a factor that is not constant, one that varies along the rows
// (not a channel), a layer output with another user, a negative factor for
// quantized scales, a conv accumulating into a non-zero tensor, a per-row
// dequantized left-hand side, and a requantization (different parameters).
// CHECK-LABEL: func.func @not_constant
// CHECK: tosa.mul
// CHECK-LABEL: func.func @along_rows
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]>
// CHECK: tosa.mul
// CHECK-LABEL: func.func @two_uses
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]>
// CHECK: tosa.mul
// CHECK-LABEL: func.func @negative_quantized
// CHECK: !quant.uniform<i8:f32:1, {1.000000e-01,2.000000e-01}>
// CHECK: tosa.mul
// CHECK-LABEL: func.func @conv_nonzero_init
// CHECK: linalg.conv_2d_nchw_fchw
// CHECK: tosa.mul
// CHECK-LABEL: func.func @per_row_lhs
// CHECK: %[[D:.*]] = qc.dequantize %arg0
// CHECK: qc.matmul %[[D]]
// CHECK-LABEL: func.func @requantize
// CHECK: qc.dequantize
// CHECK: qc.quantize
func.func @not_constant(%x: tensor<2x2xf32>, %c: tensor<1x2xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %y = qc.matmul %x, %w : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %z = tosa.mul %y, %c, %shift : (tensor<2x2xf32>, tensor<1x2xf32>, tensor<1xi8>) -> tensor<2x2xf32>
  return %z : tensor<2x2xf32>
}
func.func @along_rows(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %c = arith.constant dense<[[2.0], [3.0]]> : tensor<2x1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %y = qc.matmul %x, %w : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %z = tosa.mul %y, %c, %shift : (tensor<2x2xf32>, tensor<2x1xf32>, tensor<1xi8>) -> tensor<2x2xf32>
  return %z : tensor<2x2xf32>
}
func.func @two_uses(%x: tensor<2x2xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>) {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %c = arith.constant dense<[[2.0, 3.0]]> : tensor<1x2xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %y = qc.matmul %x, %w : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %z = tosa.mul %y, %c, %shift : (tensor<2x2xf32>, tensor<1x2xf32>, tensor<1xi8>) -> tensor<2x2xf32>
  return %y, %z : tensor<2x2xf32>, tensor<2x2xf32>
}
func.func @negative_quantized(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %cst = arith.constant dense<[[1, 2], [3, 4]]> : tensor<2x2xi8>
  %wq = quant.scast %cst : tensor<2x2xi8> to tensor<2x2x!quant.uniform<i8:f32:1, {0.1, 0.2}>>
  %c = arith.constant dense<[[2.0, -3.0]]> : tensor<1x2xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %y = qc.matmul %x, %wq : (tensor<2x2xf32>, tensor<2x2x!quant.uniform<i8:f32:1, {0.1, 0.2}>>) -> tensor<2x2xf32>
  %z = tosa.mul %y, %c, %shift : (tensor<2x2xf32>, tensor<1x2xf32>, tensor<1xi8>) -> tensor<2x2xf32>
  return %z : tensor<2x2xf32>
}
func.func @conv_nonzero_init(%x: tensor<1x1x3x3xf32>, %init: tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32> {
  %w = arith.constant dense<[[[[1.0]]], [[[2.0]]]]> : tensor<2x1x1x1xf32>
  %conv = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : tensor<1x1x3x3xf32>, tensor<2x1x1x1xf32>) outs(%init : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %a = arith.constant dense<[[[[3.0]], [[0.5]]]]> : tensor<1x2x1x1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %1 = tosa.mul %conv, %a, %shift : (tensor<1x2x3x3xf32>, tensor<1x2x1x1xf32>, tensor<1xi8>) -> tensor<1x2x3x3xf32>
  return %1 : tensor<1x2x3x3xf32>
}
func.func @per_row_lhs(%q: tensor<2x4x!quant.uniform<i8:f32:0, {0.1, 0.2}>>) -> tensor<2x3xf32> {
  %dx = qc.dequantize %q : tensor<2x4x!quant.uniform<i8:f32:0, {0.1, 0.2}>> -> tensor<2x4xf32>
  %w = arith.constant dense<1.0> : tensor<4x3xf32>
  %y = qc.matmul %dx, %w : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}
func.func @requantize(%q: tensor<2x4x!quant.uniform<i8:f32, 0.1>>) -> tensor<2x4x!quant.uniform<i8:f32, 0.2>> {
  %d = qc.dequantize %q : tensor<2x4x!quant.uniform<i8:f32, 0.1>> -> tensor<2x4xf32>
  %r = qc.quantize %d : tensor<2x4xf32> -> tensor<2x4x!quant.uniform<i8:f32, 0.2>>
  return %r : tensor<2x4x!quant.uniform<i8:f32, 0.2>>
}
