// RUN: quant-opt %s --qc-pack-weights=layout=vnni 2>&1 | FileCheck %s --check-prefix=WARN
// RUN: not quant-opt %s --qc-pack-weights=layout=tiled 2>&1 | FileCheck %s --check-prefix=LAYOUT

// LAYOUT: qc-pack-weights: unknown layout 'tiled' (expected nibbles, vnni or mma)

// A shape the layout cannot hold stays unpacked, with a warning naming the
// node and the reason.
func.func @too_few_channels(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %cst = arith.constant dense<1> : tensor<8x8xi4>
  %w = quant.scast %cst : tensor<8x8xi4> to tensor<8x8x!quant.uniform<i4:f32, 0.5>>
  // WARN: warning: loc("fc1"): weight of node 'fc1' left unpacked: layout vnni needs n % 16 == 0 and k % 8 == 0, but the weight is 8 x 8 (n x k)
  // WARN: quant.scast
  // WARN-NOT: qc.packed_weight
  %y = qc.matmul %x, %w {transpose_rhs} : (tensor<2x8xf32>, tensor<8x8x!quant.uniform<i4:f32, 0.5>>) -> tensor<2x8xf32> loc("fc1")
  return %y : tensor<2x8xf32>
}
