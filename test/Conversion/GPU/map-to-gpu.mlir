// RUN: quant-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qc-map-to-gpu{block-size=128}))' | FileCheck %s
// RUN: quant-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qc-map-to-gpu{block-size=128 weight-prefetch-mib=2}))' | FileCheck %s --check-prefix=SMALL
// RUN: quant-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qc-map-to-gpu{weight-prefetch-mib=16}))' | FileCheck %s --check-prefix=PF

// An element-wise 2-D op: one scf.parallel over the 4x6 = 24 points, tiled by
// 128, the tiles mapped to blocks and the points to threads with a bounds
// guard; the output buffer is allocated on the device and freed after its
// last use (the copy into the result).
// CHECK-LABEL: func.func @elementwise
// CHECK-NOT: memref.alloc
// CHECK: %[[BUF:.*]] = gpu.alloc () : memref<4x6xf32>
// CHECK: scf.parallel
// CHECK: scf.parallel
// CHECK: scf.if
// CHECK: arith.addf
// CHECK: mapping = [#gpu.loop_dim_map<processor = thread_x
// CHECK: mapping = [#gpu.loop_dim_map<processor = block_x
// CHECK: gpu.memcpy %{{.*}}, %[[BUF]] : memref<4x6xf32>, memref<4x6xf32>
// CHECK-NEXT: gpu.dealloc %[[BUF]] : memref<4x6xf32>
// CHECK-NOT: memref.copy
func.func @elementwise(%a: memref<4x6xf32>, %out: memref<4x6xf32>) {
  %t = memref.alloc() : memref<4x6xf32>
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                   affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<4x6xf32>) outs(%t : memref<4x6xf32>) {
  ^bb0(%x: f32, %y: f32):
    %s = arith.addf %x, %x : f32
    linalg.yield %s : f32
  }
  memref.copy %t, %out : memref<4x6xf32> to memref<4x6xf32>
  return
}

// -----

