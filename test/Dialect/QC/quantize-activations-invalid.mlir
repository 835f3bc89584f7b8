// RUN: not quant-opt %s --qc-quantize-activations 2>&1 | FileCheck %s --check-prefix=MALFORMED
// MALFORMED: malformed qc.calib_range (expected array<f32: lo, hi> with lo <= hi)
func.func @malformed(%x: tensor<3x4xf32>, %w: tensor<4x2xf32>) -> tensor<3x2xf32> {
  %0 = qc.matmul %x, %w {qc.calib_range = array<f32: 1.0, -1.0>} : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// An invalid keep-float expression is reported by both quantization passes.
// RUN: not quant-opt %s --qc-quantize-activations="keep-float=fc(" 2>&1 | FileCheck %s --check-prefix=REGEX
// REGEX: qc-quantize-activations: invalid regular expression 'fc(' for keep-float:
// RUN: not quant-opt %s --qc-quantize-weights="keep-float=fc(" 2>&1 | FileCheck %s --check-prefix=WREGEX
// WREGEX: qc-quantize-weights: invalid regular expression 'fc(' for keep-float:
