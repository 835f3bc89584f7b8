// RUN: rm -f %t.weights
// RUN: quant-opt %s --qc-externalize-weights="name=m file=%t.weights threshold=32" | FileCheck %s
// The file: 64-byte header, then the 64-byte buffer at offset 64.
// RUN: wc -c < %t.weights | FileCheck %s --check-prefix=SIZE
// SIZE: 128
// RUN: not quant-opt %s --qc-externalize-weights="name=m" 2>&1 | FileCheck %s --check-prefix=NOFILE
// NOFILE: qc-externalize-weights: option 'file' is required
// For GPU kernels (cuda): the buffer's address is a placeholder, an external
// declaration marked with its offset (qc-device-globals makes it the
// runtime's device copy), and the loader keeps the file mapping (no host
// copy).
// RUN: quant-opt %s --qc-externalize-weights="name=m file=%t.weights threshold=32 cuda=true" | FileCheck %s --check-prefix=CUDA
// CUDA: llvm.mlir.global external @__m_weight_0() {{{.*}}qc.weights_offset = 64 : i64} : !llvm.array<64 x i8>
// CUDA-LABEL: func.func @main
// CUDA-NOT: llvm.load
// CUDA: %[[W:.*]] = llvm.mlir.addressof @__m_weight_0 : !llvm.ptr
// CUDA: llvm.insertvalue %[[W]]
// CUDA: memref.get_global @small
// CUDA-LABEL: func.func @m_load_weights(%{{.*}}: !llvm.ptr) -> i32 attributes {qc.host}
// CUDA: %[[MAPPED:.*]] = llvm.call @mmap
// CUDA-NOT: llvm.call @madvise
// CUDA-NOT: llvm.call @munmap(%[[MAPPED]]
// CUDA: llvm.store %[[MAPPED]], %{{.*}} : !llvm.ptr, !llvm.ptr
// CUDA-NOT: llvm.call @mmap

// CHECK: module attributes {qc.weights_base = @__m_weights_base}
// CHECK: llvm.mlir.global internal @__m_weights_base() {{.*}} : !llvm.ptr
// The small constant stays; the large one is gone.
// CHECK: memref.global "private" constant @small
// CHECK-NOT: memref.global "private" constant @large
// CHECK-LABEL: func.func @main
// CHECK: %[[ADDR:.*]] = llvm.mlir.addressof @__m_weights_base : !llvm.ptr
// An i64 offset (offsets into large files do not fit GEP's 32-bit constants).
// CHECK: %[[OFF:.*]] = llvm.mlir.constant(64 : i64) : i64
// CHECK: %[[BASE:.*]] = llvm.load %[[ADDR]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.getelementptr %[[BASE]][%[[OFF]]] : (!llvm.ptr, i64) -> !llvm.ptr, i8
// CHECK: builtin.unrealized_conversion_cast %{{.*}} : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)> to memref<4x4xf32>
// CHECK: memref.get_global @small
// The loader maps the file and checks its header.
// CHECK-LABEL: func.func @m_load_weights(%{{.*}}: !llvm.ptr) -> i32
// CHECK: llvm.call @open
// CHECK: llvm.call @lseek
// CHECK: %[[MAPPED:.*]] = llvm.call @mmap
// Then copies it into memory advised as huge pages, unless QUANT_WEIGHTS_MAP
// is set or that memory cannot be had (then it keeps the mapping).
// CHECK: llvm.call @getenv
// CHECK: %[[ANON:.*]] = llvm.call @mmap(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}})
// The copy starts at the first 2 MiB boundary of the anonymous mapping.
// CHECK: llvm.mlir.constant(2097151 : i64)
// CHECK: llvm.mlir.constant(-2097152 : i64)
// CHECK: %[[COPY:.*]] = llvm.inttoptr
// CHECK: llvm.call @madvise(%[[COPY]], %{{.*}}, %{{.*}}) : (!llvm.ptr, i64, i32) -> i32
// CHECK: "llvm.intr.memcpy"(%[[COPY]], %[[MAPPED]], %{{.*}}) <{isVolatile = false}>
// CHECK: llvm.call @munmap(%[[MAPPED]]
// CHECK: llvm.store %[[COPY]], %{{.*}} : !llvm.ptr, !llvm.ptr
// The fallback stores the mapping itself.
// CHECK: llvm.store %[[MAPPED]], %{{.*}} : !llvm.ptr, !llvm.ptr
memref.global "private" constant @large : memref<4x4xf32> = dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0], [13.0, 14.0, 15.0, 16.0]]>
memref.global "private" constant @small : memref<2xf32> = dense<[1.0, 2.0]>
func.func @main(%out: memref<4x4xf32>, %out2: memref<2xf32>) {
  %0 = memref.get_global @large : memref<4x4xf32>
  memref.copy %0, %out : memref<4x4xf32> to memref<4x4xf32>
  %1 = memref.get_global @small : memref<2xf32>
  memref.copy %1, %out2 : memref<2xf32> to memref<2xf32>
  return
}
