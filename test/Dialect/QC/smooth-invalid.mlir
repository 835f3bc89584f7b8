// RUN: quant-opt %s --split-input-file --qc-smooth --verify-diagnostics
// RUN: not quant-opt %s --qc-smooth=alpha=1.5 2>&1 | FileCheck %s --check-prefix=ALPHA

// ALPHA: qc-smooth: alpha must be in [0, 1], got 1.5

func.func @wrong_length(%x: tensor<4x2xf32>) -> tensor<4x1xf32> {
  %w = arith.constant dense<[[1.0], [4.0]]> : tensor<2x1xf32>
  %n = qc.rms_norm %x : (tensor<4x2xf32>) -> tensor<4x2xf32>
  // expected-error @below {{qc-smooth: qc.calib_absmax has 3 values, but the input has 2 channels}}
  %y = qc.matmul %n, %w {qc.calib_absmax = array<f32: 16.0, 1.0, 2.0>} : (tensor<4x2xf32>, tensor<2x1xf32>) -> tensor<4x1xf32>
  return %y : tensor<4x1xf32>
}
