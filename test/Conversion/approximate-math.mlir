// RUN: quant-opt %s --qc-approximate-math=ops=math.exp | FileCheck %s
// RUN: quant-opt %s --qc-approximate-math | FileCheck %s --check-prefix=NONE

// f32 exp, scalar and vector, becomes arith (range reduction to 2^n·e^r, a
// polynomial in r, the exponent put in with a shift): no math.exp left for
// f32. f64 exp and ops not listed (log) stay.
// CHECK-LABEL: func.func @f
// CHECK-NOT: math.exp {{.*}} : f32
// CHECK-NOT: math.exp {{.*}} : vector<8xf32>
// CHECK: arith.shli
// CHECK: math.exp %{{.*}} : f64
// CHECK-NOT: math.exp {{.*}} : f32
// CHECK: math.log %{{.*}} : f32
// With no ops listed, nothing changes.
// NONE-LABEL: func.func @f
// NONE: math.exp %{{.*}} : f32
// NONE: math.exp %{{.*}} : f64
// NONE: math.exp %{{.*}} : vector<8xf32>
// NONE: math.log %{{.*}} : f32
func.func @f(%x: f32, %y: f64, %z: vector<8xf32>) -> (f32, f64, vector<8xf32>, f32) {
  %0 = math.exp %x : f32
  %1 = math.exp %y : f64
  %2 = math.exp %z : vector<8xf32>
  %3 = math.log %x : f32
  return %0, %1, %2, %3 : f32, f64, vector<8xf32>, f32
}
