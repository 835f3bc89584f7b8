//===- Folding.cpp - moving per-channel factors through linear layers -----===//

#include "qc/Numerics/Folding.h"

namespace mlir::qc::numerics {

void scaleInputChannels(float *w, int64_t k, int64_t n, bool transposed,
                        const float *factor) {
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j)
      w[transposed ? j * k + i : i * n + j] *= factor[i];
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

} // namespace mlir::qc::numerics
