//===- Folding.h - moving per-channel factors through linear layers --*- C++ -*-===//
//
// Plain C++ (no MLIR). The arithmetic of the passes that move a per-input-
// channel factor from an activation into the weight that reads it
// (qc-fold-norms: a norm's gain γ and bias β; SmoothQuant's 1/s). A weight
// is [k, n] row-major (y = x·W, k input channels), or [n, k] when
// `transposed` (y = x·Wᵀ), as qc.matmul stores it.
//
//===----------------------------------------------------------------------===//

#ifndef QC_NUMERICS_FOLDING_H
#define QC_NUMERICS_FOLDING_H

#include <cstdint>
#include <vector>

namespace mlir::qc::numerics {

/// W ← diag(factor)·W: input channel i of W multiplied by factor[i] (k
/// values), so that (x / factor)·W' = x·W and (x·diag(γ))·W = x·W'.
void scaleInputChannels(float *w, int64_t k, int64_t n, bool transposed,
                        const float *factor);

/// v·W for a vector v of k values: the n outputs (accumulated in double),
/// how a bias β on W's input moves to its output.
std::vector<float> vectorTimesWeight(const float *v, const float *w,
                                     int64_t k, int64_t n, bool transposed);

} // namespace mlir::qc::numerics

#endif // QC_NUMERICS_FOLDING_H
