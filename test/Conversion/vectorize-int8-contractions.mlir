// RUN: quant-opt %s --split-input-file --qc-vectorize-int8-contractions=dot-bits=512 --canonicalize --cse | FileCheck %s
// RUN: quant-opt %s --split-input-file --qc-vectorize-int8-contractions="dot-bits=512 parallel=true min-parallel-macs=1" --canonicalize --cse | FileCheck %s --check-prefix=PAR
// RUN: quant-opt %s --split-input-file --qc-vectorize-int8-contractions=dot-bits=256 --canonicalize --cse | FileCheck %s --check-prefix=VEX
// RUN: quant-opt %s --split-input-file --qc-vectorize-int8-contractions="dot-bits=256 vnni=false" --canonicalize --cse | FileCheck %s --check-prefix=AVX2
// RUN: not quant-opt %s --split-input-file --qc-vectorize-int8-contractions="dot-bits=512 vnni=false" 2>&1 | FileCheck %s --check-prefix=BADAVX2
// RUN: quant-opt %s --split-input-file --qc-vectorize-int8-contractions | FileCheck %s --check-prefix=NODOT
// RUN: not quant-opt %s --split-input-file --qc-vectorize-int8-contractions=dot-bits=128 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: quant-opt %s --split-input-file --qc-vectorize-int8-contractions="dot-bits=512 parallel=true" | FileCheck %s --check-prefix=SMALL
// These contractions are below min-parallel-macs (2^20 multiply-adds by
// default): no threads.
// SMALL-NOT: scf.forall
// BAD: qc-vectorize-int8-contractions: dot-bits must be 0, 256 or 512

