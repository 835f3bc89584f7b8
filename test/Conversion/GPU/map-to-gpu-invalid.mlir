// RUN: quant-opt %s --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(func.func(qc-map-to-gpu))'
// RUN: not quant-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qc-map-to-gpu{block-size=2048}))' 2>&1 | FileCheck %s --check-prefix=BLOCK

// BLOCK: error: qc-map-to-gpu: block-size must be in [1, 1024], got 2048

// A value loaded on the GPU that the host needs (for an allocation's size).
func.func @data_dependent(%a: memref<1xindex>) {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{computed on the GPU but the host needs it}}
  %n = memref.load %a[%c0] : memref<1xindex>
  %t = memref.alloc(%n) : memref<?xf32>
  return
}

// -----

// A reshape to a run-time shape.
func.func @dynamic_reshape(%a: memref<?xf32>, %shape: memref<2xindex>) {
  // expected-error @+1 {{shape known only at run time}}
  %r = memref.reshape %a(%shape) : (memref<?xf32>, memref<2xindex>) -> memref<?x?xf32>
  return
}

