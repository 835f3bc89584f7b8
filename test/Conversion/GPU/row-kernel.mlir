// RUN: quant-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qc-map-to-gpu))' | FileCheck %s

// A residual add, an RMS norm's sum of squares (its zero fill folded) and the
// scaled row: one launch, a block per row (3 rows of 300: 256 threads, the
// second element of each thread guarded), the sum combined through 8 shared
// slots (one per warp) after one barrier, and the scaled row computed from the block's sum (not reloaded
// from memory); thread 0 stores the sum. The add's result is read back by
// the thread that wrote it.
// CHECK-LABEL: func.func @residual_norm
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c3{{.*}}) threads({{.*}}) in ({{.*}} = %c256{{.*}}) workgroup(%[[SLOTS:.*]] : memref<8xf32, #gpu.address_space<workgroup>>)
// CHECK: arith.addf
// CHECK: memref.store %{{.*}}, %[[H:.*]][
// CHECK: memref.load %[[H]][
// CHECK: arith.mulf
// CHECK: gpu.shuffle xor
// CHECK: memref.store %{{.*}}, %[[SLOTS]][
// CHECK: gpu.barrier
// CHECK: memref.load %[[SLOTS]]
// CHECK: %[[SUM:.*]] = arith.addf %{{.*}}, %cst
// CHECK: memref.store %[[SUM]], %[[SS:.*]][
// CHECK: arith.mulf %[[SUM]]
// CHECK: math.rsqrt
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @residual_norm(%x: memref<3x300xf32>, %r: memref<3x300xf32>,
    %w: memref<300xf32>, %y: memref<3x300xf32>) {
  %zero = arith.constant 0.0 : f32
  %inv = arith.constant 0.00333 : f32
  %eps = arith.constant 1.0e-5 : f32
  %h = memref.alloc() : memref<3x300xf32>
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                   affine_map<(i, j) -> (i, j)>,
                                   affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %r : memref<3x300xf32>, memref<3x300xf32>) outs(%h : memref<3x300xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  }
  %ss = memref.alloc() : memref<3xf32>
  linalg.fill ins(%zero : f32) outs(%ss : memref<3xf32>)
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                   affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%h : memref<3x300xf32>) outs(%ss : memref<3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %sq = arith.mulf %a, %a : f32
    %s = arith.addf %sq, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                   affine_map<(i, j) -> (i)>,
                                   affine_map<(i, j) -> (j)>,
                                   affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%h, %ss, %w : memref<3x300xf32>, memref<3xf32>, memref<300xf32>)
      outs(%y : memref<3x300xf32>) {
  ^bb0(%a: f32, %s: f32, %g: f32, %o: f32):
    %mean = arith.mulf %s, %inv : f32
    %m = arith.addf %mean, %eps : f32
    %n = math.rsqrt %m : f32
    %v = arith.mulf %a, %n : f32
    %out = arith.mulf %v, %g : f32
    linalg.yield %out : f32
  }
  memref.dealloc %h : memref<3x300xf32>
  memref.dealloc %ss : memref<3xf32>
  return
}

// -----

// A softmax over rows of 129 (32 rows), the row buffers seen through a 3-D
// view by the reductions and the max buffer reused for the sum (each fill
// folded into its reduction): one launch of 160 threads, two barriers (one
// per reduction, each with its own 5 slots); the exponentials use the
// block's maximum, the sum is read back from the exponentials each thread
// stored; the last of the 129 elements is guarded (160 threads).
// CHECK-LABEL: func.func @softmax
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c32{{.*}}) threads({{.*}}) in ({{.*}} = %c160{{.*}}) workgroup(%[[MAX:.*]] : memref<5xf32, #gpu.address_space<workgroup>>, %[[SUM:.*]] : memref<5xf32, #gpu.address_space<workgroup>>)
// CHECK: arith.cmpi ult, %{{.*}}, %c129
// CHECK: arith.minui %{{.*}}, %c128
// CHECK: arith.maximumf
// CHECK: gpu.barrier
// CHECK: %[[M:.*]] = arith.maximumf %{{.*}}, %cst
// CHECK: arith.subf %{{.*}}, %[[M]]
// CHECK: math.exp
// CHECK: scf.if
// CHECK: memref.store %{{.*}}, %arg0
// CHECK: memref.store %{{.*}}, %[[SUM]]
// CHECK: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @softmax(%x: memref<32x129xf32>, %sum: memref<32xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %m = memref.alloc() : memref<32xf32>
  %m2 = memref.expand_shape %m [[0, 1]] output_shape [32, 1] : memref<32xf32> into memref<32x1xf32>
  linalg.fill ins(%ninf : f32) outs(%m2 : memref<32x1xf32>)
  %x3 = memref.expand_shape %x [[0, 1], [2]] output_shape [32, 1, 129] : memref<32x129xf32> into memref<32x1x129xf32>
  linalg.generic {indexing_maps = [affine_map<(i, u, j) -> (i, u, j)>,
                                   affine_map<(i, u, j) -> (i, u)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x3 : memref<32x1x129xf32>) outs(%m2 : memref<32x1xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                   affine_map<(i, j) -> (i, 0)>,
                                   affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %m2 : memref<32x129xf32>, memref<32x1xf32>) outs(%x : memref<32x129xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %e = math.exp %d : f32
    linalg.yield %e : f32
  }
  linalg.fill ins(%zero : f32) outs(%m2 : memref<32x1xf32>)
  linalg.generic {indexing_maps = [affine_map<(i, u, j) -> (i, u, j)>,
                                   affine_map<(i, u, j) -> (i, u)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x3 : memref<32x1x129xf32>) outs(%m2 : memref<32x1xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  }
  memref.copy %m, %sum : memref<32xf32> to memref<32xf32>
  return
}

// -----

// Rows of 4096 (one row): 16 elements per thread of 256, in 2 passes of 8
// (an scf.for), no guard (4096 = 2·8·256).
// CHECK-LABEL: func.func @long_row
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c1{{.*}}) threads({{.*}}) in ({{.*}} = %c256{{.*}})
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c2{{.*}} step %c1
// CHECK-NOT: arith.minui
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c2{{.*}} step %c1
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @long_row(%x: memref<1x4096xf32>, %y: memref<1x4096xf32>) {
  %zero = arith.constant 0.0 : f32
  %s = memref.alloc() : memref<1xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<1xf32>)
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                   affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<1x4096xf32>) outs(%s : memref<1xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                   affine_map<(i, j) -> (i)>,
                                   affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %s : memref<1x4096xf32>, memref<1xf32>) outs(%y : memref<1x4096xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.divf %a, %b : f32
    linalg.yield %d : f32
  }
  memref.dealloc %s : memref<1xf32>
  return
}