// A reduction whose reduction loop comes first: the parallel loop is moved
// outermost; rows of 8 are too short for a warp, so one thread per output
// accumulates in registers (8 accumulators, then the rest) and merges with
// the output's initial value.
// CHECK-LABEL: func.func @reduction_first
// CHECK: gpu.launch
// CHECK: scf.if
// CHECK: scf.for {{.*}} iter_args
// CHECK: scf.for {{.*}} iter_args
// CHECK: arith.addf
// CHECK: memref.store
// CHECK-NOT: gpu.shuffle
func.func @reduction_first(%a: memref<8x5xf32>, %out: memref<5xf32>) {
  linalg.generic {indexing_maps = [affine_map<(r, p) -> (r, p)>,
                                   affine_map<(r, p) -> (p)>],
                  iterator_types = ["reduction", "parallel"]}
      ins(%a : memref<8x5xf32>) outs(%out : memref<5xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %x, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A full reduction (no parallel loop): one output point, one thread.
// CHECK-LABEL: func.func @full_reduction
// CHECK: gpu.launch
// CHECK: scf.for
// CHECK: memref.store {{.*}} : memref<f32>
func.func @full_reduction(%a: memref<16xf32>, %out: memref<f32>) {
  linalg.generic {indexing_maps = [affine_map<(r) -> (r)>,
                                   affine_map<(r) -> ()>],
                  iterator_types = ["reduction"]}
      ins(%a : memref<16xf32>) outs(%out : memref<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %x, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A reshape with a shape operand becomes a reinterpret_cast (the host would
// otherwise read the shape from device memory); a strided copy becomes a
// kernel, not a memcpy.
// CHECK-LABEL: func.func @views
// CHECK-NOT: memref.reshape
// CHECK: memref.reinterpret_cast %{{.*}} to offset: [0], sizes: [2, 3], strides: [3, 1]
// CHECK-NOT: gpu.memcpy
// CHECK: scf.parallel
func.func @views(%a: memref<6xf32>, %shape: memref<2xi64>,
                 %b: memref<3x2xf32, strided<[1, 3]>>) {
  %r = memref.reshape %a(%shape) : (memref<6xf32>, memref<2xi64>) -> memref<2x3xf32>
  %t = memref.transpose %b (i, j) -> (j, i) : memref<3x2xf32, strided<[1, 3]>> to memref<2x3xf32, strided<[3, 1]>>
  memref.copy %r, %t : memref<2x3xf32> to memref<2x3xf32, strided<[3, 1]>>
  return
}

// -----

// The C entry point (qc.host) and declarations are not touched.
// CHECK-LABEL: func.func @entry
// CHECK: memref.alloc
// CHECK-NOT: gpu.
// CHECK: return
func.func @entry(%a: memref<4xf32>) attributes {qc.host} {
  %t = memref.alloc() : memref<4xf32>
  memref.copy %a, %t : memref<4xf32> to memref<4xf32>
  memref.dealloc %t : memref<4xf32>
  return
}
// CHECK: func.func private @decl
func.func private @decl(memref<4xf32>)

// -----

// Host control flow on a size (a broadcast chosen at run time): the branch's
// work is mapped inside the branch, its buffer moves to the top level and is
// freed after the last use of what the if yields.
// CHECK-LABEL: func.func @host_branch
// CHECK: %[[BUF:.*]] = gpu.alloc () : memref<4xf32>
// CHECK: %[[SEL:.*]] = scf.if
// CHECK: processor = block_x
// CHECK: scf.yield
// CHECK: } else {
// CHECK: scf.yield %arg0
// CHECK: %[[CAST:.*]] = memref.cast %[[SEL]]
// CHECK: gpu.memcpy %arg2, %[[CAST]]
// CHECK-NEXT: gpu.dealloc %[[BUF]]
func.func @host_branch(%a: memref<?xf32>, %n: index, %out: memref<4xf32>) {
  %c1 = arith.constant 1 : index
  %c0 = arith.constant 0 : index
  %d = memref.dim %a, %c0 : memref<?xf32>
  %one = arith.cmpi eq, %d, %c1 : index
  %sel = scf.if %one -> (memref<?xf32>) {
    %t = memref.alloc() : memref<4xf32>
    linalg.generic {indexing_maps = [affine_map<(i) -> (0)>,
                                     affine_map<(i) -> (i)>],
                    iterator_types = ["parallel"]}
        ins(%a : memref<?xf32>) outs(%t : memref<4xf32>) {
    ^bb0(%x: f32, %y: f32):
      linalg.yield %x : f32
    }
    %c = memref.cast %t : memref<4xf32> to memref<?xf32>
    scf.yield %c : memref<?xf32>
  } else {
    scf.yield %a : memref<?xf32>
  }
  %s = memref.cast %sel : memref<?xf32> to memref<4xf32>
  memref.copy %s, %out : memref<4xf32> to memref<4xf32>
  return
}

// -----

// A GEMV over an [N, K] weight (the reduction innermost and contiguous in
// the weight): a warp per 4 adjacent outputs (N = 100: 25 warps, a block
// each: blocks of 8 warps, or of 2 or 4, would leave most SMs idle), lanes striding K in runs of 4 adjacent elements (the buffers
// asserted 16-byte aligned, for 128-bit loads) by 32 · 4 · 2 = 256; a main
// loop of 2 runs × 4 rows into 8 accumulators, whose loads all come before
// the arithmetic (the activation's loads are the same for the 4 rows), then
// the rest; a shuffle tree per row, lane 0 combines each row with the
// output's initial value.
// CHECK-LABEL: func.func @gemv_rows
// CHECK: %[[POINTS:.*]] = arith.muli %{{.*}}, %c25
// CHECK: %[[BLOCKS:.*]] = arith.ceildivui %[[POINTS]], %c1
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[BLOCKS]], {{.*}}) threads({{.*}}) in ({{.*}} = %c32
// CHECK: scf.if
// CHECK-DAG: memref.assume_alignment %arg0, 16
// CHECK-DAG: memref.assume_alignment %arg1, 16
// CHECK-NOT: llvm.inline_asm
// CHECK: %[[MAIN:.*]]:8 = scf.for {{.*}} step %c256{{.*}} iter_args(%[[ACC:[^ ]*]] = %cst
// CHECK-COUNT-64: memref.load
// CHECK-NOT: memref.load
// CHECK: arith.mulf
// CHECK: scf.yield
// CHECK: scf.for {{.*}} step %c32{{.*}} iter_args
// CHECK-COUNT-20: gpu.shuffle xor
// CHECK: scf.if
// CHECK-COUNT-4: memref.store
// CHECK-NOT: scf.parallel
func.func @gemv_rows(%x: memref<1x256xf32>, %w: memref<100x256xf32>, %y: memref<1x100xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n, k)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x256xf32>, memref<100x256xf32>) outs(%y : memref<1x100xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// N = 8448: 2112 warps of 4 rows fill 264 blocks of 8 warps (two per SM of
// an H100), so blocks keep 8 warps; N = 4096 (1024 warps) gets 2 a block.
// CHECK-LABEL: func.func @gemv_blocks
// CHECK: arith.ceildivui %{{.*}}, %c8
// CHECK: threads({{.*}}) in ({{.*}} = %c256
// CHECK: arith.ceildivui %{{.*}}, %c2
// CHECK: threads({{.*}}) in ({{.*}} = %c64
func.func @gemv_blocks(%x: memref<1x256xf32>, %w: memref<8448x256xf32>, %y: memref<1x8448xf32>,
    %w2: memref<4096x256xf32>, %y2: memref<1x4096xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n, k)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x256xf32>, memref<8448x256xf32>) outs(%y : memref<1x8448xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n, k)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w2 : memref<1x256xf32>, memref<4096x256xf32>) outs(%y2 : memref<1x4096xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// What the GEMV mapping must not assume: N = 99 (odd) gets one row per
// warp, K = 250 (not a multiple of 4) no runs and no alignment assertion
// (8 strided elements per lane), and a weight at a dynamic offset is never
// asserted aligned.
// CHECK-LABEL: func.func @gemv_odd
// CHECK-NOT: memref.assume_alignment
// CHECK: scf.for {{.*}} step %c256{{.*}} iter_args
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK-NOT: gpu.shuffle
// CHECK: memref.store
// CHECK-NOT: memref.store
// CHECK-LABEL: func.func @gemv_offset
// CHECK: memref.assume_alignment %arg0, 16
// CHECK-NOT: memref.assume_alignment
// CHECK: gpu.shuffle
func.func @gemv_odd(%x: memref<1x250xf32>, %w: memref<99x250xf32>, %y: memref<1x99xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n, k)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x250xf32>, memref<99x250xf32>) outs(%y : memref<1x99xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
func.func @gemv_offset(%x: memref<1x256xf32>, %w: memref<8x256xf32, strided<[256, 1], offset: ?>>, %y: memref<1x8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n, k)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x256xf32>, memref<8x256xf32, strided<[256, 1], offset: ?>>) outs(%y : memref<1x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// The same product over a [K, N] weight reads it contiguously along n: one
// thread per output (adjacent n on adjacent threads), no warp reduction.
// CHECK-LABEL: func.func @gemv_columns
// CHECK-NOT: gpu.shuffle
// CHECK: %[[MAIN:.*]]:8 = scf.for {{.*}} step %c8
// CHECK-NOT: gpu.shuffle
// CHECK: return
func.func @gemv_columns(%x: memref<1x256xf32>, %w: memref<256x16384xf32>, %y: memref<1x16384xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (k, n)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x256xf32>, memref<256x16384xf32>) outs(%y : memref<1x16384xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Few warps over long rows (N = 64: 16 warps of 4 rows; K = 16384): 8 warps
// of a block share each point, warp slice s taking the spans s, s + 8, ...
// of 512 elements (4 runs of 4 per lane), the rest from 32·s + lane by 256;
// lane 0 of each warp leaves its 4 sums in shared memory, and after the
// block's barrier (outside the warp's branch) lane 0 of slice 0 adds its
// point's 8 sums in order and stores.
// CHECK-LABEL: func.func @gemv_split
// CHECK: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c256{{(_[0-9]+)?}}, {{.*}}) workgroup(%[[SUMS:.*]] : memref<32xf32, #gpu.address_space<workgroup>>)
// CHECK: arith.divui %{{.*}}, %c8
// CHECK: arith.remui %{{.*}}, %c8
// CHECK: scf.if
// CHECK: scf.for {{.*}} step %c4096{{.*}} iter_args
// CHECK: scf.for {{.*}} step %c256{{.*}} iter_args
// CHECK-COUNT-20: gpu.shuffle xor
// CHECK: scf.if
// CHECK-COUNT-4: memref.store {{.*}}, %[[SUMS]]
// CHECK: gpu.barrier
// CHECK: scf.if
// CHECK-COUNT-32: memref.load %[[SUMS]]
// CHECK-COUNT-4: memref.store {{.*}} : memref<1x64xf32>
func.func @gemv_split(%x: memref<1x16384xf32>, %w: memref<64x16384xf32>, %y: memref<1x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n, k)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x16384xf32>, memref<64x16384xf32>) outs(%y : memref<1x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Few outputs over long rows whose largest input runs along another loop
// (a decoder's attention: probabilities [32, 1, 129] times V [32, 129, 64],
// summed over the 129 positions): one thread per output would be 2048
// threads, so a warp per 4 adjacent outputs instead (512 warps, one per
// block), its lanes striding the positions, a shuffle tree to combine; no
// 16-byte runs along the reduction (V's positions are 64 floats apart).
// CHECK-LABEL: func.func @attention_values
// CHECK: gpu.launch blocks({{.*}}) threads({{.*}}) in ({{.*}} = %c32{{(_[0-9]+)?}},
// CHECK-NOT: memref.assume_alignment
// CHECK: scf.for
// CHECK-COUNT-5: gpu.shuffle xor
func.func @attention_values(%p: memref<32x1x129xf32>, %v: memref<32x129x64xf32>, %y: memref<32x1x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(h, m, d, t) -> (h, m, t)>,
                                   affine_map<(h, m, d, t) -> (h, t, d)>,
                                   affine_map<(h, m, d, t) -> (h, m, d)>],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : memref<32x1x129xf32>, memref<32x129x64xf32>) outs(%y : memref<32x1x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %q = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %q : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// The same over 63 positions (rows shorter than 64: one thread per output),
// and with many outputs (512 heads: one thread each).
// CHECK-LABEL: func.func @attention_values_short
// CHECK-NOT: gpu.shuffle
// CHECK: return
func.func @attention_values_short(%p: memref<32x1x63xf32>, %v: memref<32x63x64xf32>, %y: memref<32x1x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(h, m, d, t) -> (h, m, t)>,
                                   affine_map<(h, m, d, t) -> (h, t, d)>,
                                   affine_map<(h, m, d, t) -> (h, m, d)>],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : memref<32x1x63xf32>, memref<32x63x64xf32>) outs(%y : memref<32x1x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %q = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %q : f32
    linalg.yield %s : f32
  }
  return
}

// CHECK-LABEL: func.func @attention_values_many
// CHECK-NOT: gpu.shuffle
// CHECK: return
func.func @attention_values_many(%p: memref<512x1x129xf32>, %v: memref<512x129x64xf32>, %y: memref<512x1x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(h, m, d, t) -> (h, m, t)>,
                                   affine_map<(h, m, d, t) -> (h, t, d)>,
                                   affine_map<(h, m, d, t) -> (h, m, d)>],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : memref<512x1x129xf32>, memref<512x129x64xf32>) outs(%y : memref<512x1x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %q = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %q : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A row maximum (softmax's first step) reduces with maximumf from -inf.
// CHECK-LABEL: func.func @row_max
// CHECK: arith.constant 0xFF800000 : f32
// CHECK: arith.maximumf
// CHECK-COUNT-5: gpu.shuffle xor
func.func @row_max(%x: memref<4x1000xf32>, %y: memref<4xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                   affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x1000xf32>) outs(%y : memref<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %m = arith.maximumf %a, %acc : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// A scalar read from device memory (a rank-0 result, like a dynamic scale)
// and used inside a loop: each thread reads it; the allocation between the
// two does not split the work.
// CHECK-LABEL: func.func @scalar_operand
// CHECK: gpu.alloc
// CHECK: scf.parallel
// CHECK: scf.parallel
// CHECK: memref.load %arg1[] : memref<f32>
// CHECK: arith.mulf
func.func @scalar_operand(%a: memref<300xf32>, %s: memref<f32>, %out: memref<300xf32>) {
  %v = memref.load %s[] : memref<f32>
  %t = memref.alloc() : memref<300xf32>
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>,
                                   affine_map<(i) -> (i)>],
                  iterator_types = ["parallel"]}
      ins(%a : memref<300xf32>) outs(%t : memref<300xf32>) {
  ^bb0(%x: f32, %y: f32):
    %p = arith.mulf %x, %v : f32
    linalg.yield %p : f32
  }
  memref.copy %t, %out : memref<300xf32> to memref<300xf32>
  return
}

// -----

// Memory effects outside any linalg op or parallel loop (here a loop that
// carries a dependence through memory) run in a launch of one thread.
// CHECK-LABEL: func.func @serial_loop
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[ONE:.*]], {{.*}} = %[[ONE]], {{.*}} = %[[ONE]]) threads({{.*}}) in ({{.*}} = %[[ONE]], {{.*}} = %[[ONE]], {{.*}} = %[[ONE]])
// CHECK: scf.for
// CHECK: memref.store
// CHECK: gpu.terminator
func.func @serial_loop(%a: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c15 = arith.constant 15 : index
  scf.for %i = %c1 to %c15 step %c1 {
    %p = arith.subi %i, %c1 : index
    %x = memref.load %a[%p] : memref<16xf32>
    memref.store %x, %a[%i] : memref<16xf32>
  }
  return
}

