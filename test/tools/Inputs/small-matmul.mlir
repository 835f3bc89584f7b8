func.func @main(%x: tensor<16x8xf32> {onnx.name = "x"}, %w: tensor<8x512xf32> {onnx.name = "w"}) -> (tensor<16x512xf32> {onnx.name = "y"}) {
  %y = qc.matmul %x, %w : (tensor<16x8xf32>, tensor<8x512xf32>) -> tensor<16x512xf32>
  return %y : tensor<16x512xf32>
}
