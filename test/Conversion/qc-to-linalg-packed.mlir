// RUN: quant-opt %s --split-input-file --qc-pack-weights --convert-qc-to-linalg | FileCheck %s

// A float lhs times a nibbles-packed signed int4 weight [N = 2, K = 16] in
// groups of 8: the contraction reads the packed words, [2, 2] i32 (row 0:
// codes 1, -2, 7, -8, 0, 1, 2, 3 twice = 0x321087E1; row 1: eight 1s =
// 0x11111111, eight -1s = 0xFFFFFFFF), the lhs viewed as [2, 2, 8], one
// generic over (m, n, w) with the word's scale at (n, w). The body expands
// codes by the bit trick of numerics::NibbleMagic: XOR 0x88888888
// (-2004318072), nibbles 0..4 in place and 5..7 from the word >> 20, each
// masked, OR the bits of 2^23 (1258291200), bitcast, minus 2^23; no
// sitofp; the signed codes' zero point 8 times the sum of x comes off the
// word's sum.
// CHECK-LABEL: func.func @signed_groups
// CHECK-DAG: %[[WORDS:.*]] = arith.constant dense<{{\[\[}}839944161, 839944161], [286331153, -1]]> : tensor<2x2xi32>
// CHECK-DAG: %[[SCALES:.*]] = arith.constant dense<{{\[\[}}1.000000e+00, 2.000000e+00], [5.000000e-01, 2.500000e-01]]> : tensor<2x2xf32>
// CHECK: %[[X:.*]] = tensor.expand_shape %arg0 {{\[\[}}0], [1, 2]] output_shape [2, 2, 8]
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[X]], %[[X]], %[[X]], %[[X]], %[[X]], %[[X]], %[[X]], %[[X]], %[[WORDS]], %[[SCALES]] :
// CHECK-SAME: qc.packed_contraction
// CHECK: arith.xori %{{.*}}, %c-2004318072_i32
// CHECK: arith.shrui %{{.*}}, %c20_i32
// CHECK-COUNT-8: arith.ori %{{.*}}, %c1258291200_i32
// CHECK-NOT: arith.sitofp
// CHECK: %[[ZX:.*]] = arith.mulf %{{.*}}, %cst fastmath<contract> : f32
// CHECK: %[[SUM:.*]] = arith.subf %{{.*}}, %[[ZX]]
// CHECK: %[[SCALED:.*]] = arith.mulf %[[SUM]], %in
// CHECK: arith.addf %out, %[[SCALED]]
// CHECK: linalg.yield
// CHECK-NOT: qc.packed_weight
func.func @signed_groups(%x: tensor<2x16xf32>) -> tensor<2x2xf32> {
  %cst = arith.constant dense<[[1, -2, 7, -8, 0, 1, 2, 3, 1, -2, 7, -8, 0, 1, 2, 3], [1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1, -1]]> : tensor<2x16xi4>
  %w = quant.scast %cst : tensor<2x16xi4> to tensor<2x16x!quant.uniform<i4:f32:{0:1, 1:8}, {{1.0, 2.0}, {0.5, 0.25}}>>
  %y = qc.matmul %x, %w {transpose_rhs} : (tensor<2x16xf32>, tensor<2x16x!quant.uniform<i4:f32:{0:1, 1:8}, {{1.0, 2.0}, {0.5, 0.25}}>>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// Unsigned codes with a zero point (MatMulNBits' u4 with 8) in a [K, N]
// weight (k_axis = 0, no transpose_rhs): no XOR; the zero point comes from
// its tensor (sitofp of the i32 zero point, once per word).
// CHECK-LABEL: func.func @unsigned_zero_point
// CHECK: tensor<2x2xi32>
// CHECK: linalg.generic
// CHECK-SAME: qc.packed_contraction
// CHECK-NOT: arith.xori
// CHECK: arith.sitofp %{{.*}} : i32 to f32
// CHECK: linalg.yield
func.func @unsigned_zero_point(%x: tensor<1x16xf32>) -> tensor<1x2xf32> {
  %cst = arith.constant dense<5> : tensor<16x2xi4>
  %w = quant.scast %cst : tensor<16x2xi4> to tensor<16x2x!quant.uniform<u4:f32, 0.5:8>>
  %y = qc.matmul %x, %w : (tensor<1x16xf32>, tensor<16x2x!quant.uniform<u4:f32, 0.5:8>>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// What the packed contraction must not take: K = 12 (no whole words) and
// groups of 4 along K (two scales per word) are unpacked at compile time
// and contract one code per byte as before.
// CHECK-LABEL: func.func @not_words
// CHECK-NOT: qc.packed_contraction
// CHECK-DAG: tensor<2x12xi8>
// CHECK-DAG: tensor<2x16xi8>
// CHECK-NOT: qc.packed_contraction
// CHECK: return
func.func @not_words(%x: tensor<1x12xf32>, %z: tensor<1x16xf32>) -> (tensor<1x2xf32>, tensor<1x2xf32>) {
  %cst = arith.constant dense<3> : tensor<2x12xi4>
  %w = quant.scast %cst : tensor<2x12xi4> to tensor<2x12x!quant.uniform<i4:f32, 0.5>>
  %y = qc.matmul %x, %w {transpose_rhs} : (tensor<1x12xf32>, tensor<2x12x!quant.uniform<i4:f32, 0.5>>) -> tensor<1x2xf32>
  %cst2 = arith.constant dense<3> : tensor<2x16xi4>
  %w2 = quant.scast %cst2 : tensor<2x16xi4> to tensor<2x16x!quant.uniform<i4:f32:{0:1, 1:4}, {{1.0, 1.0, 1.0, 1.0}, {1.0, 1.0, 1.0, 1.0}}>>
  %y2 = qc.matmul %z, %w2 {transpose_rhs} : (tensor<1x16xf32>, tensor<2x16x!quant.uniform<i4:f32:{0:1, 1:4}, {{1.0, 1.0, 1.0, 1.0}, {1.0, 1.0, 1.0, 1.0}}>>) -> tensor<1x2xf32>
  return %y, %y2 : tensor<1x2xf32>, tensor<1x2xf32>
}
