// Round-trip tests: every qc op parses, prints in its custom form, and the
// printed form parses again to the same IR (custom and generic forms).
// RUN: quant-opt %s | quant-opt | FileCheck %s
// RUN: quant-opt %s --mlir-print-op-generic | quant-opt | FileCheck %s

// CHECK-LABEL: func.func @quantize_per_tensor
func.func @quantize_per_tensor(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // CHECK: %[[Q:.*]] = qc.quantize %{{.*}} : tensor<4x8xf32> -> tensor<4x8x!quant.uniform<i8:f32, 5.000000e-01:-3>>
  %q = qc.quantize %x : tensor<4x8xf32> -> tensor<4x8x!quant.uniform<i8:f32, 0.5:-3>>
  // CHECK: qc.dequantize %[[Q]] : tensor<4x8x!quant.uniform<i8:f32, 5.000000e-01:-3>> -> tensor<4x8xf32>
  %d = qc.dequantize %q : tensor<4x8x!quant.uniform<i8:f32, 0.5:-3>> -> tensor<4x8xf32>
  return %d : tensor<4x8xf32>
}

// CHECK-LABEL: func.func @quantize_storage_types
func.func @quantize_storage_types(%x: tensor<16xf32>, %h: tensor<16xf16>, %b: tensor<16xbf16>) {
  // CHECK: tensor<16x!quant.uniform<u8:f32, 2.000000e-02:128>>
  %0 = qc.quantize %x : tensor<16xf32> -> tensor<16x!quant.uniform<u8:f32, 0.02:128>>
  // CHECK: tensor<16x!quant.uniform<i4:f16, 1.250000e-01>>
  %1 = qc.quantize %h : tensor<16xf16> -> tensor<16x!quant.uniform<i4:f16, 0.125>>
  // CHECK: tensor<16x!quant.uniform<u4:bf16, 2.500000e-01:8>>
  %2 = qc.quantize %b : tensor<16xbf16> -> tensor<16x!quant.uniform<u4:bf16, 0.25:8>>
  // Narrow storage range: int4 stored in i8 lanes, symmetric [-7, 7].
  // CHECK: tensor<16x!quant.uniform<i8<-7:7>:f32, 1.000000e+00>>
  %3 = qc.quantize %x : tensor<16xf32> -> tensor<16x!quant.uniform<i8<-7:7>:f32, 1.0>>
  return
}

// CHECK-LABEL: func.func @quantize_per_axis
func.func @quantize_per_axis(%w: tensor<3x5xf32>, %d: tensor<?x3xf32>) {
  // CHECK: qc.quantize %{{.*}} : tensor<3x5xf32> -> tensor<3x5x!quant.uniform<i8:f32:0, {1.000000e-01,2.000000e-01,3.000000e-01}>>
  %0 = qc.quantize %w : tensor<3x5xf32> -> tensor<3x5x!quant.uniform<i8:f32:0, {0.1, 0.2, 0.3}>>
  // Dynamic dimensions elsewhere are fine.
  // CHECK: tensor<?x3x!quant.uniform<u8:f32:1, {1.000000e-01:1,2.000000e-01:2,3.000000e-01:3}>>
  %1 = qc.quantize %d : tensor<?x3xf32> -> tensor<?x3x!quant.uniform<u8:f32:1, {0.1:1, 0.2:2, 0.3:3}>>
  return
}

// CHECK-LABEL: func.func @quantize_blockwise
func.func @quantize_blockwise(%w: tensor<2x64xf32>) -> tensor<2x64xf32> {
  // int4, group 32 along the reduction axis of an [N, K] weight.
  // CHECK: %[[W:.*]] = qc.quantize %{{.*}} : tensor<2x64xf32> -> tensor<2x64x!quant.uniform<i4:f32:{0:1, 1:32}, {{\{\{}}1.000000e-01, 2.000000e-01}, {3.000000e-01, 4.000000e-01}}>>
  %q = qc.quantize %w : tensor<2x64xf32> -> tensor<2x64x!quant.uniform<i4:f32:{0:1, 1:32}, {{0.1, 0.2}, {0.3, 0.4}}>>
  // CHECK: qc.dequantize %[[W]]
  %d = qc.dequantize %q : tensor<2x64x!quant.uniform<i4:f32:{0:1, 1:32}, {{0.1, 0.2}, {0.3, 0.4}}>> -> tensor<2x64xf32>
  return %d : tensor<2x64xf32>
}

