// RUN: quant-opt %s --convert-qc-to-linalg --split-input-file | FileCheck %s
// RUN: quant-opt %s --convert-qc-to-linalg --split-input-file --canonicalize | FileCheck %s --check-prefix=NOQC

// No qc op and no !quant type survives the pass.
// NOQC-NOT: {{ qc\.(quantize|dequantize|matmul|rms_norm|layer_norm|hadamard|observe) }}
// NOQC-NOT: !quant

// Float matmul with batch broadcasting: [2,1,3,5] x [4,5,6] -> [2,4,3,6].
// The iteration space is (b0, b1, m, k, n) — n innermost so that the loop
// streams rows of the [K, N] rhs; lhs reads b1 as 0 (size 1), rhs has no b0.
// The accumulation may be reassociated (vectorised).
// CHECK-DAG: #[[LHS:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, 0, d2, d3)>
// CHECK-DAG: #[[RHS:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d3, d4)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
// CHECK-LABEL: func.func @batched
// CHECK: %[[Z:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<2x4x3x6xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[LHS]], #[[RHS]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel"]}
// CHECK-SAME: ins(%arg0, %arg1 : tensor<2x1x3x5xf32>, tensor<4x5x6xf32>) outs(%[[Z]] : tensor<2x4x3x6xf32>) attrs = {qc.contraction}
// CHECK: arith.mulf
// CHECK: arith.addf {{.*}} fastmath<reassoc,contract>
// (The attribute marks the contraction for qc-tile-contractions.)
func.func @batched(%a: tensor<2x1x3x5xf32>, %b: tensor<4x5x6xf32>) -> tensor<2x4x3x6xf32> {
  %0 = qc.matmul %a, %b : (tensor<2x1x3x5xf32>, tensor<4x5x6xf32>) -> tensor<2x4x3x6xf32>
  return %0 : tensor<2x4x3x6xf32>
}

// -----