// MatMulInteger as the importer writes it: u8 activations with zero point
// 128, s8 weight [8, 32] whose row r holds r - 4 (every column sums to -4).
// CHECK-LABEL: func.func @u8_s8
// The weight as vpdpbusd reads it ([N/16, K/4, 64]) and its column sums.
// CHECK-DAG: %[[W:.*]] = arith.constant dense_resource<vnni_weight> : tensor<2x2x64xi8>
// CHECK-DAG: %[[SUMS:.*]] = arith.constant dense<-4> : tensor<32xi32>
// The activation's zero point (128; canonicalize folds it) for the sums.
// CHECK-DAG: %[[ZA:.*]] = arith.constant dense<128> : vector<16xi32>
// One register block: 4 rows x 2 column vectors, K / 4 = 2 quads.
// CHECK: scf.for %{{.*}} = %c0 to %c2 step %c1 iter_args({{.*}}) -> (vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>)
// CHECK: %[[W0:.*]] = vector.transfer_read %[[W]]{{.*}} : tensor<2x2x64xi8>, vector<64xi8>
// CHECK: %[[W0I:.*]] = vector.bitcast %[[W0]] : vector<64xi8> to vector<16xi32>
// CHECK: %[[W1:.*]] = vector.transfer_read %[[W]]
// The activation's 4 bytes broadcast (unsigned, not flipped).
// CHECK-NOT: arith.xori
// CHECK: %[[A4:.*]] = vector.transfer_read %{{.*}} : tensor<4x8xi8>, vector<4xi8>
// CHECK: %[[A1:.*]] = vector.bitcast %[[A4]] : vector<4xi8> to vector<1xi32>
// CHECK: %[[AB:.*]] = vector.broadcast %[[A1]] : vector<1xi32> to vector<16xi32>
// CHECK: llvm.inline_asm "vpdpbusd $2, $1, $0", "=v,v,v,0" %[[AB]], %[[W0I]], %{{.*}}
// CHECK-COUNT-7: llvm.inline_asm "vpdpbusd
// CHECK: scf.yield
// Epilogue: minus 128 x the column sums; no row sums (no weight zero point).
// CHECK: %[[S0:.*]] = vector.transfer_read %[[SUMS]]
// CHECK: %[[C0:.*]] = arith.muli %[[S0]], %[[ZA]] : vector<16xi32>
// CHECK: %[[Y0:.*]] = arith.subi %{{.*}}#0, %[[C0]] : vector<16xi32>
// CHECK: vector.transfer_write %[[Y0]], %{{.*}}[%c0, %c0] {{.*}} : vector<16xi32>, tensor<4x32xi32>
// The widened i32 copies are gone.
// CHECK-NOT: arith.extsi %{{.*}} : i8 to i32
// CHECK: return
// The layout: lane 0 of quad 0 holds w[0..3, 0] = -4 .. -1 (FC FD FE FF),
// lane 0 of quad 1 (byte 64) w[4..7, 0] = 0 .. 3.
// CHECK: vnni_weight: "0x40000000{{(FCFDFEFF)+(00010203)+}}
// PAR-LABEL: func.func @u8_s8
// One 32-column panel: nothing to split.
// PAR-NOT: scf.forall
// VEX-LABEL: func.func @u8_s8
// 256 bits: [N/8, K/4, 32], 4 rows x 2 vectors of 8 lanes.
// VEX: arith.constant dense_resource<vnni_weight> : tensor<4x2x32xi8>
// VEX: llvm.inline_asm "{vex} vpdpbusd $2, $1, $0", "=x,x,x,0" {{.*}} : (vector<8xi32>, vector<8xi32>, vector<8xi32>) -> vector<8xi32>
// AVX2 without VNNI: the same layout; 4 accumulators (each weight vector
// and broadcast is split into two 16-bit halves). The activation bytes:
// even ones masked (0x00FF00FF = 16711935), odd ones shifted down; the
// weight's: even ones shifted up and arithmetically back, odd ones shifted
// arithmetically; two vpmaddwd (exact, where vpmaddubsw would saturate
// 255 * -128 * 2).
// AVX2-LABEL: func.func @u8_s8
// AVX2-DAG: arith.constant dense<16711935> : vector<8xi32>
// AVX2-DAG: arith.constant dense<8> : vector<16xi16>
// AVX2: arith.constant dense_resource<vnni_weight> : tensor<4x2x32xi8>
// AVX2: scf.for {{.*}} -> (vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>)
// AVX2: arith.shrsi %{{.*}} : vector<16xi16>
// AVX2: %[[EVEN:.*]] = llvm.inline_asm "vpmaddwd $2, $1, $0", "=x,x,x"
// AVX2: %[[ODD:.*]] = llvm.inline_asm "vpmaddwd $2, $1, $0", "=x,x,x"
// AVX2: %[[SUM:.*]] = arith.addi %{{.*}}, %[[EVEN]] : vector<8xi32>
// AVX2: arith.addi %[[SUM]], %[[ODD]] : vector<8xi32>
// AVX2-NOT: vpdpbusd
// AVX2-NOT: vpmaddubsw
// BADAVX2: without vnni, dot-bits must be 0 or 256 (AVX2)
// NODOT-LABEL: func.func @u8_s8
// NODOT-NOT: vpdpbusd
// NODOT: attrs =  {qc.contraction, qc.int8_contraction
#id = affine_map<(d0, d1) -> (d0, d1)>
#zero = affine_map<(d0, d1) -> (0, 0)>
#mk = affine_map<(m, k, n) -> (m, k)>
#kn = affine_map<(m, k, n) -> (k, n)>
#mn = affine_map<(m, k, n) -> (m, n)>
func.func @u8_s8(%a: tensor<4x8xi8>) -> tensor<4x32xi32> {
  %w = arith.constant dense<[[-4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4], [-3, -3, -3, -3, -3, -3, -3, -3, -3, -3, -3, -3, -3, -3, -3, -3, -3, -3, -3, -3, -3, -3, -3, -3, -3, -3, -3, -3, -3, -3, -3, -3], [-2, -2, -2, -2, -2, -2, -2, -2, -2, -2, -2, -2, -2, -2, -2, -2, -2, -2, -2, -2, -2, -2, -2, -2, -2, -2, -2, -2, -2, -2, -2, -2], [-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2], [3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3]]> : tensor<8x32xi8>
  %zp = arith.constant dense<-128> : tensor<1x1xi8>
  %e0 = tensor.empty() : tensor<4x8xi32>
  %a32 = linalg.generic {indexing_maps = [#id, #zero, #id], iterator_types = ["parallel", "parallel"]} ins(%a, %zp : tensor<4x8xi8>, tensor<1x1xi8>) outs(%e0 : tensor<4x8xi32>) {
  ^bb0(%x: i8, %z: i8, %o: i32):
    %1 = arith.extui %x : i8 to i32
    %2 = arith.extui %z : i8 to i32
    %3 = arith.subi %1, %2 : i32
    linalg.yield %3 : i32
  } -> tensor<4x8xi32>
  %e1 = tensor.empty() : tensor<8x32xi32>
  %w32 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%w : tensor<8x32xi8>) outs(%e1 : tensor<8x32xi32>) {
  ^bb0(%x: i8, %o: i32):
    %1 = arith.extsi %x : i8 to i32
    linalg.yield %1 : i32
  } -> tensor<8x32xi32>
  %c0 = arith.constant 0 : i32
  %e2 = tensor.empty() : tensor<4x32xi32>
  %init = linalg.fill ins(%c0 : i32) outs(%e2 : tensor<4x32xi32>) -> tensor<4x32xi32>
  %y = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "reduction", "parallel"]} ins(%a32, %w32 : tensor<4x8xi32>, tensor<8x32xi32>) outs(%init : tensor<4x32xi32>) attrs = {qc.contraction, qc.int8_contraction = {lhs_signed = false, rhs_signed = true}} {
  ^bb0(%x: i32, %y: i32, %o: i32):
    %1 = arith.muli %x, %y : i32
    %2 = arith.addi %o, %1 : i32
    linalg.yield %2 : i32
  } -> tensor<4x32xi32>
  return %y : tensor<4x32xi32>
}

