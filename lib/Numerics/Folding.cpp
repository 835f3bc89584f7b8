//===- Folding.cpp - moving per-channel factors through linear layers -----===//

#include "qc/Numerics/Folding.h"

#include <algorithm>
#include <cmath>

namespace mlir::qc::numerics {

void scaleInputChannels(float *w, int64_t k, int64_t n, bool transposed,
                        const float *factor) {
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j)
      w[transposed ? j * k + i : i * n + j] *= factor[i];
}

void scaleOutputChannels(float *w, int64_t k, int64_t n, bool transposed,
                         const float *factor) {
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j)
      w[transposed ? j * k + i : i * n + j] *= factor[j];
}

std::vector<float> inputChannelAbsMax(const float *w, int64_t k, int64_t n,
                                      bool transposed) {
  std::vector<float> out(k, 0.0f);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j)
      out[i] = std::max(out[i], std::fabs(w[transposed ? j * k + i : i * n + j]));
  return out;
}

std::vector<float> smoothingFactors(const float *actMax,
                                    const float *weightMax, int64_t k,
                                    double alpha) {
  std::vector<float> s(k, 1.0f);
  for (int64_t j = 0; j < k; ++j) {
    double a = actMax[j], w = weightMax[j];
    if (!(a > 0) || !(w > 0) || !std::isfinite(a) || !std::isfinite(w))
      continue;
    double v = std::pow(a, alpha) / std::pow(w, 1.0 - alpha);
    s[j] = float(std::clamp(v, 1e-5, 1e5));
  }
  return s;
}

std::vector<float> vectorTimesWeight(const float *v, const float *w,
                                     int64_t k, int64_t n, bool transposed) {
  std::vector<float> out(n);
  for (int64_t j = 0; j < n; ++j) {
    double acc = 0;
    for (int64_t i = 0; i < k; ++i)
      acc += double(v[i]) * double(w[transposed ? j * k + i : i * n + j]);
    out[j] = float(acc);
  }
  return out;
}

bool batchNormAffine(const float *gamma, const float *beta, const float *mean,
                     const float *var, int64_t channels, double epsilon,
                     float *a, float *b) {
  for (int64_t c = 0; c < channels; ++c)
    if (!(static_cast<double>(var[c]) + epsilon > 0))
      return false;
  for (int64_t c = 0; c < channels; ++c) {
    double factor = gamma[c] / std::sqrt(static_cast<double>(var[c]) + epsilon);
    a[c] = static_cast<float>(factor);
    b[c] = static_cast<float>(beta[c] - mean[c] * factor);
  }
  return true;
}

void subtractMean(float *data, int64_t rows, int64_t cols, bool alongRows) {
  if (alongRows) {
    for (int64_t r = 0; r < rows; ++r) {
      double sum = 0;
      for (int64_t c = 0; c < cols; ++c)
        sum += data[r * cols + c];
      float mean = static_cast<float>(sum / cols);
      for (int64_t c = 0; c < cols; ++c)
        data[r * cols + c] -= mean;
    }
    return;
  }
  std::vector<double> sums(cols, 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      sums[c] += data[r * cols + c];
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      data[r * cols + c] -= static_cast<float>(sums[c] / rows);
}

} // namespace mlir::qc::numerics