// CHECK-LABEL: func.func @matmul_float
func.func @matmul_float(%a: tensor<2x1x3x5xf32>, %b: tensor<4x5x6xf32>) -> tensor<2x4x3x6xf32> {
  // CHECK: qc.matmul %{{.*}}, %{{.*}} : (tensor<2x1x3x5xf32>, tensor<4x5x6xf32>) -> tensor<2x4x3x6xf32>
  %0 = qc.matmul %a, %b : (tensor<2x1x3x5xf32>, tensor<4x5x6xf32>) -> tensor<2x4x3x6xf32>
  return %0 : tensor<2x4x3x6xf32>
}

// CHECK-LABEL: func.func @matmul_vectors
func.func @matmul_vectors(%v: tensor<5xf32>, %m: tensor<5x6xf32>, %w: tensor<6x5xf32>, %d: tensor<?x5xf32>) {
  // 1-D lhs: [5] x [5, 6] -> [6].
  // CHECK: (tensor<5xf32>, tensor<5x6xf32>) -> tensor<6xf32>
  %0 = qc.matmul %v, %m : (tensor<5xf32>, tensor<5x6xf32>) -> tensor<6xf32>
  // 1-D rhs: [6, 5] x [5] -> [6].
  // CHECK: (tensor<6x5xf32>, tensor<5xf32>) -> tensor<6xf32>
  %1 = qc.matmul %w, %v : (tensor<6x5xf32>, tensor<5xf32>) -> tensor<6xf32>
  // Both 1-D: a dot product of rank 0.
  // CHECK: (tensor<5xf32>, tensor<5xf32>) -> tensor<f32>
  %2 = qc.matmul %v, %v : (tensor<5xf32>, tensor<5xf32>) -> tensor<f32>
  // Dynamic rows.
  // CHECK: {transpose_rhs} : (tensor<?x5xf32>, tensor<6x5xf32>) -> tensor<?x6xf32>
  %3 = qc.matmul %d, %w {transpose_rhs} : (tensor<?x5xf32>, tensor<6x5xf32>) -> tensor<?x6xf32>
  return
}

// CHECK-LABEL: func.func @matmul_quantized
func.func @matmul_quantized(%x: tensor<2x16x!quant.uniform<i8:f32, 0.05>>,
                            %w: tensor<4x16x!quant.uniform<i8:f32:0, {0.1, 0.2, 0.3, 0.4}>>,
                            %b: tensor<4xf32>) -> tensor<2x4x!quant.uniform<i8:f32, 0.25>> {
  // CHECK: qc.matmul %{{.*}}, %{{.*}}, %{{.*}} {transpose_rhs} : (tensor<2x16x!quant.uniform<i8:f32, 5.000000e-02>>, tensor<4x16x!quant.uniform<i8:f32:0, {1.000000e-01,2.000000e-01,3.000000e-01,4.000000e-01}>>, tensor<4xf32>) -> tensor<2x4x!quant.uniform<i8:f32, 2.500000e-01>>
  %0 = qc.matmul %x, %w, %b {transpose_rhs}
      : (tensor<2x16x!quant.uniform<i8:f32, 0.05>>,
         tensor<4x16x!quant.uniform<i8:f32:0, {0.1, 0.2, 0.3, 0.4}>>,
         tensor<4xf32>) -> tensor<2x4x!quant.uniform<i8:f32, 0.25>>
  return %0 : tensor<2x4x!quant.uniform<i8:f32, 0.25>>
}

// CHECK-LABEL: func.func @matmul_int4_groups
func.func @matmul_int4_groups(%x: tensor<1x64xf16>,
    %w: tensor<2x64x!quant.uniform<u4:f16:{0:1, 1:32}, {{0.1:8, 0.2:8}, {0.3:8, 0.4:8}}>>) -> tensor<1x2xf16> {
  // CHECK: qc.matmul {{.*}} {transpose_rhs} : (tensor<1x64xf16>, tensor<2x64x!quant.uniform<u4:f16:{0:1, 1:32}
  %0 = qc.matmul %x, %w {transpose_rhs}
      : (tensor<1x64xf16>, tensor<2x64x!quant.uniform<u4:f16:{0:1, 1:32}, {{0.1:8, 0.2:8}, {0.3:8, 0.4:8}}>>) -> tensor<1x2xf16>
  return %0 : tensor<1x2xf16>
}