// -----

// A matmul's zero fill is folded into the reduction's kernel: the kernel
// starts from the fill's value instead of reading the buffer, and there is
// no kernel for the fill.
// CHECK-LABEL: func.func @fill_folded
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[BUF:.*]] = gpu.alloc () : memref<1x100xf32>
// CHECK-NOT: scf.parallel
// CHECK: gpu.launch
// CHECK: gpu.shuffle
// CHECK-NOT: memref.load %[[BUF]]
// CHECK: arith.addf %[[ZERO]],
// CHECK: memref.store {{.*}}, %[[BUF]]
func.func @fill_folded(%x: memref<1x256xf32>, %w: memref<100x256xf32>, %y: memref<1x100xf32>) {
  %zero = arith.constant 0.0 : f32
  %t = memref.alloc() : memref<1x100xf32>
  linalg.fill ins(%zero : f32) outs(%t : memref<1x100xf32>)
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n, k)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x256xf32>, memref<100x256xf32>) outs(%t : memref<1x100xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  memref.copy %t, %y : memref<1x100xf32> to memref<1x100xf32>
  return
}

// -----

// The filled buffer is copied before the reduction writes it: the copy
// becomes a fill of its target (the same zeros, and no memcpy), and the
// buffer's own fill is still folded into the reduction's kernel.
// CHECK-LABEL: func.func @fill_read_first
// CHECK-NOT: gpu.memcpy %arg3
// CHECK: scf.parallel
// CHECK: memref.store %cst, %arg3
// CHECK-NOT: gpu.memcpy %arg3
// CHECK: gpu.launch
// CHECK: gpu.shuffle
// CHECK: gpu.memcpy %arg2
func.func @fill_read_first(%x: memref<1x256xf32>, %w: memref<100x256xf32>, %y: memref<1x100xf32>, %z: memref<1x100xf32>) {
  %zero = arith.constant 0.0 : f32
  %t = memref.alloc() : memref<1x100xf32>
  linalg.fill ins(%zero : f32) outs(%t : memref<1x100xf32>)
  memref.copy %t, %z : memref<1x100xf32> to memref<1x100xf32>
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n, k)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x256xf32>, memref<100x256xf32>) outs(%t : memref<1x100xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  memref.copy %t, %y : memref<1x100xf32> to memref<1x100xf32>
  return
}

