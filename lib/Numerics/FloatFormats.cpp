//===- FloatFormats.cpp - FP8, FP4 (E2M1) and E8M0 codecs -----------------===//

#include "qc/Numerics/FloatFormats.h"

#include "qc/Numerics/IntQuant.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace mlir::qc::numerics {

namespace {

/// How a small float format spends its special codes.
enum class Specials {
  None,       ///< Every code is finite (E2M1).
  AllOnesNaN, ///< S.1111.111 is NaN, no infinity (E4M3FN).
  Ieee,       ///< Exponent all ones: infinity or NaN (E5M2).
  Fnuz,       ///< 0x80 is the only NaN; no infinity, no −0.
};

/// One sign bit, then exponent and mantissa fields; the exponent field width
/// is implied by 8 − 1 − manBits for FP8 and by 4 − 1 − manBits for E2M1.
struct MiniFloatSpec {
  int manBits;
  int bias;
  double maxValue;
  uint8_t maxCode; ///< Code of +maxValue.
  Specials specials;
};

constexpr MiniFloatSpec kE4M3FN{3, 7, 448.0, 0x7E, Specials::AllOnesNaN};
constexpr MiniFloatSpec kE4M3FNUZ{3, 8, 240.0, 0x7F, Specials::Fnuz};
constexpr MiniFloatSpec kE5M2{2, 15, 57344.0, 0x7B, Specials::Ieee};
constexpr MiniFloatSpec kE5M2FNUZ{2, 16, 57344.0, 0x7F, Specials::Fnuz};
constexpr MiniFloatSpec kE2M1{1, 1, 6.0, 0x7, Specials::None};

const MiniFloatSpec &getSpec(Float8Format format) {
  switch (format) {
  case Float8Format::E4M3FN:
    return kE4M3FN;
  case Float8Format::E4M3FNUZ:
    return kE4M3FNUZ;
  case Float8Format::E5M2:
    return kE5M2;
  case Float8Format::E5M2FNUZ:
    return kE5M2FNUZ;
  }
  return kE4M3FN;
}

/// The code that means NaN with the sign bit `signBit` (0 or the format's
/// sign mask), for formats that have one.
uint8_t nanCode(const MiniFloatSpec &spec, uint8_t signBit) {
  if (spec.specials == Specials::Fnuz)
    return 0x80;
  return static_cast<uint8_t>(signBit | 0x7F);
}

/// Encodes a magnitude `value` that is exactly representable in `spec` and at
/// most its max: the exponent field is 0 for subnormals.
uint8_t encodeExact(const MiniFloatSpec &spec, double value) {
  const int minNormalExp = 1 - spec.bias;
  if (value == 0.0)
    return 0;
  int exp;
  std::frexp(value, &exp); // value = f · 2^exp, f ∈ [0.5, 1)
  int unbiased = exp - 1;
  if (unbiased < minNormalExp) {
    double mantissa = std::ldexp(value, spec.manBits - minNormalExp);
    return static_cast<uint8_t>(mantissa);
  }
  double mantissa = std::ldexp(value, spec.manBits - unbiased) -
                    std::ldexp(1.0, spec.manBits);
  return static_cast<uint8_t>(((unbiased + spec.bias) << spec.manBits) |
                              static_cast<int>(mantissa));
}

/// Encodes into a format of `totalBits` (8 or 4) bits.
uint8_t encode(const MiniFloatSpec &spec, float x, bool saturate,
               int totalBits) {
  const uint8_t signMask = static_cast<uint8_t>(1u << (totalBits - 1));
  const uint8_t signBit = std::signbit(x) ? signMask : 0;
  const bool fnuz = spec.specials == Specials::Fnuz;

  if (std::isnan(x))
    return nanCode(spec, signBit);

  // What an out-of-range value (or an infinity) becomes.
  auto overflow = [&](bool isInf) -> uint8_t {
    if (saturate && !(isInf && fnuz))
      return signBit | spec.maxCode;
    if (spec.specials == Specials::Ieee)
      return signBit | 0x7C; // ±inf
    return nanCode(spec, signBit);
  };
  if (std::isinf(x))
    return overflow(/*isInf=*/true);

  // Round |x| to a multiple of the quantum of its binade; below the smallest
  // normal binade the quantum stays that of the subnormals. Every step is exact
  // in double for fp32 inputs, so the only rounding is the explicit one.
  double magnitude = std::fabs(static_cast<double>(x));
  double rounded = 0.0;
  if (magnitude != 0.0) {
    int exp;
    std::frexp(magnitude, &exp);
    int binade = std::max(exp - 1, 1 - spec.bias);
    double quantum = std::ldexp(1.0, binade - spec.manBits);
    rounded = roundHalfToEven(magnitude / quantum) * quantum;
  }
  if (rounded > spec.maxValue)
    return overflow(/*isInf=*/false);
  if (rounded == 0.0 && fnuz)
    return 0; // there is no −0: 0x80 is NaN
  return signBit | encodeExact(spec, rounded);
}

/// Decodes a code of `totalBits` (8 or 4) bits.
float decode(const MiniFloatSpec &spec, uint8_t code, int totalBits) {
  const uint8_t signMask = static_cast<uint8_t>(1u << (totalBits - 1));
  const int expBits = totalBits - 1 - spec.manBits;
  const int expField = (code & (signMask - 1)) >> spec.manBits;
  const int mantissa = code & ((1 << spec.manBits) - 1);
  const bool negative = (code & signMask) != 0;
  const float nan = std::numeric_limits<float>::quiet_NaN();

  switch (spec.specials) {
  case Specials::None:
    break;
  case Specials::AllOnesNaN:
    if ((code & (signMask - 1)) == signMask - 1)
      return nan;
    break;
  case Specials::Ieee:
    if (expField == (1 << expBits) - 1) {
      if (mantissa != 0)
        return nan;
      return negative ? -std::numeric_limits<float>::infinity()
                      : std::numeric_limits<float>::infinity();
    }
    break;
  case Specials::Fnuz:
    if (code == signMask)
      return nan;
    break;
  }

  double magnitude;
  if (expField == 0)
    magnitude =
        std::ldexp(static_cast<double>(mantissa), 1 - spec.bias - spec.manBits);
  else
    magnitude = std::ldexp(static_cast<double>(mantissa + (1 << spec.manBits)),
                           expField - spec.bias - spec.manBits);
  return static_cast<float>(negative ? -magnitude : magnitude);
}

} // namespace

