// RUN: quant-opt %s --split-input-file --qc-pack-weights --convert-qc-to-linalg="f16-products=true" | FileCheck %s
// RUN: quant-opt %s --split-input-file --qc-pack-weights --convert-qc-to-linalg | FileCheck %s --check-prefix=F32

// f16-products: the same packed contraction (words, the lhs viewed as
// [M, K/8, 8], the marker), with a body in f16 pairs. Signed codes: XOR
// 0x88888888; pair j holds codes j and j + 4: the word (j < 2) or the word
// shifted right by 8 (one shift), masked by 0x000F000F (983055; j even)
// or 0x00F000F0 (15728880; j odd), ORed with the bits of 1024.0 in both
// halves (0x64006400 = 1677747200), bitcast to vector<2xf16>, and scaled
// to (u − 8)/16 exactly (numerics::NibblePairF16): · 1/16 − (1024 + 8)/16
// = −64.5, or for the odd pairs (1024 + 16u) · 1/256 − (1024 + 128)/256 =
// −4.5. The activations (x_j, x_j+4) are rounded to f16 in one truncf;
// products and sums as mulf/addf with contract (NVPTX makes f16x2 fmas of
// them; math.fma would go through libdevice's f32 fmaf); the halves
// extended, added, times 16 · the scale.
// CHECK-LABEL: func.func @signed_groups
// CHECK-DAG: %[[SIXTEEN:.*]] = arith.constant 1.600000e+01 : f32
// CHECK-DAG: %[[SIXTEENTH:.*]] = arith.constant dense<6.250000e-02> : vector<2xf16>
// CHECK-DAG: %[[LOW:.*]] = arith.constant dense<-6.450000e+01> : vector<2xf16>
// CHECK-DAG: %[[ONE256:.*]] = arith.constant dense<3.906250e-03> : vector<2xf16>
// CHECK-DAG: %[[HIGH:.*]] = arith.constant dense<-4.500000e+00> : vector<2xf16>
// CHECK: linalg.generic
// CHECK-SAME: qc.packed_contraction
// CHECK: %[[WORD:.*]] = arith.xori %{{.*}}, %c-2004318072_i32
// CHECK-NOT: arith.sitofp
// CHECK: arith.shrui %[[WORD]], %c8_i32
// CHECK: arith.andi %[[WORD]], %c983055_i32
// CHECK: arith.ori %{{.*}}, %c1677747200_i32
// CHECK: %[[PAIR:.*]] = vector.bitcast %{{.*}} : vector<1xi32> to vector<2xf16>
// CHECK: %[[SCALED:.*]] = arith.mulf %[[PAIR]], %[[SIXTEENTH]] fastmath<contract> : vector<2xf16>
// CHECK: arith.addf %[[SCALED]], %[[LOW]] fastmath<contract> : vector<2xf16>
// CHECK: vector.from_elements %in, %in_{{[0-9]+}} : vector<2xf32>
// CHECK: arith.truncf %{{.*}} : vector<2xf32> to vector<2xf16>
// CHECK: arith.mulf %{{.*}} fastmath<contract> : vector<2xf16>
// CHECK: arith.andi %[[WORD]], %c15728880_i32
// CHECK: %[[PAIR1:.*]] = vector.bitcast
// CHECK: %[[SCALED1:.*]] = arith.mulf %[[PAIR1]], %[[ONE256]] fastmath<contract> : vector<2xf16>
// CHECK: arith.addf %[[SCALED1]], %[[HIGH]] fastmath<contract> : vector<2xf16>
// CHECK-NOT: arith.shrui
// CHECK-NOT: math.fma
// CHECK: arith.extf %{{.*}} : vector<2xf16> to vector<2xf32>
// CHECK: arith.mulf %{{.*}}, %[[SIXTEEN]] : f32
// CHECK: linalg.yield
// Without the option the f32 body stays (nibbles under 2^23, no vectors).
// F32-LABEL: func.func @signed_groups
// F32: arith.ori %{{.*}}, %c1258291200_i32
// F32-NOT: vector<2xf16>
// F32: linalg.yield
func.func @signed_groups(%x: tensor<2x16xf32>) -> tensor<2x2xf32> {
  %cst = arith.constant dense<[[1, -2, 7, -8, 0, 1, 2, 3, 1, -2, 7, -8, 0, 1, 2, 3], [1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1, -1]]> : tensor<2x16xi4>
  %w = quant.scast %cst : tensor<2x16xi4> to tensor<2x16x!quant.uniform<i4:f32:{0:1, 1:8}, {{1.0, 2.0}, {0.5, 0.25}}>>
  %y = qc.matmul %x, %w {transpose_rhs} : (tensor<2x16xf32>, tensor<2x16x!quant.uniform<i4:f32:{0:1, 1:8}, {{1.0, 2.0}, {0.5, 0.25}}>>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// Unsigned codes with a zero point tensor: no XOR; the addends
// −(1024 + zero point)/16 and −(1024 + 16 · zero point)/256 are computed per
// word from the zero point (sitofp, · 1 or 16, + 1024, · −1/16 or −1/256),
// rounded to f16 and broadcast to the pairs.
// CHECK-LABEL: func.func @unsigned_zero_point
// CHECK: linalg.generic
// CHECK-NOT: arith.xori
// CHECK: arith.sitofp %{{.*}} : i32 to f32
// CHECK: arith.mulf %{{.*}}, %cst{{.*}} : f32
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: vector.broadcast %{{.*}} : f16 to vector<2xf16>
// CHECK: linalg.yield
func.func @unsigned_zero_point(%x: tensor<1x16xf32>) -> tensor<1x2xf32> {
  %cst = arith.constant dense<5> : tensor<16x2xi4>
  %w = quant.scast %cst : tensor<16x2xi4> to tensor<16x2x!quant.uniform<u4:f32, 0.5:8>>
  %y = qc.matmul %x, %w : (tensor<1x16xf32>, tensor<16x2x!quant.uniform<u4:f32, 0.5:8>>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// Not touched: a weight that does not pack into words (K = 12) is unpacked
// and contracted one code per byte, in f32, as without the option.
// CHECK-LABEL: func.func @no_words
// CHECK-NOT: vector<2xf16>
// CHECK-NOT: qc.packed_contraction
// CHECK: return
func.func @no_words(%x: tensor<1x12xf32>) -> tensor<1x2xf32> {
  %cst = arith.constant dense<3> : tensor<2x12xi4>
  %w = quant.scast %cst : tensor<2x12xi4> to tensor<2x12x!quant.uniform<i4:f32, 0.5>>
  %y = qc.matmul %x, %w {transpose_rhs} : (tensor<1x12xf32>, tensor<2x12x!quant.uniform<i4:f32, 0.5>>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}
