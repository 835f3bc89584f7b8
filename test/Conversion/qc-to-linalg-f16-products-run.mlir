// The numbers of convert-qc-to-linalg's f16-products body, run on the CPU
// (mlir-runner): the same results as the f32 body and as the plain product
// (computed by hand below), for signed codes in groups of 8 and for
// unsigned codes with a zero point of 3. Activations, codes and scales are
// chosen so that every f16 step is exact; what this checks is the body's
// structure: which nibbles pair with which activations, the offsets of
// signed codes and zero points, the 1/16 and 1/256 scalings and the 16
// that undoes them.
// RUN: quant-opt %s --qc-pack-weights --convert-qc-to-linalg="f16-products=true" \
// RUN:   | mlir-opt --one-shot-bufferize="bufferize-function-boundaries" \
// RUN:     --convert-linalg-to-loops --expand-strided-metadata --lower-affine \
// RUN:     --convert-scf-to-cf --convert-vector-to-llvm --finalize-memref-to-llvm \
// RUN:     --convert-to-llvm --reconcile-unrealized-casts \
// RUN:   | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs \
// RUN:   | FileCheck %s
// RUN: quant-opt %s --qc-pack-weights --convert-qc-to-linalg \
// RUN:   | mlir-opt --one-shot-bufferize="bufferize-function-boundaries" \
// RUN:     --convert-linalg-to-loops --expand-strided-metadata --lower-affine \
// RUN:     --convert-scf-to-cf --convert-vector-to-llvm --finalize-memref-to-llvm \
// RUN:     --convert-to-llvm --reconcile-unrealized-casts \
// RUN:   | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs \
// RUN:   | FileCheck %s

// Signed: row 0 of x times weight row 0 (codes 1 -2 7 -8 0 1 2 3, twice;
// scales 1 and 2): (1 - 4 + 21 - 32 + 0 + 6 + 14 + 24)·1 + (0.5 + 2 +
// 10.5 + 16 + 0 - 3 + 7 - 12)·2 = 30 + 42 = 72; row 0 times weight row 1
// (eight 1s, eight -1s; scales 0.5, 0.25): 36·0.5 - 2·0.25 = 17.5 ... see
// the CHECK lines for all four.
// CHECK: [72, 18.5]
// CHECK-NEXT: [6, -9]
// Unsigned, zero point 3, K = 16, N = 2 ([K, N], scale 0.5): column 0 has
// codes 0..15 (u - 3 = -3..12), column 1 the codes 15..0.
// x row 0 = 1 (sixteen ones): Σ(u - 3)·0.5 = (120 - 48)·0.5 = 36 for both
// columns; x row 1 = k - 8 (k = 0..15): column 0 Σ(k - 8)(k - 3)·0.5 =
// (Σk² - 11Σk + 24·16)·0.5 = (1240 - 1320 + 384)·0.5 = 152, column 1
// Σ(k - 8)(12 - k)·0.5 = (-Σk² + 20Σk - 96·16)·0.5 = (-1240 + 2400 - 1536)
// ·0.5 = -188.
// CHECK: [36, 36]
// CHECK-NEXT: [152, -188]

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @signed_groups(%x: tensor<2x16xf32>) -> tensor<2x2xf32> {
  %cst = arith.constant dense<[[1, -2, 7, -8, 0, 1, 2, 3, 1, -2, 7, -8, 0, 1, 2, 3], [1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1, -1]]> : tensor<2x16xi4>
  %w = quant.scast %cst : tensor<2x16xi4> to tensor<2x16x!quant.uniform<i4:f32:{0:1, 1:8}, {{1.0, 2.0}, {0.5, 0.25}}>>
  %y = qc.matmul %x, %w {transpose_rhs} : (tensor<2x16xf32>, tensor<2x16x!quant.uniform<i4:f32:{0:1, 1:8}, {{1.0, 2.0}, {0.5, 0.25}}>>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

func.func @zero_point(%x: tensor<2x16xf32>) -> tensor<2x2xf32> {
  // The codes 0..15 as signless i4 bits (8..15 written as -8..-1).
  %cst = arith.constant dense<[[0, -1], [1, -2], [2, -3], [3, -4], [4, -5], [5, -6], [6, -7], [7, -8], [-8, 7], [-7, 6], [-6, 5], [-5, 4], [-4, 3], [-3, 2], [-2, 1], [-1, 0]]> : tensor<16x2xi4>
  %w = quant.scast %cst : tensor<16x2xi4> to tensor<16x2x!quant.uniform<u4:f32, 0.5:3>>
  %y = qc.matmul %x, %w : (tensor<2x16xf32>, tensor<16x2x!quant.uniform<u4:f32, 0.5:3>>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

func.func @main() {
  %x = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 0.5, -1.0, 1.5, -2.0, 2.5, -3.0, 3.5, -4.0], [0.25, 0.5, 0.75, 1.0, -1.0, -0.75, -0.5, -0.25, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0]]> : tensor<2x16xf32>
  %y = func.call @signed_groups(%x) : (tensor<2x16xf32>) -> tensor<2x2xf32>
  %m = bufferization.to_buffer %y : tensor<2x2xf32> to memref<2x2xf32>
  %u = memref.cast %m : memref<2x2xf32> to memref<*xf32>
  func.call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  %x2 = arith.constant dense<[[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [-8.0, -7.0, -6.0, -5.0, -4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]]> : tensor<2x16xf32>
  %z = func.call @zero_point(%x2) : (tensor<2x16xf32>) -> tensor<2x2xf32>
  %n = bufferization.to_buffer %z : tensor<2x2xf32> to memref<2x2xf32>
  %v = memref.cast %n : memref<2x2xf32> to memref<*xf32>
  func.call @printMemrefF32(%v) : (memref<*xf32>) -> ()
  return
}
