//===- WeightQuantizerTest.cpp - RTN and the clip search ------------------===//

#include "qc/Numerics/WeightQuantizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace mlir::qc::numerics;

namespace {

WeightQuantConfig rtnConfig(int bits, bool symmetric, int64_t groupSize) {
  WeightQuantConfig config;
  config.spec = IntQuantSpec{bits, symmetric, 1.0f};
  config.groupSize = groupSize;
  return config;
}

// Per-channel int4 symmetric, scales 3.5/7 = 0.5 and 7/7 = 1:
//   row 0: [3.5, -1.25, 0.75, 0.2] / 0.5 = [7, -2.5, 1.5, 0.4] -> [7, -2, 2, 0]
//   row 1: [-7, 2.5, 0.5, -3.5] / 1 -> [-7, 2, 0, -4] (ties to even)
TEST(RTN, PerChannelHandComputed) {
  const float w[] = {3.5f, -1.25f, 0.75f, 0.2f, -7.0f, 2.5f, 0.5f, -3.5f};
  Result<QuantizedWeight> q = quantizeWeightRTN(w, 2, 4, rtnConfig(4, true, 0));
  ASSERT_TRUE(q) << q.error();
  EXPECT_EQ(q->groupSize, 4);
  EXPECT_EQ(q->numGroups(), 1);
  EXPECT_EQ(q->scales, (std::vector<float>{0.5f, 1.0f}));
  EXPECT_EQ(q->zeroPoints, (std::vector<int32_t>{0, 0}));
  EXPECT_EQ(q->codes, (std::vector<int32_t>{7, -2, 2, 0, -7, 2, 0, -4}));
  EXPECT_EQ(q->dequantized, (std::vector<float>{3.5f, -1.0f, 1.0f, 0.0f, -7.0f,
                                                2.0f, 0.0f, -4.0f}));
  EXPECT_EQ(q->groupIndex, (std::vector<int32_t>{0, 0, 0, 0}));
}

// Groups of 2, uint4 asymmetric: [0, 15 | -3, 4.5]:
//   group 0: [0, 15] -> s = 1, z = 0, codes [0, 15]
//   group 1: [-3, 4.5] -> s = 0.5, z = 6, codes [0, 15]
TEST(RTN, PerGroupAsymmetricHandComputed) {
  const float w[] = {0.0f, 15.0f, -3.0f, 4.5f};
  Result<QuantizedWeight> q =
      quantizeWeightRTN(w, 1, 4, rtnConfig(4, false, 2));
  ASSERT_TRUE(q) << q.error();
  EXPECT_EQ(q->range.qmin, 0);
  EXPECT_EQ(q->range.qmax, 15);
  EXPECT_EQ(q->scales, (std::vector<float>{1.0f, 0.5f}));
  EXPECT_EQ(q->zeroPoints, (std::vector<int32_t>{0, 6}));
  EXPECT_EQ(q->codes, (std::vector<int32_t>{0, 15, 0, 15}));
  EXPECT_EQ(q->groupIndex, (std::vector<int32_t>{0, 0, 1, 1}));
  EXPECT_EQ(q->dequantized, (std::vector<float>{0.0f, 15.0f, -3.0f, 4.5f}));
}

TEST(RTN, RejectsBadConfigurations) {
  const float w[8] = {};
  Result<QuantizedWeight> q = quantizeWeightRTN(w, 2, 4, rtnConfig(4, true, 3));
  ASSERT_FALSE(q);
  EXPECT_NE(q.error().find("group size 3"), std::string::npos) << q.error();
  EXPECT_FALSE(quantizeWeightRTN(w, 2, 4, rtnConfig(1, true, 0)));
  EXPECT_FALSE(quantizeWeightRTN(w, 2, 4, rtnConfig(4, true, -2)));
  WeightQuantConfig clip = rtnConfig(4, true, 0);
  clip.clipSearch = ClipSearchConfig{10, 11, 2.0};
  EXPECT_FALSE(quantizeWeightRTN(w, 2, 4, clip));
  clip.clipSearch = ClipSearchConfig{10, 5, 0.0};
  EXPECT_FALSE(quantizeWeightRTN(w, 2, 4, clip));
}

TEST(SliceQuantError, HandComputed) {
  // scale 1.5: 1 -> 1 -> 1.5 and 2 -> 1 -> 1.5; |errors| = 0.5, 0.5.
  const float x[] = {1.0f, 2.0f};
  const IntRange int4{-8, 7};
  EXPECT_DOUBLE_EQ(sliceQuantError(x, 2, {1.5f, 0}, int4, 2.0), 0.5);
  EXPECT_DOUBLE_EQ(sliceQuantError(x, 2, {1.5f, 0}, int4, 1.0), 1.0);
}

// One outlier (10) among 100 ones, int4 symmetric, shrink factors 1, 0.9, ...,
// 0.1, squared error. By hand (s = 10p/7):
//   p = 1:   s = 1.43, ones -> 1.43 (100 · 0.184 = 18.4), 10 exact   -> 18.4
//   p = 0.9: s = 1.29, ones -> 1.29 (8.2), 10 -> 7s = 9 (1)          -> 9.2
//   p = 0.8: s = 1.14, ones -> 1.14 (2.0), 10 -> 8 (4)               -> 6.0
//   p = 0.7: s = 1, ones exact, 10 -> 7 (9)                          -> 9
//   p = 0.6: s = 0.86, ones -> 0.86 (2.0), 10 -> 6 (16)              -> 18
// and smaller p clip harder. The best is p = 0.8, scale 8/7.
TEST(ClipSearch, HandComputedShrinkFactor) {
  std::vector<float> x(101, 1.0f);
  x[37] = 10.0f;
  WeightQuantConfig config = rtnConfig(4, true, 0);
  config.clipSearch = ClipSearchConfig{10, 10, 2.0};
  AffineParams p = findSliceParams(x.data(), 101, config, IntRange{-8, 7});
  EXPECT_FLOAT_EQ(p.scale, 8.0f / 7.0f);
  config.clipSearch.reset();
  p = findSliceParams(x.data(), 101, config, IntRange{-8, 7});
  EXPECT_FLOAT_EQ(p.scale, 10.0f / 7.0f);
}

TEST(ClipSearch, NeverWorseThanRTNOnDataWithOutliers) {
  const int64_t rows = 16, cols = 256;
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  std::vector<float> w(rows * cols);
  for (float &v : w)
    v = normal(rng);
  for (int64_t r = 0; r < rows; ++r)
    w[r * cols + (r * 37) % cols] = (r % 2 ? -1.0f : 1.0f) * (8.0f + r);

  for (int64_t groupSize : {int64_t(0), int64_t(64)}) {
    for (bool symmetric : {true, false}) {
      WeightQuantConfig plain = rtnConfig(4, symmetric, groupSize);
      WeightQuantConfig clipped = plain;
      clipped.clipSearch = ClipSearchConfig{};
      Result<QuantizedWeight> a =
          quantizeWeightRTN(w.data(), rows, cols, plain);
      Result<QuantizedWeight> b =
          quantizeWeightRTN(w.data(), rows, cols, clipped);
      ASSERT_TRUE(a && b);
      const int64_t g = a->groupSize, numGroups = a->numGroups();
      double normA = 0, normB = 0, mseA = 0, mseB = 0;
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t k = 0; k < numGroups; ++k) {
          const float *slice = w.data() + r * cols + k * g;
          int64_t p = r * numGroups + k;
          double ea = sliceQuantError(
              slice, g, {a->scales[p], a->zeroPoints[p]}, a->range, 2.4);
          double eb = sliceQuantError(
              slice, g, {b->scales[p], b->zeroPoints[p]}, b->range, 2.4);
          EXPECT_LE(eb, ea) << "row " << r << " group " << k;
          normA += ea;
          normB += eb;
        }
      }
      for (size_t i = 0; i < w.size(); ++i) {
        mseA += std::pow(a->dequantized[i] - w[i], 2);
        mseB += std::pow(b->dequantized[i] - w[i], 2);
      }
      // One slice in four (per-group) or every row holds an outlier; the
      // search gains 7-27 % overall here.
      EXPECT_LT(normB, 0.95 * normA)
          << "group " << groupSize << " symmetric " << symmetric;
      EXPECT_LT(mseB, mseA)
          << "group " << groupSize << " symmetric " << symmetric;
    }
  }
}

