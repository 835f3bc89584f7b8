// RUN: quant-opt %s --split-input-file --qc-rotate --verify-diagnostics
// RUN: not quant-opt %s --qc-rotate=rotation=givens 2>&1 | FileCheck %s --check-prefix=KIND
// KIND: qc-rotate: unknown rotation 'givens' (expected hadamard or random-orthogonal)

func.func @gain(%x: tensor<2x4xf32>, %g: tensor<4xf32>) -> tensor<2x4xf32> {
  %w = arith.constant dense<0.5> : tensor<4x4xf32>
  %h = qc.matmul %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  // expected-error @+1 {{qc-rotate: the RMS norm still has a gain (run qc-fold-norms first); the module is left unchanged}}
  %n = qc.rms_norm %h scale %g : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %y = qc.matmul %n, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// expected-error @+1 {{qc-rotate: the residual stream starts at a function argument (a rotation needs the producer to absorb Q); the module is left unchanged}}
func.func @argument(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %w = arith.constant dense<0.5> : tensor<4x4xf32>
  %n = qc.rms_norm %x : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = qc.matmul %n, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @layer_norm_gain(%x: tensor<2x4xf32>, %g: tensor<4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %w = arith.constant dense<0.5> : tensor<4x4xf32>
  %h = qc.matmul %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %n = qc.rms_norm %h : (tensor<2x4xf32>) -> tensor<2x4xf32>
  // expected-error @+1 {{qc-rotate: the LayerNorm still has a gain or bias (run qc-fold-norms first); the module is left unchanged}}
  %l = qc.layer_norm %h scale %g : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %y = qc.matmul %n, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %z = qc.matmul %l, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  return %y, %z : tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// A LayerNorm whose result is returned: its users must be linear layers.
func.func @layer_norm_returned(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %w = arith.constant dense<0.5> : tensor<4x4xf32>
  %h = qc.matmul %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %l = qc.layer_norm %h : (tensor<2x4xf32>) -> tensor<2x4xf32>
  // expected-error @+1 {{qc-rotate: a normalised residual value is read by 'func.return' (expected a linear layer with a constant weight); the module is left unchanged}}
  return %l : tensor<2x4xf32>
}

// -----

func.func @other_reader(%x: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %w = arith.constant dense<0.5> : tensor<4x4xf32>
  %s = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %h = qc.matmul %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %n = qc.rms_norm %h : (tensor<2x4xf32>) -> tensor<2x4xf32>
  // expected-error @+1 {{qc-rotate: the residual stream is read by 'tosa.mul' (expected a residual add or an RMS norm); the module is left unchanged}}
  %m = tosa.mul %h, %h, %s : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<1xi8>) -> tensor<2x4xf32>
  %y = qc.matmul %n, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  return %y, %m : tensor<2x4xf32>, tensor<2x4xf32>
}
