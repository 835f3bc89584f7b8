// RUN: quant-opt %s --convert-qc-to-linalg=hadamard-kernel=1 --split-input-file | FileCheck %s
// RUN: quant-opt %s --convert-qc-to-linalg --split-input-file | FileCheck %s --check-prefix=STAGED

// With hadamard-kernel (the CUDA pipeline), size 24 = 12·2 with stride 2 on
// an axis of 48 is one reduction generic over the view [3, 1, 24, 2]:
// loops (b0, b, j, t, i), x read at i, the 12×12 factor at (i / 2, j / 2),
// the Sylvester sign from popcount(i & j & 1), the 1/√24 in each term; the
// marker says size and stride. Without the option: the butterfly stages.
// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
// CHECK-DAG: #[[H:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d4 floordiv 2, d2 floordiv 2)>
// CHECK-DAG: #[[O:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @h24s2
// CHECK-DAG: %[[NORM:.*]] = arith.constant 0.204124{{[0-9]*}} : f32
// CHECK-DAG: %[[T:.*]] = arith.constant dense<{{.*}}> : tensor<12x12xf32>
// CHECK: %[[V:.*]] = tensor.expand_shape %arg0 {{\[\[}}0], [1, 2, 3]] output_shape [3, 1, 24, 2]
// CHECK: %[[Z:.*]] = linalg.fill
// CHECK: %[[G:.*]] = linalg.generic {indexing_maps = [#[[X]], #[[H]], #[[O]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[V]], %[[T]] : tensor<3x1x24x2xf32>, tensor<12x12xf32>) outs(%[[Z]] : tensor<3x1x24x2xf32>) attrs = {{ *}}{qc.hadamard = {size = 24 : i64, stride = 2 : i64}}
// CHECK: math.ctpop
// CHECK: arith.mulf %{{.*}}, %[[NORM]]
// CHECK: tensor.collapse_shape %[[G]] {{\[\[}}0], [1, 2, 3]]
// STAGED-LABEL: func.func @h24s2
// STAGED-NOT: qc.hadamard =
// STAGED-NOT: math.ctpop
// STAGED: linalg.index 3
// STAGED: return
func.func @h24s2(%x: tensor<3x48xf32>) -> tensor<3x48xf32> {
  %0 = qc.hadamard %x size 24 stride 2 : tensor<3x48xf32>
  return %0 : tensor<3x48xf32>
}

// -----

// Not the one-generic form, even with the option: a power of two larger
// than the kernel's shared memory holds (2^14 > 8192), a dynamic shape, and
// f16 (the kernel computes in f32). Each gets the butterfly stages.
// CHECK-LABEL: func.func @staged
// CHECK-NOT: qc.hadamard =
// CHECK-NOT: math.ctpop
// CHECK: return
func.func @staged(%a: tensor<2x16384xf32>, %b: tensor<?x512xf32>, %c: tensor<2x512xf16>) -> (tensor<2x16384xf32>, tensor<?x512xf32>, tensor<2x512xf16>) {
  %0 = qc.hadamard %a : tensor<2x16384xf32>
  %1 = qc.hadamard %b : tensor<?x512xf32>
  %2 = qc.hadamard %c : tensor<2x512xf16>
  return %0, %1, %2 : tensor<2x16384xf32>, tensor<?x512xf32>, tensor<2x512xf16>
}
