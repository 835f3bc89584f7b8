//===- Hadamard.cpp - Hadamard sizes and transforms -----------------------===//

#include "qc/Numerics/Hadamard.h"

#include <cmath>
#include <sstream>

namespace mlir::qc::numerics {

const std::vector<int64_t> &supportedHadamardFactors() {
  static const std::vector<int64_t> factors = {1,  12, 20,  28,  36,  40,
                                               52, 60, 108, 140, 156, 172};
  return factors;
}

bool isPowerOfTwo(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

std::optional<HadamardSize> factorHadamardSize(int64_t n) {
  if (n < 1)
    return std::nullopt;
  for (int64_t k : supportedHadamardFactors()) {
    if (n % k != 0 || !isPowerOfTwo(n / k))
      continue;
    int64_t m = 0;
    for (int64_t p = n / k; p > 1; p >>= 1)
      ++m;
    return HadamardSize{k, m};
  }
  return std::nullopt;
}

std::string describeSupportedHadamardSizes() {
  std::ostringstream os;
  os << "K*2^m for K in {";
  const auto &factors = supportedHadamardFactors();
  for (size_t i = 0; i < factors.size(); ++i)
    os << (i ? ", " : "") << factors[i];
  os << "}";
  return os.str();
}

bool applyWalshHadamard(float *data, int64_t n) {
  if (!isPowerOfTwo(n))
    return false;
  // Butterfly stages in Sylvester order: H_{2h} = [[H_h, H_h], [H_h, -H_h]].
  for (int64_t h = 1; h < n; h *= 2) {
    for (int64_t i = 0; i < n; i += 2 * h) {
      for (int64_t j = i; j < i + h; ++j) {
        float a = data[j], b = data[j + h];
        data[j] = a + b;
        data[j + h] = a - b;
      }
    }
  }
  const float norm = 1.0f / std::sqrt(static_cast<float>(n));
  for (int64_t i = 0; i < n; ++i)
    data[i] *= norm;
  return true;
}

std::vector<float> buildSylvesterHadamard(int64_t n) {
  if (!isPowerOfTwo(n))
    return {};
  std::vector<float> h(static_cast<size_t>(n * n));
  // Entry (i, j) of the Sylvester matrix is (-1)^popcount(i & j).
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      h[i * n + j] = (__builtin_popcountll(static_cast<uint64_t>(i & j)) & 1)
                         ? -1.0f
                         : 1.0f;
  return h;
}

} // namespace mlir::qc::numerics
