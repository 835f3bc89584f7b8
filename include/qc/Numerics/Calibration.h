//===- Calibration.h - Running statistics for calibration --------*- C++
//-*-===//
//
// Plain C++ (no MLIR): statistics accumulated over calibration batches.
//   - MinMaxObserver: running min / max.
//   - MovingAverageMinMaxObserver: exponential moving average of the batches'
//     min / max (PyTorch's MovingAverageMinMaxObserver, onnxruntime's
//     MinMaxCalibrater with moving_average).
//   - ChannelStatsAccumulator: per-input-channel max |x| (SmoothQuant's
//     s_j = max|X_j|^α / max|W_j|^(1−α)) and mean |x| (AWQ's activation
//     scale); REFERENCES: SmoothQuant, AWQ.
//   - HessianAccumulator: GPTQ's H = 2XXᵀ/n over all rows seen so far,
//     updated per batch as the reference's add_batch does.
// Histogram-based ranges (percentile, entropy, MSE) are in Histogram.h.
//
// NaN elements are skipped everywhere except in HessianAccumulator (where
// they would poison H and are the caller's bug to find).
//
//===----------------------------------------------------------------------===//

#ifndef QC_NUMERICS_CALIBRATION_H
#define QC_NUMERICS_CALIBRATION_H

#include <cstdint>
#include <vector>

namespace mlir::qc::numerics {

/// Running minimum and maximum of everything passed to update().
class MinMaxObserver {
public:
  /// Folds `x[0 .. n)` into the running range.
  void update(const float *x, int64_t n);
  /// True until a non-NaN value has been seen.
  bool empty() const { return isEmpty; }
  /// The smallest value seen (0 while empty).
  float min() const { return minValue; }
  /// The largest value seen (0 while empty).
  float max() const { return maxValue; }
  /// max(|min|, |max|).
  float absMax() const;

private:
  bool isEmpty = true;
  float minValue = 0.0f;
  float maxValue = 0.0f;
};

/// Exponential moving average of per-batch min and max:
///   first batch:  min = batch min, max = batch max
///   afterwards:   min ← (1 − momentum) · min + momentum · batch min (same
///                 for max)
/// so `momentum` is the weight of the newest batch (PyTorch's
/// averaging_constant, default 0.01).
class MovingAverageMinMaxObserver {
public:
  /// `momentum` in (0, 1]; 1 keeps only the last batch.
  explicit MovingAverageMinMaxObserver(float momentum = 0.01f)
      : momentum(momentum) {}
  /// Folds the range of batch `x[0 .. n)` into the averages. A batch with no
  /// non-NaN value is ignored.
  void update(const float *x, int64_t n);
  bool empty() const { return isEmpty; }
  float min() const { return minValue; }
  float max() const { return maxValue; }

private:
  float momentum;
  bool isEmpty = true;
  float minValue = 0.0f;
  float maxValue = 0.0f;
};

/// Per-channel max |x| and mean |x| of activations laid out [rows, channels].
class ChannelStatsAccumulator {
public:
  explicit ChannelStatsAccumulator(int64_t numChannels);
  /// Folds `x` [rows, numChannels] (row-major) into the statistics.
  void update(const float *x, int64_t rows);
  int64_t numChannels() const { return static_cast<int64_t>(maxAbs.size()); }
  /// Rows seen so far.
  int64_t numRows() const { return rowCount; }
  /// max |x| per channel (0 for a channel never seen non-NaN).
  const std::vector<float> &absMax() const { return maxAbs; }
  /// Σ|x| / (non-NaN count) per channel (0 when the count is 0).
  std::vector<float> meanAbs() const;

private:
  int64_t rowCount = 0;
  std::vector<float> maxAbs;
  std::vector<double> sumAbs;
  std::vector<int64_t> counts;
};

/// H = 2 XᵀX / n for inputs X [n, dim] arriving in batches, kept as the
/// reference does: on a batch of m rows, H ← H · n/(n+m) + (2/(n+m))·XᵀX_batch
/// (in double), so hessian() is valid after every update. n counts rows
/// (tokens); the reference counts sequences, which only rescales H and does
/// not change GPTQ's result.
class HessianAccumulator {
public:
  explicit HessianAccumulator(int64_t dim);
  /// Folds `x` [rows, dim] (row-major) into H.
  void update(const float *x, int64_t rows);
  int64_t dim() const { return size; }
  /// Rows seen so far.
  int64_t numSamples() const { return samples; }
  /// H [dim, dim] row-major, symmetric; all zero before the first update.
  const std::vector<double> &hessian() const { return h; }

private:
  int64_t size;
  int64_t samples = 0;
  std::vector<double> h;
};

} // namespace mlir::qc::numerics

#endif // QC_NUMERICS_CALIBRATION_H
