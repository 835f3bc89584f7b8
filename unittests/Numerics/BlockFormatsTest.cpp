//===- BlockFormatsTest.cpp - MXFP4 and NVFP4 -----------------------------===//

#include "qc/Numerics/BlockFormats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace mlir::qc::numerics;

namespace {

TEST(MXFP4, SharedExponent) {
  EXPECT_EQ(getMXFP4SharedExponent(12.0f), 1);     // ⌊log₂ 12⌋ = 3
  EXPECT_EQ(getMXFP4SharedExponent(8.0f), 1);      // exact power of two
  EXPECT_EQ(getMXFP4SharedExponent(7.99f), 0);     // ⌊log₂ 7.99⌋ = 2
  EXPECT_EQ(getMXFP4SharedExponent(0.1f), -6);     // ⌊log₂ 0.1⌋ = -4
  EXPECT_EQ(getMXFP4SharedExponent(0.0f), -127);   // all-zero block
  EXPECT_EQ(getMXFP4SharedExponent(1e-40f), -127); // clamped
  EXPECT_EQ(getMXFP4SharedExponent(3e38f), 125);
}

// One block worked by hand: amax 12 -> e = 1, scale 2 (E8M0 code 128), and
// each element x / 2 rounded to E2M1:
//   0.3 -> 0.15 -> 0        -1.7 -> -0.85 -> -1 (0xA)
//   5.0 -> 2.5 -> 2 (tie)   12 -> 6 (0x7)
//   11.5 -> 5.75 -> 6       -7.9 -> -3.95 -> -4 (0xE)
//   0.5 -> 0.25 -> 0 (tie)  1.0 -> 0.5 (0x1)
TEST(MXFP4, HandWorkedBlock) {
  std::vector<float> x(32, 0.0f);
  const float head[] = {0.3f, -1.7f, 5.0f, 12.0f, 11.5f, -7.9f, 0.5f, 1.0f};
  std::copy(std::begin(head), std::end(head), x.begin());
  MXFP4Tensor t = encodeMXFP4(x.data(), 32);
  ASSERT_EQ(t.scales.size(), 1u);
  EXPECT_EQ(t.scales[0], 128);
  ASSERT_EQ(t.codes.size(), 16u);
  const uint8_t expectedCodes[16] = {0xA0, 0x74, 0xE7, 0x10};
  for (int i = 0; i < 16; ++i)
    EXPECT_EQ(t.codes[i], expectedCodes[i]) << "byte " << i;
  std::vector<float> y = decodeMXFP4(t);
  const float expected[8] = {0, -2, 4, 12, 12, -8, 0, 1};
  for (int i = 0; i < 32; ++i)
    EXPECT_EQ(y[i], i < 8 ? expected[i] : 0.0f) << "element " << i;
}

TEST(MXFP4, SaturatesAtSix) {
  // amax 15 -> e = 1; 15 / 2 = 7.5 is beyond 6 and saturates.
  std::vector<float> x(32, 1.0f);
  x[5] = 15.0f;
  x[6] = -15.0f;
  MXFP4Tensor t = encodeMXFP4(x.data(), 32);
  EXPECT_EQ(t.scales[0], 128);
  std::vector<float> y = decodeMXFP4(t);
  EXPECT_EQ(y[5], 12.0f);
  EXPECT_EQ(y[6], -12.0f);
  EXPECT_EQ(y[0], 1.0f);
}

TEST(MXFP4, SmallValuesAndShortLastBlock) {
  // 33 elements: two blocks, the second holding one value.
  std::vector<float> x(33, 0.0f);
  x[0] = 0.1f;   // e = -6: 0.1 · 64 = 6.4 -> 6 -> 6/64
  x[32] = -3.0f; // e = -1: -3 · 2 = -6
  MXFP4Tensor t = encodeMXFP4(x.data(), 33);
  ASSERT_EQ(t.scales.size(), 2u);
  ASSERT_EQ(t.codes.size(), 17u);
  EXPECT_EQ(t.scales[0], 121);
  EXPECT_EQ(t.scales[1], 126);
  EXPECT_EQ(t.codes[16], 0x0F); // -6 in the low nibble, padding 0
  std::vector<float> y = decodeMXFP4(t);
  EXPECT_EQ(y[0], 0.09375f);
  EXPECT_EQ(y[32], -3.0f);
}

TEST(MXFP4, ZeroAndNaNBlocks) {
  std::vector<float> x(64, 0.0f);
  x[40] = std::numeric_limits<float>::quiet_NaN();
  x[41] = 1.0f;
  MXFP4Tensor t = encodeMXFP4(x.data(), 64);
  EXPECT_EQ(t.scales[0], 0);    // all zero: smallest scale
  EXPECT_EQ(t.scales[1], 0xFF); // NaN block
  std::vector<float> y = decodeMXFP4(t);
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_TRUE(std::isnan(y[33]));
  EXPECT_TRUE(std::isnan(y[41]));
}

TEST(NVFP4, GlobalScale) {
  EXPECT_EQ(getNVFP4GlobalScale(2688.0f), 1.0f); // 6 · 448
  EXPECT_EQ(getNVFP4GlobalScale(-1344.0f), 0.5f);
  EXPECT_EQ(getNVFP4GlobalScale(0.0f), 1.0f);
}

// Three blocks of 16 worked by hand. Tensor amax 2688 -> g = 1.
//   block 0: amax 2688 -> s = 448 (E4M3 0x7E); 2688/448 = 6 (0x7),
//            1000/448 = 2.23 -> 2 (0x4), -300/448 = -0.67 -> -0.5 (0x9)
//   block 1: amax 30 -> s = 5 = 1.25·2^2 (0x4A); 30/5 = 6 (0x7),
//            7/5 = 1.4 -> 1.5 (0x3), -2.5/5 = -0.5 (0x9), 12.5/5 = 2.5 -> 2
//   block 2: amax 1.1 -> 1.1/6 = 0.1833 -> 1.5·2^-3 = 0.1875 (0x24);
//            1.1/0.1875 = 5.87 -> 6 (0x7), 0.5/0.1875 = 2.67 -> 3 (0x5),
//            -0.05/0.1875 = -0.27 -> -0.5 (0x9)
TEST(NVFP4, HandWorkedBlocks) {
  std::vector<float> x(48, 0.0f);
  x[0] = 2688.0f;
  x[1] = 1000.0f;
  x[2] = -300.0f;
  x[16] = 30.0f;
  x[17] = 7.0f;
  x[18] = -2.5f;
  x[19] = 12.5f;
  x[32] = 1.1f;
  x[33] = 0.5f;
  x[34] = -0.05f;
  NVFP4Tensor t = encodeNVFP4(x.data(), 48);
  EXPECT_EQ(t.globalScale, 1.0f);
  ASSERT_EQ(t.blockScales.size(), 3u);
  EXPECT_EQ(t.blockScales[0], 0x7E);
  EXPECT_EQ(t.blockScales[1], 0x4A);
  EXPECT_EQ(t.blockScales[2], 0x24);
  ASSERT_EQ(t.codes.size(), 24u);
  EXPECT_EQ(t.codes[0], 0x47);
  EXPECT_EQ(t.codes[1], 0x09);
  EXPECT_EQ(t.codes[8], 0x37);
  EXPECT_EQ(t.codes[9], 0x49);
  EXPECT_EQ(t.codes[16], 0x57);
  EXPECT_EQ(t.codes[17], 0x09);
  std::vector<float> y = decodeNVFP4(t);
  EXPECT_EQ(y[0], 2688.0f);
  EXPECT_EQ(y[1], 896.0f);
  EXPECT_EQ(y[2], -224.0f);
  EXPECT_EQ(y[16], 30.0f);
  EXPECT_EQ(y[17], 7.5f);
  EXPECT_EQ(y[18], -2.5f);
  EXPECT_EQ(y[19], 10.0f);
  EXPECT_EQ(y[32], 1.125f);
  EXPECT_EQ(y[33], 0.5625f);
  EXPECT_EQ(y[34], -0.09375f);
  EXPECT_EQ(y[3], 0.0f);
}

TEST(NVFP4, ExplicitGlobalScaleSaturatesTheBlockScale) {
  // g = 0.5: block scale 2688 / 6 / 0.5 = 896 saturates to 448, so the
  // effective scale is 224 and 2688 / 224 = 12 saturates to 6 -> 1344.
  std::vector<float> x(16, 0.0f);
  x[0] = 2688.0f;
  x[1] = 224.0f;
  NVFP4Tensor t = encodeNVFP4(x.data(), 16, 0.5f);
  EXPECT_EQ(t.globalScale, 0.5f);
  EXPECT_EQ(t.blockScales[0], 0x7E);
  std::vector<float> y = decodeNVFP4(t);
  EXPECT_EQ(y[0], 1344.0f);
  EXPECT_EQ(y[1], 224.0f);
}

TEST(NVFP4, NegligibleBlockIsZero) {
  // Block 1's scale 1e-6 · 448 / 1000 underflows E4M3: scale code 0, zeros.
  std::vector<float> x(32, 0.0f);
  x[0] = 1000.0f;
  x[16] = 1e-6f;
  NVFP4Tensor t = encodeNVFP4(x.data(), 32);
  EXPECT_EQ(t.blockScales[1], 0);
  std::vector<float> y = decodeNVFP4(t);
  EXPECT_EQ(y[16], 0.0f);
  EXPECT_NEAR(y[0], 1000.0f, 1e-3f);
}

TEST(NVFP4, ErrorIsBoundedOnRandomData) {
  // Every element is within half an E2M1 step (at most 1 for the [4, 6]
  // interval) of its block's scale, plus the E4M3 scale's rounding.
  std::vector<float> x(160);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = std::sin(0.37f * float(i)) * float(1 + i % 7);
  NVFP4Tensor t = encodeNVFP4(x.data(), int64_t(x.size()));
  std::vector<float> y = decodeNVFP4(t);
  for (size_t b = 0; b < x.size() / 16; ++b) {
    float scale = 0;
    for (size_t i = 16 * b; i < 16 * b + 16; ++i)
      scale = std::max(scale, std::fabs(x[i]) / 6.0f);
    for (size_t i = 16 * b; i < 16 * b + 16; ++i)
      EXPECT_LE(std::fabs(y[i] - x[i]), 1.07f * scale) << "element " << i;
  }
}

} // namespace