// -----

// Signed activations (flipped to unsigned once: XOR 0x80 = -128) and a
// per-column weight zero point (the activation's row sums join the
// epilogue); 4 panels of 64 columns, split over threads with parallel.
// CHECK-LABEL: func.func @s8_s8_zero_points
// CHECK: %[[FLIP:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<4x8xi8>) outs(%{{.*}} : tensor<4x8xi8>)
// CHECK: arith.xori %{{.*}}, %c-128_i8 : i8
// CHECK: %[[ROWSUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%{{.*}} : tensor<4x8xi8>) outs(%{{.*}} : tensor<4xi32>)
// CHECK: arith.extsi %{{.*}} : i8 to i32
// CHECK: scf.for
// CHECK-COUNT-16: llvm.inline_asm "vpdpbusd
// CHECK: tensor.extract %[[ROWSUM]]
// The weight's zero points, 16 columns at a time.
// CHECK: vector.transfer_read %{{.*}} : tensor<1x256xi8>, vector<16xi8>
// CHECK: arith.extsi %{{.*}} : vector<16xi8> to vector<16xi32>
// PAR-LABEL: func.func @s8_s8_zero_points
// PAR: scf.forall (%{{.*}}) in (4)
// PAR: tensor.parallel_insert_slice %{{.*}} into %{{.*}}[0, %{{.*}}] [4, 64] [1, 1]
#id = affine_map<(d0, d1) -> (d0, d1)>
#zero = affine_map<(d0, d1) -> (0, 0)>
#col = affine_map<(d0, d1) -> (0, d1)>
#mk = affine_map<(m, k, n) -> (m, k)>
#kn = affine_map<(m, k, n) -> (k, n)>
#mn = affine_map<(m, k, n) -> (m, n)>
func.func @s8_s8_zero_points(%a: tensor<4x8xi8>, %zb: tensor<1x256xi8>) -> tensor<4x256xi32> {
  %w = arith.constant dense<"0x0102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F10"> : tensor<8x256xi8>
  %e0 = tensor.empty() : tensor<4x8xi32>
  %a32 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%a : tensor<4x8xi8>) outs(%e0 : tensor<4x8xi32>) {
  ^bb0(%x: i8, %o: i32):
    %1 = arith.extsi %x : i8 to i32
    linalg.yield %1 : i32
  } -> tensor<4x8xi32>
  %e1 = tensor.empty() : tensor<8x256xi32>
  %w32 = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]} ins(%w, %zb : tensor<8x256xi8>, tensor<1x256xi8>) outs(%e1 : tensor<8x256xi32>) {
  ^bb0(%x: i8, %z: i8, %o: i32):
    %1 = arith.extsi %x : i8 to i32
    %2 = arith.extsi %z : i8 to i32
    %3 = arith.subi %1, %2 : i32
    linalg.yield %3 : i32
  } -> tensor<8x256xi32>
  %c0 = arith.constant 0 : i32
  %e2 = tensor.empty() : tensor<4x256xi32>
  %init = linalg.fill ins(%c0 : i32) outs(%e2 : tensor<4x256xi32>) -> tensor<4x256xi32>
  %y = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "reduction", "parallel"]} ins(%a32, %w32 : tensor<4x8xi32>, tensor<8x256xi32>) outs(%init : tensor<4x256xi32>) attrs = {qc.contraction, qc.int8_contraction = {lhs_signed = true, rhs_signed = true}} {
  ^bb0(%x: i32, %y: i32, %o: i32):
    %1 = arith.muli %x, %y : i32
    %2 = arith.addi %o, %1 : i32
    linalg.yield %2 : i32
  } -> tensor<4x256xi32>
  return %y : tensor<4x256xi32>
}

