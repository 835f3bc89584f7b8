// RUN: quant-opt %s --split-input-file --qc-rotate | FileCheck %s
// RUN: quant-opt %s --split-input-file --qc-rotate="online=false" | FileCheck %s --check-prefix=OFFLINE
// RUN: quant-opt %s --split-input-file --qc-rotate="rotation=random-orthogonal seed=5" | FileCheck %s --check-prefix=ORTH

// A residual block: the stream is %h (written by %wi), %r = %h + %b (%b
// written by %wb), read by two gain-free norms whose users (%wa, the head
// %wh) are the readers. Readers and writers get new weights; the writers,
// which do not read the stream, also get an online Hadamard on their input
// (size 4 over the whole input). Nothing else changes.
// CHECK-LABEL: func.func @block
// CHECK: %[[HX:.*]] = qc.hadamard %arg0 : tensor<2x4xf32>
// CHECK: %[[H:.*]] = qc.matmul %[[HX]], %[[WI:.*]] : (tensor<2x4xf32>, tensor<4x4xf32>)
// CHECK: %[[N:.*]] = qc.rms_norm %[[H]]
// CHECK: %[[A:.*]] = qc.matmul %[[N]], %[[WA:.*]] : (tensor<2x4xf32>, tensor<4x8xf32>)
// CHECK: %[[HA:.*]] = qc.hadamard %[[A]] : tensor<2x8xf32>
// CHECK: %[[B:.*]] = qc.matmul %[[HA]], %{{.*}} : (tensor<2x8xf32>, tensor<8x4xf32>)
// CHECK: %[[R:.*]] = tosa.add %[[H]], %[[B]]
// CHECK: %[[N2:.*]] = qc.rms_norm %[[R]]
// CHECK: qc.matmul %[[N2]], %{{.*}} {transpose_rhs} : (tensor<2x4xf32>, tensor<3x4xf32>)
// CHECK-NOT: qc.hadamard
// The original weight constants are gone (each was replaced).
// CHECK-NOT: dense<1.250000e-01> : tensor<4x4xf32>
// OFFLINE-LABEL: func.func @block
// OFFLINE-NOT: qc.hadamard
// A random orthogonal Q goes into the same weights (the readers' constant
// 0.5 becomes dense values); the online transforms stay Hadamards.
// ORTH-LABEL: func.func @block
// ORTH: qc.hadamard %arg0 : tensor<2x4xf32>
// ORTH: qc.rms_norm
// ORTH-NOT: dense<5.000000e-01> : tensor<4x8xf32>
// ORTH: qc.matmul %{{.*}}, %{{.*}} : (tensor<2x4xf32>, tensor<4x8xf32>)
// ORTH: qc.hadamard %{{.*}} : tensor<2x8xf32>
// ORTH-NOT: qc.hadamard
// ORTH: return
func.func @block(%x: tensor<2x4xf32>) -> tensor<2x3xf32> {
  %wi = arith.constant dense<[[1.0, 2.0, 0.0, -1.0], [0.5, 0.0, 1.0, 2.0], [3.0, -1.0, 0.0, 0.5], [0.0, 1.0, 1.0, 1.0]]> : tensor<4x4xf32>
  %wa = arith.constant dense<0.5> : tensor<4x8xf32>
  %wb = arith.constant dense<0.25> : tensor<8x4xf32>
  %wh = arith.constant dense<[[1.0, 0.0, 0.0, 2.0], [0.0, 1.0, -1.0, 0.0], [0.5, 0.5, 0.5, 0.5]]> : tensor<3x4xf32>
  %h = qc.matmul %x, %wi : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %n = qc.rms_norm %h : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %a = qc.matmul %n, %wa : (tensor<2x4xf32>, tensor<4x8xf32>) -> tensor<2x8xf32>
  %b = qc.matmul %a, %wb : (tensor<2x8xf32>, tensor<8x4xf32>) -> tensor<2x4xf32>
  %r = tosa.add %h, %b : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %n2 = qc.rms_norm %r : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = qc.matmul %n2, %wh {transpose_rhs} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// Without norms there is no stream: only online Hadamards, here per head
// (the input is a collapse of [.., 2, 4] values: I_2 ⊗ H_4).
// CHECK-LABEL: func.func @no_norm
// CHECK: %[[C:.*]] = tensor.collapse_shape
// CHECK: qc.hadamard %[[C]] size 4 : tensor<3x8xf32>
func.func @no_norm(%x: tensor<3x2x4xf32>) -> tensor<3x5xf32> {
  %w = arith.constant dense<0.5> : tensor<8x5xf32>
  %c = tensor.collapse_shape %x [[0], [1, 2]] : tensor<3x2x4xf32> into tensor<3x8xf32>
  %y = qc.matmul %c, %w : (tensor<3x8xf32>, tensor<8x5xf32>) -> tensor<3x5xf32>
  return %y : tensor<3x5xf32>
}

// -----

// A gain-free LayerNorm in the stream: its mean subtraction is baked into
// the writer (rows of W ← minus their mean: [1, 3] -> [-1, 1], [2, 0] ->
// [1, -1]), then it is an RMS norm and the stream is rotated as usual.
// After the size-2 rotation (offline only: an online Hadamard would also
// transform the writer's input side) each centred row has one zero:
// [-1, 1]·diag(s)·H₂/√2 is [0, ±√2] or [±√2, 0].
// CHECK-LABEL: func.func @layer_norm_stream
// CHECK: qc.rms_norm %{{.*}} {epsilon = 1.000000e-03 : f32} : (tensor<2x2xf32>) -> tensor<2x2xf32>
// CHECK-NOT: qc.layer_norm
// OFFLINE-LABEL: func.func @layer_norm_stream
// OFFLINE: arith.constant dense<{{\[\[}}{{(0.000000e\+00, -?1.41421[0-9]*|-?1.41421[0-9]*, 0.000000e\+00)}}], {{\[}}{{(0.000000e\+00, -?1.41421[0-9]*|-?1.41421[0-9]*, 0.000000e\+00)}}]]> : tensor<2x2xf32>
// OFFLINE: qc.rms_norm %{{.*}} {epsilon = 1.000000e-03 : f32} : (tensor<2x2xf32>) -> tensor<2x2xf32>
// OFFLINE-NOT: qc.layer_norm
func.func @layer_norm_stream(%x: tensor<2x2xf32>) -> tensor<2x3xf32> {
  %wi = arith.constant dense<[[1.0, 3.0], [2.0, 0.0]]> : tensor<2x2xf32>
  %wh = arith.constant dense<[[1.0, 0.0, 2.0], [0.5, 1.0, -1.0]]> : tensor<2x3xf32>
  %h = qc.matmul %x, %wi : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %n = qc.layer_norm %h {epsilon = 1.0e-3 : f32} : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %y = qc.matmul %n, %wh : (tensor<2x2xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}
