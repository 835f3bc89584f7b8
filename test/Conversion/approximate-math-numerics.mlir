// The compiled exp (qc-lower-to-llvm approximates f32 exp with
// qc-approximate-math) against numpy's float64 exp rounded to f32, over
// [-104, 89] (results from 0 through the subnormals to 3.4e38) and 0, -0,
// ±inf, NaN: within the pass's stated 4e-7 relative error (3 ulp) where the result
// is a normal float, within 1.2e-38 absolute (the smallest normal) below.
// RUN: rm -rf %t && mkdir -p %t
// RUN: quant-compile %s --emit=shared -o %t/libexp.so
// RUN: %onnx_python -c "import numpy as np; x = np.concatenate([np.linspace(-104, 89, 8186), [0, -0.0, np.inf, -np.inf, np.nan, 88.72]]).astype(np.float32)[None]; np.save('%t/x.npy', x); np.save('%t/y.npy', np.exp(x.astype(np.float64)).astype(np.float32))" 2>/dev/null
// RUN: quant-run %t/libexp.so -i %t/x.npy --expect %t/y.npy --rtol 4e-7 --atol 1.2e-38 | FileCheck %s
// CHECK: output 0 'y': match
func.func @main(%x: tensor<1x8192xf32> {onnx.name = "x"}) -> (tensor<1x8192xf32> {onnx.name = "y"}) {
  %0 = tensor.empty() : tensor<1x8192xf32>
  %1 = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<1x8192xf32>) outs(%0 : tensor<1x8192xf32>) {
  ^bb0(%a: f32, %b: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  } -> tensor<1x8192xf32>
  return %1 : tensor<1x8192xf32>
}
