func.func @main(%x: tensor<16x256xf32> {onnx.name = "x"}, %w: tensor<256x512xf32> {onnx.name = "w"}) -> (tensor<16x512xf32> {onnx.name = "y"}) {
  %y = qc.matmul %x, %w : (tensor<16x256xf32>, tensor<256x512xf32>) -> tensor<16x512xf32>
  return %y : tensor<16x512xf32>
}
