// The online Hadamard of --target=cuda, end to end to PTX: qc.hadamard of
// size 14336 (28·512) is one kernel with shared memory and barriers, and no
// popcount (the one-generic form's reduction is not what runs). With 2
// vectors, each of the 28 rows of 512 is a block of its own (2 KiB of
// shared memory); with 300 vectors, two blocks of 14 rows per vector (28
// KiB). Size 16384 (a power of two above the kernel's 8192) keeps the
// stage-per-kernel lowering: 14 butterfly kernels, no shared memory.
// RUN: rm -rf %t && mkdir -p %t
// RUN: quant-compile %s --target=cuda:sm_90a --emit=ptx -o %t/h.ptx
// RUN: FileCheck %s < %t/h.ptx
// CHECK: .visible .entry
// CHECK-NOT: .visible .entry
// CHECK: .shared .align 16 .b8 {{.*}}[2048];
// CHECK-NOT: .visible .entry
// CHECK-NOT: popc
// CHECK: bar.sync
// CHECK-NOT: popc
// RUN: sed 's/2x14336/300x14336/g' %s > %t/many.mlir
// RUN: quant-compile %t/many.mlir --target=cuda:sm_90a --emit=ptx -o %t/many.ptx
// RUN: FileCheck %s --check-prefix=MANY < %t/many.ptx
// MANY: .shared .align 16 .b8 {{.*}}[28672];
// RUN: sed 's/14336/16384/g' %s > %t/big.mlir
// RUN: quant-compile %t/big.mlir --target=cuda:sm_90a --emit=ptx -o %t/big.ptx
// RUN: FileCheck %s --check-prefix=BIG < %t/big.ptx
// BIG-NOT: .shared
// BIG-COUNT-14: .visible .entry
// BIG-NOT: .visible .entry
func.func @main(%x: tensor<2x14336xf32> {onnx.name = "x"}) -> (tensor<2x14336xf32> {onnx.name = "y"}) {
  %y = qc.hadamard %x : tensor<2x14336xf32>
  return %y : tensor<2x14336xf32>
}
