// The W4A16 GEMV of --target=cuda as PTX: quant-compile packs the int4
// weight two codes per byte (qc-pack-weights, nibbles), the contraction
// reads 32-bit words, and qc-map-to-gpu gives each warp 4 rows and each lane
// runs of 4 words: the weight and the activation move in 128-bit loads
// (ld.global.v4), the codes expand with one lop3 each (and + or of the
// bits of 1024.0 in f16 pairs) and no int -> float conversion. Each lane's
// run of 4 words (32 codes under one scale) sums in two f16x2 chains of 2
// words, each converted to f32 once (two cvt.f32.f16, one per half): 16
// runs of 4 rows x 4 runs, 256 lop3 (one per pair of codes) against 64
// conversions, where a conversion per word would be 128.
// RUN: rm -rf %t && mkdir -p %t
// RUN: quant-compile %s --target=cuda:sm_90a --cuda-weight-prefetch=16 --emit=ptx -o %t/gemv.ptx
// RUN: FileCheck %s < %t/gemv.ptx
// CHECK: .visible .entry
// The kernel lets the next one launch (qc-gpu-dependent-launch), then with
// --cuda-weight-prefetch=16 each warp prefetches its 4 rows of constant
// weights into L2 (the whole matrix is under 16 MiB: a 2 KiB row is 16
// lines, lanes 0-15 one each) before it waits for the kernel before it;
// nothing is loaded before the wait. By default (NOPF) the wait is at the
// entry.
// CHECK: griddepcontrol.launch_dependents;
// CHECK-NOT: ld.global
// CHECK-COUNT-4: prefetch.L2 [
// CHECK-NOT: ld.global
// CHECK: griddepcontrol.wait;
// CHECK: ld.global.v4.b32
// CHECK: lop3.b32 {{.*}}, 0xEA;
// CHECK-NOT: cvt.rn.f32.s32
// CHECK: shfl.sync.bfly
// CHECK: ret;
// RUN: echo "lop3 $(grep -c 'lop3.b32' %t/gemv.ptx) cvt $(grep -c 'cvt.f32.f16' %t/gemv.ptx)" | FileCheck %s --check-prefix=COUNT
// COUNT: lop3 256 cvt 64
// RUN: %if ptxas %{ %ptxas -arch=sm_90a %t/gemv.ptx -o %t/gemv.cubin %}
// RUN: quant-compile %s --target=cuda:sm_90a --emit=ptx -o %t/nopf.ptx
// RUN: FileCheck %s --check-prefix=NOPF < %t/nopf.ptx
// NOPF: griddepcontrol.launch_dependents;
// NOPF-NEXT: griddepcontrol.wait;
// NOPF-NOT: prefetch
// On sm_80 the prefetches stay and the mark is a comment (no griddepcontrol
// there).
// RUN: quant-compile %s --target=cuda:sm_80 --cuda-weight-prefetch=16 --emit=ptx -o %t/sm80.ptx
// RUN: FileCheck %s --check-prefix=SM80 < %t/sm80.ptx
// SM80-NOT: griddepcontrol
// SM80: prefetch.L2 [
// SM80-NOT: griddepcontrol
// SM80: // qc.dependent_wait
// SM80-NOT: griddepcontrol
// RUN: %if ptxas %{ %ptxas -arch=sm_80 %t/sm80.ptx -o %t/sm80.cubin %}
func.func @main(%x: tensor<1x4096xf32>) -> tensor<1x64xf32> {
  %cst = arith.constant dense<3> : tensor<64x4096xi4>
  %w = quant.scast %cst : tensor<64x4096xi4> to tensor<64x4096x!quant.uniform<i4:f32, 0.5>>
  %y = qc.matmul %x, %w {transpose_rhs} : (tensor<1x4096xf32>, tensor<64x4096x!quant.uniform<i4:f32, 0.5>>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}
