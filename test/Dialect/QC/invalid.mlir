// Every verifier message of the qc ops, one case per split.
// RUN: quant-opt %s -split-input-file -verify-diagnostics

func.func @quantize_shape(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'qc.quantize' op expects input and result to have the same shape, but got 'tensor<4x8xf32>' and 'tensor<8x4x!quant.uniform<i8:f32, 5.000000e-01>>'}}
  %0 = qc.quantize %x : tensor<4x8xf32> -> tensor<8x4x!quant.uniform<i8:f32, 0.5>>
  return
}

// -----

func.func @quantize_expressed(%x: tensor<4xf32>) {
  // expected-error @+1 {{'qc.quantize' op expects the expressed type of result ('f16') to be the element type of input ('f32')}}
  %0 = qc.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<i8:f16, 0.5>>
  return
}

// -----

func.func @quantize_not_quantized(%x: tensor<4xf32>) {
  // expected-error @+1 {{'qc.quantize' op result #0 must be ranked tensor of !quant.uniform (per-tensor, per-axis or sub-channel) values}}
  %0 = qc.quantize %x : tensor<4xf32> -> tensor<4xi8>
  return
}

// -----

func.func @quantize_from_int(%x: tensor<4xi8>) {
  // expected-error @+1 {{'qc.quantize' op operand #0 must be ranked tensor of floating-point values}}
  %0 = qc.quantize %x : tensor<4xi8> -> tensor<4x!quant.uniform<i8:f32, 0.5>>
  return
}

// -----

func.func @per_axis_rank(%x: tensor<4x2xf32>) {
  // expected-error @+1 {{'qc.quantize' op result is quantized along axis 2 but has rank 2}}
  %0 = qc.quantize %x : tensor<4x2xf32> -> tensor<4x2x!quant.uniform<i8:f32:2, {0.5, 0.25}>>
  return
}

// -----

func.func @per_axis_count(%x: tensor<4x3xf32>) {
  // expected-error @+1 {{'qc.quantize' op result is quantized along axis 1 of size 3 but its type has 2 scales}}
  %0 = qc.quantize %x : tensor<4x3xf32> -> tensor<4x3x!quant.uniform<i8:f32:1, {0.5, 0.25}>>
  return
}

// -----

func.func @sub_channel_rank(%x: tensor<2x2x64xf32>) {
  // expected-error @+1 {{'qc.quantize' op result has rank 3 but its sub-channel scales have rank 2}}
  %0 = qc.quantize %x : tensor<2x2x64xf32> -> tensor<2x2x64x!quant.uniform<i4:f32:{1:32}, {{0.1, 0.2}, {0.3, 0.4}}>>
  return
}

// -----

func.func @sub_channel_blocks(%x: tensor<2x48xf32>) {
  // expected-error @+1 {{'qc.quantize' op result dimension 1 of size 48 is not covered by 2 blocks of size 32}}
  %0 = qc.quantize %x : tensor<2x48xf32> -> tensor<2x48x!quant.uniform<i4:f32:{0:1, 1:32}, {{0.1, 0.2}, {0.3, 0.4}}>>
  return
}

// -----

func.func @sub_channel_unlisted_axis(%x: tensor<2x64xf32>) {
  // An axis without a block size is one block: two rows need {0:1}.
  // expected-error @+1 {{'qc.quantize' op result dimension 0 of size 2 is not covered by 2 blocks of size 2}}
  %0 = qc.quantize %x : tensor<2x64xf32> -> tensor<2x64x!quant.uniform<i4:f32:{1:32}, {{0.1, 0.2}, {0.3, 0.4}}>>
  return
}

// -----

func.func @dequantize_shape(%q: tensor<4x!quant.uniform<i8:f32, 0.5>>) {
  // expected-error @+1 {{'qc.dequantize' op expects result and input to have the same shape}}
  %0 = qc.dequantize %q : tensor<4x!quant.uniform<i8:f32, 0.5>> -> tensor<5xf32>
  return
}

