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

// -----

// The one-generic Hadamard takes part in no fusion: the element-wise
// product before it (SiLU·up before a down projection) and the one after
// it stay generics of their own, and the marked generic keeps its input.
#id = affine_map<(d0, d1) -> (d0, d1)>
#x = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#o = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// (The reshapes move to the function's edges; the marked generic is not
// rebuilt.)
// CHECK-LABEL: func.func @hadamard_alone
// CHECK: %[[P:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<2x1x64x1xf32>, tensor<2x1x64x1xf32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.mulf
// CHECK: %[[H:.*]] = linalg.generic {{.*}} ins(%[[P]] : tensor<2x1x64x1xf32>) {{.*}}qc.hadamard = {size = 64 : i64, stride = 1 : i64}
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.addf
// CHECK-NEXT: linalg.yield
// CHECK: linalg.generic {{.*}} ins(%[[H]] : tensor<2x1x64x1xf32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.negf
func.func @hadamard_alone(%a: tensor<2x64xf32>, %b: tensor<2x64xf32>) -> tensor<2x64xf32> {
  %e = tensor.empty() : tensor<2x64xf32>
  %p = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%a, %b : tensor<2x64xf32>, tensor<2x64xf32>) outs(%e : tensor<2x64xf32>) {
  ^bb0(%x0: f32, %x1: f32, %out: f32):
    %m = arith.mulf %x0, %x1 : f32
    linalg.yield %m : f32
  } -> tensor<2x64xf32>
  %v = tensor.expand_shape %p [[0], [1, 2, 3]] output_shape [2, 1, 64, 1] : tensor<2x64xf32> into tensor<2x1x64x1xf32>
  %z = arith.constant 0.0 : f32
  %e4 = tensor.empty() : tensor<2x1x64x1xf32>
  %init = linalg.fill ins(%z : f32) outs(%e4 : tensor<2x1x64x1xf32>) -> tensor<2x1x64x1xf32>
  %h = linalg.generic {indexing_maps = [#x, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%v : tensor<2x1x64x1xf32>) outs(%init : tensor<2x1x64x1xf32>) attrs = {qc.hadamard = {size = 64 : i64, stride = 1 : i64}} {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %out, %in : f32
    linalg.yield %s : f32
  } -> tensor<2x1x64x1xf32>
  %c = tensor.collapse_shape %h [[0], [1, 2, 3]] : tensor<2x1x64x1xf32> into tensor<2x64xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%c : tensor<2x64xf32>) outs(%e : tensor<2x64xf32>) {
  ^bb0(%x0: f32, %out: f32):
    %n = arith.negf %x0 : f32
    linalg.yield %n : f32
  } -> tensor<2x64xf32>
  return %r : tensor<2x64xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#mk = affine_map<(d0, d1, d2) -> (d0, d1)>
#kn = affine_map<(d0, d1, d2) -> (d1, d2)>
#mn = affine_map<(d0, d1, d2) -> (d0, d2)>
// An int8 contraction takes producers that only widen (the weight's
// sign extension is fused into it) but not the activation's quantization:
// its codes stay a tensor of their own (computed once, not once per
// output column), and its widening generic with them.
// CHECK-LABEL: func.func @int8_contraction_inputs
// CHECK: %[[CODES:.*]] = linalg.generic {{.*}} ins(%arg0 : tensor<4x32xf32>) outs(%{{.*}} : tensor<4x32xi32>)
// CHECK: arith.fptosi
// CHECK: arith.extsi
// CHECK: linalg.generic {{.*}} ins(%[[CODES]], %arg1 : tensor<4x32xi32>, tensor<32x8xi8>) {{.*}}qc.int8_contraction
// CHECK-NEXT: ^bb0(%{{.*}}: i32, %{{.*}}: i8, %{{.*}}: i32):
// CHECK-NEXT: arith.extsi
// CHECK-NEXT: arith.muli
func.func @int8_contraction_inputs(%x: tensor<4x32xf32>, %w: tensor<32x8xi8>) -> tensor<4x8xi32> {
  %e8 = tensor.empty() : tensor<4x32xi8>
  %codes = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x32xf32>) outs(%e8 : tensor<4x32xi8>) {
  ^bb0(%in: f32, %out: i8):
    %r = math.roundeven %in : f32
    %c = arith.fptosi %r : f32 to i8
    linalg.yield %c : i8
  } -> tensor<4x32xi8>
  %ea = tensor.empty() : tensor<4x32xi32>
  %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%codes : tensor<4x32xi8>) outs(%ea : tensor<4x32xi32>) {
  ^bb0(%in: i8, %out: i32):
    %v = arith.extsi %in : i8 to i32
    linalg.yield %v : i32
  } -> tensor<4x32xi32>
  %eb = tensor.empty() : tensor<32x8xi32>
  %b = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%w : tensor<32x8xi8>) outs(%eb : tensor<32x8xi32>) {
  ^bb0(%in: i8, %out: i32):
    %v = arith.extsi %in : i8 to i32
    linalg.yield %v : i32
  } -> tensor<32x8xi32>
  %z = arith.constant 0 : i32
  %e = tensor.empty() : tensor<4x8xi32>
  %init = linalg.fill ins(%z : i32) outs(%e : tensor<4x8xi32>) -> tensor<4x8xi32>
  %r = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "reduction", "parallel"]} ins(%a, %b : tensor<4x32xi32>, tensor<32x8xi32>) outs(%init : tensor<4x8xi32>) attrs = {qc.contraction, qc.int8_contraction = {lhs_signed = true, rhs_signed = true}} {
  ^bb0(%p: i32, %q: i32, %out: i32):
    %m = arith.muli %p, %q : i32
    %s = arith.addi %out, %m : i32
    linalg.yield %s : i32
  } -> tensor<4x8xi32>
  return %r : tensor<4x8xi32>
}

