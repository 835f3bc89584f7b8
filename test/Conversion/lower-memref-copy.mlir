// RUN: quant-opt %s --qc-lower-memref-copy | FileCheck %s

// A strided copy becomes an element-wise linalg.generic: no call to the C
// runner library's memrefCopy remains after lowering.
// CHECK-LABEL: func.func @strided
// CHECK-NOT: memref.copy
// CHECK: linalg.generic
// CHECK-SAME: ins(%arg0 : memref<4xf32, strided<[2]>>) outs(%arg1 : memref<4xf32>)
// CHECK: linalg.yield
func.func @strided(%a: memref<4xf32, strided<[2]>>, %b: memref<4xf32>) {
  memref.copy %a, %b : memref<4xf32, strided<[2]>> to memref<4xf32>
  return
}

// Other memref ops are left alone.
// CHECK-LABEL: func.func @untouched
// CHECK: memref.load
func.func @untouched(%a: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %v = memref.load %a[%c0] : memref<4xf32>
  return %v : f32
}
