// RUN: quant-opt %s --qc-pack-weights --convert-qc-to-linalg=packed-int8-activations=true --qc-vectorize-packed-contractions=dot-bits=512 --canonicalize --cse | FileCheck %s
// RUN: quant-opt %s --qc-pack-weights --convert-qc-to-linalg=packed-int8-activations=true --qc-vectorize-packed-contractions="dot-bits=256 vnni=false" --canonicalize --cse | FileCheck %s --check-prefix=AVX2
// RUN: not quant-opt %s --qc-pack-weights --convert-qc-to-linalg=packed-int8-activations=true --qc-vectorize-packed-contractions="dot-bits=512 vnni=false" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not quant-opt %s --qc-vectorize-packed-contractions=dot-bits=128 2>&1 | FileCheck %s --check-prefix=BADBITS

// W4A8 with N a multiple of the lanes: the weight is laid out at compile
// time as [N/16, K/8, 16] words (lanes are output columns), so no
// activation rearrangement and no horizontal sum. Per pair of words
// (unrolled): low and high nibbles, each against 4 activation bytes
// broadcast from x itself (bytes 8w..8w+3, 8w+4..8w+7), into 4 i32
// accumulators; per group (here the whole row: a per-tensor scale) the
// sum, converted, minus 8 x the row's code sum (signed codes stored as
// c + 8), times the scale lanes ([N/16, groups, 16]).
// CHECK-LABEL: func.func @vnni_layout
// CHECK-DAG: %[[EIGHT:.*]] = arith.constant dense<-8.000000e+00> : vector<16xf32>
// CHECK-DAG: %[[SCALES:.*]] = arith.constant dense_resource<vnni_scales> : tensor<2x1x16xf32>
// CHECK-DAG: %[[W:.*]] = arith.constant dense_resource<vnni_int4> : tensor<2x32x16xi32>
// CHECK-NOT: xori
// The row's code sums.
// CHECK: %[[SUMS:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<?x1x256xi8>) outs(%{{.*}} : tensor<?x1xf32>)
// CHECK: scf.for %[[NB:.*]] = %c0 to %c2
// CHECK: scf.for %[[ROW:.*]] = %c0 to %dim
// CHECK: scf.for %[[WORD:.*]] = %c0 to %c32 step %c2 iter_args({{.*}}) -> (vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>)
// CHECK: %[[WV:.*]] = vector.transfer_read %[[W]][%[[NB]], %[[WORD]], %c0]
// CHECK: %[[LO:.*]] = arith.andi %[[WV]]
// CHECK: %[[SH:.*]] = arith.shrui %[[WV]]
// CHECK: %[[HI:.*]] = arith.andi %[[SH]]
// CHECK: %[[K:.*]] = arith.muli %[[WORD]], %c8
// CHECK: vector.transfer_read %{{.*}}[%[[ROW]], %[[K]]]{{.*}} : tensor<?x256xi8>, vector<4xi8>
// CHECK: %[[XLO:.*]] = vector.broadcast %{{.*}} : vector<1xi32> to vector<16xi32>
// CHECK: llvm.inline_asm "vpdpbusd $2, $1, $0", "=v,v,v,0" %[[LO]], %[[XLO]]
// CHECK: %[[XHI:.*]] = vector.broadcast %{{.*}} : vector<1xi32> to vector<16xi32>
// CHECK: llvm.inline_asm "vpdpbusd $2, $1, $0", "=v,v,v,0" %[[HI]], %[[XHI]]
// CHECK-COUNT-2: llvm.inline_asm "vpdpbusd
// CHECK: scf.yield
// CHECK: %[[S:.*]] = vector.transfer_read %[[SCALES]][%[[NB]], %c0, %c0]
// CHECK: %[[DOT:.*]] = arith.sitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// CHECK: %[[XS:.*]] = tensor.extract %[[SUMS]][%[[ROW]], %c0]
// CHECK: %[[XSV:.*]] = vector.broadcast %[[XS]]
// CHECK: %[[CORR:.*]] = vector.fma %[[EIGHT]], %[[XSV]], %[[DOT]]
// CHECK: vector.fma %[[S]], %[[CORR]]
// CHECK-NOT: vector.reduction
// CHECK: vector.transfer_write %{{.*}} : vector<16xf32>, tensor<?x32xf32>
// AVX2 without VNNI: 8 lanes; each dot product is vpmaddubsw (nibbles
// times codes, pairs in i16) and vpmaddwd by ones (65537 = two i16 ones).
// AVX2-LABEL: func.func @vnni_layout
// AVX2-DAG: arith.constant dense<65537> : vector<8xi32>
// AVX2-DAG: arith.constant dense_resource<vnni_int4> : tensor<4x32x8xi32>
// AVX2: %[[P:.*]] = llvm.inline_asm "vpmaddubsw $2, $1, $0", "=x,x,x"
// AVX2: %[[Q:.*]] = llvm.inline_asm "vpmaddwd $2, $1, $0", "=x,x,x" %[[P]]
// AVX2: arith.addi %{{.*}}, %[[Q]] : vector<8xi32>
// AVX2-NOT: vpdpbusd
// BAD: without vnni, dot-bits must be 0 or 256 (AVX2)
// BADBITS: dot-bits must be 0, 256 or 512
func.func @vnni_layout(%x: tensor<?x256xf32>) -> tensor<?x32xf32> {
  %cst = arith.constant dense<3> : tensor<32x256xi4>
  %w = quant.scast %cst : tensor<32x256xi4> to tensor<32x256x!quant.uniform<i4:f32, 0.5>>
  %q = qc.quantize_per_token %x {bits = 8} : tensor<?x256xf32>
  %y = qc.matmul %q, %w {transpose_rhs} : (tensor<?x256xf32>, tensor<32x256x!quant.uniform<i4:f32, 0.5>>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// N = 20 is not a multiple of 16 (nor of 8): the nibbles words stay, read
// by the chunk kernel (XOR to c + 8 at run time, a horizontal sum).
// CHECK-LABEL: func.func @not_multiple_of_lanes
// CHECK-NOT: vnni_int4
// CHECK: arith.xori
// CHECK: llvm.inline_asm "vpdpbusd
// CHECK: vector.reduction <add>
// AVX2-LABEL: func.func @not_multiple_of_lanes
// AVX2-NOT: vnni_int4
// AVX2: vpmaddubsw
func.func @not_multiple_of_lanes(%x: tensor<1x256xf32>) -> tensor<1x20xf32> {
  %cst = arith.constant dense<3> : tensor<20x256xi4>
  %w = quant.scast %cst : tensor<20x256xi4> to tensor<20x256x!quant.uniform<i4:f32, 0.5>>
  %q = qc.quantize_per_token %x {bits = 8} : tensor<1x256xf32>
  %y = qc.matmul %q, %w {transpose_rhs} : (tensor<1x256xf32>, tensor<20x256x!quant.uniform<i4:f32, 0.5>>) -> tensor<1x20xf32>
  return %y : tensor<1x20xf32>
}

// Float activations are not W4A8: the float kernel, no VNNI layout.
// CHECK-LABEL: func.func @float_activations
// CHECK-NOT: vnni_int4
// CHECK-NOT: inline_asm
// CHECK: vector.fma
func.func @float_activations(%x: tensor<1x256xf32>) -> tensor<1x32xf32> {
  %cst = arith.constant dense<3> : tensor<32x256xi4>
  %w = quant.scast %cst : tensor<32x256xi4> to tensor<32x256x!quant.uniform<i4:f32, 0.5>>
  %y = qc.matmul %x, %w {transpose_rhs} : (tensor<1x256xf32>, tensor<32x256x!quant.uniform<i4:f32, 0.5>>) -> tensor<1x32xf32>
  return %y : tensor<1x32xf32>
}
