//===- NibbleF16Body.h - int4 words times activations in f16 pairs -*- C++ -*-===//
//
// The arithmetic of the f16-pair body of a packed int4 contraction, shared
// by convert-qc-to-linalg (one word per iteration of its generic) and
// qc-map-to-gpu's GEMV (a lane's run of adjacent words under one scale).
//
//===----------------------------------------------------------------------===//

#ifndef QC_LIB_CONVERSION_NIBBLEF16BODY_H
#define QC_LIB_CONVERSION_NIBBLEF16BODY_H

#include "mlir/IR/Builders.h"

namespace mlir::qc {

/// Σ over `words` (i32, 8 codes each, code i in bits 4i..4i+3) and their
/// activations `x` (8 per word, in code order; f32 or narrower floats) of
/// (code − zeroPoint) · x, times `scale`, as an f32. The words must share
/// the scale and zero point. Per word: four pairs of codes (i, i + 4),
/// each expanded by one and/or (numerics::NibblePairF16) and scaled to
/// (u − offset)/16 by one f16x2 fma (exact), times the activations' pairs
/// rounded to f16, summed in f16x2 chains of two words (each half of a
/// chain sums 8 products of magnitude at most |x|), each chain's halves
/// added in f32; the words' sum then takes 16 · scale once. (On an H200,
/// K = 16416 with random codes and zero points: one chain of 4 words
/// erred by 0.026 against the f32 sum, chains of 2 by 0.019, of 1 by
/// 0.014; docs/gpu.md.) `zeroPoint`: an integer value, or null for 0;
/// signed codes (`isSigned`) are offset by 8 first.
Value buildNibbleF16Sum(OpBuilder &b, Location loc, ArrayRef<Value> words,
                        ArrayRef<Value> x, Value scale, Value zeroPoint,
                        bool isSigned);

} // namespace mlir::qc

#endif // QC_LIB_CONVERSION_NIBBLEF16BODY_H
