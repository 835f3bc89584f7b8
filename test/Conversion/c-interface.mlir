// RUN: quant-opt %s --qc-emit-c-interface=name=net | FileCheck %s
// RUN: not quant-opt %s --qc-emit-c-interface="name=1bad" 2>&1 | FileCheck %s --check-prefix=BADNAME

// One input with a dynamic dimension, one caller-allocated output.
// CHECK-LABEL: func.func @__net_main(
// CHECK-SAME: attributes {llvm.linkage = #llvm.linkage<internal>}
// CHECK-LABEL: func.func @net_run(
// CHECK-SAME: %[[INS:.*]]: !llvm.ptr, %[[SHAPES:.*]]: !llvm.ptr, %[[OUTS:.*]]: !llvm.ptr) -> i32
// CHECK: %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK: llvm.icmp "eq" %[[INS]], %[[NULL]]
// CHECK: cf.cond_br %{{.*}}, ^[[ERRNULL:bb[0-9]+]], ^
// CHECK: llvm.icmp "eq" %[[OUTS]], %[[NULL]]
// CHECK: llvm.icmp "eq" %[[SHAPES]], %[[NULL]]
// The input's data pointer, its shape row, the static dimension checked,
// the dynamic one bounded by 2^40.
// CHECK: %[[X:.*]] = llvm.load %{{.*}} : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.load %{{.*}} : !llvm.ptr -> i64
// CHECK: llvm.icmp "ne"
// CHECK: cf.cond_br %{{.*}}, ^[[ERRSHAPE:bb[0-9]+]], ^
// CHECK: llvm.mlir.constant(1099511627776 : i64)
// CHECK: llvm.icmp "ugt"
// CHECK: builtin.unrealized_conversion_cast %{{.*}} : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)> to memref<2x?xf32>
// CHECK: call @__net_main(%{{.*}}, %{{.*}}) : (memref<2x?xf32>, memref<2x3xf32>) -> ()
// CHECK: return %{{.*}} : i32
// CHECK: ^[[ERRNULL]]:
// CHECK-NEXT: %[[ONE:.*]] = arith.constant 1 : i32
// CHECK-NEXT: return %[[ONE]]
// CHECK: ^[[ERRSHAPE]]:
// CHECK-NEXT: %[[TWO:.*]] = arith.constant 2 : i32
// CHECK-NEXT: return %[[TWO]]
// BADNAME: the name '1bad' is not a C identifier
func.func @main(%x: memref<2x?xf32>, %y: memref<2x3xf32> {bufferize.result}) {
  return
}

