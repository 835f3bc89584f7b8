// Errors of qc-assign-precision name the option or the node.
// RUN: not quant-opt %s --qc-assign-precision="candidates=int8,int3 avg-bits=8" 2>&1 | FileCheck %s --check-prefix=CAND
// CAND: qc-assign-precision: candidates: 'int3' is not a weight format
// RUN: not quant-opt %s --qc-assign-precision="candidates=int8" 2>&1 | FileCheck %s --check-prefix=BUDGET
// RUN: not quant-opt %s --qc-assign-precision="candidates=int8 avg-bits=8 size-budget=100" 2>&1 | FileCheck %s --check-prefix=BUDGET
// RUN: not quant-opt %s --qc-assign-precision="candidates=int8 avg-bits=8 latency-budget=1" 2>&1 | FileCheck %s --check-prefix=BUDGET
// BUDGET: qc-assign-precision: give exactly one budget: avg-bits (bits per weight, scales included), size-budget (bytes) or latency-budget (microseconds)
// RUN: not quant-opt %s --qc-assign-precision="candidates=int8,int4 avg-bits=4" 2>&1 | FileCheck %s --check-prefix=SMALL
// SMALL: qc-assign-precision: the budget of 24 bits is below the smallest possible size, 88 bits
// RUN: not quant-opt %s --qc-assign-precision="candidates=int4-g4 avg-bits=40" 2>&1 | FileCheck %s --check-prefix=FIT
// FIT: error: loc("A"): qc-assign-precision: no candidate format applies to node 'A' (K = 2); add one whose group divides K, or float
// RUN: not quant-opt %s --qc-assign-precision="candidates=int8 avg-bits=40 overrides=A=int4-g4" 2>&1 | FileCheck %s --check-prefix=OVERRIDE
// OVERRIDE: error: loc("A"): qc-assign-precision: override format 'int4-g4' does not apply to node 'A' (K = 2)
// RUN: not quant-opt %s --qc-assign-precision="candidates=int8 avg-bits=40 overrides=A" 2>&1 | FileCheck %s --check-prefix=SYNTAX
// SYNTAX: qc-assign-precision: override 'A': expected REGEX=FORMAT
func.func @two(%x: tensor<3x2xf32>, %y: tensor<3x4xf32>) -> (tensor<3x1xf32>, tensor<3x1xf32>) {
  %a = arith.constant dense<[[1.0], [0.5]]> : tensor<2x1xf32>
  %b = arith.constant dense<[[7.0], [-7.0], [1.0], [2.0]]> : tensor<4x1xf32>
  %0 = qc.matmul %x, %a : (tensor<3x2xf32>, tensor<2x1xf32>) -> tensor<3x1xf32> loc("A")
  %1 = qc.matmul %y, %b : (tensor<3x4xf32>, tensor<4x1xf32>) -> tensor<3x1xf32> loc("B")
  return %0, %1 : tensor<3x1xf32>, tensor<3x1xf32>
}