// FP8 E4M3FN, one scale per row: amax 224 -> scale 224 / 448 = 0.5.
// 224 / 0.5 = 448 = 0x7E (the largest finite code); -1 / 0.5 = -2 =
// sign | exponent 1 + 7 = 8 -> 0xC0; 0.3 / 0.5 = 0.6 lies between 0.5625
// and 0.625 (steps of 2^-1 / 8), nearer 0.625 = 2^-1 · (1 + 2/8) -> 0x32,
// dequantized 0.3125; 0 -> 0. Second row by blocks of 2: [1, 2] -> scale
// 2/448, [-4, 0] -> scale 4/448.
TEST(FloatWeightTest, E4M3PerRowAndBlocks) {
  const float w[4] = {224.0f, -1.0f, 0.3f, 0.0f};
  auto q = quantizeWeightFloat(w, 1, 4, FloatWeightFormat::E4M3FN);
  ASSERT_TRUE(q) << q.error();
  EXPECT_EQ(q->blockSize, 4);
  ASSERT_EQ(q->scales.size(), 1u);
  EXPECT_FLOAT_EQ(q->scales[0], 0.5f);
  EXPECT_EQ(q->codes, (std::vector<uint8_t>{0x7E, 0xC0, 0x32, 0x00}));
  EXPECT_EQ(q->dequantized, (std::vector<float>{224.0f, -1.0f, 0.3125f, 0}));

  const float v[4] = {1.0f, 2.0f, -4.0f, 0.0f};
  auto b = quantizeWeightFloat(v, 1, 4, FloatWeightFormat::E4M3FN, 2);
  ASSERT_TRUE(b) << b.error();
  ASSERT_EQ(b->scales.size(), 2u);
  EXPECT_FLOAT_EQ(b->scales[0], 2.0f / 448);
  EXPECT_FLOAT_EQ(b->scales[1], 4.0f / 448);
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(b->dequantized[i], v[i], 1e-6) << i;
}

