// A norm reading a function argument directly: qc-rotate cannot absorb Q.
func.func @main(%x: tensor<2x4xf32> {onnx.name = "x"}) -> (tensor<2x4xf32> {onnx.name = "y"}) {
  %w = arith.constant dense<0.5> : tensor<4x4xf32>
  %n = qc.rms_norm %x : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = qc.matmul %n, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
