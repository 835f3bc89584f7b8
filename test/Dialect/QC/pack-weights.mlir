// RUN: quant-opt %s --split-input-file --qc-pack-weights | FileCheck %s --check-prefix=NIB
// RUN: quant-opt %s --split-input-file --qc-pack-weights=layout=vnni | FileCheck %s --check-prefix=VNNI
// RUN: quant-opt %s --split-input-file --qc-pack-weights=layout=mma | FileCheck %s --check-prefix=MMA
// The packed module lowers to the same code as the unpacked one: the CPU
// lowering unpacks constant packed weights at compile time.
// RUN: quant-opt %s --split-input-file --qc-pack-weights --convert-qc-to-linalg | FileCheck %s --check-prefix=LOWERED

// Signed int4 [N = 1, K = 4] codes [1, -2, 7, -8]: nibbles are 0xE1, 0x87
// (-31, -121 as i8). The same codes in a [K, N] weight (k_axis = 0) pack
// the same way. vnni and mma cannot hold N = 1 (see pack-weights-invalid).
// NIB-LABEL: func.func @int4_nibbles
// NIB: %[[B:.*]] = arith.constant dense<[-31, -121]> : tensor<2xi8>
// NIB: %[[W:.*]] = qc.packed_weight %[[B]] layout <nibbles, bits = 4, k_axis = 1> : tensor<2xi8> -> tensor<1x4x!quant.uniform<i4:f32, 5.000000e-01>>
// NIB: qc.matmul %arg0, %[[W]] {transpose_rhs}
// NIB: %[[B2:.*]] = arith.constant dense<[-31, -121]> : tensor<2xi8>
// NIB: qc.packed_weight %[[B2]] layout <nibbles, bits = 4, k_axis = 0> : tensor<2xi8> -> tensor<4x1x!quant.uniform<i4:f32, 5.000000e-01>>
// LOWERED-LABEL: func.func @int4_nibbles
// LOWERED-DAG: arith.constant dense<{{\[\[}}1, -2, 7, -8]]> : tensor<1x4xi8>
// LOWERED-DAG: arith.constant dense<{{\[\[}}1], [-2], [7], [-8]]> : tensor<4x1xi8>
// LOWERED-NOT: qc.packed_weight
func.func @int4_nibbles(%x: tensor<2x4xf32>) -> (tensor<2x1xf32>, tensor<2x1xf32>) {
  %cst = arith.constant dense<[[1, -2, 7, -8]]> : tensor<1x4xi4>
  %w = quant.scast %cst : tensor<1x4xi4> to tensor<1x4x!quant.uniform<i4:f32, 0.5>>
  %y = qc.matmul %x, %w {transpose_rhs} : (tensor<2x4xf32>, tensor<1x4x!quant.uniform<i4:f32, 0.5>>) -> tensor<2x1xf32>
  %cst2 = arith.constant dense<[[1], [-2], [7], [-8]]> : tensor<4x1xi4>
  %w2 = quant.scast %cst2 : tensor<4x1xi4> to tensor<4x1x!quant.uniform<i4:f32, 0.5>>
  %z = qc.matmul %x, %w2 : (tensor<2x4xf32>, tensor<4x1x!quant.uniform<i4:f32, 0.5>>) -> tensor<2x1xf32>
  return %y, %z : tensor<2x1xf32>, tensor<2x1xf32>
}

// -----