// -----

// A transpose read only by a generic (attention's K^T before Q·K^T) folds
// into the generic's indexing map: the reduction reads K as it is, and no
// transposed copy is made. A transpose with another reader, or whose reader
// is not a generic, stays.
// CHECK-DAG: #[[KMAP:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @transpose_folds
// CHECK-NOT: linalg.transpose
// CHECK: linalg.generic
// CHECK-SAME: indexing_maps = [{{.*}}, #[[KMAP]], {{.*}}]
// CHECK-SAME: ins(%{{.*}}, %arg1 : tensor<2x8xf32>, tensor<5x8xf32>)
#q = affine_map<(m, j, d) -> (m, d)>
#kt = affine_map<(m, j, d) -> (d, j)>
#s = affine_map<(m, j, d) -> (m, j)>
func.func @transpose_folds(%q: tensor<2x8xf32>, %k: tensor<5x8xf32>) -> tensor<2x5xf32> {
  %e = tensor.empty() : tensor<8x5xf32>
  %kt = linalg.transpose ins(%k : tensor<5x8xf32>) outs(%e : tensor<8x5xf32>) permutation = [1, 0]
  %zero = arith.constant 0.0 : f32
  %e2 = tensor.empty() : tensor<2x5xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x5xf32>) -> tensor<2x5xf32>
  %r = linalg.generic {indexing_maps = [#q, #kt, #s], iterator_types = ["parallel", "parallel", "reduction"]} ins(%q, %kt : tensor<2x8xf32>, tensor<8x5xf32>) outs(%init : tensor<2x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %t = arith.addf %o, %p : f32
    linalg.yield %t : f32
  } -> tensor<2x5xf32>
  return %r : tensor<2x5xf32>
}

// -----

// CHECK-LABEL: func.func @transpose_also_returned
// CHECK: linalg.transpose
func.func @transpose_also_returned(%q: tensor<2x8xf32>, %k: tensor<5x8xf32>) -> (tensor<2x5xf32>, tensor<8x5xf32>) {
  %e = tensor.empty() : tensor<8x5xf32>
  %kt = linalg.transpose ins(%k : tensor<5x8xf32>) outs(%e : tensor<8x5xf32>) permutation = [1, 0]
  %zero = arith.constant 0.0 : f32
  %e2 = tensor.empty() : tensor<2x5xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x5xf32>) -> tensor<2x5xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(m, j, d) -> (m, d)>, affine_map<(m, j, d) -> (d, j)>, affine_map<(m, j, d) -> (m, j)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%q, %kt : tensor<2x8xf32>, tensor<8x5xf32>) outs(%init : tensor<2x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %t = arith.addf %o, %p : f32
    linalg.yield %t : f32
  } -> tensor<2x5xf32>
  return %r, %kt : tensor<2x5xf32>, tensor<8x5xf32>
}

// -----

