// RUN: quant-opt %s --split-input-file --qc-pack-weights --convert-qc-to-linalg --qc-vectorize-packed-contractions --canonicalize --cse --verify-diagnostics | FileCheck %s
// RUN: quant-opt %s --split-input-file --qc-pack-weights --convert-qc-to-linalg --qc-vectorize-packed-contractions="parallel=true row-tiles=2 min-parallel-macs=1" --canonicalize | FileCheck %s --check-prefix=PAR
// RUN: not quant-opt %s --split-input-file --qc-vectorize-packed-contractions=lanes=0 2>&1 | FileCheck %s --check-prefix=BADOPT
// RUN: quant-opt %s --split-input-file --qc-pack-weights --convert-qc-to-linalg --qc-vectorize-packed-contractions="parallel=true row-tiles=2" | FileCheck %s --check-prefix=SMALL
// These contractions are below min-parallel-macs (2^20 multiply-adds by
// default): no threads.
// SMALL-NOT: scf.forall

// A signed int4 GEMV, K = 256 in groups of 128 (16 words per group): chunks
// of 16 words (vector<16xi32>). The activation is rearranged once to
// [M, chunks, 8, 16] times 2^-4j, and its per-word sums kept for the
// zero point 8 of the XORed codes. Per chunk: the XOR, nibbles 0..6 masked
// in place (15, 240, ..., 0xF << 24) and converted, nibble 7 shifted down
// by 28, 8 products into one lane sum, minus 8 x the word sums, times the
// group's scale (one per chunk: broadcast) into the row's accumulator; the
// lanes are summed into the output after the row.
// CHECK-LABEL: func.func @gemv
// CHECK: %[[FACTORS:.*]] = arith.constant dense<[1.000000e+00, 6.250000e-02, 3.906250e-03, 2.44140625E-4, 1.52587891E-5, 9.53674316E-7, 5.96046448E-8, 1.000000e+00]> : tensor<8xf32>
// CHECK: %[[VIEW:.*]] = tensor.expand_shape %arg0 {{\[\[}}0], [1, 2, 3]] output_shape [1, 2, 16, 8]
// CHECK: %[[XP:.*]] = linalg.generic {{.*}} ins(%[[VIEW]], %[[FACTORS]] : tensor<1x2x16x8xf32>, tensor<8xf32>) outs(%{{.*}} : tensor<1x2x8x16xf32>)
// CHECK: %[[XS:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[VIEW]] : tensor<1x2x16x8xf32>) outs(%{{.*}} : tensor<1x2x16xf32>)
// CHECK: scf.for %[[N:.*]] = %c0 to %c2
// CHECK: scf.for %[[C:.*]] = %c0 to %c2 step %c1 iter_args(%[[ACC:.*]] = %{{.*}}) -> (vector<16xf32>)
// CHECK: %[[W:.*]] = vector.transfer_read %{{.*}}[%[[N]], %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<2x32xi32>, vector<16xi32>
// CHECK: %[[X8:.*]] = arith.xori %[[W]], %cst{{.*}} : vector<16xi32>
// CHECK-COUNT-7: arith.andi %[[X8]]
// CHECK: arith.shrui %[[X8]]
// CHECK-NOT: arith.andi
// CHECK: %[[SUM:.*]] = vector.fma
// CHECK: %[[SCALE:.*]] = tensor.extract
// CHECK: %[[SPLAT:.*]] = vector.broadcast %[[SCALE]] : f32 to vector<16xf32>
// CHECK: %[[WS:.*]] = vector.transfer_read %[[XS]]
// CHECK: %[[ZP:.*]] = vector.fma %cst{{.*}}, %[[WS]], %[[SUM]]
// CHECK: vector.fma %[[SPLAT]], %[[ZP]], %[[ACC]]
// CHECK: vector.reduction <add>, %{{.*}} fastmath<reassoc,contract> : vector<16xf32> into f32
// CHECK: tensor.insert
// CHECK-NOT: qc.packed_contraction
// PAR-LABEL: func.func @gemv
// PAR-NOT: scf.forall
// No row tiles for N = 2: fewer than 16 rows per tile.
func.func @gemv(%x: tensor<1x256xf32>) -> tensor<1x2xf32> {
  %cst = arith.constant dense<3> : tensor<2x256xi4>
  %w = quant.scast %cst : tensor<2x256xi4> to tensor<2x256x!quant.uniform<i4:f32:{0:1, 1:128}, {{1.0, 2.0}, {0.5, 0.25}}>>
  %y = qc.matmul %x, %w {transpose_rhs} : (tensor<1x256xf32>, tensor<2x256x!quant.uniform<i4:f32:{0:1, 1:128}, {{1.0, 2.0}, {0.5, 0.25}}>>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// Groups of 32 (4 words) in chunks of 16 words: the 4 scales of a chunk
// are gathered and spread over their words by a shuffle. Unsigned codes
// with zero points: no XOR, the zero point (converted) times the word sums.
// Two rows of x share each chunk's codes (two accumulators).
// CHECK-LABEL: func.func @groups_of_32
// CHECK: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>)
// CHECK-NOT: arith.xori
// CHECK: %[[S:.*]] = vector.from_elements %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : vector<4xf32>
// CHECK: vector.shuffle %[[S]], %[[S]] [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3] : vector<4xf32>, vector<4xf32>
// CHECK: arith.sitofp %{{.*}} : i32 to f32
// CHECK: scf.yield %{{.*}}, %{{.*}} : vector<16xf32>, vector<16xf32>
// CHECK-COUNT-2: vector.reduction <add>
// CHECK-NOT: qc.packed_contraction
// With row tiles: 32 rows in 2 tiles of 16, an scf.forall writing slices.
// PAR-LABEL: func.func @groups_of_32
// PAR: scf.forall (%{{.*}}) in (2) shared_outs(%{{.*}} = %{{.*}}) -> (tensor<2x32xf32>)
// PAR: tensor.extract_slice %{{.*}}[0, %{{.*}}] [2, 16] [1, 1]
// PAR: tensor.parallel_insert_slice %{{.*}} into %{{.*}}[0, %{{.*}}] [2, 16] [1, 1]
func.func @groups_of_32(%x: tensor<2x256xf32>) -> tensor<2x32xf32> {
  %cst = arith.constant dense<5> : tensor<32x256xi4>
  %w = quant.scast %cst : tensor<32x256xi4> to tensor<32x256x!quant.uniform<u4:f32:{0:1, 1:32}, {{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1}}>>
  %y = qc.matmul %x, %w {transpose_rhs} : (tensor<2x256xf32>, tensor<32x256x!quant.uniform<u4:f32:{0:1, 1:32}, {{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1},{0.5:8, 0.25:7, 1.0:3, 2.0:1, 0.5:8, 0.25:7, 1.0:3, 2.0:1}}>>) -> tensor<2x32xf32>
  return %y : tensor<2x32xf32>
}

// -----

// What the pass must not touch: an f16 activation (the generic stays, and
// is still correct), and a float matmul (no packed contraction at all).
// CHECK-LABEL: func.func @f16_activation
// CHECK: linalg.generic
// CHECK-SAME: qc.packed_contraction = {int8 = false, signed = true, zero_point = 0.000000e+00 : f32}
// CHECK-NOT: vector.fma
func.func @f16_activation(%x: tensor<1x16xf16>) -> tensor<1x2xf16> {
  %cst = arith.constant dense<3> : tensor<2x16xi4>
  %w = quant.scast %cst : tensor<2x16xi4> to tensor<2x16x!quant.uniform<i4:f16:{0:1, 1:8}, {{1.0, 2.0}, {0.5, 0.25}}>>
  %y = qc.matmul %x, %w {transpose_rhs} : (tensor<1x16xf16>, tensor<2x16x!quant.uniform<i4:f16:{0:1, 1:8}, {{1.0, 2.0}, {0.5, 0.25}}>>) -> tensor<1x2xf16>
  return %y : tensor<1x2xf16>
}

// -----

// CHECK-LABEL: func.func @float_matmul
// CHECK: qc.contraction
// CHECK-NOT: vector.transfer_read
func.func @float_matmul(%x: tensor<1x16xf32>, %w: tensor<16x4xf32>) -> tensor<1x4xf32> {
  %y = qc.matmul %x, %w : (tensor<1x16xf32>, tensor<16x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// BADOPT: qc-vectorize-packed-contractions: lanes and row-tiles must be >= 1