// CHECK-LABEL: func.func @norms
func.func @norms(%x: tensor<2x16x64xf32>, %g: tensor<64xf32>, %g2: tensor<16x64xf32>) {
  // CHECK: qc.rms_norm %{{.*}} scale %{{.*}} {epsilon = 9.99999997E-7 : f32} : (tensor<2x16x64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  %0 = qc.rms_norm %x scale %g {epsilon = 1.0e-06 : f32} : (tensor<2x16x64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  // Scale-free, default epsilon and axis (not printed).
  // CHECK: qc.rms_norm %{{.*}} : (tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
  %1 = qc.rms_norm %x : (tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
  // Normalising over the last two dimensions.
  // CHECK: qc.rms_norm %{{.*}} scale %{{.*}} {axis = 1 : i64} : (tensor<2x16x64xf32>, tensor<16x64xf32>)
  %2 = qc.rms_norm %x scale %g2 {axis = 1} : (tensor<2x16x64xf32>, tensor<16x64xf32>) -> tensor<2x16x64xf32>
  // CHECK: qc.layer_norm %{{.*}} scale %{{.*}} bias %{{.*}} : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  %3 = qc.layer_norm %x scale %g bias %g : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  // Bias without scale, and neither; the default axis is not printed.
  // CHECK: qc.layer_norm %{{.*}} bias %{{.*}} {epsilon = 1.000000e-03 : f32} : (tensor<2x16x64xf32>, tensor<64xf32>)
  %4 = qc.layer_norm %x bias %g {epsilon = 1.0e-03 : f32, axis = -1} : (tensor<2x16x64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  // CHECK: qc.layer_norm %{{.*}} : (tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
  %5 = qc.layer_norm %x : (tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
  return
}

// CHECK-LABEL: func.func @hadamard
func.func @hadamard(%x: tensor<4x4096xf32>, %y: tensor<?x14336xf16>, %z: tensor<8x96xbf16>) {
  // CHECK: qc.hadamard %{{.*}} : tensor<4x4096xf32>
  %0 = qc.hadamard %x : tensor<4x4096xf32>
  // Across 32 heads of 128: H_32 (x) I_128.
  // CHECK: qc.hadamard %{{.*}} size 32 stride 128 : tensor<4x4096xf32>
  %1 = qc.hadamard %x size 32 stride 128 : tensor<4x4096xf32>
  // Within each head: I_32 (x) H_128.
  // CHECK: qc.hadamard %{{.*}} size 128 : tensor<4x4096xf32>
  %2 = qc.hadamard %x size 128 : tensor<4x4096xf32>
  // 14336 = 28 * 512 (Llama-3 8B intermediate size); dynamic leading dims.
  // CHECK: qc.hadamard %{{.*}} : tensor<?x14336xf16>
  %3 = qc.hadamard %y : tensor<?x14336xf16>
  // 96 = 12 * 8.
  // CHECK: qc.hadamard %{{.*}} : tensor<8x96xbf16>
  %4 = qc.hadamard %z : tensor<8x96xbf16>
  return
}

// CHECK-LABEL: func.func @observe
func.func @observe(%x: tensor<1x16x64xf32>) -> tensor<1x16x64xf32> {
  // CHECK: %[[A:.*]] = qc.observe min_max %{{.*}} tag "blk0.q_proj.input" : tensor<1x16x64xf32>
  %0 = qc.observe min_max %x tag "blk0.q_proj.input" : tensor<1x16x64xf32>
  // CHECK: qc.observe abs_max_per_channel %[[A]] tag "blk0.in" axis 2 : tensor<1x16x64xf32>
  %1 = qc.observe abs_max_per_channel %0 tag "blk0.in" axis 2 : tensor<1x16x64xf32>
  // CHECK: qc.observe gram %{{.*}} tag "blk0.gram" axis -1
  %2 = qc.observe gram %1 tag "blk0.gram" axis -1 : tensor<1x16x64xf32>
  // CHECK: qc.observe histogram
  %3 = qc.observe histogram %2 tag "h" : tensor<1x16x64xf32>
  // CHECK: qc.observe moving_min_max
  %4 = qc.observe moving_min_max %3 tag "m" : tensor<1x16x64xf32>
  // CHECK: qc.observe mean_abs_per_channel {{.*}} axis 0
  %5 = qc.observe mean_abs_per_channel %4 tag "awq" axis 0 : tensor<1x16x64xf32>
  return %5 : tensor<1x16x64xf32>
}

// CHECK-LABEL: func.func @quantize_per_token
func.func @quantize_per_token(%x: tensor<16x64xf32>, %y: tensor<?x4x32xf16>) {
  // CHECK: qc.quantize_per_token %{{.*}} {bits = 8 : i64} : tensor<16x64xf32>
  %0 = qc.quantize_per_token %x {bits = 8} : tensor<16x64xf32>
  // CHECK: qc.quantize_per_token %{{.*}} {bits = 4 : i64} : tensor<?x4x32xf16>
  %1 = qc.quantize_per_token %y {bits = 4} : tensor<?x4x32xf16>
  return
}

// CHECK-LABEL: func.func @decode
func.func @decode(%c8: tensor<4x64xf8E4M3FN>, %s8: tensor<4x1xf32>, %c4: tensor<4x64xf4E2M1FN>, %s4: tensor<4x2xf32>) {
  // CHECK: qc.decode %{{.*}} scales %{{.*}} : (tensor<4x64xf8E4M3FN>, tensor<4x1xf32>) -> tensor<4x64xf32>
  %0 = qc.decode %c8 scales %s8 : (tensor<4x64xf8E4M3FN>, tensor<4x1xf32>) -> tensor<4x64xf32>
  // CHECK: qc.decode %{{.*}} scales %{{.*}} : (tensor<4x64xf4E2M1FN>, tensor<4x2xf32>) -> tensor<4x64xf32>
  %1 = qc.decode %c4 scales %s4 : (tensor<4x64xf4E2M1FN>, tensor<4x2xf32>) -> tensor<4x64xf32>
  return
}

// CHECK-LABEL: func.func @decode_e5m2
func.func @decode_e5m2(%c: tensor<4x64xf8E5M2>, %s: tensor<1x64xf32>) {
  // CHECK: qc.decode %{{.*}} scales %{{.*}} : (tensor<4x64xf8E5M2>, tensor<1x64xf32>) -> tensor<4x64xf32>
  %0 = qc.decode %c scales %s : (tensor<4x64xf8E5M2>, tensor<1x64xf32>) -> tensor<4x64xf32>
  return
}

// qc.packed_weight with its layout attribute (#qc.packed, printed short).
// CHECK-LABEL: func.func @packed_weight
func.func @packed_weight(%b: tensor<512xi8>, %c: tensor<128xi8>) {
  // CHECK: qc.packed_weight %{{.*}} layout <vnni, bits = 4, k_axis = 1> : tensor<512xi8> -> tensor<16x64x!quant.uniform<i4:f32:{0:1, 1:32}
  %0 = qc.packed_weight %b layout <vnni, bits = 4, k_axis = 1> : tensor<512xi8> -> tensor<16x64x!quant.uniform<i4:f32:{0:1, 1:32}, {{1.0, 2.0}, {1.0, 2.0}, {1.0, 2.0}, {1.0, 2.0}, {1.0, 2.0}, {1.0, 2.0}, {1.0, 2.0}, {1.0, 2.0}, {1.0, 2.0}, {1.0, 2.0}, {1.0, 2.0}, {1.0, 2.0}, {1.0, 2.0}, {1.0, 2.0}, {1.0, 2.0}, {1.0, 2.0}}>>
  // CHECK: qc.packed_weight %{{.*}} layout <mma, bits = 4, k_axis = 0> : tensor<128xi8> -> tensor<32x8x!quant.uniform<u4:f32, 5.000000e-01:8>>
  %1 = qc.packed_weight %c layout <mma, bits = 4, k_axis = 0> : tensor<128xi8> -> tensor<32x8x!quant.uniform<u4:f32, 0.5:8>>
  return
}
