// RUN: quant-opt %s --split-input-file --qc-tile-contractions="tile-n=16 tile-k=8 register-m=4 register-n=8" | FileCheck %s

// Inside each [16 rows x 16 columns x 8 k] cache tile: [4 x 8] register
// blocks, a k loop inside each carrying the block as a vector (the
// accumulator is read before the k loop and written after it, not in it),
// and one vector.contract per k step.
// CHECK-LABEL: func.func @blocked
// CHECK: scf.for %{{.*}} step %c16
// CHECK: scf.for %{{.*}} step %c8
// CHECK: scf.for %[[M:.*]] = %c0 to %c16 step %c4
// CHECK: scf.for %[[N:.*]] = %c0 to %c16 step %c8
// CHECK: %[[ACC:.*]] = vector.transfer_read %{{.*}}[%[[M]], %[[N]]]{{.*}} : tensor<16x16xf32>, vector<4x8xf32>
// CHECK: scf.for {{.*}} iter_args({{.*}}, %[[V:.*]] = %[[ACC]]) -> (tensor<16x16xf32>, vector<4x8xf32>)
// CHECK-NOT: vector.transfer_write
// CHECK: vector.contract {{.*}} into vector<4x8xf32>
// CHECK: scf.yield
// CHECK: vector.transfer_write %{{.*}}[%[[M]], %[[N]]]
#lhs = affine_map<(m, k, n) -> (m, k)>
#rhs = affine_map<(m, k, n) -> (k, n)>
#out = affine_map<(m, k, n) -> (m, n)>
func.func @blocked(%a: tensor<16x16xf32>, %b: tensor<16x32xf32>, %c: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %0 = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : tensor<16x16xf32>, tensor<16x32xf32>) outs(%c : tensor<16x32xf32>) attrs = {qc.contraction} {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<16x32xf32>
  return %0 : tensor<16x32xf32>
}

// -----

// Rows that the register block does not divide (18 = 4 * 4 + 2): the cache
// tiles stay scalar loops, no vectors.
// CHECK-LABEL: func.func @ragged
// CHECK-NOT: vector.
// CHECK: linalg.generic
// CHECK-NOT: vector.
// CHECK: return
#lhs = affine_map<(m, k, n) -> (m, k)>
#rhs = affine_map<(m, k, n) -> (k, n)>
#out = affine_map<(m, k, n) -> (m, n)>
func.func @ragged(%a: tensor<18x16xf32>, %b: tensor<16x32xf32>, %c: tensor<18x32xf32>) -> tensor<18x32xf32> {
  %0 = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : tensor<18x16xf32>, tensor<16x32xf32>) outs(%c : tensor<18x32xf32>) attrs = {qc.contraction} {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<18x32xf32>
  return %0 : tensor<18x32xf32>
}

// -----

// A transposed right-hand side (k innermost: iteration order (m, n, k)) is
// not register-blocked: its block would reduce across vector lanes.
// CHECK-LABEL: func.func @transposed
// CHECK-NOT: vector.
// CHECK: return
#lhs = affine_map<(m, n, k) -> (m, k)>
#rhs = affine_map<(m, n, k) -> (n, k)>
#out = affine_map<(m, n, k) -> (m, n)>
func.func @transposed(%a: tensor<16x16xf32>, %b: tensor<32x16xf32>, %c: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %0 = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<16x16xf32>, tensor<32x16xf32>) outs(%c : tensor<16x32xf32>) attrs = {qc.contraction} {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<16x32xf32>
  return %0 : tensor<16x32xf32>
}
