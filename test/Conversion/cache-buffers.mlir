// RUN: quant-opt %s --split-input-file --qc-cache-buffers=name=net | FileCheck %s
// RUN: quant-opt %s --split-input-file --qc-cache-buffers="name=net min-bytes=-1" | FileCheck %s --check-prefix=OFF
// RUN: not quant-opt %s --split-input-file --qc-cache-buffers="name=1bad" 2>&1 | FileCheck %s --check-prefix=BADNAME
// BADNAME: qc-cache-buffers: the name '1bad' is not a C identifier

// Two slots: the 4 KiB static buffer and the dynamic one; the 64-byte one
// has none (below min-bytes).
// CHECK: llvm.mlir.global internal @__net_buffer_slots() {{.*}} : !llvm.array<2 x ptr> {
// CHECK-NEXT: llvm.mlir.zero : !llvm.array<2 x ptr>
// CHECK-LABEL: func.func @main
// CHECK-NOT: memref.alloc(
// CHECK-NOT: memref.alloc()
// 1024 x 4 bytes, slot 0, 64-byte header and alignment.
// CHECK: %[[N:.*]] = llvm.mlir.constant(1024 : i64) : i64
// CHECK: %[[E:.*]] = llvm.mlir.constant(4 : i64) : i64
// CHECK: %[[BYTES:.*]] = llvm.mul %[[E]], %[[N]] : i64
// CHECK: %[[SLOTS:.*]] = llvm.mlir.addressof @__net_buffer_slots
// CHECK: %[[SLOT0:.*]] = llvm.getelementptr %[[SLOTS]][0, 0]
// CHECK: %[[A64:.*]] = llvm.mlir.constant(64 : i64) : i64
// CHECK: %[[BIG:.*]] = llvm.call @__net_buffer_take(%[[SLOT0]], %[[BYTES]], %[[A64]])
// CHECK: llvm.insertvalue %[[BIG]], %{{.*}}[0]
// CHECK: llvm.insertvalue %[[BIG]], %{{.*}}[1]
// CHECK: builtin.unrealized_conversion_cast %{{.*}} to memref<1024xf32>
// The small buffer: a null slot.
// CHECK: %[[NOSLOT:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK: llvm.call @__net_buffer_take(%[[NOSLOT]], %{{.*}}, %{{.*}})
// CHECK: to memref<16xf32>
// The dynamic one: bytes from its size, slot 1, its 128-byte alignment.
// CHECK: %[[DYN:.*]] = arith.index_cast %arg1 : index to i64
// CHECK: llvm.mul %{{.*}}, %[[DYN]] : i64
// CHECK: llvm.getelementptr %{{.*}}[0, 1]
// CHECK: llvm.mlir.constant(128 : i64) : i64
// CHECK: llvm.call @__net_buffer_take
// CHECK: to memref<?x4xf32>
// Left alone: the stack buffer and the constant.
// CHECK: memref.alloca() : memref<8xf32>
// CHECK: memref.get_global @cst
// Each dealloc gives the buffer back by its data pointer.
// CHECK: %[[P:.*]] = memref.extract_aligned_pointer_as_index %{{.*}} : memref<1024xf32>
// CHECK: %[[W:.*]] = arith.index_cast %[[P]] : index to i64
// CHECK: %[[D:.*]] = llvm.inttoptr %[[W]] : i64 to !llvm.ptr
// CHECK: llvm.call @__net_buffer_give(%[[D]])
// CHECK-COUNT-2: llvm.call @__net_buffer_give
// CHECK-NOT: memref.dealloc
// take: an empty slot skips the exchange; a cached buffer too small for
// the call (capacity, header word -2) is freed (base, word -1).
// CHECK-LABEL: llvm.func internal @__net_buffer_take(%arg0: !llvm.ptr, %arg1: i64, %arg2: i64) -> !llvm.ptr
// CHECK: llvm.atomicrmw xchg %arg0, %{{.*}} acq_rel
// CHECK: llvm.getelementptr %{{.*}}[-2] : (!llvm.ptr) -> !llvm.ptr, i64
// CHECK: llvm.icmp "uge"
// CHECK: llvm.getelementptr %{{.*}}[-1] : (!llvm.ptr) -> !llvm.ptr, i64
// CHECK: llvm.call @free
// CHECK: llvm.call @aligned_alloc(%arg2, %{{.*}})
// The header: base, capacity, slot.
// CHECK: %[[DATA:.*]] = llvm.getelementptr %{{.*}}[%arg2] : (!llvm.ptr, i64) -> !llvm.ptr, i8
// CHECK: llvm.getelementptr %[[DATA]][-1]
// CHECK: llvm.getelementptr %[[DATA]][-2]
// CHECK: llvm.getelementptr %[[DATA]][-3]
// CHECK: llvm.return %[[DATA]]
// give: back into an empty slot, else free.
// CHECK-LABEL: llvm.func internal @__net_buffer_give(%arg0: !llvm.ptr)
// CHECK: llvm.getelementptr %arg0[-3]
// CHECK: llvm.cmpxchg %{{.*}}, %{{.*}}, %arg0 acq_rel monotonic
// CHECK: llvm.call @free
// CHECK-LABEL: llvm.func @net_release_buffers()
// CHECK: llvm.atomicrmw xchg
// CHECK: llvm.call @free
// CHECK: llvm.mlir.constant(2 : i64) : i64
// CHECK: llvm.cond_br

// OFF: func.func @main
// OFF: memref.alloc() {alignment = 64 : i64} : memref<1024xf32>
// OFF: memref.dealloc
// OFF-NOT: buffer_take
// OFF: llvm.func @net_release_buffers() {
// OFF-NEXT: llvm.return

memref.global "private" constant @cst : memref<4xf32> = dense<1.0>
func.func @main(%arg0: memref<1024xf32>, %n: index, %out: memref<1024xf32>) {
  %big = memref.alloc() {alignment = 64 : i64} : memref<1024xf32>
  %small = memref.alloc() : memref<16xf32>
  %dyn = memref.alloc(%n) {alignment = 128 : i64} : memref<?x4xf32>
  %stack = memref.alloca() : memref<8xf32>
  %c = memref.get_global @cst : memref<4xf32>
  memref.copy %arg0, %big : memref<1024xf32> to memref<1024xf32>
  memref.copy %big, %out : memref<1024xf32> to memref<1024xf32>
  memref.dealloc %big : memref<1024xf32>
  memref.dealloc %small : memref<16xf32>
  memref.dealloc %dyn : memref<?x4xf32>
  return
}

// -----

// A strided allocation cannot be rebuilt over a pointer: nothing changes
// (a plain malloc'd buffer must never reach buffer_give), and the release
// function frees nothing.
// CHECK-LABEL: func.func @strided
// CHECK: memref.alloc() : memref<4x4xf32, strided<[8, 1]>>
// CHECK: memref.alloc() : memref<1024xf32>
// CHECK: memref.dealloc
// CHECK: memref.dealloc
// CHECK-NOT: buffer_take
// CHECK: llvm.func @net_release_buffers() {
// CHECK-NEXT: llvm.return
func.func @strided() {
  %a = memref.alloc() : memref<4x4xf32, strided<[8, 1]>>
  %b = memref.alloc() : memref<1024xf32>
  memref.dealloc %a : memref<4x4xf32, strided<[8, 1]>>
  memref.dealloc %b : memref<1024xf32>
  return
}