// transpose_rhs reads the weight as [n, k]; a 1-D lhs is expanded and the
// unit dimension collapsed again; the bias is added in the epilogue.
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @vector_times_weight
// CHECK: tensor.expand_shape %arg0 {{\[\[}}0, 1]] output_shape [1, 8]
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[W]], #{{.*}}]
// CHECK: linalg.generic
// CHECK: arith.addf
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<1x4xf32> into tensor<4xf32>
func.func @vector_times_weight(%x: tensor<8xf32>, %w: tensor<4x8xf32>, %bias: tensor<4xf32>) -> tensor<4xf32> {
  %0 = qc.matmul %x, %w, %bias {transpose_rhs} : (tensor<8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// W8A8 with per-channel weights and a quantized result: integer accumulation
// (widened, zero point subtracted in the body, i32 multiply-add), then one
// float epilogue: acc · s_x · s_w[n], quantized to the result.
// CHECK-LABEL: func.func @int8_matmul
// CHECK: linalg.generic
// CHECK: ^bb0(%[[A:.*]]: i8, %[[B:.*]]: i8, %[[ZA:.*]]: i32, %[[ACC:.*]]: i32):
// CHECK: arith.extsi %[[A]] : i8 to i32
// CHECK: arith.subi %{{.*}}, %[[ZA]] : i32
// CHECK: arith.extsi %[[B]] : i8 to i32
// CHECK: arith.muli
// CHECK: arith.addi
// CHECK: } -> tensor<2x4xi32>
// CHECK: linalg.generic
// CHECK: arith.sitofp %{{.*}} : i32 to f32
// CHECK: arith.divf
// CHECK: math.roundeven
// CHECK: arith.fptosi
// CHECK: arith.trunci %{{.*}} : i64 to i8
// CHECK: } -> tensor<2x4xi8>
func.func @int8_matmul(%xs: tensor<2x16xi8>, %ws: tensor<4x16xi8>) -> tensor<2x4xi8> {
  %x = quant.scast %xs : tensor<2x16xi8> to tensor<2x16x!quant.uniform<i8:f32, 0.05:3>>
  %w = quant.scast %ws : tensor<4x16xi8> to tensor<4x16x!quant.uniform<i8:f32:0, {0.1, 0.2, 0.3, 0.4}>>
  %0 = qc.matmul %x, %w {transpose_rhs} : (tensor<2x16x!quant.uniform<i8:f32, 0.05:3>>, tensor<4x16x!quant.uniform<i8:f32:0, {0.1, 0.2, 0.3, 0.4}>>) -> tensor<2x4x!quant.uniform<i8:f32, 0.5>>
  %s = quant.scast %0 : tensor<2x4x!quant.uniform<i8:f32, 0.5>> to tensor<2x4xi8>
  return %s : tensor<2x4xi8>
}

// -----

// Weight-only int4 with groups of 4 along K: the scale and zero point are
// read at (n, k floordiv 4) and the weight is dequantized in the contraction
// body (no float copy of the weight).
// CHECK-DAG: #[[G:.*]] = affine_map<(d0, d1, d2) -> (d1, d2 floordiv 4)>
// CHECK-LABEL: func.func @w4_groups
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #[[G]], #[[G]], #{{.*}}]
// CHECK: ^bb0(%{{.*}}: f32, %[[W:.*]]: i4, %[[S:.*]]: f32, %[[Z:.*]]: i32, %{{.*}}: f32):
// CHECK: arith.extui %[[W]] : i4 to i32
// CHECK: arith.subi %{{.*}}, %[[Z]]
// CHECK: arith.sitofp
// CHECK: arith.mulf %{{.*}}, %[[S]]
// CHECK: } -> tensor<1x2xf32>
func.func @w4_groups(%x: tensor<1x8xf32>, %w: tensor<2x8xi4>) -> tensor<1x2xf32> {
  %q = quant.scast %w : tensor<2x8xi4> to tensor<2x8x!quant.uniform<u4:f32:{0:1, 1:4}, {{1.0:8, 0.5:8}, {0.25:8, 2.0:8}}>>
  %0 = qc.matmul %x, %q {transpose_rhs} : (tensor<1x8xf32>, tensor<2x8x!quant.uniform<u4:f32:{0:1, 1:4}, {{1.0:8, 0.5:8}, {0.25:8, 2.0:8}}>>) -> tensor<1x2xf32>
  return %0 : tensor<1x2xf32>
}

// -----

// Per-axis quantize and dequantize: the parameters are read along axis 1.
// CHECK-DAG: #[[AX:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @per_axis
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[AX]], #[[AX]], #{{.*}}]
// CHECK: arith.maximumf
// CHECK: arith.minimumf
// CHECK: } -> tensor<3x2xi8>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[AX]], #[[AX]], #{{.*}}]
// CHECK: arith.extui
// CHECK: } -> tensor<3x2xf32>
func.func @per_axis(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %q = qc.quantize %x : tensor<3x2xf32> -> tensor<3x2x!quant.uniform<u8:f32:1, {0.5:10, 0.25:20}>>
  %d = qc.dequantize %q : tensor<3x2x!quant.uniform<u8:f32:1, {0.5:10, 0.25:20}>> -> tensor<3x2xf32>
  return %d : tensor<3x2xf32>
}

// -----

// RMSNorm: a sum of squares over the last axis in f32, then x · rsqrt(sum/n
// + eps) · gain. f16 input is computed in f32 and truncated.
// CHECK-LABEL: func.func @rms
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: } -> tensor<2x1xf32>
// CHECK: math.rsqrt
// CHECK: arith.truncf %{{.*}} : f32 to f16
func.func @rms(%x: tensor<2x8xf16>, %g: tensor<8xf16>) -> tensor<2x8xf16> {
  %0 = qc.rms_norm %x scale %g {epsilon = 1.0e-06 : f32} : (tensor<2x8xf16>, tensor<8xf16>) -> tensor<2x8xf16>
  return %0 : tensor<2x8xf16>
}

// -----

// Hadamard of size 4: two butterfly stages over [.., 1, K = 1, 2, 2, 1], the
// last one scaled by 1/sqrt(4).
// CHECK-LABEL: func.func @hadamard
// CHECK: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK: tensor.expand_shape %arg0 {{\[\[}}0], [1, 2, 3, 4, 5]] output_shape [3, 1, 1, 2, 2, 1]
// CHECK: linalg.index 3
// CHECK: arith.select
// CHECK: linalg.index 4
// CHECK: arith.select
// CHECK: arith.mulf %{{.*}}, %[[HALF]]
// CHECK: tensor.collapse_shape
func.func @hadamard(%x: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %0 = qc.hadamard %x : tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

// Size 24 = 12·2 with stride 2 on an axis of 48: [.., 1, 12, 2, 2]; one
// butterfly stage on the binary axis, then the 12×12 Paley factor contracted
// over the K axis (an extra reduction loop), then 1/sqrt(24).
// CHECK-LABEL: func.func @hadamard24
// CHECK: %[[NORM:.*]] = arith.constant 0.204124{{[0-9]*}} : f32
// CHECK: %[[H:.*]] = arith.constant dense<{{.*}}> : tensor<12x12xf32>
// CHECK: tensor.expand_shape %arg0 {{\[\[}}0], [1, 2, 3, 4]] output_shape [3, 1, 12, 2, 2]
// CHECK: linalg.index 3
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%{{.*}}, %[[H]] : tensor<3x1x12x2x2xf32>, tensor<12x12xf32>)
// CHECK: arith.mulf %{{.*}}, %[[NORM]]
// CHECK: tensor.collapse_shape
func.func @hadamard24(%x: tensor<3x48xf32>) -> tensor<3x48xf32> {
  %0 = qc.hadamard %x size 24 stride 2 : tensor<3x48xf32>
  return %0 : tensor<3x48xf32>
}

