// RUN: quant-opt %s -qc-strip-observers -split-input-file | FileCheck %s
// RUN: quant-opt %s -qc-strip-observers='tags=blk0\..*' -split-input-file | FileCheck %s --check-prefix=SOME
// RUN: not quant-opt %s -qc-strip-observers='tags=(' -split-input-file 2>&1 | FileCheck %s --check-prefix=BADRE

// Every tap is replaced by its input; the computation is untouched.
// CHECK-LABEL: func.func @chain
// CHECK-SAME: (%[[X:.*]]: tensor<2x64xf32>)
// CHECK-NOT: qc.observe
// CHECK: %[[H:.*]] = qc.hadamard %[[X]]
// CHECK-NOT: qc.observe
// CHECK: return %[[H]]

// Only the taps whose whole tag matches are removed.
// SOME-LABEL: func.func @chain
// SOME-NOT: qc.observe min_max
// SOME: qc.hadamard
// SOME: qc.observe histogram %{{.*}} tag "blk1.out"
// SOME-NOT: qc.observe

// BADRE: error: qc-strip-observers: invalid regular expression '(' for option 'tags'
func.func @chain(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  %0 = qc.observe min_max %x tag "blk0.in" : tensor<2x64xf32>
  %1 = qc.hadamard %0 : tensor<2x64xf32>
  %2 = qc.observe histogram %1 tag "blk1.out" : tensor<2x64xf32>
  %3 = qc.observe gram %2 tag "blk0.gram" axis 1 : tensor<2x64xf32>
  return %3 : tensor<2x64xf32>
}

// -----

// A prefix of a tag is not a match: "blk0" alone does not select "blk0x".
// SOME-LABEL: func.func @whole_tag
// SOME: qc.observe min_max %{{.*}} tag "blk0x"
// CHECK-LABEL: func.func @whole_tag
// CHECK-NOT: qc.observe
func.func @whole_tag(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = qc.observe min_max %x tag "blk0x" : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Functions without taps are left exactly as they are.
// CHECK-LABEL: func.func @untouched
// CHECK: %[[N:.*]] = qc.rms_norm
// CHECK: %[[M:.*]] = qc.matmul %[[N]]
// CHECK: return %[[M]]
func.func @untouched(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>) -> tensor<2x4xf32> {
  %0 = qc.rms_norm %x : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %1 = qc.matmul %0, %w {transpose_rhs} : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
  return %1 : tensor<2x4xf32>
}
