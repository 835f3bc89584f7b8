//===- QuantParams.h - Scales and zero points by granularity -----*- C++
//-*-===//
//
// Plain C++ (no MLIR): computes integer quantization parameters for an N-d
// row-major array at one of four granularities, and quantizes / dequantizes
// with them. All four go through one code path: every element maps to the
// index of the (scale, zero point) that covers it.
//
// Shapes of the returned scales / zero points, for data of shape
// [d0, ..., d_{r−1}] (chosen to broadcast as ONNX QuantizeLinear expects):
//   per-tensor            []                          (one value)
//   per-channel, axis a   [d_a]                       (ONNX per-axis, opset 13)
//   per-group, axis a, g  [d0, ..., d_a / g, ..., d_{r−1}]
//                                                     (ONNX blocked, opset 21)
//   per-token             [d0, ..., d_{r−2}, 1]       (one per row of the last
//                                                      axis; dynamic, for
//                                                      activations)
// For a weight W [N, K] (y = x Wᵀ): per-channel is axis 0 → [N]; per-group
// runs along the reduction axis 1 → [N, K / g].
//
//===----------------------------------------------------------------------===//

#ifndef QC_NUMERICS_QUANTPARAMS_H
#define QC_NUMERICS_QUANTPARAMS_H

#include "qc/Numerics/IntQuant.h"
#include "qc/Numerics/Result.h"

#include <cstdint>
#include <vector>

namespace mlir::qc::numerics {

/// An integer format and how its range is derived from data.
struct IntQuantSpec {
  /// Bit width, kMinIntBits .. kMaxIntBits.
  int bits = 8;
  /// Symmetric: signed codes, zero point 0, scale from max |x|. Asymmetric:
  /// unsigned codes, scale and zero point from [min(0, min x), max(0, max x)].
  bool symmetric = true;
  /// The observed range is multiplied by this factor (0, 1] before the
  /// parameters are computed, clipping outliers (QuaRot clips activations at
  /// 0.9 and the KV cache at 0.95).
  float clipRatio = 1.0f;
};

/// The code range of `spec`: signed for symmetric, unsigned for asymmetric.
/// Fails for an unsupported bit width.
Result<IntRange> getIntRange(const IntQuantSpec &spec);

/// Parameters for data in [min, max] under `spec` and its code range
/// `range`: symmetricParams(clip · max(|min|, |max|)) or
/// asymmetricParams(clip · min, clip · max) (IntQuant.h).
AffineParams computeRangeParams(float min, float max, const IntQuantSpec &spec,
                                IntRange range);

enum class Granularity { PerTensor, PerChannel, PerGroup, PerToken };

/// Which elements share parameters.
struct GranularitySpec {
  Granularity kind = Granularity::PerTensor;
  /// PerChannel: the channel axis (kept). PerGroup: the axis the groups run
  /// along (the reduction axis). Negative values count from the end.
  int64_t axis = 0;
  /// PerGroup: elements per group along `axis`; must divide that dimension.
  int64_t groupSize = 0;

  static GranularitySpec perTensor() { return {Granularity::PerTensor, 0, 0}; }
  static GranularitySpec perChannel(int64_t axis) {
    return {Granularity::PerChannel, axis, 0};
  }
  static GranularitySpec perGroup(int64_t axis, int64_t groupSize) {
    return {Granularity::PerGroup, axis, groupSize};
  }
  static GranularitySpec perToken() { return {Granularity::PerToken, -1, 0}; }
};

/// Scales and zero points of one array, with the layout that produced them.
struct QuantParams {
  IntRange range{0, 0};
  Granularity granularity = Granularity::PerTensor;
  /// Normalised (non-negative) axis; the last axis for PerToken.
  int64_t axis = 0;
  /// Group size along `axis`; the whole last axis for PerToken.
  int64_t groupSize = 0;
  /// Shape of `scales` and `zeroPoints` (see the file comment).
  std::vector<int64_t> shape;
  std::vector<float> scales;
  std::vector<int32_t> zeroPoints;
};

/// Computes parameters for `data` of shape `shape` (row-major). Fails, with
/// a message naming the values, for a bad bit width or clip ratio, an axis
/// out of range, a group size that is not positive or does not divide the
/// axis, or a rank-0 shape for anything but per-tensor. NaN elements are
/// ignored.
Result<QuantParams> computeQuantParams(const float *data,
                                       const std::vector<int64_t> &shape,
                                       const IntQuantSpec &spec,
                                       const GranularitySpec &granularity);

/// Quantizes `data` of shape `shape` with `params` (quantizeInt per
/// element). `shape` may differ from the one the parameters were computed
/// for where the layout allows (any shape per-tensor; the same d_axis
/// per-channel), so calibrated parameters apply to new batches. Fails when
/// the shape does not fit the parameters.
Result<std::vector<int32_t>>
quantizeWithParams(const float *data, const std::vector<int64_t> &shape,
                   const QuantParams &params);

/// Dequantizes codes of shape `shape` with `params` ((q − zp) · scale); fails
/// like quantizeWithParams.
Result<std::vector<float>>
dequantizeWithParams(const int32_t *codes, const std::vector<int64_t> &shape,
                     const QuantParams &params);

} // namespace mlir::qc::numerics

#endif // QC_NUMERICS_QUANTPARAMS_H
