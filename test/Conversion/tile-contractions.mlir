// RUN: quant-opt %s --split-input-file --qc-tile-contractions="tile-n=8 tile-k=4" | FileCheck %s
// RUN: quant-opt %s --split-input-file --qc-tile-contractions="tile-n=8 tile-k=4 parallel=true min-parallel-macs=1" | FileCheck %s --check-prefix=PAR
// RUN: not quant-opt %s --split-input-file --qc-tile-contractions="tile-n=-1" 2>&1 | FileCheck %s --check-prefix=NEG
// RUN: quant-opt %s --split-input-file --qc-tile-contractions="tile-n=8 tile-k=4 parallel=true" | FileCheck %s --check-prefix=SMALL
// These contractions are below min-parallel-macs (2^20 multiply-adds by
// default): no threads.
// SMALL-NOT: scf.forall

// A marked [m, k] x [k, n] contraction (16 rows), iteration order (m, k, n): n tiles
// (step 8) outside k tiles (step 4); m is not tiled.
// CHECK-LABEL: func.func @marked
// CHECK: %[[C8:.*]] = arith.constant 8 : index
// CHECK: scf.for %[[N:.*]] = %{{.*}} to %{{.*}} step %[[C8]]
// CHECK: tensor.extract_slice %arg1[0, %[[N]]] [16, 8] [1, 1]
// CHECK: %[[C4:.*]] = arith.constant 4 : index
// CHECK: scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %[[C4]]
// CHECK: tensor.extract_slice %{{.*}}[0, %[[K]]] [16, 4] [1, 1] : tensor<16x16xf32> to tensor<16x4xf32>
// CHECK: tensor.extract_slice %{{.*}}[%[[K]], 0] [4, 8] [1, 1] : tensor<16x8xf32> to tensor<4x8xf32>
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<16x4xf32>, tensor<4x8xf32>) outs(%{{.*}} : tensor<16x8xf32>)
// CHECK: tensor.insert_slice
// With parallel=true the n tiles are an scf.forall writing disjoint columns;
// the k tiles stay sequential.
// PAR-LABEL: func.func @marked
// PAR: scf.forall (%[[N:.*]]) = (0) to (32) step (8)
// PAR: scf.for
// PAR: scf.forall.in_parallel
// PAR-NEXT: tensor.parallel_insert_slice %{{.*}} into %{{.*}}[0, %[[N]]] [16, 8] [1, 1]
// NEG: tile sizes must be non-negative
#lhs = affine_map<(m, k, n) -> (m, k)>
#rhs = affine_map<(m, k, n) -> (k, n)>
#out = affine_map<(m, k, n) -> (m, n)>
func.func @marked(%a: tensor<16x16xf32>, %b: tensor<16x32xf32>, %c: tensor<16x32xf32>) -> tensor<16x32xf32> {
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

// Not marked, or too small to tile: left alone.
// CHECK-LABEL: func.func @unmarked
// CHECK-NOT: scf.for
// CHECK: linalg.generic
// CHECK-NOT: scf.for
// CHECK: return
#lhs = affine_map<(m, k, n) -> (m, k)>
#rhs = affine_map<(m, k, n) -> (k, n)>
#out = affine_map<(m, k, n) -> (m, n)>
func.func @unmarked(%a: tensor<3x16xf32>, %b: tensor<16x32xf32>, %c: tensor<3x32xf32>, %d: tensor<2x2xf32>) -> (tensor<3x32xf32>, tensor<2x2xf32>) {
  %0 = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : tensor<3x16xf32>, tensor<16x32xf32>) outs(%c : tensor<3x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<3x32xf32>
  %1 = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%d, %d : tensor<2x2xf32>, tensor<2x2xf32>) outs(%d : tensor<2x2xf32>) attrs = {qc.contraction} {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x2xf32>
  return %0, %1 : tensor<3x32xf32>, tensor<2x2xf32>
}

// -----

// A GEMV (one row): no column tiles (each thread would stream short runs of
// the weight rows). Sequential: left whole. Parallel: the reduction is split
// into 8 chunks of contiguous weight rows, one partial row each, run by an
// scf.forall; a second generic sums the partial rows.
// CHECK-LABEL: func.func @gemv
// CHECK-NOT: scf.for
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<1x64xf32>)
// CHECK-NOT: scf.for
// PAR-LABEL: func.func @gemv
// PAR: tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2]] output_shape [8, 128, 64] : tensor<1024x64xf32> into tensor<8x128x64xf32>
// PAR: scf.forall (%[[C:.*]]) in (8)
// PAR: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x1x128xf32>, tensor<1x128x64xf32>) outs(%{{.*}} : tensor<1x1x64xf32>)
// PAR: tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%[[C]], 0, 0] [1, 1, 64]
// PAR: linalg.generic {{.*}} iterator_types = ["reduction", "parallel", "parallel"]{{.*}} ins(%{{.*}} : tensor<8x1x64xf32>) outs(%{{.*}} : tensor<1x64xf32>)
#lhs = affine_map<(m, k, n) -> (m, k)>
#rhs = affine_map<(m, k, n) -> (k, n)>
#out = affine_map<(m, k, n) -> (m, n)>
func.func @gemv(%a: tensor<1x1024xf32>, %b: tensor<1024x64xf32>, %c: tensor<1x64xf32>) -> tensor<1x64xf32> {
  %0 = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : tensor<1x1024xf32>, tensor<1024x64xf32>) outs(%c : tensor<1x64xf32>) attrs = {qc.contraction} {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x64xf32>
  return %0 : tensor<1x64xf32>
}

