func.func @f(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  %0 = qc.observe min_max %x tag "in" : tensor<2x64xf32>
  %1 = qc.hadamard %0 : tensor<2x64xf32>
  return %1 : tensor<2x64xf32>
}
