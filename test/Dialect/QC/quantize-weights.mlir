// RUN: quant-opt %s --split-input-file --qc-quantize-weights="bits=8 group=0" | FileCheck %s --check-prefix=W8
// RUN: quant-opt %s --split-input-file --qc-quantize-weights="bits=4 group=2 symmetric=false" | FileCheck %s --check-prefix=U4
// RUN: quant-opt %s --split-input-file --qc-quantize-weights="bits=4 group=2 keep-float=lm_.*" | FileCheck %s --check-prefix=KEEP
// RUN: not quant-opt %s --split-input-file --qc-quantize-weights="bits=4 group=3" 2>&1 | FileCheck %s --check-prefix=GROUP
// RUN: not quant-opt %s --split-input-file --qc-quantize-weights="bits=5" 2>&1 | FileCheck %s --check-prefix=BITS
// RUN: quant-opt %s --split-input-file --qc-quantize-weights="format=fp8 group=0" | FileCheck %s --check-prefix=FP8
// RUN: not quant-opt %s --split-input-file --qc-quantize-weights="format=mxfp4" 2>&1 | FileCheck %s --check-prefix=MX
// RUN: not quant-opt %s --split-input-file --qc-quantize-weights="format=fp7" 2>&1 | FileCheck %s --check-prefix=FMT
// RUN: quant-opt %s --split-input-file --qc-quantize-weights="format=fp8-e5m2 group=0" | FileCheck %s --check-prefix=E5M2
// RUN: not quant-opt %s --split-input-file --qc-quantize-weights="format=fp8 method=rtn-clip" 2>&1 | FileCheck %s --check-prefix=FMETHOD

// A [K = 4, N = 2] weight. Per output channel (column) at 8 bits,
// symmetric: column 0 = [1, -2, 0.5, 4] -> scale 4/127, codes
// round([1, -2, 0.5, 4] · 127/4) = [32, -64, 16, 127]; column 1 =
// [0.25, 0.5, -1, 2] -> scale 2/127, codes [16, 32, -64, 127].
// W8-LABEL: func.func @linear
// W8: %[[C:.*]] = arith.constant dense<{{\[}}[32, 16], [-64, 32], [16, -64], [127, 127]]> : tensor<4x2xi8>
// W8: %[[Q:.*]] = quant.scast %[[C]] : tensor<4x2xi8> to tensor<4x2x!quant.uniform<i8:f32:1, {0.031496{{[0-9]*}},0.015748{{[0-9]*}}}>>
// The relative error ‖W − dequant(quant(W))‖ / ‖W‖ is recorded for the
// report: errors [0.00787, −0.01575, 0.00394, 0] and [0.00197, 0.00394,
// −0.00787, 0], Σ² = 4.065e-4, ‖W‖² = 26.5625 -> 0.003912.
// W8: qc.matmul %arg0, %[[Q]] {qc.weight_error = 0.00391{{[0-9]*}} : f32} : (tensor<3x4xf32>, tensor<4x2x!quant.uniform<i8:f32:1, {{.*}}>>) -> tensor<3x2xf32>
// Groups of 2 along K, asymmetric 4-bit (codes 0..15): column 0, rows 0-1 =
// [1, -2]: range [-2, 1], scale 3/15 = 0.2, zero point round(2/0.2) = 10,
// codes round([1, -2]/0.2) + 10 = [15, 0] (15 prints as -1: the storage
// constant is signless i4; the u4 type says to read it unsigned). Column 1,
// rows 0-1 = [0.25, 0.5]: range [0, 0.5], scale 0.5/15, zero point 0.
// U4-LABEL: func.func @linear
// U4: arith.constant dense<{{\[}}[-1, {{.*}}], [0, {{.*}}], {{.*}}> : tensor<4x2xi4>
// U4: quant.scast %{{.*}} : tensor<4x2xi4> to tensor<4x2x!quant.uniform<u4:f32:{0:2, 1:1}, {{\{}}{2.000000e-01:10, 0.0333333351}
// keep-float matches the node name "lm_head" in whole: left float.
// KEEP-LABEL: func.func @linear
// KEEP-NOT: quant.scast
// KEEP: qc.matmul %arg0, %{{.*}} : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
// GROUP: error: loc("lm_head"): 'qc.matmul' op weight of node 'lm_head': group size 3 does not divide K = 4 (choose another --group, or --keep-float this node)
// BITS: qc-quantize-weights: bits must be 4 or 8, got 5
// fp8 per channel: column 0 = [1, -2, 0.5, 4] -> scale 4/448, codes
// [112, -224, 56, 448] (all exact in E4M3FN); column 1 = [0.25, 0.5, -1, 2]
// -> scale 2/448, the same codes. The weight is qc.decode of them.
// FP8-LABEL: func.func @linear
// FP8: %[[C:.*]] = arith.constant dense<{{\[}}[1.120000e+02, 5.600000e+01], [-2.240000e+02, 1.120000e+02], [5.600000e+01, -2.240000e+02], [4.480000e+02, 4.480000e+02]]> : tensor<4x2xf8E4M3FN>
// FP8: %[[S:.*]] = arith.constant dense<{{\[}}[0.00892857183, 0.00446428591]]> : tensor<1x2xf32>
// FP8: %[[W:.*]] = qc.decode %[[C]] scales %[[S]] : (tensor<4x2xf8E4M3FN>, tensor<1x2xf32>) -> tensor<4x2xf32>
// FP8: qc.matmul %arg0, %[[W]] {qc.weight_error = 0.000000e+00 : f32}
// fp8-e5m2 per channel: column 0 -> scale 4/57344, codes [14336, -28672,
// 7168, 57344] = 1.75·2^{13, 14, 12, 15}, exact in E5M2; column 1 -> scale
// 2/57344, the same magnitudes.
// E5M2-LABEL: func.func @linear
// E5M2: %[[C:.*]] = arith.constant dense<{{\[}}[1.433600e+04, 7.168000e+03], [-2.867200e+04, 1.433600e+04], [7.168000e+03, -2.867200e+04], [5.734400e+04, 5.734400e+04]]> : tensor<4x2xf8E5M2>
// E5M2: %[[S:.*]] = arith.constant dense<{{\[}}[6.97544674E-5, 3.48772337E-5]]> : tensor<1x2xf32>
// E5M2: qc.decode %[[C]] scales %[[S]] : (tensor<4x2xf8E5M2>, tensor<1x2xf32>) -> tensor<4x2xf32>
// MX: 'qc.matmul' op weight of node 'lm_head' (mxfp4): block size 32 does not divide the 4 columns (choose another --group, or --keep-float this node)
// FMT: qc-quantize-weights: unknown format 'fp7' (expected int, fp8, fp8-e5m2, mxfp4 or nvfp4)
// FMETHOD: qc-quantize-weights: method rtn-clip applies to integer formats; format fp8 rounds to nearest (method=rtn)
func.func @linear(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, 0.25], [-2.0, 0.5], [0.5, -1.0], [4.0, 2.0]]> : tensor<4x2xf32>
  %y = qc.matmul %x, %w : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32> loc("lm_head")
  return %y : tensor<3x2xf32>
}