// -----

// A GEMV with group scales read at k floordiv 32 (weight-only int4 with
// groups, MatMulNBits): its reduction cannot be split by linalg (the map is
// not a projected permutation; it once crashed the pass, a null inverse
// permutation). With 64 rows, too few to share, it is left whole even when
// parallel.
// PAR-LABEL: func.func @grouped_gemv
// PAR-NOT: scf.forall
// PAR: linalg.generic {{.*}} outs(%{{.*}} : tensor<1x64xf32>)
#lhs = affine_map<(m, n, k) -> (m, k)>
#rhs = affine_map<(m, n, k) -> (n, k)>
#scale = affine_map<(m, n, k) -> (n, k floordiv 32)>
#out = affine_map<(m, n, k) -> (m, n)>
func.func @grouped_gemv(%a: tensor<1x1024xf32>, %b: tensor<64x1024xi8>, %s: tensor<64x32xf32>, %c: tensor<1x64xf32>) -> tensor<1x64xf32> {
  %0 = linalg.generic {indexing_maps = [#lhs, #rhs, #scale, #out], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b, %s : tensor<1x1024xf32>, tensor<64x1024xi8>, tensor<64x32xf32>) outs(%c : tensor<1x64xf32>) attrs = {qc.contraction} {
  ^bb0(%x: f32, %w: i8, %g: f32, %acc: f32):
    %wf = arith.sitofp %w : i8 to f32
    %ws = arith.mulf %wf, %g : f32
    %p = arith.mulf %x, %ws : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  } -> tensor<1x64xf32>
  return %0 : tensor<1x64xf32>
}

// -----

// The same with 256 rows: threads take whole weight rows instead, n in 8
// scf.forall tiles of 32 (each row of the [N, K] weight one contiguous run).
// Sequential: left whole.
// CHECK-LABEL: func.func @grouped_gemv_rows
// CHECK-NOT: scf.for
// PAR-LABEL: func.func @grouped_gemv_rows
// PAR: scf.forall (%[[I:.*]]) = (0) to (256) step (32)
// PAR: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<1x1024xf32>, tensor<32x1024xi8>, tensor<32x32xf32>) outs(%{{.*}} : tensor<1x32xf32>)
#lhs = affine_map<(m, n, k) -> (m, k)>
#rhs = affine_map<(m, n, k) -> (n, k)>
#scale = affine_map<(m, n, k) -> (n, k floordiv 32)>
#out = affine_map<(m, n, k) -> (m, n)>
func.func @grouped_gemv_rows(%a: tensor<1x1024xf32>, %b: tensor<256x1024xi8>, %s: tensor<256x32xf32>, %c: tensor<1x256xf32>) -> tensor<1x256xf32> {
  %0 = linalg.generic {indexing_maps = [#lhs, #rhs, #scale, #out], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b, %s : tensor<1x1024xf32>, tensor<256x1024xi8>, tensor<256x32xf32>) outs(%c : tensor<1x256xf32>) attrs = {qc.contraction} {
  ^bb0(%x: f32, %w: i8, %g: f32, %acc: f32):
    %wf = arith.sitofp %w : i8 to f32
    %ws = arith.mulf %wf, %g : f32
    %p = arith.mulf %x, %ws : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  } -> tensor<1x256xf32>
  return %0 : tensor<1x256xf32>
}

// -----

// A GEMV whose reduction is too short to split (K / 8 < 128 rows): left
// whole even when parallel.
// PAR-LABEL: func.func @short_gemv
// PAR-NOT: scf.forall
// PAR: linalg.generic {{.*}} outs(%{{.*}} : tensor<1x4096xf32>)
#lhs = affine_map<(m, k, n) -> (m, k)>
#rhs = affine_map<(m, k, n) -> (k, n)>
#out = affine_map<(m, k, n) -> (m, n)>
func.func @short_gemv(%a: tensor<1x64xf32>, %b: tensor<64x4096xf32>, %c: tensor<1x4096xf32>) -> tensor<1x4096xf32> {
  %0 = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : tensor<1x64xf32>, tensor<64x4096xf32>) outs(%c : tensor<1x4096xf32>) attrs = {qc.contraction} {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x4096xf32>
  return %0 : tensor<1x4096xf32>
}