// -----

// Not a run: two GEMVs of the same shape (rows of 256 per output), neither
// reading the other, each keep the warp mapping (no shared memory).
// CHECK-LABEL: func.func @gemvs
// CHECK-NOT: workgroup
// CHECK-NOT: gpu.barrier
// CHECK: return
func.func @gemvs(%x: memref<1x256xf32>, %w: memref<64x256xf32>,
    %y1: memref<1x64xf32>, %y2: memref<1x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n, k)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x256xf32>, memref<64x256xf32>) outs(%y1 : memref<1x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n, k)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x256xf32>, memref<64x256xf32>) outs(%y2 : memref<1x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// An element-wise op that reads the row reversed (255 - j: another
// thread's element) of a buffer the run wrote stops the run: the scale and
// the sum are one kernel, the reversed difference a launch of its own
// (no shared memory, one thread per element).
// CHECK-LABEL: func.func @reversed_read
// CHECK: gpu.launch {{.*}} workgroup
// CHECK: gpu.barrier
// CHECK: gpu.terminator
// CHECK: scf.parallel
// CHECK-NOT: gpu.barrier
// CHECK: return
func.func @reversed_read(%z: memref<4x256xf32>, %s: memref<4xf32>,
    %y: memref<4x256xf32>) {
  %two = arith.constant 2.0 : f32
  %h = memref.alloc() : memref<4x256xf32>
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                   affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%z : memref<4x256xf32>) outs(%h : memref<4x256xf32>) {
  ^bb0(%a: f32, %o: f32):
    %d = arith.mulf %a, %two : f32
    linalg.yield %d : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                   affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%h : memref<4x256xf32>) outs(%s : memref<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, 255 - j)>,
                                   affine_map<(i, j) -> (i)>,
                                   affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%h, %s : memref<4x256xf32>, memref<4xf32>) outs(%y : memref<4x256xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    linalg.yield %d : f32
  }
  memref.dealloc %h : memref<4x256xf32>
  return
}

// -----

// A body that loads from a buffer the run writes, at indices of its own (a
// gather): the run stops before it. The gather from a buffer the run does
// not write (the table) joins the run.
// CHECK-LABEL: func.func @captured_read
// CHECK: gpu.launch {{.*}} workgroup
// CHECK: memref.load %arg0
// CHECK: gpu.barrier
// CHECK: gpu.terminator
// CHECK-NOT: gpu.barrier
// CHECK: scf.parallel
// CHECK: memref.load %[[H:.*]][
// CHECK: return
func.func @captured_read(%table: memref<4x256xf32>, %s: memref<4xf32>,
    %y: memref<4x256xf32>) {
  %h = memref.alloc() : memref<4x256xf32>
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      outs(%h : memref<4x256xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %v = memref.load %table[%i, %j] : memref<4x256xf32>
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                   affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%h : memref<4x256xf32>) outs(%s : memref<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i)>,
                                   affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%s : memref<4xf32>) outs(%y : memref<4x256xf32>) {
  ^bb0(%b: f32, %o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %k = arith.subi %j, %j : index
    %v = memref.load %h[%i, %k] : memref<4x256xf32>
    %d = arith.subf %v, %b : f32
    linalg.yield %d : f32
  }
  memref.dealloc %h : memref<4x256xf32>
  return
}
