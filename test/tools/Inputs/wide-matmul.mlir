func.func @main(%x: tensor<2x8xf32> {onnx.name = "x"}, %w: tensor<8x512xf32> {onnx.name = "w"}) -> (tensor<2x512xf32> {onnx.name = "y"}) {
  %y = qc.matmul %x, %w : (tensor<2x8xf32>, tensor<8x512xf32>) -> tensor<2x512xf32>
  return %y : tensor<2x512xf32>
}