// A rotary embedding's rotate_half (the second half negated, then the first
// half) becomes a generic computing each element from its half (a branch
// per operand, the slices and the negation read from the source in place)
// and fuses into its reader: one generic, no concatenation, no slices.
// CHECK-LABEL: func.func @rotate_half
// CHECK-NOT: tensor.concat
// CHECK-NOT: tensor.extract_slice
// CHECK: linalg.generic
// CHECK-SAME: ins(%arg1 : tensor<2x8xf32>)
// CHECK: %[[I:.*]] = linalg.index 0
// CHECK: %[[J:.*]] = linalg.index 1
// CHECK: %[[LOW:.*]] = arith.cmpi ult, %[[J]], %c4
// CHECK: scf.if %[[LOW]] -> (f32) {
// CHECK: %[[HI:.*]] = arith.addi %[[J]], %c4
// CHECK: %[[A:.*]] = tensor.extract %arg0[%[[I]], %[[HI]]]
// CHECK: %[[N:.*]] = arith.negf %[[A]]
// CHECK: scf.yield %[[N]]
// CHECK: } else {
// CHECK: %[[LO:.*]] = arith.subi %[[J]], %c4
// CHECK: %[[B:.*]] = tensor.extract %arg0[%[[I]], %[[LO]]]
// CHECK: scf.yield %[[B]]
// CHECK: arith.mulf
// CHECK-NOT: linalg.generic
func.func @rotate_half(%x: tensor<2x8xf32>, %c: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %a = tensor.extract_slice %x[0, 0] [2, 4] [1, 1] : tensor<2x8xf32> to tensor<2x4xf32>
  %b = tensor.extract_slice %x[0, 4] [2, 4] [1, 1] : tensor<2x8xf32> to tensor<2x4xf32>
  %e = tensor.empty() : tensor<2x4xf32>
  %n = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%b : tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.negf %v : f32
    linalg.yield %m : f32
  } -> tensor<2x4xf32>
  %r = tensor.concat dim(1) %n, %a : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x8xf32>
  %e2 = tensor.empty() : tensor<2x8xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%r, %c : tensor<2x8xf32>, tensor<2x8xf32>) outs(%e2 : tensor<2x8xf32>) {
  ^bb0(%v: f32, %w: f32, %o: f32):
    %m = arith.mulf %v, %w : f32
    linalg.yield %m : f32
  } -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// A key cache's append (the past along dim 2, then the new token, which a
// transpose produces from the projection): one generic with no inputs,
// reading the past or, at position 4, the projection through the
// transpose's map; three operands nest the branches. A concatenation of a
// dynamic shape stays.
// CHECK-LABEL: func.func @append
// CHECK: linalg.generic
// CHECK-SAME: outs(
// CHECK: %[[S:.*]] = linalg.index 2
// CHECK: arith.cmpi ult, %[[S]], %c4
// CHECK: scf.if
// CHECK: tensor.extract %arg0
// CHECK: } else {
// CHECK: arith.cmpi ult, %[[S]], %c5
// CHECK: scf.if
// CHECK: tensor.extract %arg1[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : tensor<1x1x2x3xf32>
// CHECK: } else {
// CHECK: tensor.extract %arg2
// CHECK: tensor.concat {{.*}} tensor<?x2x3xf32>
func.func @append(%past: tensor<1x2x4x3xf32>, %k: tensor<1x1x2x3xf32>,
    %more: tensor<1x2x2x3xf32>, %d1: tensor<?x2x3xf32>, %d2: tensor<?x2x3xf32>)
    -> (tensor<1x2x7x3xf32>, tensor<?x2x3xf32>) {
  %e = tensor.empty() : tensor<1x2x1x3xf32>
  %t = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, c, b, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%k : tensor<1x1x2x3xf32>) outs(%e : tensor<1x2x1x3xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  } -> tensor<1x2x1x3xf32>
  %r = tensor.concat dim(2) %past, %t, %more : (tensor<1x2x4x3xf32>, tensor<1x2x1x3xf32>, tensor<1x2x2x3xf32>) -> tensor<1x2x7x3xf32>
  %dyn = tensor.concat dim(0) %d1, %d2 : (tensor<?x2x3xf32>, tensor<?x2x3xf32>) -> tensor<?x2x3xf32>
  return %r, %dyn : tensor<1x2x7x3xf32>, tensor<?x2x3xf32>
}
