// RUN: quant-opt %s --split-input-file --qc-parallelize-loops | FileCheck %s
// RUN: quant-opt %s --split-input-file --qc-parallelize-loops="min-iterations=1 chunks=2" | FileCheck %s --check-prefix=SMALL
// RUN: not quant-opt %s --split-input-file --qc-parallelize-loops="chunks=0" 2>&1 | FileCheck %s --check-prefix=NEG

// A large element-wise op: its outermost loop (64 rows) is cut into 8 pieces
// of 8 rows by an scf.forall.
// CHECK-LABEL: func.func @elementwise
// CHECK: scf.forall (%[[I:.*]]) = (0) to (64) step (8)
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<8x1024xf32>) outs(%{{.*}} : tensor<8x1024xf32>)
// CHECK: tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%[[I]], 0] [8, 1024] [1, 1]
// NEG: chunks must be >= 1
#id = affine_map<(i, j) -> (i, j)>
func.func @elementwise(%x: tensor<64x1024xf32>) -> tensor<64x1024xf32> {
  %e = tensor.empty() : tensor<64x1024xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<64x1024xf32>) outs(%e : tensor<64x1024xf32>) {
  ^bb0(%a: f32, %b: f32):
    %n = arith.negf %a : f32
    linalg.yield %n : f32
  } -> tensor<64x1024xf32>
  return %0 : tensor<64x1024xf32>
}

// -----

// A row reduction (softmax's, a norm's) with a unit leading dimension: the
// first parallel loop with extent >= 2 is the rows' (d1), not d0; the
// reduction loop is never tiled.
// CHECK-LABEL: func.func @rows
// CHECK: scf.forall (%[[I:.*]]) = (0) to (256) step (32)
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<1x32x512xf32>) outs(%{{.*}} : tensor<1x32xf32>)
#in = affine_map<(b, i, j) -> (b, i, j)>
#out = affine_map<(b, i, j) -> (b, i)>
func.func @rows(%x: tensor<1x256x512xf32>, %init: tensor<1x256xf32>) -> tensor<1x256xf32> {
  %0 = linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : tensor<1x256x512xf32>) outs(%init : tensor<1x256xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  } -> tensor<1x256xf32>
  return %0 : tensor<1x256xf32>
}

// -----

// One long row: the innermost loop is cut into pieces that are multiples of
// 64 elements (100000 / 8 = 12500 -> 12544), the last one shorter.
// CHECK-LABEL: func.func @long_row
// CHECK: scf.forall (%{{.*}}) = (0) to (100000) step (12544)
#id = affine_map<(i, j) -> (i, j)>
func.func @long_row(%x: tensor<1x100000xf32>) -> tensor<1x100000xf32> {
  %e = tensor.empty() : tensor<1x100000xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<1x100000xf32>) outs(%e : tensor<1x100000xf32>) {
  ^bb0(%a: f32, %b: f32):
    %n = arith.negf %a : f32
    linalg.yield %n : f32
  } -> tensor<1x100000xf32>
  return %0 : tensor<1x100000xf32>
}

// -----

// Left alone: a small op (below min-iterations by default; with
// min-iterations=1 chunks=2 it is split in two), a fill, and an op already
// inside an scf.forall.
// CHECK-LABEL: func.func @untouched
// CHECK: linalg.fill
// CHECK: linalg.generic
// CHECK: scf.forall (%{{.*}}) in (2)
// CHECK-NOT: scf.forall (
// CHECK: linalg.generic
// CHECK-NOT: scf.forall (
// CHECK: return
// SMALL-LABEL: func.func @untouched
// SMALL: linalg.fill
// SMALL: scf.forall (%{{.*}}) = (0) to (4) step (2)
// SMALL: scf.forall (%{{.*}}) in (2)
// SMALL-NOT: scf.forall (
// SMALL: return
#id = affine_map<(i, j) -> (i, j)>
func.func @untouched(%x: tensor<4x4xf32>, %big: tensor<2x64x1024xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>, tensor<2x64x1024xf32>) {
  %cst = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x4xf32>
  %f = linalg.fill ins(%cst : f32) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%a: f32, %b: f32):
    %n = arith.negf %a : f32
    linalg.yield %n : f32
  } -> tensor<4x4xf32>
  %eb = tensor.empty() : tensor<2x64x1024xf32>
  %1 = scf.forall (%i) in (2) shared_outs(%o = %eb) -> (tensor<2x64x1024xf32>) {
    %s = tensor.extract_slice %big[%i, 0, 0] [1, 64, 1024] [1, 1, 1] : tensor<2x64x1024xf32> to tensor<64x1024xf32>
    %d = tensor.extract_slice %o[%i, 0, 0] [1, 64, 1024] [1, 1, 1] : tensor<2x64x1024xf32> to tensor<64x1024xf32>
    %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%s : tensor<64x1024xf32>) outs(%d : tensor<64x1024xf32>) {
    ^bb0(%a: f32, %b: f32):
      %n = arith.negf %a : f32
      linalg.yield %n : f32
    } -> tensor<64x1024xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %g into %o[%i, 0, 0] [1, 64, 1024] [1, 1, 1] : tensor<64x1024xf32> into tensor<2x64x1024xf32>
    }
  }
  return %f, %0, %1 : tensor<4x4xf32>, tensor<4x4xf32>, tensor<2x64x1024xf32>
}
