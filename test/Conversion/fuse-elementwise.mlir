// RUN: quant-opt %s --split-input-file --qc-fuse-elementwise | FileCheck %s

// A splat operand folds into the body (upstream's constant folding, which
// builds a new generic); the qc markers move to that generic.
// CHECK-LABEL: func.func @keeps_markers
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.*}} : tensor<4x8xf32>)
// CHECK-SAME: qc.contraction
// CHECK-SAME: qc.packed_contraction = {int8 = false, scale = 5.000000e-01 : f32, signed = true}
// CHECK: arith.mulf %{{.*}}, %{{.*}} : f32
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @keeps_markers(%x: tensor<4x8xf32>) -> tensor<4xf32> {
  %s = arith.constant dense<0.5> : tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #row], iterator_types = ["parallel", "reduction"]} ins(%x, %s : tensor<4x8xf32>, tensor<4x8xf32>) outs(%init : tensor<4xf32>) attrs = {qc.contraction, qc.packed_contraction = {int8 = false, scale = 0.5 : f32, signed = true}} {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %q = arith.addf %o, %p : f32
    linalg.yield %q : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

// Element-wise producer and consumer fuse; a generic without markers gets
// none, and other attributes are not copied.
// CHECK-LABEL: func.func @fuses_unmarked
// CHECK: linalg.generic
// CHECK-NOT: qc.
// CHECK-NOT: other
// CHECK: arith.addf
// CHECK: arith.mulf
// CHECK-NOT: linalg.generic
#id1 = affine_map<(d0) -> (d0)>
func.func @fuses_unmarked(%x: tensor<8xf32>) -> tensor<8xf32> {
  %e = tensor.empty() : tensor<8xf32>
  %a = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]} ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) attrs = {other} {
  ^bb0(%v: f32, %o: f32):
    %s = arith.addf %v, %v : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %b = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]} ins(%a : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = arith.mulf %v, %v : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  return %b : tensor<8xf32>
}