// -----

// Left alone: an unsigned weight (vpdpbusd's second operand is signed), and
// a weight that is not a constant.
// CHECK-LABEL: func.func @untouched
// CHECK-NOT: vpdpbusd
// CHECK-COUNT-2: qc.int8_contraction
#id = affine_map<(d0, d1) -> (d0, d1)>
#mk = affine_map<(m, k, n) -> (m, k)>
#kn = affine_map<(m, k, n) -> (k, n)>
#mn = affine_map<(m, k, n) -> (m, n)>
func.func @untouched(%a: tensor<4x8xi8>, %wv: tensor<8x16xi8>) -> (tensor<4x16xi32>, tensor<4x16xi32>) {
  %w = arith.constant dense<"0x0102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F100102030405060708090A0B0C0D0E0F10"> : tensor<8x16xi8>
  %e0 = tensor.empty() : tensor<4x8xi32>
  %a32 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%a : tensor<4x8xi8>) outs(%e0 : tensor<4x8xi32>) {
  ^bb0(%x: i8, %o: i32):
    %1 = arith.extui %x : i8 to i32
    linalg.yield %1 : i32
  } -> tensor<4x8xi32>
  %e1 = tensor.empty() : tensor<8x16xi32>
  %u32 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%w : tensor<8x16xi8>) outs(%e1 : tensor<8x16xi32>) {
  ^bb0(%x: i8, %o: i32):
    %1 = arith.extui %x : i8 to i32
    linalg.yield %1 : i32
  } -> tensor<8x16xi32>
  %v32 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%wv : tensor<8x16xi8>) outs(%e1 : tensor<8x16xi32>) {
  ^bb0(%x: i8, %o: i32):
    %1 = arith.extsi %x : i8 to i32
    linalg.yield %1 : i32
  } -> tensor<8x16xi32>
  %c0 = arith.constant 0 : i32
  %e2 = tensor.empty() : tensor<4x16xi32>
  %init = linalg.fill ins(%c0 : i32) outs(%e2 : tensor<4x16xi32>) -> tensor<4x16xi32>
  %y0 = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "reduction", "parallel"]} ins(%a32, %u32 : tensor<4x8xi32>, tensor<8x16xi32>) outs(%init : tensor<4x16xi32>) attrs = {qc.contraction, qc.int8_contraction = {lhs_signed = false, rhs_signed = false}} {
  ^bb0(%x: i32, %y: i32, %o: i32):
    %1 = arith.muli %x, %y : i32
    %2 = arith.addi %o, %1 : i32
    linalg.yield %2 : i32
  } -> tensor<4x16xi32>
  %y1 = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "reduction", "parallel"]} ins(%a32, %v32 : tensor<4x8xi32>, tensor<8x16xi32>) outs(%init : tensor<4x16xi32>) attrs = {qc.contraction, qc.int8_contraction = {lhs_signed = false, rhs_signed = true}} {
  ^bb0(%x: i32, %y: i32, %o: i32):
    %1 = arith.muli %x, %y : i32
    %2 = arith.addi %o, %1 : i32
    linalg.yield %2 : i32
  } -> tensor<4x16xi32>
  return %y0, %y1 : tensor<4x16xi32>, tensor<4x16xi32>
}
