// qc.decode's CPU lowering (decodeSmallFloat), end to end: codes chosen to
// hit every branch (normal, subnormal, sign, largest finite, E4M3FN's NaN,
// E5M2's infinities and NaN), values worked out by hand from the formats'
// definitions (E5M2 bias 15, E4M3FN bias 7, E2M1 bias 1).
// RUN: rm -rf %t && mkdir -p %t
// RUN: quant-compile %s --emit=shared -o %t/libdecode.so
// RUN: %onnx_python -c "import numpy as np; np.save('%t/x.npy', np.zeros((1, 8), np.float32))"
// RUN: quant-run %t/libdecode.so -i %t/x.npy --print | FileCheck %s

// E5M2: 0x7B = 1.75·2^15 = 57344 (largest finite); 0x7C = +inf; 0x7D = NaN
// (exponent 31, mantissa ≠ 0); 0xFC = -inf; 0x01 = 2^-16 (subnormal);
// 0x04 = 2^(1-15) (smallest normal); 0x83 = -3·2^-16; 0x40 = 2^(16-15).
// CHECK: e5m2 float32 [1, 8]: 57344 inf nan -inf 1.5258789e-05 6.1035156e-05 -4.5776367e-05 2
// E4M3FN: 0x7E = 1.75·2^8 = 448; 0x7F and 0xFF are NaN (no infinity);
// 0x01 = 2^-9; 0x08 = 2^(1-7); 0xF8 = -2^8; 0xC0 = -2; 0x38 = 1.
// CHECK: e4m3 float32 [1, 8]: 448 nan nan 0.001953125 0.015625 -256 -2 1
// E2M1 in blocks of 4 with scales 2 and 0.5: codes 0..3 = 0, 0.5, 1, 1.5
// (× 2); 0x7 = 6, 0x8 = -0, 0xF = -6, 0xA = -1 (× 0.5).
// CHECK: e2m1 float32 [1, 8]: 0 1 2 3 3 -0 -3 -0.5
func.func @main(%x: tensor<1x8xf32> {onnx.name = "x"})
    -> (tensor<1x8xf32> {onnx.name = "e5m2"}, tensor<1x8xf32> {onnx.name = "e4m3"},
        tensor<1x8xf32> {onnx.name = "e2m1"}) {
  %c = arith.constant dense<"0x7B7C7DFC01048340"> : tensor<1x8xf8E5M2>
  %s = arith.constant dense<1.0> : tensor<1x1xf32>
  %d = qc.decode %c scales %s : (tensor<1x8xf8E5M2>, tensor<1x1xf32>) -> tensor<1x8xf32>
  %r = arith.addf %d, %x : tensor<1x8xf32>
  %c8 = arith.constant dense<"0x7E7FFF0108F8C038"> : tensor<1x8xf8E4M3FN>
  %d8 = qc.decode %c8 scales %s : (tensor<1x8xf8E4M3FN>, tensor<1x1xf32>) -> tensor<1x8xf32>
  %c4 = arith.constant dense<"0x0001020307080F0A"> : tensor<1x8xf4E2M1FN>
  %s4 = arith.constant dense<[[2.0, 0.5]]> : tensor<1x2xf32>
  %d4 = qc.decode %c4 scales %s4 : (tensor<1x8xf4E2M1FN>, tensor<1x2xf32>) -> tensor<1x8xf32>
  return %r, %d8, %d4 : tensor<1x8xf32>, tensor<1x8xf32>, tensor<1x8xf32>
}
