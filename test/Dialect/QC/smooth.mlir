// RUN: quant-opt %s --split-input-file --qc-smooth | FileCheck %s

// Two readers share the norm output: actMax = max([16, 1], [8, 0.5]) =
// [16, 1]; weightMax per input channel over both weights = [max(2, 4),
// max(4, 0.25)] = [4, 4]; alpha 0.5: s = sqrt(actMax / weightMax) = [2, 0.5].
// The gain [2, 4] becomes [2 / 2, 4 / 0.5] = [1, 8]; row j of W1 and column j
// of the transposed W2 are multiplied by s_j; the statistics are divided by s
// and the calibrated range is dropped.
// CHECK-LABEL: func.func @shared
// CHECK: %[[G:.*]] = arith.constant dense<[1.000000e+00, 8.000000e+00]> : tensor<2xf32>
// CHECK: %[[N:.*]] = qc.rms_norm %arg0 scale %[[G]]
// CHECK: %[[W1:.*]] = arith.constant dense<{{\[}}[2.000000e+00, 4.000000e+00], [2.500000e-01, 2.000000e+00]]> : tensor<2x2xf32>
// CHECK: qc.matmul %[[N]], %[[W1]] {qc.calib_absmax = array<f32: 8.000000e+00, 2.000000e+00>}
// CHECK: %[[W2:.*]] = arith.constant dense<{{\[}}[8.000000e+00, 1.250000e-01]]> : tensor<1x2xf32>
// CHECK: qc.matmul %[[N]], %[[W2]] {qc.calib_absmax = array<f32: 4.000000e+00, 1.000000e+00>, transpose_rhs}
func.func @shared(%x: tensor<4x2xf32>) -> (tensor<4x2xf32>, tensor<4x1xf32>) {
  %g = arith.constant dense<[2.0, 4.0]> : tensor<2xf32>
  %w1 = arith.constant dense<[[1.0, 2.0], [0.5, 4.0]]> : tensor<2x2xf32>
  %w2 = arith.constant dense<[[4.0, 0.25]]> : tensor<1x2xf32>
  %n = qc.rms_norm %x scale %g : (tensor<4x2xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  %y = qc.matmul %n, %w1 {qc.calib_absmax = array<f32: 16.0, 1.0>, qc.calib_range = array<f32: -16.0, 16.0>} : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
  %z = qc.matmul %n, %w2 {transpose_rhs, qc.calib_absmax = array<f32: 8.0, 0.5>} : (tensor<4x2xf32>, tensor<1x2xf32>) -> tensor<4x1xf32>
  return %y, %z : tensor<4x2xf32>, tensor<4x1xf32>
}

// -----

// A gain-free LayerNorm with a bias: it gets the gain 1/s = [0.5, 2] and
// its bias [4, 4] becomes [2, 8]. actMax [4, 1], weightMax [1, 4]: s = [2, 0.5].
// CHECK-LABEL: func.func @layer_norm
// CHECK-DAG: %[[B:.*]] = arith.constant dense<[2.000000e+00, 8.000000e+00]> : tensor<2xf32>
// CHECK-DAG: %[[G:.*]] = arith.constant dense<[5.000000e-01, 2.000000e+00]> : tensor<2xf32>
// CHECK: qc.layer_norm %arg0 scale %[[G]] bias %[[B]]
func.func @layer_norm(%x: tensor<4x2xf32>) -> tensor<4x1xf32> {
  %b = arith.constant dense<[4.0, 4.0]> : tensor<2xf32>
  %w = arith.constant dense<[[1.0], [4.0]]> : tensor<2x1xf32>
  %n = qc.layer_norm %x bias %b : (tensor<4x2xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  %y = qc.matmul %n, %w {qc.calib_absmax = array<f32: 4.0, 1.0>} : (tensor<4x2xf32>, tensor<2x1xf32>) -> tensor<4x1xf32>
  return %y : tensor<4x1xf32>
}

// -----

// Produced by a matmul: its output channels and bias are divided by s.
// actMax [16, 1], weightMax [1, 4]: s = [4, 0.5]; P [[1, 2]] -> [[0.25, 4]],
// bias [4, 8] -> [1, 16]; W [[1], [4]] -> [[4], [2]].
// CHECK-LABEL: func.func @after_matmul
// CHECK-DAG: %[[P:.*]] = arith.constant dense<{{\[}}[2.500000e-01, 4.000000e+00]]> : tensor<1x2xf32>
// CHECK-DAG: %[[B:.*]] = arith.constant dense<[1.000000e+00, 1.600000e+01]> : tensor<2xf32>
// CHECK: %[[H:.*]] = qc.matmul %arg0, %[[P]], %[[B]]
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[4.000000e+00], [2.000000e+00]]> : tensor<2x1xf32>
// CHECK: qc.matmul %[[H]], %[[W]]
func.func @after_matmul(%x: tensor<4x1xf32>) -> tensor<4x1xf32> {
  %p = arith.constant dense<[[1.0, 2.0]]> : tensor<1x2xf32>
  %b = arith.constant dense<[4.0, 8.0]> : tensor<2xf32>
  %w = arith.constant dense<[[1.0], [4.0]]> : tensor<2x1xf32>
  %h = qc.matmul %x, %p, %b : (tensor<4x1xf32>, tensor<1x2xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  %y = qc.matmul %h, %w {qc.calib_absmax = array<f32: 16.0, 1.0>} : (tensor<4x2xf32>, tensor<2x1xf32>) -> tensor<4x1xf32>
  return %y : tensor<4x1xf32>
}

// -----

// SwiGLU: down reads sigmoid(gate) · up; up's output channels absorb 1/s.
// actMax [4, 1], weightMax [1, 1]: s = [2, 1]; U [[2, 2]] -> [[1, 2]],
// D [[1], [1]] -> [[2], [1]]; the gate is untouched.
// CHECK-LABEL: func.func @swiglu
// CHECK: %[[GATE:.*]] = qc.matmul %arg0, %{{.*}} :
// CHECK: %[[U:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00]]> : tensor<1x2xf32>
// CHECK: %[[UP:.*]] = qc.matmul %arg0, %[[U]] :
// CHECK: %[[P:.*]] = arith.mulf %{{.*}}, %[[UP]]
// CHECK: %[[D:.*]] = arith.constant dense<{{\[}}[2.000000e+00], [1.000000e+00]]> : tensor<2x1xf32>
// CHECK: qc.matmul %[[P]], %[[D]]
func.func @swiglu(%x: tensor<4x1xf32>) -> tensor<4x1xf32> {
  %g = arith.constant dense<[[3.0, 3.0]]> : tensor<1x2xf32>
  %u = arith.constant dense<[[2.0, 2.0]]> : tensor<1x2xf32>
  %d = arith.constant dense<[[1.0], [1.0]]> : tensor<2x1xf32>
  %gate = qc.matmul %x, %g : (tensor<4x1xf32>, tensor<1x2xf32>) -> tensor<4x2xf32>
  %s = tosa.sigmoid %gate : (tensor<4x2xf32>) -> tensor<4x2xf32>
  %up = qc.matmul %x, %u : (tensor<4x1xf32>, tensor<1x2xf32>) -> tensor<4x2xf32>
  %p = arith.mulf %s, %up : tensor<4x2xf32>
  %y = qc.matmul %p, %d {qc.calib_absmax = array<f32: 4.0, 1.0>} : (tensor<4x2xf32>, tensor<2x1xf32>) -> tensor<4x1xf32>
  return %y : tensor<4x1xf32>
}

// -----

// Left alone: a norm output that is also returned; a reader without
// statistics next to one with them; an activation that is a function
// argument; a producer that is neither a norm, a matmul nor such a product
// (the attention reshape before o_proj).
// CHECK-LABEL: func.func @untouched
// CHECK-NOT: smoothed
// CHECK: qc.matmul %{{.*}}, %{{.*}} {qc.calib_absmax = array<f32: 1.600000e+01, 1.000000e+00>}
// CHECK: qc.matmul %{{.*}}, %{{.*}} {qc.calib_absmax = array<f32: 1.600000e+01, 1.000000e+00>}
// CHECK: qc.matmul %{{.*}}, %{{.*}} : (tensor<4x2xf32>
// CHECK: qc.matmul %arg0, %{{.*}} {qc.calib_absmax = array<f32: 1.600000e+01, 1.000000e+00>}
// CHECK: qc.matmul %{{.*}}, %{{.*}} {qc.calib_absmax = array<f32: 1.600000e+01, 1.000000e+00>}
func.func @untouched(%x: tensor<4x2xf32>, %r: tensor<4x1x2xf32>) -> (tensor<4x2xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>) {
  %g = arith.constant dense<[2.0, 4.0]> : tensor<2xf32>
  %w = arith.constant dense<[[1.0], [4.0]]> : tensor<2x1xf32>
  %n = qc.rms_norm %x scale %g : (tensor<4x2xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  %a = qc.matmul %n, %w {qc.calib_absmax = array<f32: 16.0, 1.0>} : (tensor<4x2xf32>, tensor<2x1xf32>) -> tensor<4x1xf32>
  %m = qc.rms_norm %x : (tensor<4x2xf32>) -> tensor<4x2xf32>
  %b = qc.matmul %m, %w {qc.calib_absmax = array<f32: 16.0, 1.0>} : (tensor<4x2xf32>, tensor<2x1xf32>) -> tensor<4x1xf32>
  %c = qc.matmul %m, %w : (tensor<4x2xf32>, tensor<2x1xf32>) -> tensor<4x1xf32>
  %d = qc.matmul %x, %w {qc.calib_absmax = array<f32: 16.0, 1.0>} : (tensor<4x2xf32>, tensor<2x1xf32>) -> tensor<4x1xf32>
  %shape = arith.constant dense<[4, 2]> : tensor<2xi64>
  %flat = tensor.reshape %r(%shape) : (tensor<4x1x2xf32>, tensor<2xi64>) -> tensor<4x2xf32>
  %e = qc.matmul %flat, %w {qc.calib_absmax = array<f32: 16.0, 1.0>} : (tensor<4x2xf32>, tensor<2x1xf32>) -> tensor<4x1xf32>
  return %n, %a, %b, %c, %d, %e : tensor<4x2xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>
}