// -----

// Copies of a buffer that only a zero fill wrote (bufferization's copy per
// matmul of one filled tensor): each copy becomes a fill of its target,
// folded into the reduction that starts from it; the source and its fill
// go. A copy taken after the source was written again stays a copy.
// CHECK-LABEL: func.func @copies_of_fill
// CHECK-NOT: scf.parallel
// CHECK: gpu.launch
// CHECK-NOT: scf.parallel
// CHECK: gpu.launch
// CHECK: scf.parallel
// CHECK: memref.store %cst,
// CHECK: scf.parallel
// CHECK: gpu.memcpy %{{.*}}, %{{.*}} : memref<1x100xf32>
// CHECK: gpu.memcpy %arg2
// CHECK: gpu.memcpy %arg3
// CHECK: gpu.memcpy %arg4
func.func @copies_of_fill(%x: memref<1x256xf32>, %w: memref<100x256xf32>,
    %y1: memref<1x100xf32>, %y2: memref<1x100xf32>, %y3: memref<1x100xf32>) {
  %zero = arith.constant 0.0 : f32
  %s = memref.alloc() : memref<1x100xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<1x100xf32>)
  %t1 = memref.alloc() : memref<1x100xf32>
  memref.copy %s, %t1 : memref<1x100xf32> to memref<1x100xf32>
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n, k)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x256xf32>, memref<100x256xf32>) outs(%t1 : memref<1x100xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  %t2 = memref.alloc() : memref<1x100xf32>
  memref.copy %s, %t2 : memref<1x100xf32> to memref<1x100xf32>
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n, k)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x256xf32>, memref<100x256xf32>) outs(%t2 : memref<1x100xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  // Written, then copied: not a copy of the fill.
  %u = memref.alloc() : memref<1x100xf32>
  linalg.fill ins(%zero : f32) outs(%u : memref<1x100xf32>)
  linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>],
                  iterator_types = ["parallel", "parallel"]}
      outs(%u : memref<1x100xf32>) {
  ^bb0(%o: f32):
    %one = arith.constant 1.0 : f32
    linalg.yield %one : f32
  }
  %t3 = memref.alloc() : memref<1x100xf32>
  memref.copy %u, %t3 : memref<1x100xf32> to memref<1x100xf32>
  memref.copy %t1, %y1 : memref<1x100xf32> to memref<1x100xf32>
  memref.copy %t2, %y2 : memref<1x100xf32> to memref<1x100xf32>
  memref.copy %t3, %y3 : memref<1x100xf32> to memref<1x100xf32>
  return
}