// -----

// A transposed [N = 2, K = 4] weight (y = x Wᵀ): the channel axis is 0,
// groups run along axis 1 (block sizes {1, 2}).
// W8-LABEL: func.func @transposed
// W8: quant.scast %{{.*}} : tensor<2x4xi8> to tensor<2x4x!quant.uniform<i8:f32:0, {0.031496{{[0-9]*}},0.015748{{[0-9]*}}}>>
// U4-LABEL: func.func @transposed
// U4: quant.scast %{{.*}} : tensor<2x4xi4> to tensor<2x4x!quant.uniform<u4:f32:{0:1, 1:2}, {{.*}}>>
func.func @transposed(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, -2.0, 0.5, 4.0], [0.25, 0.5, -1.0, 2.0]]> : tensor<2x4xf32>
  %y = qc.matmul %x, %w {transpose_rhs} : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32> loc("q_proj")
  return %y : tensor<3x2xf32>
}

// -----

// Left alone: a weight that is not a constant (an activation × activation
// product), a 3-D weight, and an already quantized matmul.
// W8-LABEL: func.func @untouched
// W8-NOT: quant.scast %{{.*}} : tensor<4x2xi8>
// W8: qc.matmul %arg0, %arg1 : (tensor<3x4xf32>, tensor<4x2xf32>)
// W8: qc.matmul %{{.*}}, %{{.*}} : (tensor<2x3x4xf32>, tensor<2x4x2xf32>)
// W8: qc.matmul %arg0, %{{.*}} : (tensor<3x4xf32>, tensor<4x2x!quant.uniform<i8:f32, 5.000000e-01>>)
func.func @untouched(%x: tensor<3x4xf32>, %a: tensor<4x2xf32>, %b: tensor<2x3x4xf32>) -> (tensor<3x2xf32>, tensor<2x3x2xf32>, tensor<3x2xf32>) {
  %0 = qc.matmul %x, %a : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  %w3 = arith.constant dense<1.5> : tensor<2x4x2xf32>
  %1 = qc.matmul %b, %w3 : (tensor<2x3x4xf32>, tensor<2x4x2xf32>) -> tensor<2x3x2xf32>
  %c = arith.constant dense<3> : tensor<4x2xi8>
  %q = quant.scast %c : tensor<4x2xi8> to tensor<4x2x!quant.uniform<i8:f32, 0.5>>
  %2 = qc.matmul %x, %q : (tensor<3x4xf32>, tensor<4x2x!quant.uniform<i8:f32, 0.5>>) -> tensor<3x2xf32>
  return %0, %1, %2 : tensor<3x2xf32>, tensor<2x3x2xf32>, tensor<3x2xf32>
}

