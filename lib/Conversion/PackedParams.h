//===- PackedParams.h - parameters of a packed int4 contraction -*- C++ -*-===//
//
// Shared by the CPU kernels (VectorizePackedContractions.cpp) and the GPU
// tensor-core kernel (GPUMmaKernel.cpp): how a scale or zero point of a
// `qc.packed_contraction` generic is indexed along the packed words.
//
//===----------------------------------------------------------------------===//

#ifndef QC_LIB_CONVERSION_PACKEDPARAMS_H
#define QC_LIB_CONVERSION_PACKEDPARAMS_H

#include "mlir/IR/AffineMap.h"
#include "mlir/Support/LLVM.h"

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

} // namespace mlir::qc

#endif // QC_LIB_CONVERSION_PACKEDPARAMS_H
