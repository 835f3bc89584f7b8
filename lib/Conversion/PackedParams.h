//===- PackedParams.h - parameters of a packed int4 contraction -*- C++ -*-===//
//
// Shared by the CPU kernels (VectorizePackedContractions.cpp) and the GPU
// kernels (GPUMmaKernel.cpp, MapToGPU.cpp's GEMV): how a scale or zero point
// of a `qc.packed_contraction` generic is indexed along the packed words,
// and which of its operands they are.
//
//===----------------------------------------------------------------------===//

#ifndef QC_LIB_CONVERSION_PACKEDPARAMS_H
#define QC_LIB_CONVERSION_PACKEDPARAMS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/Support/LLVM.h"

#include <cmath>
#include <optional>

namespace mlir::qc {

/// How many words share a parameter value along K, from its indexing map
/// over the generic's loops: no result depends on the word loop `wDim` (0),
/// one result is w (1) or w floordiv c (c). Fails where a result depends on
/// a loop other than the column `nDim` and `wDim`, or on w otherwise.
inline FailureOr<int64_t> packedWordsPerValue(AffineMap map, unsigned nDim,
                                              unsigned wDim) {
  int64_t per = 0;
  for (AffineExpr e : map.getResults()) {
    for (unsigned d = 0; d < map.getNumDims(); ++d)
      if (d != nDim && d != wDim && e.isFunctionOfDim(d))
        return failure();
    if (!e.isFunctionOfDim(wDim))
      continue;
    if (per)
      return failure();
    if (auto dim = dyn_cast<AffineDimExpr>(e); dim && dim.getPosition() == wDim) {
      per = 1;
      continue;
    }
    auto bin = dyn_cast<AffineBinaryOpExpr>(e);
    if (!bin || bin.getKind() != AffineExprKind::FloorDiv)
      return failure();
    auto lhs = dyn_cast<AffineDimExpr>(bin.getLHS());
    auto rhs = dyn_cast<AffineConstantExpr>(bin.getRHS());
    if (!lhs || lhs.getPosition() != wDim || !rhs || rhs.getValue() <= 0)
      return failure();
    per = rhs.getValue();
  }
  return per;
}

/// Codes per 32-bit word of the nibbles layout.
constexpr int64_t kNibblesPerWord = 8;

/// The operands of a float `qc.packed_contraction` generic (inputs: the
/// lhs view `kNibblesPerWord` times, the words, then the scale and the zero
/// point), read off its marker: a scale or zero point that was one value
/// for all (a splat) may have been folded into the body by element-wise
/// fusion, which folds every splat operand at once; the marker then holds
/// its value. Operand numbers are -1 where folded (or, for the zero point,
/// symmetric).
struct PackedOperands {
  int64_t scaleOperand = -1, zeroPointOperand = -1;
  std::optional<float> knownScale, knownZeroPoint;
  bool isSigned = false;
  /// The body computes in f16 pairs (convert-qc-to-linalg's f16Products).
  bool f16 = false;
};

/// The operands of `op`; fails where it is not a float packed contraction
/// (no marker, int8 activations, an operand count the marker does not
/// explain, lhs views that are not all the same value).
inline FailureOr<PackedOperands> packedContractionOperands(
    linalg::GenericOp op) {
  auto marker = op->getAttrOfType<DictionaryAttr>("qc.packed_contraction");
  if (!marker || op.getNumDpsInits() != 1)
    return failure();
  auto flag = [&](StringRef name) {
    auto v = marker.getAs<BoolAttr>(name);
    return v && v.getValue();
  };
  auto known = [&](StringRef name) -> std::optional<float> {
    if (auto v = marker.getAs<FloatAttr>(name))
      return float(v.getValueAsDouble());
    return std::nullopt;
  };
  int64_t inputs = op.getNumDpsInputs();
  if (flag("int8") || inputs < kNibblesPerWord + 1)
    return failure();
  PackedOperands p;
  p.isSigned = flag("signed");
  p.f16 = flag("f16");
  p.knownScale = known("scale");
  p.knownZeroPoint = known("zero_point");
  int64_t params = inputs - kNibblesPerWord - 1;
  if (params == 2) {
    // Nothing folded: the scale, then the zero point.
    p.scaleOperand = kNibblesPerWord + 1;
    p.zeroPointOperand = kNibblesPerWord + 2;
  } else if (params == 1 && p.knownZeroPoint) {
    // The scale, with a symmetric (or folded) zero point; a splat zero
    // point not folded would be an operand too.
    p.scaleOperand = kNibblesPerWord + 1;
  } else if (params == 1 && p.knownScale) {
    p.zeroPointOperand = kNibblesPerWord + 1; // a folded scale
  } else if (params != 0 || !p.knownScale || !p.knownZeroPoint) {
    return failure();
  }
  Value view = op.getDpsInputs()[0];
  for (int64_t c = 1; c < kNibblesPerWord; ++c)
    if (op.getDpsInputs()[c] != view)
      return failure();
  return p;
}

/// Whether the codes of `op` (with operands `p`) expand to f16 pairs
/// exactly (numerics::NibblePairF16): u − offset is exact only for an
/// integer offset well inside f16's integers, so a zero point stored as
/// floats, or a constant one that is not such an integer, is not.
inline bool expandsToF16Exactly(linalg::GenericOp op,
                                const PackedOperands &p) {
  if (p.zeroPointOperand >= 0 &&
      !getElementTypeOrSelf(op.getDpsInputs()[p.zeroPointOperand].getType())
           .isInteger())
    return false;
  return !p.knownZeroPoint ||
         (*p.knownZeroPoint == std::floor(*p.knownZeroPoint) &&
          std::fabs(*p.knownZeroPoint) <= 256.0f);
}

} // namespace mlir::qc

#endif // QC_LIB_CONVERSION_PACKEDPARAMS_H