// -----

// What the pass must leave alone: ops of other dialects.
// CHECK-LABEL: func.func @untouched
// CHECK-NEXT: %[[R:.*]] = tosa.add %arg0, %arg0
// CHECK-NEXT: return %[[R]]
func.func @untouched(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = tosa.add %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// An int4 weight stored as a resource blob (one element per byte, as the
// importer writes MatMulNBits) is read as i8 bytes over the same blob and
// truncated inside the contraction: no i4 copy is made.
// CHECK-LABEL: func.func @w4_resource
// CHECK: %[[BYTES:.*]] = arith.constant dense_resource<w4> : tensor<2x4xi8>
// CHECK: linalg.generic {{.*}} ins(%arg0, %[[BYTES]], %{{.*}}, %{{.*}} : tensor<1x4xf32>, tensor<2x4xi8>, tensor<f32>, tensor<i32>)
// CHECK: arith.trunci %{{.*}} : i8 to i4
// CHECK: arith.extui %{{.*}} : i4 to i32
// CHECK-NOT: tensor<2x4xi4>
func.func @w4_resource(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense_resource<w4> : tensor<2x4xi4>
  %q = quant.scast %w : tensor<2x4xi4> to tensor<2x4x!quant.uniform<u4:f32, 0.5:8>>
  %0 = qc.matmul %x, %q {transpose_rhs} : (tensor<1x4xf32>, tensor<2x4x!quant.uniform<u4:f32, 0.5:8>>) -> tensor<1x2xf32>
  return %0 : tensor<1x2xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w4: "0x01000000010203040F0E0D0C"
    }
  }
#-}

// -----

// A convolution of dequantized int8 operands (per-tensor input, per-filter
// weight) becomes an i32 convolution of the codes, scaled in an epilogue
// that adds the original output (init) tensor: no float convolution is
// left. An asymmetric uint8 input is widened to i32 minus its zero point
// first.
// CHECK-LABEL: func.func @integer_conv
// CHECK: %[[ACC:.*]] = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%{{.*}}, %{{.*}} : tensor<1x2x5x5xi8>, tensor<3x2x3x3xi8>) outs(%{{.*}} : tensor<1x3x2x2xi32>)
// CHECK: linalg.generic {{.*}} ins(%[[ACC]], %arg2, %{{.*}}, %{{.*}} : tensor<1x3x2x2xi32>, tensor<1x3x2x2xf32>, tensor<f32>, tensor<3xf32>)
// CHECK: arith.sitofp
// CHECK: linalg.conv_2d_nchw_fchw {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x2x5x5xi32>, tensor<3x2x3x3xi8>) outs(%{{.*}} : tensor<1x3x2x2xi32>)
// CHECK-NOT: linalg.conv_2d_nchw_fchw {{.*}}f32
func.func @integer_conv(%xs: tensor<1x2x5x5xi8>, %us: tensor<1x2x5x5xi8>, %o: tensor<1x3x2x2xf32>) -> (tensor<1x3x2x2xf32>, tensor<1x3x2x2xf32>) {
  %x = quant.scast %xs : tensor<1x2x5x5xi8> to tensor<1x2x5x5x!quant.uniform<i8:f32, 0.5>>
  %u = quant.scast %us : tensor<1x2x5x5xi8> to tensor<1x2x5x5x!quant.uniform<u8:f32, 0.25:128>>
  %c = arith.constant dense<2> : tensor<3x2x3x3xi8>
  %q = quant.scast %c : tensor<3x2x3x3xi8> to tensor<3x2x3x3x!quant.uniform<i8:f32:0, {0.1, 0.2, 0.3}>>
  %w = qc.dequantize %q : tensor<3x2x3x3x!quant.uniform<i8:f32:0, {0.1, 0.2, 0.3}>> -> tensor<3x2x3x3xf32>
  %dx = qc.dequantize %x : tensor<1x2x5x5x!quant.uniform<i8:f32, 0.5>> -> tensor<1x2x5x5xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%dx, %w : tensor<1x2x5x5xf32>, tensor<3x2x3x3xf32>) outs(%o : tensor<1x3x2x2xf32>) -> tensor<1x3x2x2xf32>
  %du = qc.dequantize %u : tensor<1x2x5x5x!quant.uniform<u8:f32, 0.25:128>> -> tensor<1x2x5x5xf32>
  %z = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%du, %w : tensor<1x2x5x5xf32>, tensor<3x2x3x3xf32>) outs(%o : tensor<1x3x2x2xf32>) -> tensor<1x3x2x2xf32>
  return %y, %z : tensor<1x3x2x2xf32>, tensor<1x3x2x2xf32>
}

