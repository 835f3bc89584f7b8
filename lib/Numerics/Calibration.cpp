//===- Calibration.cpp - Running statistics for calibration ---------------===//

#include "qc/Numerics/Calibration.h"

#include <algorithm>
#include <cmath>

namespace mlir::qc::numerics {

namespace {

/// min and max of the non-NaN values of x[0 .. n); false if there are none.
bool batchRange(const float *x, int64_t n, float &min, float &max) {
  bool any = false;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(x[i]))
      continue;
    if (!any) {
      min = max = x[i];
      any = true;
      continue;
    }
    min = std::min(min, x[i]);
    max = std::max(max, x[i]);
  }
  return any;
}

} // namespace

void MinMaxObserver::update(const float *x, int64_t n) {
  float min = 0.0f, max = 0.0f;
  if (!batchRange(x, n, min, max))
    return;
  minValue = isEmpty ? min : std::min(minValue, min);
  maxValue = isEmpty ? max : std::max(maxValue, max);
  isEmpty = false;
}

float MinMaxObserver::absMax() const {
  return std::max(std::fabs(minValue), std::fabs(maxValue));
}

void MovingAverageMinMaxObserver::update(const float *x, int64_t n) {
  float min = 0.0f, max = 0.0f;
  if (!batchRange(x, n, min, max))
    return;
  if (isEmpty) {
    minValue = min;
    maxValue = max;
    isEmpty = false;
    return;
  }
  minValue = (1.0f - momentum) * minValue + momentum * min;
  maxValue = (1.0f - momentum) * maxValue + momentum * max;
}

ChannelStatsAccumulator::ChannelStatsAccumulator(int64_t numChannels)
    : maxAbs(static_cast<size_t>(numChannels), 0.0f),
      sumAbs(static_cast<size_t>(numChannels), 0.0),
      counts(static_cast<size_t>(numChannels), 0) {}

void ChannelStatsAccumulator::update(const float *x, int64_t rows) {
  const int64_t c = numChannels();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < c; ++j) {
      float v = x[r * c + j];
      if (std::isnan(v))
        continue;
      float a = std::fabs(v);
      maxAbs[j] = std::max(maxAbs[j], a);
      sumAbs[j] += a;
      ++counts[j];
    }
  }
  rowCount += rows;
}

std::vector<float> ChannelStatsAccumulator::meanAbs() const {
  std::vector<float> mean(maxAbs.size(), 0.0f);
  for (size_t j = 0; j < mean.size(); ++j)
    if (counts[j])
      mean[j] = static_cast<float>(sumAbs[j] / double(counts[j]));
  return mean;
}

HessianAccumulator::HessianAccumulator(int64_t dim)
    : size(dim), h(static_cast<size_t>(dim * dim), 0.0) {}

void HessianAccumulator::update(const float *x, int64_t rows) {
  if (rows <= 0)
    return;
  const int64_t total = samples + rows;
  const double keep = double(samples) / double(total);
  const double add = 2.0 / double(total);
  for (double &v : h)
    v *= keep;
  // Upper triangle only (contiguous axpy per row of X), mirrored below.
  std::vector<double> xr(static_cast<size_t>(size));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < size; ++j)
      xr[j] = x[r * size + j];
    for (int64_t i = 0; i < size; ++i) {
      const double f = add * xr[i];
      double *hRow = h.data() + i * size;
      for (int64_t j = i; j < size; ++j)
        hRow[j] += f * xr[j];
    }
  }
  for (int64_t i = 0; i < size; ++i)
    for (int64_t j = 0; j < i; ++j)
      h[i * size + j] = h[j * size + i];
  samples = total;
}

} // namespace mlir::qc::numerics
