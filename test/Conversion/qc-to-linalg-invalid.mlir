// RUN: quant-opt %s --convert-qc-to-linalg --split-input-file --verify-diagnostics

func.func @observe(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{qc.observe cannot be compiled: run qc-strip-observers (or calibrate) first}}
  %0 = qc.observe min_max %x tag "t" : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @dynamic_norm(%x: tensor<2x?xf32>) -> tensor<2x?xf32> {
  // expected-error @+1 {{unsupported dynamic normalised dimension 1}}
  %0 = qc.rms_norm %x : (tensor<2x?xf32>) -> tensor<2x?xf32>
  return %0 : tensor<2x?xf32>
}

// -----

func.func @quantized_elsewhere(%x: tensor<4xi8>) -> tensor<2x2x!quant.uniform<i8:f32, 0.5>> {
  %q = quant.scast %x : tensor<4xi8> to tensor<4x!quant.uniform<i8:f32, 0.5>>
  // expected-error @+1 {{unsupported operation on quantized tensors: 'tensor.expand_shape' (only qc ops lower them)}}
  %e = tensor.expand_shape %q [[0, 1]] output_shape [2, 2] : tensor<4x!quant.uniform<i8:f32, 0.5>> into tensor<2x2x!quant.uniform<i8:f32, 0.5>>
  return %e : tensor<2x2x!quant.uniform<i8:f32, 0.5>>
}

// -----

func.func @float8(%x: tensor<4xf32>) -> tensor<4xf8E4M3FN> {
  // expected-error @+1 {{unsupported 'f8E4M3FN' values: float8/float4 arithmetic is not lowered to the CPU (only constant qc.decode codes are)}}
  %e = tensor.empty() : tensor<4xf8E4M3FN>
  return %e : tensor<4xf8E4M3FN>
}

// -----

func.func @decode_codes_not_constant(%c: tensor<2x4xf8E4M3FN>) -> tensor<2x4xf32> {
  %s = arith.constant dense<1.0> : tensor<2x1xf32>
  // expected-error @+1 {{unsupported lowering of qc.decode: the codes must be a dense constant}}
  %w = qc.decode %c scales %s : (tensor<2x4xf8E4M3FN>, tensor<2x1xf32>) -> tensor<2x4xf32>
  return %w : tensor<2x4xf32>
}
