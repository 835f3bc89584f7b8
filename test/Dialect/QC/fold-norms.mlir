// RUN: quant-opt %s --split-input-file --qc-fold-norms | FileCheck %s

// RMSNorm gain [2, 0.5] folded into both readers: rows of a [K, N] weight,
// columns of a transposed [N, K] one; the norm loses its gain.
// CHECK-LABEL: func.func @rms
// CHECK: %[[N:.*]] = qc.rms_norm %arg0 : (tensor<5x2xf32>) -> tensor<5x2xf32>
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[2.000000e+00, 4.000000e+00, 6.000000e+00], [2.000000e+00, 2.500000e+00, 3.000000e+00]]> : tensor<2x3xf32>
// CHECK: qc.matmul %[[N]], %[[W]] : (tensor<5x2xf32>, tensor<2x3xf32>)
// CHECK: %[[WT:.*]] = arith.constant dense<{{\[}}[2.000000e+00, 5.000000e-01], [-2.000000e+00, 1.000000e+00]]> : tensor<2x2xf32>
// CHECK: qc.matmul %[[N]], %[[WT]] {transpose_rhs}
func.func @rms(%x: tensor<5x2xf32>) -> (tensor<5x3xf32>, tensor<5x2xf32>) {
  %g = arith.constant dense<[2.0, 0.5]> : tensor<2xf32>
  %w = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %wt = arith.constant dense<[[1.0, 1.0], [-1.0, 2.0]]> : tensor<2x2xf32>
  %n = qc.rms_norm %x scale %g : (tensor<5x2xf32>, tensor<2xf32>) -> tensor<5x2xf32>
  %y = qc.matmul %n, %w : (tensor<5x2xf32>, tensor<2x3xf32>) -> tensor<5x3xf32>
  %z = qc.matmul %n, %wt {transpose_rhs} : (tensor<5x2xf32>, tensor<2x2xf32>) -> tensor<5x2xf32>
  return %y, %z : tensor<5x3xf32>, tensor<5x2xf32>
}

// -----

// LayerNorm gain [2, 1] and bias [1, -1]: W = [[1, 2], [3, 4]] becomes
// [[2, 4], [3, 4]]; the matmul's bias [10, 20] becomes [10, 20] + β·W =
// [10 + 1 - 3, 20 + 2 - 4] = [8, 18].
// CHECK-LABEL: func.func @layer
// CHECK: %[[N:.*]] = qc.layer_norm %arg0 : (tensor<3x2xf32>) -> tensor<3x2xf32>
// CHECK: %[[B:.*]] = arith.constant dense<[8.000000e+00, 1.800000e+01]> : tensor<2xf32>
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[2.000000e+00, 4.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK: qc.matmul %[[N]], %[[W]], %[[B]]
func.func @layer(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %g = arith.constant dense<[2.0, 1.0]> : tensor<2xf32>
  %b = arith.constant dense<[1.0, -1.0]> : tensor<2xf32>
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %c = arith.constant dense<[10.0, 20.0]> : tensor<2xf32>
  %n = qc.layer_norm %x scale %g bias %b : (tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %y = qc.matmul %n, %w, %c : (tensor<3x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// Left alone: the normalised value is also returned (a user that is not a
// linear layer), and a gain that is not a constant.
// CHECK-LABEL: func.func @untouched
// CHECK: qc.rms_norm %arg0 scale %{{.*}} : (tensor<5x2xf32>, tensor<2xf32>)
// CHECK: qc.rms_norm %arg0 scale %arg1 : (tensor<5x2xf32>, tensor<2xf32>)
// CHECK: qc.matmul %{{.*}}, %[[W:.*]] :
// CHECK: qc.matmul %{{.*}}, %[[W]] :
func.func @untouched(%x: tensor<5x2xf32>, %g2: tensor<2xf32>) -> (tensor<5x2xf32>, tensor<5x3xf32>, tensor<5x3xf32>) {
  %g = arith.constant dense<[2.0, 0.5]> : tensor<2xf32>
  %w = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %n = qc.rms_norm %x scale %g : (tensor<5x2xf32>, tensor<2xf32>) -> tensor<5x2xf32>
  %n2 = qc.rms_norm %x scale %g2 : (tensor<5x2xf32>, tensor<2xf32>) -> tensor<5x2xf32>
  %y = qc.matmul %n, %w : (tensor<5x2xf32>, tensor<2x3xf32>) -> tensor<5x3xf32>
  %z = qc.matmul %n2, %w : (tensor<5x2xf32>, tensor<2x3xf32>) -> tensor<5x3xf32>
  return %n, %y, %z : tensor<5x2xf32>, tensor<5x3xf32>, tensor<5x3xf32>
}
