// The tensor-core W4A16 kernel of --target=cuda (qc-map-to-gpu, mma=true):
// a packed int4 contraction with at least 9 rows runs mma.sync m16n8k16 on
// f16 operands with f32 accumulators; each thread loads its column's words
// and its activations in 128-bit loads and rounds the activations to f16
// (two per cvt). 40 columns are not a multiple of the block's 64, 16 rows
// one tile. With 8 rows the GEMV mapping stays (no mma.sync).
// RUN: rm -rf %t && mkdir -p %t
// RUN: quant-compile %s --target=cuda:sm_90a --emit=ptx -o %t/mma.ptx
// RUN: FileCheck %s < %t/mma.ptx
// CHECK: .visible .entry
// CHECK: ld.global.v4.b32
// CHECK: cvt.rn.f16x2.f32
// CHECK-COUNT-16: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// CHECK-NOT: mma.sync
// CHECK: ret;
// RUN: sed 's/16x256xf32/8x256xf32/g; s/16x40xf32/8x40xf32/g' %s > %t/gemv.mlir
// RUN: quant-compile %t/gemv.mlir --target=cuda:sm_90a --emit=ptx -o %t/gemv.ptx
// RUN: FileCheck %s --check-prefix=GEMV < %t/gemv.ptx
// GEMV: .visible .entry
// GEMV-NOT: mma.sync
// RUN: quant-compile %s --target=cuda:sm_80 --emit=ptx -o %t/mma80.ptx
// RUN: FileCheck %s --check-prefix=SM80 < %t/mma80.ptx
// SM80: .target sm_80
// SM80: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// RUN: %if ptxas %{ %ptxas -arch=sm_90a %t/mma.ptx -o %t/mma.cubin %}
// RUN: %if ptxas %{ %ptxas -arch=sm_80 %t/mma80.ptx -o %t/mma80.cubin %}
func.func @main(%x: tensor<16x256xf32>) -> tensor<16x40xf32> {
  %cst = arith.constant dense<3> : tensor<40x256xi4>
  %w = quant.scast %cst : tensor<40x256xi4> to tensor<40x256x!quant.uniform<i4:f32, 0.5>>
  %y = qc.matmul %x, %w {transpose_rhs} : (tensor<16x256xf32>, tensor<40x256x!quant.uniform<i4:f32, 0.5>>) -> tensor<16x40xf32>
  return %y : tensor<16x40xf32>
}
