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

// -----

// A constant weight is packed into panels of register-n columns,
// [N / 8, K, 8], so each register block's k loop reads one contiguous run.
// The contraction runs over (m, k, panel, column) on a [4, 2, 8] view of the
// output; a collapse_shape gives back [4, 16]. (The packed bytes themselves
// are checked by matmul-numerics.test, which runs the result.)
// CHECK-LABEL: func.func @packed
// CHECK: %[[W:.*]] = arith.constant dense_resource<packed_weight{{.*}}> : tensor<2x2x8xf32>
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [4, 2, 8] : tensor<4x16xf32> into tensor<4x2x8xf32>
// CHECK: vector.transfer_read %[[W]]
// CHECK: vector.contract
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2]] : tensor<4x2x8xf32> into tensor<4x16xf32>
#lhs = affine_map<(m, k, n) -> (m, k)>
#rhs = affine_map<(m, k, n) -> (k, n)>
#out = affine_map<(m, k, n) -> (m, n)>
func.func @packed(%a: tensor<4x2xf32>, %c: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %b = arith.constant dense<[[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0], [16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0]]> : tensor<2x16xf32>
  %0 = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : tensor<4x2xf32>, tensor<2x16xf32>) outs(%c : tensor<4x16xf32>) attrs = {qc.contraction} {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

// Not packed: a splat weight (nothing to gain), and a weight that another op
// also reads (it would be stored twice).
// CHECK-LABEL: func.func @not_packed
// CHECK-NOT: packed_weight
// CHECK: return
#lhs = affine_map<(m, k, n) -> (m, k)>
#rhs = affine_map<(m, k, n) -> (k, n)>
#out = affine_map<(m, k, n) -> (m, n)>
func.func @not_packed(%a: tensor<4x2xf32>, %c: tensor<4x16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<2x16xf32>) {
  %s = arith.constant dense<1.0> : tensor<2x16xf32>
  %b = arith.constant dense<[[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0], [16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0]]> : tensor<2x16xf32>
  %0 = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %s : tensor<4x2xf32>, tensor<2x16xf32>) outs(%c : tensor<4x16xf32>) attrs = {qc.contraction} {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %q = arith.addf %acc, %p : f32
    linalg.yield %q : f32
  } -> tensor<4x16xf32>
  %1 = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : tensor<4x2xf32>, tensor<2x16xf32>) outs(%c : tensor<4x16xf32>) attrs = {qc.contraction} {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %q = arith.addf %acc, %p : f32
    linalg.yield %q : f32
  } -> tensor<4x16xf32>
  return %0, %1, %b : tensor<4x16xf32>, tensor<4x16xf32>, tensor<2x16xf32>
}
