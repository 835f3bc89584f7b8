// The tensor-core W4A16 kernel of --target=cuda (qc-map-to-gpu, mma=true):
// a packed int4 contraction with at least 2 rows runs mma.sync m16n8k16 on
// f16 operands with f32 accumulators. Each thread loads its columns' words
// and its activations in 128-bit loads, rounds the activations to f16 (two
// per cvt), and expands two codes per lop3 into an f16 pair from which one
// f16x2 subtraction and one multiplication make (u - zero point)·scale.
// The 8 warps of a block split K: their partial sums meet in shared memory
// after a barrier. 16 rows are one tile, which takes 4 column tiles (32
// columns per block; 40 columns are not a multiple): 4 column tiles x 8
// k-steps x 2 chunks per step = 64 mma.sync.
// One row keeps the GEMV mapping (no mma.sync), and so do 8 with
// --cuda-mma-min-rows=9; 8 rows take the kernel by default.
// RUN: rm -rf %t && mkdir -p %t
// RUN: quant-compile %s --target=cuda:sm_90a --emit=ptx -o %t/mma.ptx
// RUN: FileCheck %s < %t/mma.ptx
// CHECK: .visible .entry
// The 8 warps' partial sums: 8 x (4 tiles x 32 lanes x 4) floats.
// CHECK: .shared .align 16 .b8 {{.*}}[16384];
// CHECK: ld.global.v4.b32
// CHECK: lop3.b32 {{.*}}, 0xEA;
// CHECK: add.rn.f16x2
// CHECK: mul.rn.f16x2
// CHECK: cvt.rn.f16x2.f32
// CHECK-COUNT-64: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// CHECK-NOT: mma.sync
// CHECK: st.shared.v4.b32
// CHECK: bar.sync 0;
// CHECK: ld.shared.b32
// CHECK: ret;
// RUN: sed 's/16x256xf32/1x256xf32/g; s/16x40xf32/1x40xf32/g' %s > %t/gemv.mlir
// RUN: quant-compile %t/gemv.mlir --target=cuda:sm_90a --emit=ptx -o %t/gemv.ptx
// RUN: FileCheck %s --check-prefix=GEMV < %t/gemv.ptx
// RUN: sed 's/16x256xf32/8x256xf32/g; s/16x40xf32/8x40xf32/g' %s > %t/rows8.mlir
// RUN: quant-compile %t/rows8.mlir --target=cuda:sm_90a --cuda-mma-min-rows=9 --emit=ptx -o %t/gemv8.ptx
// RUN: FileCheck %s --check-prefix=GEMV < %t/gemv8.ptx
// GEMV: .visible .entry
// GEMV-NOT: mma.sync
// 8 rows: the second half of the tile (rows 8..15) is zero, so only the
// first half's activations are loaded (4 words x 2 quarters x 2 chunks,
// and 4 word runs).
// RUN: quant-compile %t/rows8.mlir --target=cuda:sm_90a --emit=ptx -o %t/mma8.ptx
// RUN: FileCheck %s --check-prefix=MMA8 < %t/mma8.ptx
// MMA8: .visible .entry
// MMA8-COUNT-20: ld.global.v4.b32
// MMA8-NOT: ld.global.v4.b32
// MMA8: mma.sync.aligned.m16n8k16
// The block's shape as asked: 2 column tiles (32 mma.sync) and 8 warps,
// whose partial sums take 8 KiB; with 16 tiles 8 warps would take 64 KiB,
// more than the 48 KiB of static shared memory, so 4 do (32 KiB).
// RUN: quant-compile %s --target=cuda:sm_90a --cuda-mma-col-tiles=2 --emit=ptx -o %t/tiles2.ptx
// RUN: FileCheck %s --check-prefix=TILES2 < %t/tiles2.ptx
// TILES2: .shared .align 16 .b8 {{.*}}[8192];
// TILES2-COUNT-32: mma.sync.aligned.m16n8k16
// TILES2-NOT: mma.sync
// RUN: quant-compile %s --target=cuda:sm_90a --cuda-mma-col-tiles=16 --emit=ptx -o %t/tiles16.ptx
// RUN: FileCheck %s --check-prefix=TILES16 < %t/tiles16.ptx
// TILES16: .shared .align 16 .b8 {{.*}}[32768];
// RUN: quant-compile %s --target=cuda:sm_90a --cuda-mma-col-tiles=2 --cuda-mma-warps=2 --emit=ptx -o %t/warps2.ptx
// RUN: FileCheck %s --check-prefix=WARPS2 < %t/warps2.ptx
// WARPS2: .shared .align 16 .b8 {{.*}}[2048];
// 64 rows (and 64 columns, none clamped): 4 blocks of one row tile each,
// 8 column tiles (128 mma.sync, partial sums 32 KiB).
// RUN: sed 's/16x256xf32/64x256xf32/g; s/16x40xf32/64x64xf32/g; s/40x256/64x256/g' %s > %t/rows64.mlir
// RUN: quant-compile %t/rows64.mlir --target=cuda:sm_90a --emit=ptx -o %t/mma64.ptx
// RUN: FileCheck %s --check-prefix=MMA64 < %t/mma64.ptx
// MMA64: .shared .align 16 .b8 {{.*}}[32768];
// MMA64-COUNT-128: mma.sync.aligned.m16n8k16
// MMA64-NOT: mma.sync
// RUN: quant-compile %s --target=cuda:sm_80 --emit=ptx -o %t/mma80.ptx
// RUN: FileCheck %s --check-prefix=SM80 < %t/mma80.ptx
// SM80: .target sm_80
// SM80-NOT: griddepcontrol
// SM80: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// RUN: %if ptxas %{ %ptxas -arch=sm_90a %t/mma.ptx -o %t/mma.cubin %}
// RUN: %if ptxas %{ %ptxas -arch=sm_80 %t/mma80.ptx -o %t/mma80.cubin %}
func.func @main(%x: tensor<16x256xf32>) -> tensor<16x40xf32> {
  %cst = arith.constant dense<3> : tensor<40x256xi4>
  %w = quant.scast %cst : tensor<40x256xi4> to tensor<40x256x!quant.uniform<i4:f32, 0.5>>
  %y = qc.matmul %x, %w {transpose_rhs} : (tensor<16x256xf32>, tensor<40x256x!quant.uniform<i4:f32, 0.5>>) -> tensor<16x40xf32>
  return %y : tensor<16x40xf32>
}
