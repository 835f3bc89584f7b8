// RUN: quant-opt %s --split-input-file --convert-qc-to-linalg=int8-mma=true | FileCheck %s
// RUN: quant-opt %s --split-input-file --convert-qc-to-linalg | FileCheck %s --check-prefix=PLAIN

// W8A8 in the form of qc-map-to-gpu's int8 tensor-core kernel: the
// per-token codes once into an i8 tensor, the [K, N] weight transposed at
// compile time to [N, K] rows (row n holds column n: 0 1 2 ..., 0 -1 -2
// ..., 0 1 2 3 4 0 ...), a contraction of the i8 codes widened in its body
// (so that element-wise fusion has nothing to pull into it), marked
// qc.int8_contraction; the scales in the epilogue.
// CHECK-LABEL: func.func @w8a8_kn
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{\[\[}}0, 1, 2, 3, 4, 5, {{.*}}], [0, -1, -2, -3, {{.*}}], [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, {{.*}}]]> : tensor<3x32xi8>
// CHECK: %[[CODES:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<4x32xi8>)
// CHECK: arith.fptosi
// CHECK: linalg.generic {{{.*}}iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[CODES]], %[[W]] : tensor<4x32xi8>, tensor<3x32xi8>) outs(%{{.*}} : tensor<4x3xi32>) attrs =  {qc.contraction, qc.int8_contraction = {lhs_signed = true, rhs_signed = true}}
// CHECK: arith.extsi %{{.*}} : i8 to i32
// CHECK: arith.extsi %{{.*}} : i8 to i32
// CHECK: arith.muli
// CHECK: arith.addi
// CHECK: arith.sitofp
// CHECK: arith.mulf
// Without int8-mma: the generic integer contraction, the weight as it was.
// PLAIN-LABEL: func.func @w8a8_kn
// PLAIN-NOT: qc.int8_contraction
// PLAIN-NOT: tensor<3x32xi8>
// PLAIN: attrs =  {qc.contraction}
func.func @w8a8_kn(%x: tensor<4x32xf32>) -> tensor<4x3xf32> {
  %cst = arith.constant dense<[[0, 0, 0], [1, -1, 1], [2, -2, 2], [3, -3, 3], [4, -4, 4], [5, -5, 0], [6, -6, 1], [7, -7, 2], [8, -8, 3], [9, -9, 4], [10, -10, 0], [11, -11, 1], [12, -12, 2], [13, -13, 3], [14, -14, 4], [15, -15, 0], [16, -16, 1], [17, -17, 2], [18, -18, 3], [19, -19, 4], [20, -20, 0], [21, -21, 1], [22, -22, 2], [23, -23, 3], [24, -24, 4], [25, -25, 0], [26, -26, 1], [27, -27, 2], [28, -28, 3], [29, -29, 4], [30, -30, 0], [31, -31, 1]]> : tensor<32x3xi8>
  %w = quant.scast %cst : tensor<32x3xi8> to tensor<32x3x!quant.uniform<i8:f32:1, {5.000000e-01,2.500000e-01,1.250000e-01}>>
  %q = qc.quantize_per_token %x {bits = 8} : tensor<4x32xf32>
  %y = qc.matmul %q, %w : (tensor<4x32xf32>, tensor<32x3x!quant.uniform<i8:f32:1, {5.000000e-01,2.500000e-01,1.250000e-01}>>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// -----

// A transpose_rhs weight is already [N, K]: read as it is.
// CHECK-LABEL: func.func @w8a8_nk
// CHECK: %[[W:.*]] = arith.constant dense<{{\[\[}}1, 2, {{.*}}]> : tensor<2x16xi8>
// CHECK-NOT: arith.constant {{.*}} tensor<2x16xi8>
// CHECK: ins(%{{.*}}, %[[W]] : tensor<3x16xi8>, tensor<2x16xi8>) outs(%{{.*}} : tensor<3x2xi32>) {{.*}}qc.int8_contraction
func.func @w8a8_nk(%x: tensor<3x16xf32>) -> tensor<3x2xf32> {
  %cst = arith.constant dense<[[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -14, -15, -16]]> : tensor<2x16xi8>
  %w = quant.scast %cst : tensor<2x16xi8> to tensor<2x16x!quant.uniform<i8:f32, 5.000000e-01>>
  %q = qc.quantize_per_token %x {bits = 8} : tensor<3x16xf32>
  %y = qc.matmul %q, %w {transpose_rhs} : (tensor<3x16xf32>, tensor<2x16x!quant.uniform<i8:f32, 5.000000e-01>>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// K = 24 is not a multiple of the kernel's 16-byte copies: the generic
// integer contraction.
// CHECK-LABEL: func.func @w8a8_k24
// CHECK-NOT: qc.int8_contraction
// CHECK: attrs =  {qc.contraction}
func.func @w8a8_k24(%x: tensor<3x24xf32>) -> tensor<3x2xf32> {
  %cst = arith.constant dense<[[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24], [-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -14, -15, -16, -17, -18, -19, -20, -21, -22, -23, -24]]> : tensor<2x24xi8>
  %w = quant.scast %cst : tensor<2x24xi8> to tensor<2x24x!quant.uniform<i8:f32, 5.000000e-01>>
  %q = qc.quantize_per_token %x {bits = 8} : tensor<3x24xf32>
  %y = qc.matmul %q, %w {transpose_rhs} : (tensor<3x24xf32>, tensor<2x24x!quant.uniform<i8:f32, 5.000000e-01>>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
