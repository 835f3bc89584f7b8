//===- BlockFormats.cpp - MXFP4 and NVFP4 block-scaled fp4 ----------------===//

#include "qc/Numerics/BlockFormats.h"

#include "qc/Numerics/FloatFormats.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace mlir::qc::numerics {

namespace {

/// The largest E2M1 exponent: 6 = 1.5 · 2^2.
constexpr int kE2M1MaxExponent = 2;
constexpr float kE2M1Max = 6.0f;
constexpr float kE4M3Max = 448.0f;

/// Stores E2M1 code `code` as element `i` of a low-nibble-first byte array.
void setNibble(std::vector<uint8_t> &bytes, int64_t i, uint8_t code) {
  bytes[i / 2] |= static_cast<uint8_t>((code & 0xF) << ((i % 2) * 4));
}

uint8_t getNibble(const std::vector<uint8_t> &bytes, int64_t i) {
  return (bytes[i / 2] >> ((i % 2) * 4)) & 0xF;
}

/// The largest |x| over x[begin .. end), NaN when any element is NaN and
/// +inf when any is infinite, so that callers can detect non-finite blocks.
float blockAbsMax(const float *x, int64_t begin, int64_t end) {
  float amax = 0.0f;
  for (int64_t i = begin; i < end; ++i) {
    if (std::isnan(x[i]))
      return std::numeric_limits<float>::quiet_NaN();
    amax = std::max(amax, std::fabs(x[i]));
  }
  return amax;
}

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

} // namespace

int getMXFP4SharedExponent(float amax) {
  if (!(amax > 0.0f))
    return -127;
  int exp;
  std::frexp(amax, &exp); // amax = f · 2^exp, f ∈ [0.5, 1): ⌊log₂⌋ = exp − 1
  return std::clamp(exp - 1 - kE2M1MaxExponent, -127, 127);
}

MXFP4Tensor encodeMXFP4(const float *x, int64_t n) {
  MXFP4Tensor result;
  result.numElements = n;
  result.codes.assign(static_cast<size_t>(ceilDiv(n, 2)), 0);
  result.scales.resize(static_cast<size_t>(ceilDiv(n, kMXFP4BlockSize)));
  for (int64_t block = 0; block * kMXFP4BlockSize < n; ++block) {
    int64_t begin = block * kMXFP4BlockSize;
    int64_t end = std::min(n, begin + kMXFP4BlockSize);
    float amax = blockAbsMax(x, begin, end);
    if (!std::isfinite(amax)) {
      result.scales[block] = 0xFF;
      continue;
    }
    int exponent = getMXFP4SharedExponent(amax);
    result.scales[block] = e8m0FromExponent(exponent);
    // Dividing by a power of two is exact in double; the cast to float is
    // exact too except for values far below E2M1's smallest step, which round
    // to 0 either way.
    for (int64_t i = begin; i < end; ++i)
      setNibble(result.codes, i,
                floatToE2M1(static_cast<float>(
                    std::ldexp(static_cast<double>(x[i]), -exponent))));
  }
  return result;
}

std::vector<float> decodeMXFP4(const MXFP4Tensor &tensor) {
  std::vector<float> out(static_cast<size_t>(tensor.numElements));
  for (int64_t i = 0; i < tensor.numElements; ++i) {
    float scale = e8m0ToFloat(tensor.scales[i / kMXFP4BlockSize]);
    out[i] = e2m1ToFloat(getNibble(tensor.codes, i)) * scale;
  }
  return out;
}

float getNVFP4GlobalScale(float amax) {
  float scale = std::fabs(amax) / (kE2M1Max * kE4M3Max);
  return scale > 0.0f ? scale : 1.0f;
}

NVFP4Tensor encodeNVFP4(const float *x, int64_t n,
                        std::optional<float> globalScale) {
  NVFP4Tensor result;
  result.numElements = n;
  result.codes.assign(static_cast<size_t>(ceilDiv(n, 2)), 0);
  result.blockScales.resize(static_cast<size_t>(ceilDiv(n, kNVFP4BlockSize)));
  if (globalScale) {
    result.globalScale = *globalScale;
  } else {
    float amax = 0.0f;
    for (int64_t i = 0; i < n; ++i)
      amax = std::max(amax, std::fabs(x[i]));
    result.globalScale = getNVFP4GlobalScale(amax);
  }
  const float g = result.globalScale;
  for (int64_t block = 0; block * kNVFP4BlockSize < n; ++block) {
    int64_t begin = block * kNVFP4BlockSize;
    int64_t end = std::min(n, begin + kNVFP4BlockSize);
    float amax = blockAbsMax(x, begin, end);
    uint8_t scaleCode = floatToFloat8(amax / kE2M1Max / g, Float8Format::E4M3FN,
                                      /*saturate=*/true);
    result.blockScales[block] = scaleCode;
    // Elements are divided by the scale actually stored, not the ideal one,
    // so that decoding reproduces the rounding the encoder chose.
    float scale = float8ToFloat(scaleCode, Float8Format::E4M3FN) * g;
    if (scale == 0.0f)
      continue;
    for (int64_t i = begin; i < end; ++i)
      setNibble(result.codes, i, floatToE2M1(x[i] / scale));
  }
  return result;
}

std::vector<float> decodeNVFP4(const NVFP4Tensor &tensor) {
  std::vector<float> out(static_cast<size_t>(tensor.numElements));
  for (int64_t i = 0; i < tensor.numElements; ++i) {
    float scale = float8ToFloat(tensor.blockScales[i / kNVFP4BlockSize],
                                Float8Format::E4M3FN) *
                  tensor.globalScale;
    out[i] = e2m1ToFloat(getNibble(tensor.codes, i)) * scale;
  }
  return out;
}

} // namespace mlir::qc::numerics
