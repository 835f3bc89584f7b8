// RUN: quant-opt %s --split-input-file --qc-outputs-in-place | FileCheck %s

// The producer writes the output argument; the copy and the alloc are gone.
// A buffer copied into two outputs goes to the first; the second copies
// from it. The input returned as an output keeps its copy.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[A:.*]]: memref<4xf32>, %[[O0:.*]]: memref<4xf32> {bufferize.result}, %[[O1:.*]]: memref<4xf32> {bufferize.result}, %[[O2:.*]]: memref<4xf32> {bufferize.result})
// CHECK-NOT: memref.alloc
// CHECK: linalg.generic {{.*}} ins(%[[A]] : memref<4xf32>) outs(%[[O0]] : memref<4xf32>)
// CHECK-NOT: memref.copy %{{.*}}, %[[O0]]
// CHECK: memref.copy %[[O0]], %[[O1]]
// CHECK: memref.copy %[[A]], %[[O2]]
// CHECK-NEXT: return
#map = affine_map<(d0) -> (d0)>
func.func @main(%a: memref<4xf32>, %o0: memref<4xf32> {bufferize.result}, %o1: memref<4xf32> {bufferize.result}, %o2: memref<4xf32> {bufferize.result}) {
  %m = memref.alloc() {alignment = 64 : i64} : memref<4xf32>
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%a : memref<4xf32>) outs(%m : memref<4xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  }
  memref.copy %m, %o0 : memref<4xf32> to memref<4xf32>
  memref.copy %m, %o1 : memref<4xf32> to memref<4xf32>
  memref.copy %a, %o2 : memref<4xf32> to memref<4xf32>
  return
}

// -----

// Left alone: a view of a larger alloc (another type), an argument that
// is not an output, and an output with a second use. The alloc copied into
// them does go to %o3, the one output that qualifies.
// CHECK-LABEL: func.func @kept
// CHECK: %[[BIG:.*]] = memref.alloc() : memref<8xf32>
// CHECK-NOT: memref.alloc
// CHECK: memref.copy %{{.*}}, %arg1
// CHECK: memref.copy %arg4, %arg2
// CHECK: memref.copy %arg4, %arg3
// CHECK-NOT: memref.copy
// CHECK: memref.load %arg2
func.func @kept(%a: memref<4xf32>, %o0: memref<4xf32> {bufferize.result}, %o1: memref<4xf32> {bufferize.result}, %plain: memref<4xf32>, %o3: memref<4xf32> {bufferize.result}) -> f32 {
  %c0 = arith.constant 0 : index
  %big = memref.alloc() : memref<8xf32>
  %view = memref.subview %big[0] [4] [1] : memref<8xf32> to memref<4xf32, strided<[1]>>
  %m2 = memref.alloc() : memref<4xf32>
  memref.copy %view, %o0 : memref<4xf32, strided<[1]>> to memref<4xf32>
  memref.copy %m2, %o1 : memref<4xf32> to memref<4xf32>
  memref.copy %m2, %plain : memref<4xf32> to memref<4xf32>
  memref.copy %m2, %o3 : memref<4xf32> to memref<4xf32>
  %c = memref.load %o1[%c0] : memref<4xf32>
  return %c : f32
}

// -----

// An alloc inside a loop is not the one the copy reads at the end: kept.
// CHECK-LABEL: func.func @loop
// CHECK: scf.for
// CHECK: memref.alloc
// CHECK: memref.copy %{{.*}}, %arg0
func.func @loop(%o: memref<4xf32> {bufferize.result}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %init = memref.alloc() : memref<4xf32>
  %r = scf.for %i = %c0 to %c2 step %c1 iter_args(%acc = %init) -> memref<4xf32> {
    %n = memref.alloc() : memref<4xf32>
    scf.yield %n : memref<4xf32>
  }
  memref.copy %r, %o : memref<4xf32> to memref<4xf32>
  return
}