// -----

func.func @dequantize_expressed(%q: tensor<4x!quant.uniform<i8:f32, 0.5>>) {
  // expected-error @+1 {{'qc.dequantize' op expects the expressed type of input ('f32') to be the element type of result ('bf16')}}
  %0 = qc.dequantize %q : tensor<4x!quant.uniform<i8:f32, 0.5>> -> tensor<4xbf16>
  return
}

// -----

func.func @dequantize_per_axis(%q: tensor<3x!quant.uniform<i8:f32:0, {0.5, 0.25}>>) {
  // expected-error @+1 {{'qc.dequantize' op input is quantized along axis 0 of size 3 but its type has 2 scales}}
  %0 = qc.dequantize %q : tensor<3x!quant.uniform<i8:f32:0, {0.5, 0.25}>> -> tensor<3xf32>
  return
}

// -----

func.func @matmul_expressed(%a: tensor<2x3xf32>, %b: tensor<3x4xf16>) {
  // expected-error @+1 {{'qc.matmul' op expects rhs to express 'f32' like the result, but it expresses 'f16'}}
  %0 = qc.matmul %a, %b : (tensor<2x3xf32>, tensor<3x4xf16>) -> tensor<2x4xf32>
  return
}

// -----

func.func @matmul_rank0(%a: tensor<f32>, %b: tensor<3x4xf32>) {
  // expected-error @+1 {{'qc.matmul' op expects lhs and rhs to have rank >= 1}}
  %0 = qc.matmul %a, %b : (tensor<f32>, tensor<3x4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @matmul_contraction(%a: tensor<2x3xf32>, %b: tensor<5x4xf32>) {
  // expected-error @+1 {{'qc.matmul' op contraction sizes differ: lhs has K = 3, rhs has K = 5}}
  %0 = qc.matmul %a, %b : (tensor<2x3xf32>, tensor<5x4xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @matmul_contraction_transposed(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) {
  // With transpose_rhs the weight is [N, K]: K is its last dimension.
  // expected-error @+1 {{'qc.matmul' op contraction sizes differ: lhs has K = 3, rhs has K = 4}}
  %0 = qc.matmul %a, %b {transpose_rhs} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @matmul_batch(%a: tensor<2x2x3xf32>, %b: tensor<5x3x4xf32>) {
  // expected-error @+1 {{'qc.matmul' op batch dimensions do not broadcast: lhs has 2 and rhs has 5 at batch position 0}}
  %0 = qc.matmul %a, %b : (tensor<2x2x3xf32>, tensor<5x3x4xf32>) -> tensor<2x2x4xf32>
  return
}

// -----

func.func @matmul_result(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) {
  // expected-error @+1 {{'qc.matmul' op result shape 'tensor<2x5xf32>' is incompatible with the inferred shape [2, 4]}}
  %0 = qc.matmul %a, %b : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x5xf32>
  return
}

// -----

func.func @matmul_result_rank(%a: tensor<3xf32>, %b: tensor<3x4xf32>) {
  // A 1-D lhs drops the M dimension.
  // expected-error @+1 {{'qc.matmul' op result shape 'tensor<1x4xf32>' is incompatible with the inferred shape [4]}}
  %0 = qc.matmul %a, %b : (tensor<3xf32>, tensor<3x4xf32>) -> tensor<1x4xf32>
  return
}

// -----

func.func @matmul_bias_shape(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>, %c: tensor<3xf32>) {
  // expected-error @+1 {{'qc.matmul' op expects bias of shape [4] (one value per output column), but got 'tensor<3xf32>'}}
  %0 = qc.matmul %a, %b, %c : (tensor<2x3xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @matmul_bias_type(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>, %c: tensor<4xf16>) {
  // expected-error @+1 {{'qc.matmul' op expects bias to express 'f32' like the result, but it expresses 'f16'}}
  %0 = qc.matmul %a, %b, %c : (tensor<2x3xf32>, tensor<3x4xf32>, tensor<4xf16>) -> tensor<2x4xf32>
  return
}

// -----

func.func @matmul_quantized_rhs(%a: tensor<2x3xf32>, %b: tensor<4x3x!quant.uniform<i8:f32:0, {0.1, 0.2}>>) {
  // expected-error @+1 {{'qc.matmul' op rhs is quantized along axis 0 of size 4 but its type has 2 scales}}
  %0 = qc.matmul %a, %b {transpose_rhs} : (tensor<2x3xf32>, tensor<4x3x!quant.uniform<i8:f32:0, {0.1, 0.2}>>) -> tensor<2x4xf32>
  return
}

// -----

func.func @matmul_integer_operand(%a: tensor<2x3xi8>, %b: tensor<3x4xf32>) {
  // expected-error @+1 {{'qc.matmul' op operand #0 must be ranked tensor of floating-point or !quant.uniform (per-tensor, per-axis or sub-channel) values}}
  %0 = qc.matmul %a, %b : (tensor<2x3xi8>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @rms_norm_result(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{'qc.rms_norm' op expects the result type 'tensor<2x8xf16>' to equal the input type 'tensor<2x8xf32>'}}
  %0 = qc.rms_norm %x : (tensor<2x8xf32>) -> tensor<2x8xf16>
  return
}

// -----

func.func @rms_norm_epsilon(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{'qc.rms_norm' op expects epsilon > 0, but got 0}}
  %0 = qc.rms_norm %x {epsilon = 0.0 : f32} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @rms_norm_axis(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{'qc.rms_norm' op axis 2 is out of range for input of rank 2}}
  %0 = qc.rms_norm %x {axis = 2} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @rms_norm_scale_shape(%x: tensor<2x8xf32>, %g: tensor<2x8xf32>) {
  // expected-error @+1 {{'qc.rms_norm' op expects scale to have the normalised shape [8] (input dimensions from axis 1), but got 'tensor<2x8xf32>'}}
  %0 = qc.rms_norm %x scale %g : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @rms_norm_scale_type(%x: tensor<2x8xf32>, %g: tensor<8xf16>) {
  // expected-error @+1 {{'qc.rms_norm' op expects scale to have element type 'f32', but got 'tensor<8xf16>'}}
  %0 = qc.rms_norm %x scale %g : (tensor<2x8xf32>, tensor<8xf16>) -> tensor<2x8xf32>
  return
}

// -----

func.func @layer_norm_bias_shape(%x: tensor<2x4x8xf32>, %g: tensor<4x8xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{'qc.layer_norm' op expects bias to have the normalised shape [4, 8] (input dimensions from axis 1), but got 'tensor<8xf32>'}}
  %0 = qc.layer_norm %x scale %g bias %b {axis = -2} : (tensor<2x4x8xf32>, tensor<4x8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
  return
}

// -----

func.func @layer_norm_axis(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{'qc.layer_norm' op axis -3 is out of range for input of rank 2}}
  %0 = qc.layer_norm %x {axis = -3} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @layer_norm_epsilon(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{'qc.layer_norm' op expects epsilon > 0, but got -1}}
  %0 = qc.layer_norm %x {epsilon = -1.0 : f32} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @layer_norm_result(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{'qc.layer_norm' op expects the result type 'tensor<8x2xf32>' to equal the input type 'tensor<2x8xf32>'}}
  %0 = qc.layer_norm %x : (tensor<2x8xf32>) -> tensor<8x2xf32>
  return
}

// -----

func.func @layer_norm_scale_type(%x: tensor<2x8xf32>, %g: tensor<8xbf16>) {
  // expected-error @+1 {{'qc.layer_norm' op expects scale to have element type 'f32', but got 'tensor<8xbf16>'}}
  %0 = qc.layer_norm %x scale %g : (tensor<2x8xf32>, tensor<8xbf16>) -> tensor<2x8xf32>
  return
}

// -----

func.func @hadamard_rank0(%x: tensor<f32>) {
  // expected-error @+1 {{'qc.hadamard' op expects an input of rank >= 1, but got 'tensor<f32>'}}
  %0 = qc.hadamard %x : tensor<f32>
  return
}

// -----

func.func @hadamard_dynamic(%x: tensor<4x?xf32>) {
  // expected-error @+1 {{'qc.hadamard' op expects a static last dimension, but got 'tensor<4x?xf32>'}}
  %0 = qc.hadamard %x : tensor<4x?xf32>
  return
}

// -----

func.func @hadamard_stride(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{'qc.hadamard' op expects stride >= 1, but got 0}}
  %0 = qc.hadamard %x stride 0 : tensor<4x64xf32>
  return
}

// -----

func.func @hadamard_divides(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{'qc.hadamard' op transform size 16 times stride 8 does not divide the last dimension 64}}
  %0 = qc.hadamard %x size 16 stride 8 : tensor<4x64xf32>
  return
}

// -----

func.func @hadamard_overflow(%x: tensor<4x64xf32>) {
  // size * stride overflows int64: still a diagnostic, not a division by zero.
  // expected-error @+1 {{'qc.hadamard' op transform size 4611686018427387904 times stride 4 does not divide the last dimension 64}}
  %0 = qc.hadamard %x size 4611686018427387904 stride 4 : tensor<4x64xf32>
  return
}

// -----

func.func @hadamard_negative_size(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{'qc.hadamard' op expects size >= 1, but got -4}}
  %0 = qc.hadamard %x size -4 : tensor<4x64xf32>
  return
}

// -----

func.func @rms_norm_axis_min(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{'qc.rms_norm' op axis -9223372036854775808 is out of range for input of rank 2}}
  %0 = qc.rms_norm %x {axis = -9223372036854775808} : (tensor<4x64xf32>) -> tensor<4x64xf32>
  return
}

// -----

func.func @hadamard_unsupported(%x: tensor<4x29568xf32>) {
  // 29568 = 2^7 * 231: 231 has no built-in Hadamard factor.
  // expected-error @+1 {{'qc.hadamard' op transform size 29568 is not supported; supported sizes are K*2^m for K in {1, 12, 20, 28, 36, 40, 52, 60, 108, 140, 156, 172}}}
  %0 = qc.hadamard %x : tensor<4x29568xf32>
  return
}

// -----

func.func @hadamard_unsupported_block(%x: tensor<4x48xf32>) {
  // expected-error @+1 {{'qc.hadamard' op transform size 6 is not supported}}
  %0 = qc.hadamard %x size 6 : tensor<4x48xf32>
  return
}

// -----

func.func @hadamard_type(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{'qc.hadamard' op result #0 must be ranked tensor of floating-point values}}
  %0 = "qc.hadamard"(%x) : (tensor<4x64xf32>) -> tensor<4x64xi32>
  return
}

// -----

func.func @observe_tag(%x: tensor<4xf32>) {
  // expected-error @+1 {{'qc.observe' op expects a non-empty tag}}
  %0 = qc.observe min_max %x tag "" : tensor<4xf32>
  return
}

// -----

func.func @observe_needs_axis(%x: tensor<4xf32>) {
  // expected-error @+1 {{'qc.observe' op statistic 'abs_max_per_channel' needs an axis}}
  %0 = qc.observe abs_max_per_channel %x tag "a" : tensor<4xf32>
  return
}

// -----

func.func @observe_no_axis(%x: tensor<4xf32>) {
  // expected-error @+1 {{'qc.observe' op statistic 'min_max' takes no axis}}
  %0 = qc.observe min_max %x tag "a" axis 0 : tensor<4xf32>
  return
}

// -----

func.func @observe_axis_range(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'qc.observe' op axis 2 is out of range for input of rank 2}}
  %0 = qc.observe gram %x tag "a" axis 2 : tensor<4x8xf32>
  return
}

// -----

func.func @observe_unknown_statistic(%x: tensor<4xf32>) {
  // expected-error @+1 {{unknown statistic 'median'; expected one of: min_max, moving_min_max, histogram, abs_max_per_channel, mean_abs_per_channel, gram}}
  %0 = qc.observe median %x tag "a" : tensor<4xf32>
  return
}

// -----

func.func @per_token_bits(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'qc.quantize_per_token' op bits must be between 2 and 16, got 1}}
  %0 = qc.quantize_per_token %x {bits = 1} : tensor<4x8xf32>
  return
}

// -----

func.func @per_token_rank0(%x: tensor<f32>) {
  // expected-error @+1 {{'qc.quantize_per_token' op input must have rank >= 1}}
  %0 = qc.quantize_per_token %x {bits = 8} : tensor<f32>
  return
}

// -----

func.func @decode_rank(%c: tensor<4x64xf8E4M3FN>, %s: tensor<4xf32>) {
  // expected-error @+1 {{'qc.decode' op scales must have the rank of the codes (2), but got 'tensor<4xf32>'}}
  %0 = qc.decode %c scales %s : (tensor<4x64xf8E4M3FN>, tensor<4xf32>) -> tensor<4x64xf32>
  return
}

// -----

func.func @decode_blocks(%c: tensor<4x64xf4E2M1FN>, %s: tensor<4x3xf32>) {
  // expected-error @+1 {{'qc.decode' op dimension 1 of the codes (64) is not a multiple of that of the scales (3)}}
  %0 = qc.decode %c scales %s : (tensor<4x64xf4E2M1FN>, tensor<4x3xf32>) -> tensor<4x64xf32>
  return
}

// -----

func.func @decode_dynamic(%c: tensor<?x64xf8E4M3FN>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{'qc.decode' op needs static shapes}}
  %0 = qc.decode %c scales %s : (tensor<?x64xf8E4M3FN>, tensor<4x1xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @decode_type(%c: tensor<4x64xi8>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of}}
  %0 = qc.decode %c scales %s : (tensor<4x64xi8>, tensor<4x1xf32>) -> tensor<4x64xf32>
  return
}

