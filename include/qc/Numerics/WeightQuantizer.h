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

/// The small-float weight formats: codes are 8-bit (E4M3FN, E5M2) or 4-bit
/// (E2M1) floats, each multiplied by the fp32 scale of its block of columns.
enum class FloatWeightFormat {
  /// FP8 E4M3FN, scale = amax / 448 per row or per `blockSize` columns.
  E4M3FN,
  /// FP8 E5M2 (two mantissa bits, more range), scale = amax / 57344 per row
  /// or per `blockSize` columns. Codes are finite (saturated).
  E5M2,
  /// MXFP4: E2M1 in blocks of 32 columns with a power-of-two (E8M0) scale.
  MXFP4,
  /// NVFP4: E2M1 in blocks of 16 columns with an E4M3 block scale times a
  /// per-matrix fp32 scale.
  NVFP4,
};

/// A weight matrix [rows, cols] in a small-float format.
struct FloatQuantizedWeight {
  int64_t rows = 0;
  int64_t cols = 0;
  /// Columns per scale (cols when one scale per row).
  int64_t blockSize = 0;
  /// [rows, cols] codes, one per byte: E4M3FN or E5M2 bits, or E2M1 in the
  /// low nibble.
  std::vector<uint8_t> codes;
  /// [rows, cols / blockSize] fp32 scales: for MXFP4 the E8M0 scale's
  /// value, for NVFP4 E4M3(block scale) · tensor scale as fp32.
  std::vector<float> scales;
  /// [rows, cols]: decode(code) · scale, what inference computes.
  std::vector<float> dequantized;
};

/// Quantizes W [rows, cols] (row-major) to `format`. `blockSize` is the
/// columns per scale for E4M3FN and E5M2 (0: one scale per row); MXFP4 and NVFP4
/// use their own (32, 16). Fails when the block size does not divide cols
/// or W holds a NaN or an infinity.
Result<FloatQuantizedWeight> quantizeWeightFloat(const float *w, int64_t rows,
                                                 int64_t cols,
                                                 FloatWeightFormat format,
                                                 int64_t blockSize = 0);

} // namespace mlir::qc::numerics

#endif // QC_NUMERICS_WEIGHTQUANTIZER_H
