// A residual add and an RMS norm, then a softmax, end to end to PTX with
// --target=cuda: two kernels (the add, the sum of squares and the scaled
// row in one; the row maximum, the exponentials, their sum and the
// reciprocal's product in the other), each with shared memory for the
// warps' partials (8 warps of 256 threads for rows of 2048; 5 of 160 for
// rows of 150), warp shuffles and a barrier per reduction.
// RUN: rm -rf %t && mkdir -p %t
// RUN: quant-compile %s --target=cuda:sm_90a --emit=ptx -o %t/r.ptx
// RUN: FileCheck %s < %t/r.ptx
// CHECK-COUNT-2: .visible .entry
// CHECK-NOT: .visible .entry
// RUN: FileCheck %s --check-prefix=BODY < %t/r.ptx
// BODY: .visible .entry
// BODY: .shared .align {{.*}}[32];
// BODY: shfl.sync.bfly
// BODY: bar.sync
// BODY: rsqrt
// BODY: .visible .entry
// BODY: .shared .align {{.*}}[20];
// BODY: .shared .align {{.*}}[20];
// BODY: bar.sync
// BODY: bar.sync
// BODY: rcp.rn.f32
// RUN: %if ptxas %{ %ptxas -arch=sm_90a %t/r.ptx -o %t/r.cubin %}
func.func @main(%x: tensor<4x2048xf32> {onnx.name = "x"},
                %r: tensor<4x2048xf32> {onnx.name = "r"},
                %s: tensor<8x150xf32> {onnx.name = "s"})
    -> (tensor<4x2048xf32> {onnx.name = "y"}, tensor<8x150xf32> {onnx.name = "p"}) {
  %h = tosa.add %x, %r : (tensor<4x2048xf32>, tensor<4x2048xf32>) -> tensor<4x2048xf32>
  %g = arith.constant dense<1.5> : tensor<2048xf32>
  %y = qc.rms_norm %h scale %g : (tensor<4x2048xf32>, tensor<2048xf32>) -> tensor<4x2048xf32>
  %m = tosa.reduce_max %s {axis = 1 : i32} : (tensor<8x150xf32>) -> tensor<8x1xf32>
  %d = tosa.sub %s, %m : (tensor<8x150xf32>, tensor<8x1xf32>) -> tensor<8x150xf32>
  %e = tosa.exp %d : (tensor<8x150xf32>) -> tensor<8x150xf32>
  %t = tosa.reduce_sum %e {axis = 1 : i32} : (tensor<8x150xf32>) -> tensor<8x1xf32>
  %i = tosa.reciprocal %t : (tensor<8x1xf32>) -> tensor<8x1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %p = tosa.mul %e, %i, %shift : (tensor<8x150xf32>, tensor<8x1xf32>, tensor<1xi8>) -> tensor<8x150xf32>
  return %y, %p : tensor<4x2048xf32>, tensor<8x150xf32>
}