// -----

// Left float: a float input with a dequantized weight (weight-only), and a
// weight quantized along an axis other than the filter.
// CHECK-LABEL: func.func @float_conv
// CHECK: linalg.conv_2d_nchw_fchw {{.*}} ins(%arg0, %{{.*}} : tensor<1x2x5x5xf32>, tensor<3x2x3x3xf32>)
// CHECK: linalg.conv_2d_nchw_fchw {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x2x5x5xf32>, tensor<3x2x3x3xf32>)
func.func @float_conv(%f: tensor<1x2x5x5xf32>, %xs: tensor<1x2x5x5xi8>, %o: tensor<1x3x2x2xf32>) -> (tensor<1x3x2x2xf32>, tensor<1x3x2x2xf32>) {
  %x = quant.scast %xs : tensor<1x2x5x5xi8> to tensor<1x2x5x5x!quant.uniform<i8:f32, 0.5>>
  %c = arith.constant dense<2> : tensor<3x2x3x3xi8>
  %q = quant.scast %c : tensor<3x2x3x3xi8> to tensor<3x2x3x3x!quant.uniform<i8:f32:0, {0.1, 0.2, 0.3}>>
  %w = qc.dequantize %q : tensor<3x2x3x3x!quant.uniform<i8:f32:0, {0.1, 0.2, 0.3}>> -> tensor<3x2x3x3xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%f, %w : tensor<1x2x5x5xf32>, tensor<3x2x3x3xf32>) outs(%o : tensor<1x3x2x2xf32>) -> tensor<1x3x2x2xf32>
  %q1 = quant.scast %c : tensor<3x2x3x3xi8> to tensor<3x2x3x3x!quant.uniform<i8:f32:1, {0.1, 0.2}>>
  %w1 = qc.dequantize %q1 : tensor<3x2x3x3x!quant.uniform<i8:f32:1, {0.1, 0.2}>> -> tensor<3x2x3x3xf32>
  %dx = qc.dequantize %x : tensor<1x2x5x5x!quant.uniform<i8:f32, 0.5>> -> tensor<1x2x5x5xf32>
  %z = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%dx, %w1 : tensor<1x2x5x5xf32>, tensor<3x2x3x3xf32>) outs(%o : tensor<1x3x2x2xf32>) -> tensor<1x3x2x2xf32>
  return %y, %z : tensor<1x3x2x2xf32>, tensor<1x3x2x2xf32>
}

// -----

// qc.quantize_per_token on its own: a max-|x| reduction per row, the scale
// (1 for a zero row), then round-half-even codes clamped to [-8, 7] times
// the scale.
// CHECK-LABEL: func.func @per_token
// CHECK-DAG: arith.constant 7.000000e+00 : f32
// CHECK-DAG: arith.constant -8.000000e+00 : f32
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]{{.*}} ins(%arg0 : tensor<3x8xf32>) outs(%{{.*}} : tensor<3x1xf32>)
// CHECK: math.absf
// CHECK: arith.maximumf
// CHECK: arith.divf
// CHECK: arith.select
// CHECK: math.roundeven
// CHECK: arith.maximumf
// CHECK: arith.minimumf
// CHECK: arith.mulf
func.func @per_token(%x: tensor<3x8xf32>) -> tensor<3x8xf32> {
  %0 = qc.quantize_per_token %x {bits = 4} : tensor<3x8xf32>
  return %0 : tensor<3x8xf32>
}

// -----

