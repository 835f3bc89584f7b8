// A small pre-norm MLP block as quant's passes see it after calibration taps
// were inserted: RMSNorm, an online Hadamard transform, a W8A8 linear layer
// with per-channel weight scales, and two taps. The README's first command runs
// `--qc-strip-observers --canonicalize` over it: the taps disappear, the two
// back-to-back Hadamard transforms cancel (H·H = I), nothing else changes.
func.func @block(%x: tensor<4x64xf32>, %gamma: tensor<64xf32>,
                 %w: tensor<8x64x!quant.uniform<i8:f32:0, {0.02, 0.02, 0.03, 0.03, 0.01, 0.01, 0.05, 0.05}>>,
                 %bias: tensor<8xf32>) -> tensor<4x8xf32> {
  %in = qc.observe min_max %x tag "block.input" : tensor<4x64xf32>
  %n = qc.rms_norm %in scale %gamma {epsilon = 1.0e-06 : f32}
      : (tensor<4x64xf32>, tensor<64xf32>) -> tensor<4x64xf32>
  %r = qc.hadamard %n : tensor<4x64xf32>
  %u = qc.hadamard %r : tensor<4x64xf32>
  %t = qc.observe abs_max_per_channel %u tag "block.fc.input" axis 1 : tensor<4x64xf32>
  %q = qc.quantize %t : tensor<4x64xf32> -> tensor<4x64x!quant.uniform<i8:f32, 0.05>>
  %y = qc.matmul %q, %w, %bias {transpose_rhs}
      : (tensor<4x64x!quant.uniform<i8:f32, 0.05>>,
         tensor<8x64x!quant.uniform<i8:f32:0, {0.02, 0.02, 0.03, 0.03, 0.01, 0.01, 0.05, 0.05}>>,
         tensor<8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