// -----

// The last matmul starts from the filled buffer itself, through a view made
// after the copy (gate and up projections of one FFN): the copy is still a
// fill of its target. A view made before the copy and written before it
// keeps its copy.
// CHECK-LABEL: func.func @fill_viewed_after_copy
// CHECK-NOT: gpu.memcpy %{{.*}} : memref<1x8xf32>
// CHECK: gpu.launch
// CHECK: gpu.launch
// CHECK: gpu.memcpy %arg2
// CHECK: gpu.memcpy %arg3
func.func @fill_viewed_after_copy(%x: memref<1x64xf32>, %w: memref<8x64xf32>,
    %y1: memref<1x8xf32>, %y2: memref<1x2x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %s = memref.alloc() : memref<1x8xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<1x8xf32>)
  %t1 = memref.alloc() : memref<1x8xf32>
  memref.copy %s, %t1 : memref<1x8xf32> to memref<1x8xf32>
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n, k)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x64xf32>, memref<8x64xf32>) outs(%t1 : memref<1x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  %v = memref.expand_shape %s [[0], [1, 2]] output_shape [1, 2, 4] : memref<1x8xf32> into memref<1x2x4xf32>
  %w3 = memref.expand_shape %w [[0, 1], [2]] output_shape [2, 4, 64] : memref<8x64xf32> into memref<2x4x64xf32>
  linalg.generic {indexing_maps = [affine_map<(m, i, j, k) -> (m, k)>,
                                   affine_map<(m, i, j, k) -> (i, j, k)>,
                                   affine_map<(m, i, j, k) -> (m, i, j)>],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w3 : memref<1x64xf32>, memref<2x4x64xf32>) outs(%v : memref<1x2x4xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  memref.copy %t1, %y1 : memref<1x8xf32> to memref<1x8xf32>
  memref.copy %v, %y2 : memref<1x2x4xf32> to memref<1x2x4xf32>
  return
}

// -----

// CHECK-LABEL: func.func @fill_viewed_before_copy
// CHECK: scf.parallel
// CHECK: scf.parallel
// CHECK: gpu.memcpy %{{.*}}, %{{.*}} : memref<1x8xf32>
func.func @fill_viewed_before_copy(%y1: memref<1x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %s = memref.alloc() : memref<1x8xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<1x8xf32>)
  %v = memref.expand_shape %s [[0], [1, 2]] output_shape [1, 2, 4] : memref<1x8xf32> into memref<1x2x4xf32>
  linalg.fill ins(%one : f32) outs(%v : memref<1x2x4xf32>)
  %t1 = memref.alloc() : memref<1x8xf32>
  memref.copy %s, %t1 : memref<1x8xf32> to memref<1x8xf32>
  memref.copy %t1, %y1 : memref<1x8xf32> to memref<1x8xf32>
  return
}