const char *getFloat8FormatName(Float8Format format) {
  switch (format) {
  case Float8Format::E4M3FN:
    return "float8e4m3fn";
  case Float8Format::E4M3FNUZ:
    return "float8e4m3fnuz";
  case Float8Format::E5M2:
    return "float8e5m2";
  case Float8Format::E5M2FNUZ:
    return "float8e5m2fnuz";
  }
  return "unknown";
}

float getFloat8Max(Float8Format format) {
  return static_cast<float>(getSpec(format).maxValue);
}

uint8_t floatToFloat8(float x, Float8Format format, bool saturate) {
  return encode(getSpec(format), x, saturate, 8);
}

float float8ToFloat(uint8_t code, Float8Format format) {
  return decode(getSpec(format), code, 8);
}

uint8_t floatToE2M1(float x) {
  if (std::isnan(x))
    return kE2M1.maxCode; // ONNX: NaN → +6
  return encode(kE2M1, x, /*saturate=*/true, 4);
}

float e2m1ToFloat(uint8_t code) { return decode(kE2M1, code & 0xF, 4); }

uint8_t e8m0FromExponent(int exponent) {
  if (exponent < -127)
    exponent = -127;
  if (exponent > 127)
    exponent = 127;
  return static_cast<uint8_t>(exponent + 127);
}

float e8m0ToFloat(uint8_t code) {
  if (code == 0xFF)
    return std::numeric_limits<float>::quiet_NaN();
  return std::ldexp(1.0f, static_cast<int>(code) - 127);
}

} // namespace mlir::qc::numerics
