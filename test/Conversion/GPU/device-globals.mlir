// RUN: quant-opt %s --split-input-file --verify-diagnostics --qc-device-globals=function=host | FileCheck %s

// In the host function, the address of a constant global (a weight) is
// replaced by its device copy: quant_cuda_global(address, bytes); a mutable
// global, and the same constant used in another function, are left alone.
// CHECK: llvm.func @quant_cuda_global(!llvm.ptr, i64) -> !llvm.ptr
// CHECK-LABEL: llvm.func @host
// CHECK: %[[W:.*]] = llvm.mlir.addressof @weights : !llvm.ptr
// CHECK: %[[BYTES:.*]] = llvm.mlir.constant(64 : i64) : i64
// CHECK: %[[DEV:.*]] = llvm.call @quant_cuda_global(%[[W]], %[[BYTES]])
// CHECK: llvm.getelementptr %[[DEV]]
// CHECK: %[[S:.*]] = llvm.mlir.addressof @state : !llvm.ptr
// CHECK-NOT: quant_cuda_global
// CHECK: llvm.load %[[S]]
// CHECK-LABEL: llvm.func @other
// CHECK-NOT: quant_cuda_global
module {
  llvm.mlir.global internal constant @weights(dense<1.0> : tensor<16xf32>) : !llvm.array<16 x f32>
  llvm.mlir.global internal @state(0 : i32) : i32
  llvm.func @host() -> !llvm.ptr {
    %w = llvm.mlir.addressof @weights : !llvm.ptr
    %p = llvm.getelementptr %w[0, 0] : (!llvm.ptr) -> !llvm.ptr, !llvm.array<16 x f32>
    %s = llvm.mlir.addressof @state : !llvm.ptr
    %v = llvm.load %s : !llvm.ptr -> i32
    llvm.return %p : !llvm.ptr
  }
  llvm.func @other() -> !llvm.ptr {
    %w = llvm.mlir.addressof @weights : !llvm.ptr
    llvm.return %w : !llvm.ptr
  }
}

// -----

// expected-error @+1 {{qc-device-globals: no llvm.func @host}}
module {
  llvm.func @elsewhere() { llvm.return }
}

// -----

// The placeholders of qc-externalize-weights{cuda}: each address becomes
// the device copy of its bytes in the loaded file,
// quant_cuda_global(*base + offset, bytes), and the placeholder goes; the
// constant next to it takes quant_cuda_global as before.
// CHECK: // {{-----}}
// CHECK-NOT: @__m_weight_0()
// CHECK-LABEL: llvm.func @host
// CHECK-NOT: @__m_weight_0
// CHECK: %[[BASE:.*]] = llvm.mlir.addressof @__m_weights_base : !llvm.ptr
// CHECK: %[[LOADED:.*]] = llvm.load %[[BASE]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[OFF:.*]] = llvm.mlir.constant(128 : i64) : i64
// CHECK: %[[HOST:.*]] = llvm.getelementptr %[[LOADED]][%[[OFF]]] : (!llvm.ptr, i64) -> !llvm.ptr, i8
// CHECK: %[[BYTES:.*]] = llvm.mlir.constant(256 : i64) : i64
// CHECK: %[[DEV:.*]] = llvm.call @quant_cuda_global(%[[HOST]], %[[BYTES]])
// CHECK: llvm.getelementptr %[[DEV]]
// CHECK: llvm.call @quant_cuda_global
module attributes {qc.weights_base = @__m_weights_base} {
  llvm.mlir.global internal @__m_weights_base() : !llvm.ptr {
    %0 = llvm.mlir.zero : !llvm.ptr
    llvm.return %0 : !llvm.ptr
  }
  llvm.mlir.global external @__m_weight_0() {qc.weights_offset = 128 : i64} : !llvm.array<256 x i8>
  llvm.mlir.global internal constant @small(dense<1.0> : tensor<4xf32>) : !llvm.array<4 x f32>
  llvm.func @host() -> !llvm.ptr {
    %w = llvm.mlir.addressof @__m_weight_0 : !llvm.ptr
    %p = llvm.getelementptr %w[0, 8] : (!llvm.ptr) -> !llvm.ptr, !llvm.array<256 x i8>
    %s = llvm.mlir.addressof @small : !llvm.ptr
    llvm.return %p : !llvm.ptr
  }
}

// -----

// A placeholder without the module's base is an error.
// expected-error @+1 {{qc-device-globals: weights marked qc.weights_offset but no qc.weights_base}}
module {
  llvm.mlir.global external @__m_weight_0() {qc.weights_offset = 128 : i64} : !llvm.array<256 x i8>
  llvm.func @host() -> !llvm.ptr {
    %w = llvm.mlir.addressof @__m_weight_0 : !llvm.ptr
    llvm.return %w : !llvm.ptr
  }
}