// -----

// method=gptq needs the Hessian that quant-compile --calib attaches; from
// quant-opt there is none.
// RUN: not quant-opt %s --split-input-file --qc-quantize-weights="method=gptq group=0" 2>&1 | FileCheck %s --check-prefix=GPTQ
// GPTQ: method gptq needs calibration data for this matmul (quant-compile --calib DIR)
func.func @gptq(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, 0.25], [-2.0, 0.5], [0.5, -1.0], [4.0, 2.0]]> : tensor<4x2xf32>
  %y = qc.matmul %x, %w : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// A convolution weight [F = 2, C = 1, 1, 2]: one scale per output channel
// (axis 0) whatever `group` says, and the convolution reads the
// dequantized weight. int8: filter 0 = [1, -2] -> scale 2/127, codes
// round([63.5, -127]) = [64, -127] (half to even); filter 1 = [0.5, 4] ->
// scale 4/127, codes [round(15.875), 127] = [16, 127]. uint4: filter 0
// range [-2, 1], scale 0.2, zero point 10, codes [15, 0]; filter 1 range
// [0, 4], scale 4/15, zero point 0, codes [2, 15].
// W8-LABEL: func.func @conv
// W8: %[[C:.*]] = arith.constant dense<{{.}}{{.}}{{.}}{{.}}64, -127{{.}}{{.}}{{.}}, {{.}}{{.}}{{.}}16, 127{{.*}}> : tensor<2x1x1x2xi8>
// W8: %[[Q:.*]] = quant.scast %[[C]] : tensor<2x1x1x2xi8> to tensor<2x1x1x2x!quant.uniform<i8:f32:0, {0.015748{{[0-9]*}},0.031496{{[0-9]*}}}>>
// W8: %[[D:.*]] = qc.dequantize %[[Q]] : {{.*}} -> tensor<2x1x1x2xf32>
// W8: linalg.conv_2d_nchw_fchw {{{.*}}qc.weight_error = {{.*}}} ins(%arg0, %[[D]] : tensor<1x1x3x3xf32>, tensor<2x1x1x2xf32>)
// U4-LABEL: func.func @conv
// U4: arith.constant dense<{{.}}{{.}}{{.}}{{.}}-1, 0{{.}}{{.}}{{.}}, {{.}}{{.}}{{.}}2, -1{{.*}}> : tensor<2x1x1x2xi4>
// U4: tensor<2x1x1x2x!quant.uniform<u4:f32:0, {0.200000{{[0-9]*}}:10,0.266666{{[0-9]*}}}>>
// KEEP-LABEL: func.func @conv
// KEEP: qc.dequantize
// fp8 on a convolution: one scale per filter ([2, 1, 1, 1]): 2/448, 4/448.
// FP8-LABEL: func.func @conv
// FP8: %[[S:.*]] = arith.constant dense<{{.*}}0.00446428591{{.*}}0.00892857183{{.*}}> : tensor<2x1x1x1xf32>
// FP8: qc.decode %{{.*}} scales %[[S]] : (tensor<2x1x1x2xf8E4M3FN>, tensor<2x1x1x1xf32>) -> tensor<2x1x1x2xf32>
// E5M2-LABEL: func.func @conv
// E5M2: qc.decode %{{.*}} scales %{{.*}} : (tensor<2x1x1x2xf8E5M2>, tensor<2x1x1x1xf32>) -> tensor<2x1x1x2xf32>
func.func @conv(%x: tensor<1x1x3x3xf32>, %o: tensor<1x2x3x2xf32>) -> tensor<1x2x3x2xf32> {
  %w = arith.constant dense<[[[[1.0, -2.0]]], [[[0.5, 4.0]]]]> : tensor<2x1x1x2xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : tensor<1x1x3x3xf32>, tensor<2x1x1x2xf32>) outs(%o : tensor<1x2x3x2xf32>) -> tensor<1x2x3x2xf32>
  return %y : tensor<1x2x3x2xf32>
}
