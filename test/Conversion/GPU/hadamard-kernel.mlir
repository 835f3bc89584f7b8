// RUN: quant-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qc-map-to-gpu))' | FileCheck %s

// The one-generic qc.hadamard of convert-qc-to-linalg{hadamard-kernel}
// (size 24 = 12·2, stride 2, on [2, 1, 24, 2]) becomes one launch. Four
// vectors are too few to fill the GPU, so each vector's 12 rows of its
// [12, 2] view go to 12 blocks (grid 4 x 12) of 32 threads: a thread sums
// H_12[i][row]·x[i][j] over the 12 rows i of its column (12 loads of x, 12
// of the table) into shared memory, a barrier, the one butterfly stage, a
// barrier, the normalised stores. The generic is not what runs.
#x = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#h = affine_map<(d0, d1, d2, d3, d4) -> (d4 floordiv 2, d2 floordiv 2)>
#o = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @h24s2
// CHECK-NOT: linalg.generic
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C12:.*]] = arith.constant 12 : index
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG: %[[Y:.*]] = memref.collapse_shape %arg2 {{\[\[}}0, 1, 2, 3]] : memref<2x1x24x2xf32> into memref<96xf32>
// CHECK-DAG: %[[X:.*]] = memref.collapse_shape %arg0 {{\[\[}}0, 1, 2, 3]] : memref<2x1x24x2xf32> into memref<96xf32>
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[C4]], {{.*}} = %[[C12]], {{.*}}) threads({{.*}}) in ({{.*}} = %[[C32]], {{.*}}) workgroup(%[[SHARED:.*]] : memref<2xf32, #gpu.address_space<workgroup>>)
// CHECK-COUNT-12: memref.load %arg1[
// CHECK-COUNT-12: arith.mulf
// CHECK: memref.store {{.*}}, %[[SHARED]]
// CHECK: gpu.barrier
// CHECK: arith.addf
// CHECK: arith.subf
// CHECK: gpu.barrier
// CHECK: memref.load %[[SHARED]]
// CHECK: arith.mulf
// CHECK: memref.store {{.*}}, %[[Y]]
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @h24s2(%x: memref<2x1x24x2xf32>, %t: memref<12x12xf32>, %y: memref<2x1x24x2xf32>) {
  linalg.generic {indexing_maps = [#x, #h, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%x, %t : memref<2x1x24x2xf32>, memref<12x12xf32>) outs(%y : memref<2x1x24x2xf32>) attrs = {qc.hadamard = {size = 24 : i64, stride = 2 : i64}} {
  ^bb0(%in: f32, %hk: f32, %out: f32):
    %p = arith.mulf %in, %hk : f32
    %s = arith.addf %out, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A power of two (K = 1: the table was folded into the body, one input):
// no factor stage, log2(64) = 6 butterfly stages on 32 threads, the input
// read straight into shared memory.
#x = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#o = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @h64
// CHECK: gpu.launch {{.*}} workgroup(%[[SHARED:.*]] : memref<64xf32, #gpu.address_space<workgroup>>)
// CHECK-COUNT-7: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator
func.func @h64(%x: memref<3x2x64x1xf32>, %y: memref<3x2x64x1xf32>) {
  linalg.generic {indexing_maps = [#x, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%x : memref<3x2x64x1xf32>) outs(%y : memref<3x2x64x1xf32>) attrs = {qc.hadamard = {size = 64 : i64, stride = 1 : i64}} {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %out, %in : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Not taken: an input that is not contiguous (a strided view), a marker
// whose size does not match the view, and K = 3 (size 24) without the K×K
// table among the inputs. All stay reductions of the generic mapping (no
// shared memory).
#x = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#o = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @not_taken
// CHECK-NOT: workgroup
// CHECK: return
func.func @not_taken(%big: memref<3x2x128x1xf32>, %x2: memref<3x2x64x1xf32>, %y: memref<3x2x64x1xf32>, %x3: memref<3x2x24x1xf32>, %y3: memref<3x2x24x1xf32>) {
  linalg.generic {indexing_maps = [#x, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%x3 : memref<3x2x24x1xf32>) outs(%y3 : memref<3x2x24x1xf32>) attrs = {qc.hadamard = {size = 24 : i64, stride = 1 : i64}} {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %out, %in : f32
    linalg.yield %s : f32
  }
  %x = memref.subview %big[0, 0, 0, 0] [3, 2, 64, 1] [1, 1, 1, 1] : memref<3x2x128x1xf32> to memref<3x2x64x1xf32, strided<[256, 128, 1, 1]>>
  linalg.generic {indexing_maps = [#x, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%x : memref<3x2x64x1xf32, strided<[256, 128, 1, 1]>>) outs(%y : memref<3x2x64x1xf32>) attrs = {qc.hadamard = {size = 64 : i64, stride = 1 : i64}} {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %out, %in : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#x, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%x2 : memref<3x2x64x1xf32>) outs(%y : memref<3x2x64x1xf32>) attrs = {qc.hadamard = {size = 32 : i64, stride = 1 : i64}} {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %out, %in : f32
    linalg.yield %s : f32
  }
  return
}
