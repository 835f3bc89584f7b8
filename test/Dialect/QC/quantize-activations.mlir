// RUN: quant-opt %s --split-input-file --qc-quantize-activations | FileCheck %s
// RUN: quant-opt %s --split-input-file --qc-quantize-activations="symmetric=false" | FileCheck %s --check-prefix=ASYM
// RUN: quant-opt %s --split-input-file --qc-quantize-activations="keep-float=fc.*" | FileCheck %s --check-prefix=KEEP
// RUN: not quant-opt %s --split-input-file --qc-quantize-activations="bits=3" 2>&1 | FileCheck %s --check-prefix=BITS
// RUN: quant-opt %s --split-input-file --qc-quantize-activations="per-token bits=4" | FileCheck %s --check-prefix=TOKEN
// RUN: quant-opt %s --split-input-file --qc-quantize-activations="per-token keep-float=fc1" | FileCheck %s --check-prefix=TOKEN-KEEP
// RUN: not quant-opt %s --split-input-file --qc-quantize-activations="per-token symmetric=false" 2>&1 | FileCheck %s --check-prefix=TOKEN-ASYM

// A calibrated range [-2, 1]: symmetric int8, scale max(2, 1) / 127
// (0.015748...), zero point 0. Asymmetric uint8: scale (1 - (-2)) / 255
// (0.0117647...), zero point round(2 / scale) = 170.
// CHECK-LABEL: func.func @calibrated
// CHECK: %[[Q:.*]] = qc.quantize %arg0 : tensor<3x4xf32> -> tensor<3x4x!quant.uniform<i8:f32, 0.015748{{[0-9]*}}>>
// CHECK: qc.matmul %[[Q]], %{{.*}} {qc.calib_range = {{.*}}} : (tensor<3x4x!quant.uniform<i8:f32, 0.015748{{[0-9]*}}>>, tensor<4x2x!quant.uniform<i8:f32:1, {5.000000e-01,2.500000e-01}>>) -> tensor<3x2xf32>
// ASYM-LABEL: func.func @calibrated
// ASYM: qc.quantize %arg0 : tensor<3x4xf32> -> tensor<3x4x!quant.uniform<u8:f32, 0.011764{{[0-9]*}}:170>>
// KEEP-LABEL: func.func @calibrated
// KEEP-NOT: qc.quantize
// BITS: qc-quantize-activations: bits must be 4 or 8, got 3
// Per token: the calibrated range plays no part; the matmul reads
// qc.quantize_per_token of its input.
// TOKEN-LABEL: func.func @calibrated
// TOKEN: %[[T:.*]] = qc.quantize_per_token %arg0 {bits = 4 : i64} : tensor<3x4xf32>
// TOKEN: qc.matmul %[[T]], %{{.*}} : (tensor<3x4xf32>, tensor<4x2x!quant.uniform<i8:f32:1, {{.*}}>>) -> tensor<3x2xf32>
// TOKEN-KEEP-LABEL: func.func @calibrated
// TOKEN-KEEP-NOT: qc.quantize_per_token
// TOKEN-ASYM: per-token quantization is symmetric (signed codes); symmetric=false is not supported
func.func @calibrated(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %c = arith.constant dense<1> : tensor<4x2xi8>
  %w = quant.scast %c : tensor<4x2xi8> to tensor<4x2x!quant.uniform<i8:f32:1, {0.5, 0.25}>>
  %y = qc.matmul %x, %w {qc.calib_range = array<f32: -2.0, 1.0>} : (tensor<3x4xf32>, tensor<4x2x!quant.uniform<i8:f32:1, {0.5, 0.25}>>) -> tensor<3x2xf32> loc("fc1")
  return %y : tensor<3x2xf32>
}

// -----

// Left alone: no calibrated range, and an input that is already quantized.
// Per token: a float weight (not a quantized layer) and a quantized input.
// CHECK-LABEL: func.func @untouched
// TOKEN-LABEL: func.func @untouched
// TOKEN-NOT: qc.quantize_per_token
// TOKEN: return
// CHECK-NOT: qc.quantize
// CHECK: return
func.func @untouched(%x: tensor<3x4xf32>, %q: tensor<3x4x!quant.uniform<i8:f32, 0.5>>, %w: tensor<4x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %0 = qc.matmul %x, %w : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  %1 = qc.matmul %q, %w {qc.calib_range = array<f32: -1.0, 1.0>} : (tensor<3x4x!quant.uniform<i8:f32, 0.5>>, tensor<4x2xf32>) -> tensor<3x2xf32>
  return %0, %1 : tensor<3x2xf32>, tensor<3x2xf32>
}

// -----

// A convolution reads dequant(quant(x)): the same parameters as a matmul's
// (range [-2, 1] -> int8 scale 2/127), then qc.dequantize back to f32. One
// whose input is already a qc.dequantize is left alone (idempotent).
// CHECK-LABEL: func.func @conv
// CHECK: %[[Q:.*]] = qc.quantize %arg0 : tensor<1x2x4x4xf32> -> tensor<1x2x4x4x!quant.uniform<i8:f32, 0.015748{{[0-9]*}}>>
// CHECK: %[[D:.*]] = qc.dequantize %[[Q]] : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.015748{{[0-9]*}}>> -> tensor<1x2x4x4xf32>
// CHECK: linalg.conv_2d_nchw_fchw {{.*}}ins(%[[D]], %{{.*}} : tensor<1x2x4x4xf32>, tensor<3x2x3x3xf32>)
// CHECK-NOT: qc.quantize
// CHECK: return
// KEEP-LABEL: func.func @conv
// KEEP: qc.quantize
// Per token leaves convolutions alone.
// TOKEN-LABEL: func.func @conv
// TOKEN-NOT: qc.quantize
func.func @conv(%x: tensor<1x2x4x4xf32>, %w: tensor<3x2x3x3xf32>, %o: tensor<1x3x2x2xf32>) -> (tensor<1x3x2x2xf32>, tensor<1x3x2x2xf32>) {
  %y = linalg.conv_2d_nchw_fchw {qc.calib_range = array<f32: -2.0, 1.0>, dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : tensor<1x2x4x4xf32>, tensor<3x2x3x3xf32>) outs(%o : tensor<1x3x2x2xf32>) -> tensor<1x3x2x2xf32>
  %c = arith.constant dense<3> : tensor<1x2x4x4xi8>
  %q = quant.scast %c : tensor<1x2x4x4xi8> to tensor<1x2x4x4x!quant.uniform<i8:f32, 0.5>>
  %d = qc.dequantize %q : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.5>> -> tensor<1x2x4x4xf32>
  %z = linalg.conv_2d_nchw_fchw {qc.calib_range = array<f32: -2.0, 1.0>, dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%d, %w : tensor<1x2x4x4xf32>, tensor<3x2x3x3xf32>) outs(%o : tensor<1x3x2x2xf32>) -> tensor<1x3x2x2xf32>
  return %y, %z : tensor<1x3x2x2xf32>, tensor<1x3x2x2xf32>
}
