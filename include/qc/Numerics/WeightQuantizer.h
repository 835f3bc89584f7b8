//===- WeightQuantizer.h - Round-to-nearest weight quantization --*- C++
//-*-===//
//
// Plain C++ (no MLIR): quantizes a weight matrix W [N rows = output channels,
// K columns = reduction axis] (row-major, y = x Wᵀ) per output channel or per
// group of `groupSize` consecutive columns, by round-to-nearest (RTN),
// optionally with a clip search (REFERENCES: GPTQ, AWQ, QuaRot):
//
//   for i = 0 .. steps−1:  p = 1 − i / grid
//     params_i = params of the range shrunk by p
//     err_i = Σ_slice |x − Q_i(x)|^norm
//   keep the first params_i with the smallest err_i
//
// The defaults (grid 100, 80 steps down to p = 0.21, norm 2.4) are those of
// the GPTQ reference quantizer's `mse` option; AWQ's is grid 20, 10 steps.
// Because p = 1 (plain RTN) is always a candidate, the search never does worse
// than RTN in the chosen norm. GPTQ (GPTQ.h) uses the same parameter search.
//
//===----------------------------------------------------------------------===//

#ifndef QC_NUMERICS_WEIGHTQUANTIZER_H
#define QC_NUMERICS_WEIGHTQUANTIZER_H

#include "qc/Numerics/IntQuant.h"
#include "qc/Numerics/QuantParams.h"
#include "qc/Numerics/Result.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace mlir::qc::numerics {

/// The shrink-factor grid and error norm of the clip search.
struct ClipSearchConfig {
  /// Shrink factors are 1 − i / grid ...
  int grid = 100;
  /// ... for i = 0 .. steps − 1 (steps ≤ grid, so every factor is > 0).
  int steps = 80;
  /// p of the per-slice error Σ |x − Q(x)|^p.
  double norm = 2.4;
};

/// How to quantize a weight matrix.
struct WeightQuantConfig {
  /// Bit width and symmetric / asymmetric (see IntQuantSpec). `clipRatio`
  /// applies on top of any clip search.
  IntQuantSpec spec;
  /// Columns per group; 0 means per output channel (one group per row).
  int64_t groupSize = 0;
  /// When set, parameters come from a clip search instead of the full range.
  std::optional<ClipSearchConfig> clipSearch;
};

/// A quantized weight matrix [rows, cols] with per-(row, group) parameters.
struct QuantizedWeight {
  int64_t rows = 0;
  int64_t cols = 0;
  /// Columns per group (cols for per-channel quantization).
  int64_t groupSize = 0;
  IntRange range{0, 0};
  /// [rows, cols] integer codes in [range.qmin, range.qmax].
  std::vector<int32_t> codes;
  /// [rows, numGroups()] scales and zero points.
  std::vector<float> scales;
  std::vector<int32_t> zeroPoints;
  /// [cols]: the group of each column (GPTQ's g_idx). j / groupSize except
  /// for GPTQ with act-order and without static groups.
  std::vector<int32_t> groupIndex;
  /// [rows, cols]: (code − zeroPoint) · scale, what inference computes.
  std::vector<float> dequantized;

  int64_t numGroups() const { return groupSize ? cols / groupSize : 0; }
};

/// Checks `config` against a weight with `cols` columns and returns the code
/// range, or an error naming the bad value (bit width, clip ratio, group size
/// that does not divide cols, clip-search grid).
Result<IntRange> validateWeightQuantConfig(const WeightQuantConfig &config,
                                           int64_t cols);

/// Parameters for the slice x[0 .. n) under `config.spec`: from its range, or
/// the best of the clip search when `config.clipSearch` is set. `range` is
/// the code range from validateWeightQuantConfig.
AffineParams findSliceParams(const float *x, int64_t n,
                             const WeightQuantConfig &config, IntRange range);

/// Σ |x_i − Q(x_i)|^norm over x[0 .. n) for the given parameters; the clip
/// search's objective.
double sliceQuantError(const float *x, int64_t n, AffineParams params,
                       IntRange range, double norm);

/// Round-to-nearest quantization of W [rows, cols] (row-major) with
/// per-channel or per-group parameters from findSliceParams. Fails for an
/// invalid configuration.
Result<QuantizedWeight> quantizeWeightRTN(const float *w, int64_t rows,
                                          int64_t cols,
                                          const WeightQuantConfig &config);

} // namespace mlir::qc::numerics

#endif // QC_NUMERICS_WEIGHTQUANTIZER_H
