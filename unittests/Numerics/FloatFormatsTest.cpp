//===- FloatFormatsTest.cpp - FP8, FP4 (E2M1) and E8M0 codecs -------------===//

#include "qc/Numerics/FloatFormats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace mlir::qc::numerics;

namespace {

const float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

/// The value of an 8-bit sign/exponent/mantissa code with IEEE-style
/// subnormals, written from the format definition independently of the
/// library: (−1)^s · 2^(e − bias) · (1 + m / 2^M), or 2^(1 − bias) · m / 2^M
/// when e = 0. Special codes are the caller's business.
double formulaValue(unsigned code, int manBits, int bias) {
  const int expBits = 7 - manBits;
  const unsigned sign = code >> 7;
  const unsigned e = (code >> manBits) & ((1u << expBits) - 1);
  const unsigned m = code & ((1u << manBits) - 1);
  const double fraction = double(m) / double(1u << manBits);
  double magnitude = e == 0 ? std::pow(2.0, 1 - bias) * fraction
                            : std::pow(2.0, int(e) - bias) * (1.0 + fraction);
  return sign ? -magnitude : magnitude;
}

TEST(Float8, E4M3FNDecodesAll256Codes) {
  for (unsigned code = 0; code < 256; ++code) {
    float value = float8ToFloat(uint8_t(code), Float8Format::E4M3FN);
    if ((code & 0x7F) == 0x7F) {
      EXPECT_TRUE(std::isnan(value)) << "code " << code;
      continue;
    }
    EXPECT_EQ(double(value), formulaValue(code, 3, 7)) << "code " << code;
  }
  EXPECT_EQ(float8ToFloat(0x7E, Float8Format::E4M3FN), 448.0f);
  EXPECT_EQ(float8ToFloat(0x01, Float8Format::E4M3FN), 0.001953125f); // 2^-9
  EXPECT_EQ(float8ToFloat(0x08, Float8Format::E4M3FN), 0.015625f);    // 2^-6
  EXPECT_EQ(float8ToFloat(0x38, Float8Format::E4M3FN), 1.0f);
  EXPECT_TRUE(std::signbit(float8ToFloat(0x80, Float8Format::E4M3FN)));
}

TEST(Float8, E5M2DecodesAll256Codes) {
  for (unsigned code = 0; code < 256; ++code) {
    float value = float8ToFloat(uint8_t(code), Float8Format::E5M2);
    if ((code & 0x7C) == 0x7C) { // exponent all ones
      if ((code & 0x3) == 0)
        EXPECT_EQ(value, code & 0x80 ? -kInf : kInf) << "code " << code;
      else
        EXPECT_TRUE(std::isnan(value)) << "code " << code;
      continue;
    }
    EXPECT_EQ(double(value), formulaValue(code, 2, 15)) << "code " << code;
  }
  EXPECT_EQ(float8ToFloat(0x7B, Float8Format::E5M2), 57344.0f);
  EXPECT_EQ(float8ToFloat(0x01, Float8Format::E5M2), 1.52587890625e-05f);
  EXPECT_EQ(float8ToFloat(0x3C, Float8Format::E5M2), 1.0f);
}

TEST(Float8, FnuzDecodeAll256Codes) {
  for (unsigned code = 0; code < 256; ++code) {
    float e4 = float8ToFloat(uint8_t(code), Float8Format::E4M3FNUZ);
    float e5 = float8ToFloat(uint8_t(code), Float8Format::E5M2FNUZ);
    if (code == 0x80) {
      EXPECT_TRUE(std::isnan(e4));
      EXPECT_TRUE(std::isnan(e5));
      continue;
    }
    EXPECT_EQ(double(e4), formulaValue(code, 3, 8)) << "code " << code;
    EXPECT_EQ(double(e5), formulaValue(code, 2, 16)) << "code " << code;
  }
  EXPECT_EQ(float8ToFloat(0x7F, Float8Format::E4M3FNUZ), 240.0f);
  EXPECT_EQ(float8ToFloat(0x7F, Float8Format::E5M2FNUZ), 57344.0f);
  EXPECT_EQ(float8ToFloat(0x40, Float8Format::E4M3FNUZ), 1.0f);
  EXPECT_EQ(float8ToFloat(0x40, Float8Format::E5M2FNUZ), 1.0f);
}

TEST(Float8, MaxValues) {
  EXPECT_EQ(getFloat8Max(Float8Format::E4M3FN), 448.0f);
  EXPECT_EQ(getFloat8Max(Float8Format::E4M3FNUZ), 240.0f);
  EXPECT_EQ(getFloat8Max(Float8Format::E5M2), 57344.0f);
  EXPECT_EQ(getFloat8Max(Float8Format::E5M2FNUZ), 57344.0f);
  EXPECT_STREQ(getFloat8FormatName(Float8Format::E5M2FNUZ), "float8e5m2fnuz");
}

TEST(Float8, EveryFiniteCodeRoundTrips) {
  for (Float8Format format : {Float8Format::E4M3FN, Float8Format::E4M3FNUZ,
                              Float8Format::E5M2, Float8Format::E5M2FNUZ}) {
    for (unsigned code = 0; code < 256; ++code) {
      float value = float8ToFloat(uint8_t(code), format);
      if (!std::isfinite(value))
        continue;
      EXPECT_EQ(floatToFloat8(value, format, false), code)
          << getFloat8FormatName(format) << " code " << code;
    }
  }
}

TEST(Float8, E4M3FNKnownEncodings) {
  auto enc = [](float x, bool saturate = true) {
    return floatToFloat8(x, Float8Format::E4M3FN, saturate);
  };
  EXPECT_EQ(enc(448.0f), 0x7E);
  EXPECT_EQ(enc(-448.0f), 0xFE);
  EXPECT_EQ(enc(1.0f), 0x38);
  EXPECT_EQ(enc(0.5f), 0x30);
  EXPECT_EQ(enc(-2.0f), 0xC0);
  EXPECT_EQ(enc(0.0f), 0x00);
  EXPECT_EQ(enc(-0.0f), 0x80);
  // Subnormals: 2^-9 is the smallest; 0.0019531 is just below it.
  EXPECT_EQ(enc(0.001953125f), 0x01);
  EXPECT_EQ(enc(0.0019531f), 0x01);
  EXPECT_EQ(enc(0.013671875f), 0x07);  // largest subnormal, 7/8 · 2^-6
  EXPECT_EQ(enc(0.015625f), 0x08);     // smallest normal
  EXPECT_EQ(enc(0.0009765625f), 0x00); // 2^-10: tie between 0 and 2^-9
  EXPECT_EQ(enc(0.0029296875f), 0x02); // 1.5 · 2^-9: tie -> 2 · 2^-9
  EXPECT_EQ(enc(0.0009766f), 0x01);    // just above the tie
  EXPECT_EQ(enc(-1e-10f), 0x80);       // rounds to -0
}

TEST(Float8, E4M3FNRoundsHalfToEven) {
  auto enc = [](float x) { return floatToFloat8(x, Float8Format::E4M3FN); };
  EXPECT_EQ(enc(1.0625f), 0x38); // 1 + 1/16: tie between 1 (even) and 1.125
  EXPECT_EQ(enc(1.1875f), 0x3A); // tie between 1.125 and 1.25 (even)
  EXPECT_EQ(enc(1.07f), 0x39);   // nearer 1.125
  EXPECT_EQ(enc(17.0f), 0x58);   // tie 16 / 18 -> 16
  EXPECT_EQ(enc(19.0f), 0x5A);   // tie 18 / 20 -> 20
}

TEST(Float8, E4M3FNSaturation) {
  auto enc = [](float x, bool saturate) {
    return floatToFloat8(x, Float8Format::E4M3FN, saturate);
  };
  // 464 is the tie between 448 and 480 (which would be the NaN code): it
  // rounds to the even 448, so it is in range either way.
  EXPECT_EQ(enc(464.0f, false), 0x7E);
  EXPECT_EQ(enc(465.0f, true), 0x7E);
  EXPECT_EQ(enc(465.0f, false), 0x7F);
  EXPECT_EQ(enc(-465.0f, false), 0xFF);
  EXPECT_EQ(enc(1e9f, true), 0x7E);
  EXPECT_EQ(enc(-1e9f, true), 0xFE);
  EXPECT_EQ(enc(kInf, true), 0x7E);
  EXPECT_EQ(enc(-kInf, true), 0xFE);
  EXPECT_EQ(enc(kInf, false), 0x7F);
  EXPECT_EQ(enc(-kInf, false), 0xFF);
  EXPECT_EQ(enc(kNaN, true), 0x7F);
  EXPECT_EQ(enc(-kNaN, false), 0xFF);
}

TEST(Float8, E5M2KnownEncodingsAndSaturation) {
  auto enc = [](float x, bool saturate = true) {
    return floatToFloat8(x, Float8Format::E5M2, saturate);
  };
  EXPECT_EQ(enc(1.0f), 0x3C);
  EXPECT_EQ(enc(57344.0f), 0x7B);
  EXPECT_EQ(enc(1.52587890625e-05f), 0x01); // 2^-16
  EXPECT_EQ(enc(1.25f), 0x3D);
  EXPECT_EQ(enc(1.125f), 0x3C); // tie 1 / 1.25 -> 1
  EXPECT_EQ(enc(1.375f), 0x3E); // tie 1.25 / 1.5 -> 1.5
  // 61440 is the tie between 57344 and 65536 (even): it overflows.
  EXPECT_EQ(enc(61439.0f, false), 0x7B);
  EXPECT_EQ(enc(61440.0f, false), 0x7C);
  EXPECT_EQ(enc(61440.0f, true), 0x7B);
  EXPECT_EQ(enc(-1e9f, false), 0xFC);
  EXPECT_EQ(enc(-1e9f, true), 0xFB);
  EXPECT_EQ(enc(kInf, false), 0x7C);
  EXPECT_EQ(enc(-kInf, false), 0xFC);
  EXPECT_EQ(enc(kInf, true), 0x7B);
  EXPECT_EQ(enc(-kInf, true), 0xFB);
  EXPECT_EQ(enc(kNaN), 0x7F);
  EXPECT_EQ(enc(-0.0f), 0x80);
}

TEST(Float8, FnuzEncodings) {
  auto e4 = [](float x, bool saturate = true) {
    return floatToFloat8(x, Float8Format::E4M3FNUZ, saturate);
  };
  auto e5 = [](float x, bool saturate = true) {
    return floatToFloat8(x, Float8Format::E5M2FNUZ, saturate);
  };
  EXPECT_EQ(e4(1.0f), 0x40);
  EXPECT_EQ(e4(240.0f), 0x7F);
  EXPECT_EQ(e4(-240.0f), 0xFF);
  EXPECT_EQ(e4(0.0009765625f), 0x01); // 2^-10, smallest subnormal
  // No negative zero: 0x80 is NaN.
  EXPECT_EQ(e4(-0.0f), 0x00);
  EXPECT_EQ(e4(-1e-10f), 0x00);
  EXPECT_EQ(e5(-0.0f), 0x00);
  // 248 is the tie between 240 and 256 (even): it overflows.
  EXPECT_EQ(e4(247.0f, false), 0x7F);
  EXPECT_EQ(e4(248.0f, true), 0x7F);
  EXPECT_EQ(e4(248.0f, false), 0x80);
  EXPECT_EQ(e4(-1e9f, true), 0xFF);
  EXPECT_EQ(e4(-1e9f, false), 0x80);
  // ONNX's table: infinities become NaN in the FNUZ formats even when
  // saturating.
  EXPECT_EQ(e4(kInf, true), 0x80);
  EXPECT_EQ(e5(-kInf, true), 0x80);
  EXPECT_EQ(e4(kNaN), 0x80);
  EXPECT_EQ(e5(kNaN), 0x80);
  EXPECT_EQ(e5(1.0f), 0x40);
  EXPECT_EQ(e5(57344.0f), 0x7F);
  EXPECT_EQ(e5(7.62939453125e-06f), 0x01); // 2^-17
  EXPECT_EQ(e5(1e9f, true), 0x7F);
  EXPECT_EQ(e5(1e9f, false), 0x80);
}

TEST(E2M1, DecodesAll16Codes) {
  const float magnitudes[8] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
  for (unsigned code = 0; code < 16; ++code) {
    float expected = code & 8 ? -magnitudes[code & 7] : magnitudes[code & 7];
    EXPECT_EQ(e2m1ToFloat(uint8_t(code)), expected) << "code " << code;
    EXPECT_EQ(e2m1ToFloat(uint8_t(code | 0xA0)), expected) << "high nibble";
  }
}

TEST(E2M1, EncodesWithTiesToEvenAndSaturation) {
  EXPECT_EQ(floatToE2M1(0.25f), 0x0); // tie 0 / 0.5
  EXPECT_EQ(floatToE2M1(0.26f), 0x1);
  EXPECT_EQ(floatToE2M1(0.75f), 0x2); // tie 0.5 / 1
  EXPECT_EQ(floatToE2M1(1.25f), 0x2); // tie 1 / 1.5
  EXPECT_EQ(floatToE2M1(1.75f), 0x4); // tie 1.5 / 2
  EXPECT_EQ(floatToE2M1(2.5f), 0x4);  // tie 2 / 3
  EXPECT_EQ(floatToE2M1(3.5f), 0x6);  // tie 3 / 4
  EXPECT_EQ(floatToE2M1(5.0f), 0x6);  // tie 4 / 6
  EXPECT_EQ(floatToE2M1(5.1f), 0x7);
  EXPECT_EQ(floatToE2M1(-2.9f), 0xD);
  EXPECT_EQ(floatToE2M1(7.0f), 0x7);
  EXPECT_EQ(floatToE2M1(100.0f), 0x7);
  EXPECT_EQ(floatToE2M1(-100.0f), 0xF);
  EXPECT_EQ(floatToE2M1(kInf), 0x7);
  EXPECT_EQ(floatToE2M1(-kInf), 0xF);
  EXPECT_EQ(floatToE2M1(kNaN), 0x7); // ONNX: NaN -> +6
  EXPECT_EQ(floatToE2M1(-0.0f), 0x8);
  EXPECT_EQ(floatToE2M1(-0.2f), 0x8);
}

TEST(E8M0, DecodeAndEncode) {
  EXPECT_EQ(e8m0ToFloat(127), 1.0f);
  EXPECT_EQ(e8m0ToFloat(128), 2.0f);
  EXPECT_EQ(e8m0ToFloat(125), 0.25f);
  EXPECT_EQ(e8m0ToFloat(0), std::ldexp(1.0f, -127));
  EXPECT_GT(e8m0ToFloat(0), 0.0f);
  EXPECT_EQ(e8m0ToFloat(254), std::ldexp(1.0f, 127));
  EXPECT_TRUE(std::isnan(e8m0ToFloat(255)));
  EXPECT_EQ(e8m0FromExponent(0), 127);
  EXPECT_EQ(e8m0FromExponent(-3), 124);
  EXPECT_EQ(e8m0FromExponent(-130), 0);
  EXPECT_EQ(e8m0FromExponent(200), 254);
}

} // namespace
