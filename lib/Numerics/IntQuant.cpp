//===- IntQuant.cpp - Integer quantization and sub-byte packing -----------===//

#include "qc/Numerics/IntQuant.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace mlir::qc::numerics {

double roundHalfToEven(double x) {
  // modf is exact, so the tie test below never misfires on values just off
  // .5; std::round breaks ties away from zero and is exact otherwise.
  double integral;
  double fraction = std::modf(x, &integral);
  if (std::fabs(fraction) != 0.5)
    return std::round(x);
  if (std::fmod(integral, 2.0) == 0.0)
    return integral;
  return integral + (x > 0 ? 1.0 : -1.0);
}

Result<IntRange> intRange(int bits, bool isSigned) {
  if (bits < kMinIntBits || bits > kMaxIntBits) {
    std::ostringstream os;
    os << "unsupported integer bit width " << bits << " (expected "
       << kMinIntBits << ".." << kMaxIntBits << ")";
    return Result<IntRange>::failure(os.str());
  }
  if (isSigned)
    return IntRange{-(1 << (bits - 1)), (1 << (bits - 1)) - 1};
  return IntRange{0, (1 << bits) - 1};
}

int32_t quantizeInt(float x, float scale, int32_t zeroPoint, IntRange range) {
  float scaled = x / scale;
  if (std::isnan(scaled))
    return std::clamp(zeroPoint, range.qmin, range.qmax);
  // Clamp in double: the rounded value may be far outside int32.
  double q = roundHalfToEven(scaled) + zeroPoint;
  q = std::clamp(q, double(range.qmin), double(range.qmax));
  return static_cast<int32_t>(q);
}

float dequantizeInt(int32_t q, float scale, int32_t zeroPoint) {
  return static_cast<float>(q - zeroPoint) * scale;
}

/// Replaces a scale that is 0, negative or NaN by 1 (see symmetricParams).
static float sanitizeScale(float scale) { return scale > 0 ? scale : 1.0f; }

AffineParams symmetricParams(float amax, IntRange range) {
  float scale = sanitizeScale(std::fabs(amax) / static_cast<float>(range.qmax));
  return AffineParams{scale, 0};
}

AffineParams asymmetricParams(float min, float max, IntRange range) {
  min = std::min(min, 0.0f);
  max = std::max(max, 0.0f);
  float scale =
      sanitizeScale((max - min) / static_cast<float>(range.qmax - range.qmin));
  double zero = roundHalfToEven(double(range.qmin) - double(min / scale));
  zero = std::clamp(zero, double(range.qmin), double(range.qmax));
  return AffineParams{scale, static_cast<int32_t>(zero)};
}

DynamicQuantized dynamicQuantizeLinear(const float *x, int64_t n) {
  float min = 0.0f, max = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    min = std::min(min, x[i]);
    max = std::max(max, x[i]);
  }
  const IntRange u8{0, 255};
  AffineParams params = asymmetricParams(min, max, u8);
  DynamicQuantized result;
  result.scale = params.scale;
  result.zeroPoint = static_cast<uint8_t>(params.zeroPoint);
  result.values.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    result.values[i] = static_cast<uint8_t>(
        quantizeInt(x[i], params.scale, params.zeroPoint, u8));
  return result;
}

Result<std::vector<uint8_t>> packSubByte(const int32_t *codes, int64_t n,
                                         int bits, bool isSigned) {
  if (bits != 1 && bits != 2 && bits != 4) {
    std::ostringstream os;
    os << "cannot pack " << bits << "-bit codes (expected 1, 2 or 4)";
    return Result<std::vector<uint8_t>>::failure(os.str());
  }
  const int32_t lo = isSigned ? -(1 << (bits - 1)) : 0;
  const int32_t hi = isSigned ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
  const int perByte = 8 / bits;
  const uint32_t mask = (1u << bits) - 1;
  std::vector<uint8_t> bytes(static_cast<size_t>((n + perByte - 1) / perByte),
                             0);
  for (int64_t i = 0; i < n; ++i) {
    if (codes[i] < lo || codes[i] > hi) {
      std::ostringstream os;
      os << "code " << codes[i] << " at index " << i << " is outside the "
         << (isSigned ? "signed" : "unsigned") << " " << bits << "-bit range ["
         << lo << ", " << hi << "]";
      return Result<std::vector<uint8_t>>::failure(os.str());
    }
    // Two's complement truncation gives the signed nibble's bit pattern.
    uint32_t field = static_cast<uint32_t>(codes[i]) & mask;
    bytes[i / perByte] |= static_cast<uint8_t>(field << ((i % perByte) * bits));
  }
  return bytes;
}

std::vector<int32_t> unpackSubByte(const uint8_t *bytes, int64_t n, int bits,
                                   bool isSigned) {
  const int perByte = 8 / bits;
  const uint32_t mask = (1u << bits) - 1;
  std::vector<int32_t> codes(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int32_t field = static_cast<int32_t>(
        (bytes[i / perByte] >> ((i % perByte) * bits)) & mask);
    if (isSigned && field >= (1 << (bits - 1)))
      field -= 1 << bits;
    codes[i] = field;
  }
  return codes;
}

Result<std::vector<uint8_t>> packInt4(const int32_t *codes, int64_t n,
                                      bool isSigned) {
  return packSubByte(codes, n, 4, isSigned);
}

std::vector<int32_t> unpackInt4(const uint8_t *bytes, int64_t n,
                                bool isSigned) {
  return unpackSubByte(bytes, n, 4, isSigned);
}

} // namespace mlir::qc::numerics
