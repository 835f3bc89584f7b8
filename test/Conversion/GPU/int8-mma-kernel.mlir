// RUN: quant-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qc-map-to-gpu))' | FileCheck %s

// convert-qc-to-linalg{int8-mma}'s W8A8 contraction (i8 codes [M, K] times
// an i8 weight [N, K] into i32), its zero fill and its scales' epilogue
// become one launch: blocks of 128 x 128 outputs (N = 200, M = 300: 2 x 3
// blocks), 256 threads, three stages of [128, 64] bytes per operand in
// shared memory, filled by cp.async (zero-filled past K: the byte count is
// selected; two slices ahead, then each iteration loads the slice two
// ahead and waits for all but the last two groups) and read by
// ldmatrix.x4; 4 x 4 mma.sync m16n8k32 per warp and 32-byte step (K = 96:
// two slices of 64, the second half past K). The
// epilogue (sitofp times the scales) runs in the stores, to the f32
// output: the i32 buffer, its fill and the epilogue's generic are gone.
#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#nk = affine_map<(d0, d1, d2) -> (d1, d2)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0, 0)>
#col = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @w8a8
// CHECK-NOT: linalg.fill
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[C2]], {{.*}} = %[[C3]], {{.*}}) threads({{.*}}) in ({{.*}} = %[[C256]], {{.*}}) workgroup(%[[SA:.*]] : memref<3x128x64xi8, #gpu.address_space<workgroup>>, %[[SW:.*]] : memref<3x128x64xi8, #gpu.address_space<workgroup>>)
// CHECK: arith.select
// CHECK-COUNT-2: nvgpu.device_async_copy %arg0[{{.*}}], %[[SA]][{{.*}}], 16, %{{.*}} {bypassL1}
// CHECK-COUNT-2: nvgpu.device_async_copy %arg1[{{.*}}], %[[SW]][{{.*}}], 16, %{{.*}} {bypassL1}
// CHECK: nvgpu.device_async_create_group
// CHECK-COUNT-4: nvgpu.device_async_copy
// CHECK: nvgpu.device_async_create_group
// CHECK: scf.for
// CHECK: nvgpu.device_async_copy
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 2 : i32}
// CHECK-NEXT: gpu.barrier
// CHECK-COUNT-4: nvgpu.ldmatrix %[[SA]]{{.*}} {numTiles = 4 : i32, transpose = false} : memref<3x128x64xi8, #gpu.address_space<workgroup>> -> vector<4x4xi8>
// CHECK-COUNT-2: nvgpu.ldmatrix %[[SW]]
// CHECK-COUNT-16: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 32]} : (vector<4x4xi8>, vector<2x4xi8>, vector<2x2xi32>) -> vector<2x2xi32>
// CHECK-COUNT-4: nvgpu.ldmatrix
// CHECK-COUNT-16: nvgpu.mma.sync
// CHECK: gpu.barrier
// CHECK: scf.yield
// CHECK: scf.if
// CHECK: arith.sitofp
// CHECK: memref.load %arg2
// CHECK: memref.load %arg3
// CHECK: memref.store %{{.*}}, %arg4
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
// CHECK-NOT: memref.alloc
// CHECK: return
func.func @w8a8(%a: memref<300x96xi8>, %w: memref<200x96xi8>, %sa: memref<300x1xf32>, %sw: memref<200xf32>, %y: memref<300x200xf32>) {
  %c0 = arith.constant 0 : i32
  %acc = memref.alloc() : memref<300x200xi32>
  linalg.fill ins(%c0 : i32) outs(%acc : memref<300x200xi32>)
  linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %w : memref<300x96xi8>, memref<200x96xi8>) outs(%acc : memref<300x200xi32>) attrs = {qc.contraction, qc.int8_contraction = {lhs_signed = true, rhs_signed = true}} {
  ^bb0(%x: i8, %v: i8, %o: i32):
    %x32 = arith.extsi %x : i8 to i32
    %v32 = arith.extsi %v : i8 to i32
    %p = arith.muli %x32, %v32 : i32
    %s = arith.addi %o, %p : i32
    linalg.yield %s : i32
  }
  %out = memref.alloc() : memref<300x200xf32>
  linalg.generic {indexing_maps = [#id, #row, #col, #id], iterator_types = ["parallel", "parallel"]} ins(%acc, %sa, %sw : memref<300x200xi32>, memref<300x1xf32>, memref<200xf32>) outs(%y : memref<300x200xf32>) {
  ^bb0(%i: i32, %s1: f32, %s2: f32, %o: f32):
    %f = arith.sitofp %i : i32 to f32
    %s = arith.mulf %s1, %s2 : f32
    %r = arith.mulf %f, %s : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// The i32 result read by two ops: no epilogue is fused; the kernel stores
// the sums (plus the folded zero) and the element-wise op stays.
#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#nk = affine_map<(d0, d1, d2) -> (d1, d2)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @two_readers
// CHECK: gpu.launch
// CHECK: nvgpu.mma.sync
// CHECK: scf.if
// CHECK-NOT: arith.sitofp
// CHECK: memref.store %{{.*}}, %[[ACC:.*]][
// CHECK: gpu.terminator
// CHECK: arith.sitofp
// CHECK: gpu.memcpy
func.func @two_readers(%a: memref<16x64xi8>, %w: memref<8x64xi8>, %y: memref<16x8xf32>, %z: memref<16x8xi32>) {
  %c0 = arith.constant 0 : i32
  %acc = memref.alloc() : memref<16x8xi32>
  linalg.fill ins(%c0 : i32) outs(%acc : memref<16x8xi32>)
  linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %w : memref<16x64xi8>, memref<8x64xi8>) outs(%acc : memref<16x8xi32>) attrs = {qc.int8_contraction = {lhs_signed = true, rhs_signed = true}} {
  ^bb0(%x: i8, %v: i8, %o: i32):
    %x32 = arith.extsi %x : i8 to i32
    %v32 = arith.extsi %v : i8 to i32
    %p = arith.muli %x32, %v32 : i32
    %s = arith.addi %o, %p : i32
    linalg.yield %s : i32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%acc : memref<16x8xi32>) outs(%y : memref<16x8xf32>) {
  ^bb0(%i: i32, %o: f32):
    %f = arith.sitofp %i : i32 to f32
    linalg.yield %f : f32
  }
  memref.copy %acc, %z : memref<16x8xi32> to memref<16x8xi32>
  return
}

// -----

// Not taken, the generic mappings stay: 8 rows (fewer than mma-min-rows),
// K = 40 (not a multiple of 16), unsigned activation codes (mma.sync's
// operands here are s8), a body that is not a sum of products.
#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#nk = affine_map<(d0, d1, d2) -> (d1, d2)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @not_taken
// CHECK-NOT: nvgpu.mma.sync
// CHECK: return
func.func @not_taken(%a8: memref<8x64xi8>, %a40: memref<16x40xi8>, %w: memref<8x64xi8>, %w40: memref<8x40xi8>, %a: memref<16x64xi8>, %o8: memref<8x8xi32>, %o: memref<16x8xi32>) {
  linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a8, %w : memref<8x64xi8>, memref<8x64xi8>) outs(%o8 : memref<8x8xi32>) attrs = {qc.int8_contraction = {lhs_signed = true, rhs_signed = true}} {
  ^bb0(%x: i8, %v: i8, %acc: i32):
    %x32 = arith.extsi %x : i8 to i32
    %v32 = arith.extsi %v : i8 to i32
    %p = arith.muli %x32, %v32 : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  }
  linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a40, %w40 : memref<16x40xi8>, memref<8x40xi8>) outs(%o : memref<16x8xi32>) attrs = {qc.int8_contraction = {lhs_signed = true, rhs_signed = true}} {
  ^bb0(%x: i8, %v: i8, %acc: i32):
    %x32 = arith.extsi %x : i8 to i32
    %v32 = arith.extsi %v : i8 to i32
    %p = arith.muli %x32, %v32 : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  }
  linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %w : memref<16x64xi8>, memref<8x64xi8>) outs(%o : memref<16x8xi32>) attrs = {qc.int8_contraction = {lhs_signed = false, rhs_signed = true}} {
  ^bb0(%x: i8, %v: i8, %acc: i32):
    %x32 = arith.extui %x : i8 to i32
    %v32 = arith.extsi %v : i8 to i32
    %p = arith.muli %x32, %v32 : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  }
  linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %w : memref<16x64xi8>, memref<8x64xi8>) outs(%o : memref<16x8xi32>) attrs = {qc.int8_contraction = {lhs_signed = true, rhs_signed = true}} {
  ^bb0(%x: i8, %v: i8, %acc: i32):
    %x32 = arith.extsi %x : i8 to i32
    %v32 = arith.extsi %v : i8 to i32
    %p = arith.muli %x32, %v32 : i32
    %s = arith.maxsi %acc, %p : i32
    linalg.yield %s : i32
  }
  return
}
