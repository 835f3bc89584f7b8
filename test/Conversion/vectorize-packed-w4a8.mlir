// RUN: quant-opt %s --qc-pack-weights --convert-qc-to-linalg=packed-int8-activations=true --qc-vectorize-packed-contractions=dot-bits=512 --canonicalize --cse | FileCheck %s
// RUN: quant-opt %s --qc-pack-weights --convert-qc-to-linalg=packed-int8-activations=true --qc-vectorize-packed-contractions=dot-bits=256 --canonicalize --cse | FileCheck %s --check-prefix=VEX
// RUN: quant-opt %s --qc-pack-weights --convert-qc-to-linalg=packed-int8-activations=true --qc-vectorize-packed-contractions --canonicalize --cse | FileCheck %s --check-prefix=NODOT
// RUN: quant-opt %s --qc-pack-weights --convert-qc-to-linalg | FileCheck %s --check-prefix=UNPACKED

// W4A8: per-token int8 codes times a signed int4 weight in groups of 128.
// convert-qc-to-linalg (packed-int8-activations) contracts the i8 codes
// with the words in an integer generic marked int8, and scales rows by the
// per-token scales after it. With VNNI the kernel rearranges the codes to
// [M, chunks, 2, 64] (byte t of lane l: code 8l + 2t, + 1 for the high
// nibbles), keeps their per-word sums, and per chunk of 16 words: XOR to
// c + 8, the low and high nibbles (& 0x0F0F0F0F = 252645135, >> 4), two
// vpdpbusd into i32 lanes, converted, minus 8 x the code sums, times the
// scale.
// CHECK-LABEL: func.func @w4a8
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<1x2x16x4x2xi8>) outs(%{{.*}} : tensor<1x2x2x16x4xi8>)
// CHECK: %[[CODES:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0], [1], [2], [3, 4]] : tensor<1x2x2x16x4xi8> into tensor<1x2x2x64xi8>
// CHECK: scf.for
// CHECK: %[[W:.*]] = vector.transfer_read {{.*}} : tensor<2x32xi32>, vector<16xi32>
// CHECK: %[[X8:.*]] = arith.xori %[[W]]
// CHECK: %[[LO:.*]] = arith.andi %[[X8]], %cst{{.*}} : vector<16xi32>
// CHECK: %[[SH:.*]] = arith.shrui %[[X8]]
// CHECK: %[[HI:.*]] = arith.andi %[[SH]]
// CHECK: %[[XLO:.*]] = vector.bitcast %{{.*}} : vector<64xi8> to vector<16xi32>
// CHECK: %[[D0:.*]] = llvm.inline_asm "vpdpbusd $2, $1, $0", "=v,v,v,0" %[[LO]], %[[XLO]], %{{.*}}
// CHECK: %[[XHI:.*]] = vector.bitcast %{{.*}} : vector<64xi8> to vector<16xi32>
// CHECK: %[[D1:.*]] = llvm.inline_asm "vpdpbusd $2, $1, $0", "=v,v,v,0" %[[HI]], %[[XHI]], %[[D0]]
// CHECK: arith.sitofp %[[D1]] : vector<16xi32> to vector<16xf32>
// CHECK: vector.reduction <add>
// The per-token scales after the contraction.
// CHECK: linalg.generic
// CHECK: arith.mulf
// CHECK-NOT: qc.packed_contraction
// VEX-LABEL: func.func @w4a8
// VEX-COUNT-2: llvm.inline_asm "{vex} vpdpbusd $2, $1, $0", "=x,x,x,0"
// Without VNNI the integer generic stays (it computes the same sums).
// NODOT-LABEL: func.func @w4a8
// NODOT: qc.packed_contraction = {int8 = true, signed = true, zero_point = 0.000000e+00 : f32}
// NODOT: arith.shrsi
// NODOT: arith.extsi %{{.*}} : i8 to i32
// NODOT-NOT: inline_asm
// Without packed-int8-activations the weight is unpacked at compile time.
// UNPACKED-LABEL: func.func @w4a8
// UNPACKED-NOT: qc.packed_contraction
// UNPACKED: arith.constant dense<3> : tensor<2x2x128xi8>
func.func @w4a8(%x: tensor<1x256xf32>) -> tensor<1x2xf32> {
  %cst = arith.constant dense<3> : tensor<2x256xi4>
  %w = quant.scast %cst : tensor<2x256xi4> to tensor<2x256x!quant.uniform<i4:f32:{0:1, 1:128}, {{1.0, 2.0}, {0.5, 0.25}}>>
  %q = qc.quantize_per_token %x {bits = 8} : tensor<1x256xf32>
  %y = qc.matmul %q, %w {transpose_rhs} : (tensor<1x256xf32>, tensor<2x256x!quant.uniform<i4:f32:{0:1, 1:128}, {{1.0, 2.0}, {0.5, 0.25}}>>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}
