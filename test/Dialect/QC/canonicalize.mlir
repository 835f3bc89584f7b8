// Folds of the qc ops, and the rewrites they must not do.
// RUN: quant-opt %s -canonicalize -split-input-file | FileCheck %s

// quantize(dequantize(q)) with the same type is exact: it folds to q.
// CHECK-LABEL: func.func @requantize_same_type
// CHECK-SAME: (%[[Q:.*]]: tensor
// CHECK-NEXT: return %[[Q]]
func.func @requantize_same_type(%q: tensor<4x!quant.uniform<i8:f32, 0.5:1>>) -> tensor<4x!quant.uniform<i8:f32, 0.5:1>> {
  %d = qc.dequantize %q : tensor<4x!quant.uniform<i8:f32, 0.5:1>> -> tensor<4xf32>
  %r = qc.quantize %d : tensor<4xf32> -> tensor<4x!quant.uniform<i8:f32, 0.5:1>>
  return %r : tensor<4x!quant.uniform<i8:f32, 0.5:1>>
}

// -----

// A different scale is a real requantization: kept.
// CHECK-LABEL: func.func @requantize_other_scale
// CHECK: qc.dequantize
// CHECK: qc.quantize
func.func @requantize_other_scale(%q: tensor<4x!quant.uniform<i8:f32, 0.5>>) -> tensor<4x!quant.uniform<i8:f32, 0.25>> {
  %d = qc.dequantize %q : tensor<4x!quant.uniform<i8:f32, 0.5>> -> tensor<4xf32>
  %r = qc.quantize %d : tensor<4xf32> -> tensor<4x!quant.uniform<i8:f32, 0.25>>
  return %r : tensor<4x!quant.uniform<i8:f32, 0.25>>
}

// -----

// dequantize(quantize(x)) rounds x to the grid: never folded.
// CHECK-LABEL: func.func @fake_quant_kept
// CHECK: %[[Q:.*]] = qc.quantize
// CHECK: %[[D:.*]] = qc.dequantize %[[Q]]
// CHECK: return %[[D]]
func.func @fake_quant_kept(%x: tensor<4xf32>) -> tensor<4xf32> {
  %q = qc.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<i8:f32, 0.5>>
  %d = qc.dequantize %q : tensor<4x!quant.uniform<i8:f32, 0.5>> -> tensor<4xf32>
  return %d : tensor<4xf32>
}

// -----

// Two equal power-of-two Hadamard transforms cancel.
// CHECK-LABEL: func.func @hadamard_pair
// CHECK-SAME: (%[[X:.*]]: tensor<2x64xf32>)
// CHECK-NEXT: return %[[X]]
func.func @hadamard_pair(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  %0 = qc.hadamard %x : tensor<2x64xf32>
  %1 = qc.hadamard %0 : tensor<2x64xf32>
  return %1 : tensor<2x64xf32>
}

// -----

// The same, for a strided (across-heads) transform.
// CHECK-LABEL: func.func @hadamard_pair_strided
// CHECK-NOT: qc.hadamard
func.func @hadamard_pair_strided(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  %0 = qc.hadamard %x size 4 stride 16 : tensor<2x64xf32>
  %1 = qc.hadamard %0 size 4 stride 16 : tensor<2x64xf32>
  return %1 : tensor<2x64xf32>
}

// -----

// Size 1 is the identity.
// CHECK-LABEL: func.func @hadamard_size_one
// CHECK-NOT: qc.hadamard
func.func @hadamard_size_one(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  %0 = qc.hadamard %x size 1 stride 4 : tensor<2x64xf32>
  return %0 : tensor<2x64xf32>
}

// -----

// Different transforms do not cancel.
// CHECK-LABEL: func.func @hadamard_different
// CHECK-COUNT-2: qc.hadamard
func.func @hadamard_different(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  %0 = qc.hadamard %x size 8 : tensor<2x64xf32>
  %1 = qc.hadamard %0 size 8 stride 8 : tensor<2x64xf32>
  return %1 : tensor<2x64xf32>
}

// -----

// H_12 (x) H_4 need not be symmetric, so H·H = I is not assumed for K > 1.
// CHECK-LABEL: func.func @hadamard_non_power_of_two
// CHECK-COUNT-2: qc.hadamard
func.func @hadamard_non_power_of_two(%x: tensor<2x48xf32>) -> tensor<2x48xf32> {
  %0 = qc.hadamard %x : tensor<2x48xf32>
  %1 = qc.hadamard %0 : tensor<2x48xf32>
  return %1 : tensor<2x48xf32>
}

// -----

// A calibration tap records its input: it survives DCE even when unused.
// CHECK-LABEL: func.func @observe_unused_kept
// CHECK: qc.observe min_max
func.func @observe_unused_kept(%x: tensor<4xf32>) {
  %0 = qc.observe min_max %x tag "t" : tensor<4xf32>
  return
}

// -----

// Pure ops without uses are removed.
// CHECK-LABEL: func.func @dead_matmul
// CHECK-NOT: qc.matmul
func.func @dead_matmul(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) {
  %0 = qc.matmul %a, %b : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return
}
