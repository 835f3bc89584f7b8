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

/// W ← W·diag(factor): output channel j of W multiplied by factor[j] (n
/// values), so that a layer's outputs come out scaled by `factor`.
void scaleOutputChannels(float *w, int64_t k, int64_t n, bool transposed,
                         const float *factor);

/// max_j |W[i, j]| per input channel i (k values).
std::vector<float> inputChannelAbsMax(const float *w, int64_t k, int64_t n,
                                      bool transposed);

/// SmoothQuant's migration factors (REFERENCES: SmoothQuant), per input
/// channel j: s_j = actMax_j^alpha / weightMax_j^(1 - alpha), where actMax is
/// the calibrated max |X_j| and weightMax the max |W_j| over every layer
/// reading X. The activation becomes X / s, the weights diag(s)·W. A channel
/// with actMax or weightMax 0 (or not finite) gets s = 1, and s is clamped to
/// [1e-5, 1e5] so that neither side under- or overflows. alpha in [0, 1].
std::vector<float> smoothingFactors(const float *actMax,
                                    const float *weightMax, int64_t k,
                                    double alpha);

/// v·W for a vector v of k values: the n outputs (accumulated in double),
/// how a bias β on W's input moves to its output.
std::vector<float> vectorTimesWeight(const float *v, const float *w,
                                     int64_t k, int64_t n, bool transposed);

/// Centres a row-major [rows, cols] matrix: each row minus its mean
/// (`alongRows`, x ← x·(I − 11ᵀ/cols)) or each column minus its mean
/// (W ← (I − 11ᵀ/rows)·W). Mean in double. How qc-rotate bakes a
/// LayerNorm's mean subtraction into the layers that write its input.
void subtractMean(float *data, int64_t rows, int64_t cols, bool alongRows);

/// ONNX BatchNormalization at inference, per channel c,
///   y = (x − mean_c)·γ_c / √(var_c + ε) + β_c,
/// as the affine map y = x·a_c + b_c with a_c = γ_c / √(var_c + ε) and
/// b_c = β_c − mean_c·a_c (computed in double, rounded once to f32): the
/// form qc-fold-scales moves into the producing layer's weights and bias.
/// Returns false (and writes nothing) when some var_c + ε is not positive.
bool batchNormAffine(const float *gamma, const float *beta, const float *mean,
                     const float *var, int64_t channels, double epsilon,
                     float *a, float *b);

} // namespace mlir::qc::numerics

#endif // QC_NUMERICS_FOLDING_H