// -----

// A GEMV over constant weights (a memref.global) with weight-prefetch-mib
// (16, prefix PF): before its main loop each warp prefetches the start of its rows
// into L2, lane l the 128-byte lines l, l + 32, ... (here a whole row of
// 1 KiB, lines 0-7: the matrix is under the budget), then marks the wait
// for the kernel before it (qc-gpu-dependent-launch puts griddepcontrol.wait
// there). With a budget below the weights' size (2 MiB of 8 MiB, prefix SMALL) each
// row's first quarter only (128 of 512 elements). By default (0), and for
// the weights of the GEMVs above (function arguments, perhaps written by the
// kernel before), neither.
// CHECK-LABEL: func.func @gemv_prefetch
// CHECK-NOT: llvm.inline_asm
// PF-LABEL: func.func @gemv_prefetch
// PF: gpu.launch
// PF: scf.if
// PF: scf.for %{{.*}} = %{{.*}} to %c256 step %c1024
// PF-COUNT-4: llvm.inline_asm has_side_effects asm_dialect = att "prefetch.L2 [$0];", "l"
// PF-NEXT: }
// PF-NEXT: llvm.inline_asm has_side_effects asm_dialect = att "// qc.dependent_wait", "~{memory}"
// PF: scf.for {{.*}} iter_args
// PF: gpu.launch
// PF: scf.for %{{.*}} = %{{.*}} to %c512 step %c1024
// PF-COUNT-4: "prefetch.L2 [$0];"
// PF: "// qc.dependent_wait"
// SMALL-LABEL: func.func @gemv_prefetch
// SMALL: scf.for %{{.*}} = %{{.*}} to %c256 step %c1024
// SMALL: scf.for %{{.*}} = %{{.*}} to %c128 step %c1024
// SMALL-COUNT-4: "prefetch.L2 [$0];"
// SMALL: "// qc.dependent_wait"
memref.global "private" constant @w : memref<100x256xf32> = dense<1.0>
memref.global "private" constant @big : memref<4096x512xf32> = dense<1.0>
func.func @gemv_prefetch(%x: memref<1x256xf32>, %y: memref<1x100xf32>,
    %x2: memref<1x512xf32>, %y2: memref<1x4096xf32>) {
  %w = memref.get_global @w : memref<100x256xf32>
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n, k)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x256xf32>, memref<100x256xf32>) outs(%y : memref<1x100xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  %big = memref.get_global @big : memref<4096x512xf32>
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n, k)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x2, %big : memref<1x512xf32>, memref<4096x512xf32>) outs(%y2 : memref<1x4096xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A GEMV over a global that is not constant (state a kernel may write): no
// prefetch, even with weight-prefetch-mib.
// PF-LABEL: func.func @gemv_mutable_global
// PF-NOT: llvm.inline_asm
memref.global "private" @state : memref<100x256xf32> = dense<1.0>
func.func @gemv_mutable_global(%x: memref<1x256xf32>, %y: memref<1x100xf32>) {
  %w = memref.get_global @state : memref<100x256xf32>
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n, k)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x256xf32>, memref<100x256xf32>) outs(%y : memref<1x100xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