// E5M2: amax 28672 gives scale 28672 / 57344 = 0.5. 57344 -> 0x7B (the
// largest finite code, 1.75 * 2^15); -2 = 2^1 -> exponent 16, 0xC0 with the
// sign; 0.6 lies between 0.5 and 0.625 (steps of 2^-3 in [0.5, 1)) and is
// nearer 0.625 = 1.25 * 2^-1 -> 0.01110.01 = 0x39.
TEST(FloatWeightTest, E5M2PerRow) {
  const float w[4] = {28672.0f, -1.0f, 0.3f, 0.0f};
  auto q = quantizeWeightFloat(w, 1, 4, FloatWeightFormat::E5M2);
  ASSERT_TRUE(q) << q.error();
  ASSERT_EQ(q->scales.size(), 1u);
  EXPECT_FLOAT_EQ(q->scales[0], 0.5f);
  EXPECT_EQ(q->codes, (std::vector<uint8_t>{0x7B, 0xC0, 0x39, 0x00}));
  EXPECT_EQ(q->dequantized,
            (std::vector<float>{28672.0f, -1.0f, 0.3125f, 0}));
}

// MXFP4: a block of 32 with amax 6 has shared exponent floor(log2 6) - 2 =
// 0, scale 1; 6 -> E2M1 0x7, 0.5 -> 0x1, -1.5 -> 0xB (sign | 0x3). A second
// block at 1/4 the size gets scale 2^-2.
TEST(FloatWeightTest, MXFP4Blocks) {
  std::vector<float> w(64, 0.5f);
  w[0] = 6.0f;
  w[1] = -1.5f;
  for (int i = 32; i < 64; ++i)
    w[i] = w[i - 32] / 4;
  auto q = quantizeWeightFloat(w.data(), 1, 64, FloatWeightFormat::MXFP4);
  ASSERT_TRUE(q) << q.error();
  EXPECT_EQ(q->blockSize, 32);
  EXPECT_EQ(q->scales, (std::vector<float>{1.0f, 0.25f}));
  EXPECT_EQ(q->codes[0], 0x7);
  EXPECT_EQ(q->codes[1], 0xB);
  EXPECT_EQ(q->codes[2], 0x1);
  EXPECT_EQ(q->codes[32], 0x7);
  EXPECT_EQ(q->dequantized, w); // every value is on the grid
}

// NVFP4: all 16 values 2688 = 6 · 448: tensor scale 2688 / (6 · 448) = 1,
// block scale E4M3(2688 / 6 / 1) = 448, codes 2688 / 448 = 6 -> 0x7.
TEST(FloatWeightTest, NVFP4Block) {
  std::vector<float> w(32, 2688.0f);
  for (int i = 16; i < 32; ++i)
    w[i] = -3.0f;
  auto q = quantizeWeightFloat(w.data(), 2, 16, FloatWeightFormat::NVFP4);
  ASSERT_TRUE(q) << q.error();
  EXPECT_EQ(q->blockSize, 16);
  EXPECT_FLOAT_EQ(q->scales[0], 448.0f);
  // Second block: 3 / 6 / 1 = 0.5 (exact in E4M3), codes -3 / 0.5 = -6.
  EXPECT_FLOAT_EQ(q->scales[1], 0.5f);
  EXPECT_EQ(q->codes[0], 0x7);
  EXPECT_EQ(q->codes[16], 0xF);
  EXPECT_EQ(q->dequantized, w);
}

TEST(FloatWeightTest, RejectsBadShapesAndValues) {
  std::vector<float> w(48, 1.0f);
  auto q = quantizeWeightFloat(w.data(), 1, 48, FloatWeightFormat::MXFP4);
  ASSERT_FALSE(q);
  EXPECT_NE(q.error().find("block size 32 does not divide the 48 columns"),
            std::string::npos);
  EXPECT_FALSE(quantizeWeightFloat(w.data(), 1, 48, FloatWeightFormat::E4M3FN,
                                   5));
  w[3] = NAN;
  EXPECT_FALSE(quantizeWeightFloat(w.data(), 1, 48, FloatWeightFormat::E4M3FN));
}

} // namespace