// -----

func.func @packed_bytes(%b: tensor<3xi8>) {
  // expected-error @+1 {{'qc.packed_weight' op needs 2 bytes (tensor<2xi8>) for a 1 x 4 weight, but got 'tensor<3xi8>'}}
  %0 = qc.packed_weight %b layout <nibbles, bits = 4, k_axis = 1> : tensor<3xi8> -> tensor<1x4x!quant.uniform<i4:f32, 0.5>>
  return
}

// -----

func.func @packed_width(%b: tensor<4xi8>) {
  // expected-error @+1 {{'qc.packed_weight' op result storage is 8-bit but the layout holds 4-bit codes}}
  %0 = qc.packed_weight %b layout <nibbles, bits = 4, k_axis = 1> : tensor<4xi8> -> tensor<1x4x!quant.uniform<i8:f32, 0.5>>
  return
}

// -----

func.func @packed_shape(%b: tensor<32xi8>) {
  // expected-error @+1 {{'qc.packed_weight' op layout mma needs n % 8 == 0 and k % 32 == 0, but the weight is 2 x 32 (n x k)}}
  %0 = qc.packed_weight %b layout <mma, bits = 4, k_axis = 1> : tensor<32xi8> -> tensor<2x32x!quant.uniform<i4:f32, 0.5>>
  return
}

// -----

func.func @packed_axis(%b: tensor<2xi8>) {
  // expected-error @+1 {{'qc.packed_weight' op k_axis must be 0 or 1, but is 2}}
  %0 = qc.packed_weight %b layout <nibbles, bits = 4, k_axis = 2> : tensor<2xi8> -> tensor<1x4x!quant.uniform<i4:f32, 0.5>>
  return
}
