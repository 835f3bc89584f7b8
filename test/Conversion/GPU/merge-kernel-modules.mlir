// RUN: quant-opt %s --split-input-file --verify-diagnostics --qc-merge-kernel-modules=name=m_kernels | FileCheck %s

// Outlining gives every kernel a module of its own and may reuse function
// names: one module remains, each kernel named after its old module, and
// the launches follow.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: gpu.module @m_kernels {
// CHECK: gpu.func @k_a(
// CHECK: gpu.func @k_b({{.*}}) workgroup(%{{.*}} : memref<64xi8, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<4xf32, #gpu.address_space<workgroup>> {llvm.align = 32 : i64})
// CHECK: gpu.func @k_c_first(
// CHECK: gpu.func @k_c_second(
// CHECK-NOT: gpu.module
// CHECK: gpu.launch_func @m_kernels::@k_a
// CHECK: gpu.launch_func @m_kernels::@k_b
// CHECK: gpu.launch_func @m_kernels::@k_c_second
module attributes {gpu.container_module} {
  gpu.module @k_a {
    gpu.func @kernel(%x: memref<4xf32>) kernel { gpu.return }
  }
  // Shared memory 16-byte aligned, unless aligned already.
  gpu.module @k_b {
    gpu.func @kernel(%x: memref<4xf32>) workgroup(%s : memref<64xi8, #gpu.address_space<workgroup>>, %t : memref<4xf32, #gpu.address_space<workgroup>> {llvm.align = 32 : i64}) kernel { gpu.return }
  }
  gpu.module @k_c {
    gpu.func @first(%x: memref<4xf32>) kernel { gpu.return }
    gpu.func @second(%x: memref<4xf32>) kernel { gpu.return }
  }
  func.func @main(%x: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @k_a::@kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<4xf32>)
    gpu.launch_func @k_b::@kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<4xf32>)
    gpu.launch_func @k_c::@second blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<4xf32>)
    return
  }
}

// -----

// Nothing to merge: the module is unchanged.
// CHECK-LABEL: func.func @no_kernels
// CHECK-NOT: gpu.module
module {
  func.func @no_kernels() { return }
}

// -----

// Targets already attached: too late to merge.
module attributes {gpu.container_module} {
  // expected-error @+1 {{run before targets are attached}}
  gpu.module @k [#nvvm.target<chip = "sm_80">] {
    gpu.func @kernel() kernel { gpu.return }
  }
}
