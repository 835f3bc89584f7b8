// RUN: quant-opt %s --split-input-file --verify-diagnostics --qc-emit-c-interface

// expected-error @+1 {{unsupported dynamic output shape 'memref<?xf32>'}}
func.func @main(%x: memref<?xf32>, %y: memref<?xf32> {bufferize.result}) {
  return
}

// -----

// expected-error @+1 {{expects @main without results (run buffer-results-to-out-params first)}}
func.func @main(%x: memref<4xf32>) -> memref<4xf32> {
  return %x : memref<4xf32>
}

// -----

// expected-error @+1 {{qc-emit-c-interface: no func.func @main}}
module {
  func.func @other() {
    return
  }
}