// Unsigned int4 [N = 16, K = 8] with a zero point; code (n, k) = (n + k) % 16.
// vnni: lane 0, byte 0 holds k = 0 (low) and k = 4 (high): 0x40 = 64;
// lane 1, byte 0 (byte 4): k = 0 -> 1, k = 4 -> 5: 0x51 = 81.
// NIB-LABEL: func.func @uint4
// NIB: qc.packed_weight %{{.*}} layout <nibbles, bits = 4, k_axis = 1> : tensor<64xi8>
// VNNI-LABEL: func.func @uint4
// VNNI: %[[B:.*]] = arith.constant dense<[64, {{-?[0-9]+}}, {{-?[0-9]+}}, {{-?[0-9]+}}, 81,
// VNNI: qc.packed_weight %[[B]] layout <vnni, bits = 4, k_axis = 1> : tensor<64xi8> -> tensor<16x8x!quant.uniform<u4:f32, 2.500000e-01:8>>
// MMA-LABEL: func.func @uint4
// MMA-NOT: qc.packed_weight
func.func @uint4(%x: tensor<3x8xf32>) -> tensor<3x16xf32> {
  %cst = arith.constant dense<[[0, 1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 7, 8], [2, 3, 4, 5, 6, 7, 8, 9], [3, 4, 5, 6, 7, 8, 9, 10], [4, 5, 6, 7, 8, 9, 10, 11], [5, 6, 7, 8, 9, 10, 11, 12], [6, 7, 8, 9, 10, 11, 12, 13], [7, 8, 9, 10, 11, 12, 13, 14], [8, 9, 10, 11, 12, 13, 14, 15], [9, 10, 11, 12, 13, 14, 15, 0], [10, 11, 12, 13, 14, 15, 0, 1], [11, 12, 13, 14, 15, 0, 1, 2], [12, 13, 14, 15, 0, 1, 2, 3], [13, 14, 15, 0, 1, 2, 3, 4], [14, 15, 0, 1, 2, 3, 4, 5], [15, 0, 1, 2, 3, 4, 5, 6]]> : tensor<16x8xi4>
  %w = quant.scast %cst : tensor<16x8xi4> to tensor<16x8x!quant.uniform<u4:f32, 0.25:8>>
  %y = qc.matmul %x, %w {transpose_rhs} : (tensor<3x8xf32>, tensor<16x8x!quant.uniform<u4:f32, 0.25:8>>) -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

// -----

// int4 [N = 8, K = 32], group 32: only mma (and nibbles) hold it.
// MMA-LABEL: func.func @mma_tile
// MMA: qc.packed_weight %{{.*}} layout <mma, bits = 4, k_axis = 1> : tensor<128xi8> -> tensor<8x32x!quant.uniform<i4:f32:{0:1, 1:32}
func.func @mma_tile(%x: tensor<1x32xf32>) -> tensor<1x8xf32> {
  %cst = arith.constant dense<3> : tensor<8x32xi4>
  %w = quant.scast %cst : tensor<8x32xi4> to tensor<8x32x!quant.uniform<i4:f32:{0:1, 1:32}, {{1.0}, {1.0}, {1.0}, {1.0}, {1.0}, {1.0}, {1.0}, {1.0}}>>
  %y = qc.matmul %x, %w {transpose_rhs} : (tensor<1x32xf32>, tensor<8x32x!quant.uniform<i4:f32:{0:1, 1:32}, {{1.0}, {1.0}, {1.0}, {1.0}, {1.0}, {1.0}, {1.0}, {1.0}}>>) -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

// int8 [N = 16, K = 4]: vnni packs it (byte 4·lane + k); nibbles and mma
// leave it (a byte per code already).
// NIB-LABEL: func.func @int8
// NIB-NOT: qc.packed_weight
// VNNI-LABEL: func.func @int8
// VNNI: qc.packed_weight %{{.*}} layout <vnni, bits = 8, k_axis = 1> : tensor<64xi8>
// MMA-LABEL: func.func @int8
// MMA-NOT: qc.packed_weight
func.func @int8(%x: tensor<2x4xf32>) -> tensor<2x16xf32> {
  %cst = arith.constant dense<5> : tensor<16x4xi8>
  %w = quant.scast %cst : tensor<16x4xi8> to tensor<16x4x!quant.uniform<i8:f32, 0.5>>
  %y = qc.matmul %x, %w {transpose_rhs} : (tensor<2x4xf32>, tensor<16x4x!quant.uniform<i8:f32, 0.5>>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

// Left alone by every layout: float weights and non-constant codes.
// NIB-LABEL: func.func @untouched
// NIB-NOT: qc.packed_weight
// VNNI-LABEL: func.func @untouched
// VNNI-NOT: qc.packed_weight
// MMA-LABEL: func.func @untouched
// MMA-NOT: qc.packed_weight
func.func @untouched(%x: tensor<2x32xf32>, %codes: tensor<16x32xi4>) -> (tensor<2x16xf32>, tensor<2x16xf32>) {
  %f = arith.constant dense<1.0> : tensor<16x32xf32>
  %y = qc.matmul %x, %f {transpose_rhs} : (tensor<2x32xf32>, tensor<16x32xf32>) -> tensor<2x16xf32>
  %w = quant.scast %codes : tensor<16x32xi4> to tensor<16x32x!quant.uniform<i4:f32, 0.5>>
  %z = qc.matmul %x, %w {transpose_rhs} : (tensor<2x32xf32>, tensor<16x32x!quant.uniform<i4:f32, 0.5>>) -> tensor<2x16xf32>
  return %y, %z : tensor<2x16xf32>, tensor<2x16xf32>
}