// Feeding a matmul with per-channel int8 weights: the codes (i8) enter the
// integer contraction and the [3, 1] scales the epilogue; with group-wise
// weights (groups of 4 along K = 8) the codes are split into [3, 2, 4], an
// i32 contraction sums each group into [M, K/g, N] = [3, 2, 2], a second
// generic scales the groups by the weight's [2, 2] scales and sums them in
// f32, and the epilogue applies the row scales.
// CHECK-LABEL: func.func @per_token_matmul
// CHECK: %[[CODES:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<3x8xi8>)
// CHECK: arith.fptosi
// CHECK: %[[ACC:.*]] = linalg.generic {{.*}} ins(%[[CODES]], %{{.*}} : tensor<3x8xi8>, tensor<8x2xi8>) outs(%{{.*}} : tensor<3x2xi32>)
// CHECK: arith.muli
// CHECK: linalg.generic {{.*}} ins(%[[ACC]], %{{.*}}, %{{.*}} : tensor<3x2xi32>, tensor<3x1xf32>, tensor<2xf32>)
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<3x1xf32>)
// CHECK: %[[ROWS:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<3x1xf32>)
// CHECK: %[[CODES2:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<3x8xi8>)
// CHECK: %[[SPLIT:.*]] = tensor.expand_shape %[[CODES2]] {{\[}}[0], [1, 2]] output_shape [3, 2, 4]
// CHECK: %[[PARTIAL:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "parallel"]} ins(%[[SPLIT]], %{{.*}} : tensor<3x2x4xi8>, tensor<2x4x2xi8>) outs(%{{.*}} : tensor<3x2x2xi32>)
// CHECK: arith.muli
// CHECK: arith.addi
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[PARTIAL]], %{{.*}} : tensor<3x2x2xi32>, tensor<2x2xf32>) outs(%{{.*}} : tensor<3x2xf32>)
// CHECK: arith.sitofp
// CHECK: linalg.generic {{.*}} ins(%[[SUM]], %[[ROWS]] : tensor<3x2xf32>, tensor<3x1xf32>)
func.func @per_token_matmul(%x: tensor<3x8xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %c = arith.constant dense<1> : tensor<8x2xi8>
  %w = quant.scast %c : tensor<8x2xi8> to tensor<8x2x!quant.uniform<i8:f32:1, {0.5, 0.25}>>
  %t = qc.quantize_per_token %x {bits = 8} : tensor<3x8xf32>
  %y = qc.matmul %t, %w : (tensor<3x8xf32>, tensor<8x2x!quant.uniform<i8:f32:1, {0.5, 0.25}>>) -> tensor<3x2xf32>
  %g = quant.scast %c : tensor<8x2xi8> to tensor<8x2x!quant.uniform<i8:f32:{0:4, 1:1}, {{0.5, 0.25}, {0.5, 0.25}}>>
  %t2 = qc.quantize_per_token %x {bits = 8} : tensor<3x8xf32>
  %z = qc.matmul %t2, %g : (tensor<3x8xf32>, tensor<8x2x!quant.uniform<i8:f32:{0:4, 1:1}, {{0.5, 0.25}, {0.5, 0.25}}>>) -> tensor<3x2xf32>
  return %y, %z : tensor<3x2xf32>, tensor<3x2xf32>
}

// -----

// qc.decode feeding a matmul: the codes' bytes (an i8 constant) and the
// scales enter the contraction, decoded in its body; no f8 value is left.
// On its own (here: a convolution's weight... any non-matmul user) it is
// an element-wise generic over the bytes.
// CHECK-LABEL: func.func @decode
// CHECK-DAG: %[[BYTES:.*]] = arith.constant dense<{{\[}}[126, 102], [-64, 110]]> : tensor<2x2xi8>
// CHECK: linalg.generic {{.*}} ins(%arg0, %[[BYTES]], %{{.*}} : tensor<3x2xf32>, tensor<2x2xi8>, tensor<1x2xf32>)
// CHECK: arith.bitcast %{{.*}} : i32 to f32
// CHECK: arith.select
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<2x2xi8>, tensor<1x2xf32>) outs(%{{.*}} : tensor<2x2xf32>)
// CHECK-NOT: f8E4M3FN
func.func @decode(%x: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<2x2xf32>) {
  %c = arith.constant dense<[[448.0, 56.0], [-2.0, 112.0]]> : tensor<2x2xf8E4M3FN>
  %s = arith.constant dense<[[0.5, 0.25]]> : tensor<1x2xf32>
  %w = qc.decode %c scales %s : (tensor<2x2xf8E4M3FN>, tensor<1x2xf32>) -> tensor<2x2xf32>
  %y = qc.matmul %x, %w : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  %c2 = arith.constant dense<[[448.0, 56.0], [-2.0, 112.0]]> : tensor<2x2xf8E4M3FN>
  %w2 = qc.decode %c2 scales %s : (tensor<2x2xf8E4M3FN>, tensor<1x2xf32>) -> tensor<2x2xf32>
  return %y, %w2 : tensor<3x2xf32>, tensor<2x2xf32>
}
