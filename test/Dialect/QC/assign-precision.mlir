// RUN: quant-opt %s --split-input-file --qc-assign-precision="candidates=int8,int4 avg-bits=16" | FileCheck %s
// RUN: quant-opt %s --split-input-file --qc-assign-precision="candidates=int8,int4 avg-bits=15" | FileCheck %s --check-prefix=LOW
// RUN: quant-opt %s --split-input-file --qc-assign-precision="candidates=int8,int4 avg-bits=17.4 overrides=B=int8" | FileCheck %s --check-prefix=OVERRIDE
// RUN: quant-opt %s --split-input-file --qc-assign-precision="candidates=int8,int4 avg-bits=20 keep-float=A" | FileCheck %s --check-prefix=KEEP
// RUN: quant-opt %s --split-input-file --qc-assign-precision="candidates=int8,int4 avg-bits=16" --qc-quantize-weights="bits=4 group=0" | FileCheck %s --check-prefix=QUANT
// RUN: quant-opt %s --split-input-file --qc-assign-precision="candidates=int4,int4-g4 latency-budget=0.05" | FileCheck %s --check-prefix=FAST
// RUN: quant-opt %s --split-input-file --qc-assign-precision="candidates=int4,int4-g4 latency-budget=0.06" | FileCheck %s --check-prefix=SLOW

// Two layers, no calibration data (sensitivity = squared weight error over
// the squared weight: A 1.55e-5 / (1 + 0.25) = 1.24e-5).
// A = [1, 0.5] is not exact in int4 (scale 1/7: 3.5 steps) nor in int8
// (63.5 steps: error 0.5/127, squared 1.55e-5); B = [7, -7, 1, 2] is exact
// in both. Bits (codes + one f32 scale): A int8 16 + 32 = 48, int4 40;
// B int8 64, int4 48. 6 weights: avg-bits 16 = 96 bits fits A int8 + B int4
// (96); 15 = 90 bits only both int4 (88).
// CHECK: module attributes {qc.precision = {bits = 96 : i64, budget_bits = 96 : i64, exact = true, hessian = false, latency_us = {{.*}} : f64, objective = 1.24{{[0-9]*}}E-5 : f64, weights = 6 : i64}}
// CHECK: qc.matmul {{.*}} {qc.sensitivity = 1.24{{[0-9]*}}E-5 : f64, qc.weight_format = "int8"}
// CHECK: qc.matmul {{.*}} {qc.sensitivity = 0.000000e+00 : f64, qc.weight_format = "int4"}
// LOW: bits = 88 : i64, budget_bits = 90 : i64
// LOW: qc.weight_format = "int4"
// LOW: qc.weight_format = "int4"
// The override fixes B at int8 (64 bits); 104 bits leave A int4 (40).
// OVERRIDE: bits = 104 : i64
// OVERRIDE: qc.weight_format = "int4"
// OVERRIDE: qc.weight_format = "int8"
// keep-float: A is float (64 bits) and counts toward the 120 bits, so B
// must be int4 (112; int8 would make 128).
// KEEP: bits = 112 : i64, budget_bits = 120 : i64
// KEEP: qc.weight_format = "float"
// KEEP: qc.weight_format = "int4"
// qc-quantize-weights follows the choice, not its own bits=4.
// QUANT: quant.scast {{.*}} to tensor<2x1x!quant.uniform<i8:f32:1
// QUANT: quant.scast {{.*}} to tensor<4x1x!quant.uniform<i4:f32:1
module {
func.func @two(%x: tensor<3x2xf32>, %y: tensor<3x4xf32>) -> (tensor<3x1xf32>, tensor<3x1xf32>) {
  %a = arith.constant dense<[[1.0], [0.5]]> : tensor<2x1xf32>
  %b = arith.constant dense<[[7.0], [-7.0], [1.0], [2.0]]> : tensor<4x1xf32>
  %0 = qc.matmul %x, %a : (tensor<3x2xf32>, tensor<2x1xf32>) -> tensor<3x1xf32> loc("A")
  %1 = qc.matmul %y, %b : (tensor<3x4xf32>, tensor<4x1xf32>) -> tensor<3x1xf32> loc("B")
  return %0, %1 : tensor<3x1xf32>, tensor<3x1xf32>
}
}

// -----

// A latency budget, with the cost model of our CPU kernels
// (numerics::defaultCpuCostModel): a [64, 8] x [8, 1] layer is compute-bound,
// int4 per channel 64·8 MACs / 30.02 per ns = 17.1 ns (18 in 1-ns units),
// int4-g4 (the grouped contraction) 512 / 10 = 51.2 ns (52). g4 is the
// more accurate (its first group's scale is 1/7, not 8/7), so a budget of
// 60 ns takes it and one of 50 ns cannot.
// FAST: func.func @latency
// FAST: qc.weight_format = "int4"}
// SLOW: qc.precision = {bits = 96 : i64, budget_us = 6.000000e-02 : f64, {{.*}}latency_us = 5.120000e-02 : f64
// SLOW-NEXT: func.func @latency
// SLOW: qc.weight_format = "int4-g4"}
func.func @latency(%x: tensor<64x8xf32>) -> tensor<64x1xf32> {
  %w = arith.constant dense<[[1.0], [0.5], [0.25], [0.1], [8.0], [-4.0], [2.0], [1.0]]> : tensor<8x1xf32>
  %0 = qc.matmul %x, %w : (tensor<64x8xf32>, tensor<8x1xf32>) -> tensor<64x1xf32> loc("L")
  return %0 : tensor<64x1xf32>
}
