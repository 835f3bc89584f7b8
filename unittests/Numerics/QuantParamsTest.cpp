//===- QuantParamsTest.cpp - Scales and zero points by granularity --------===//

#include "qc/Numerics/QuantParams.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace mlir::qc::numerics;

namespace {

IntQuantSpec symmetric(int bits) { return IntQuantSpec{bits, true, 1.0f}; }
IntQuantSpec asymmetric(int bits) { return IntQuantSpec{bits, false, 1.0f}; }

TEST(QuantParams, PerTensorSymmetric) {
  const float x[] = {-2.0f, 1.0f, 0.5f, 1.27f};
  Result<QuantParams> p =
      computeQuantParams(x, {2, 2}, symmetric(8), GranularitySpec::perTensor());
  ASSERT_TRUE(p) << p.error();
  EXPECT_TRUE(p->shape.empty());
  ASSERT_EQ(p->scales.size(), 1u);
  EXPECT_FLOAT_EQ(p->scales[0], 2.0f / 127.0f);
  EXPECT_EQ(p->zeroPoints[0], 0);
  EXPECT_EQ(p->range.qmin, -128);
  EXPECT_EQ(p->range.qmax, 127);
}

TEST(QuantParams, PerTensorOnAScalar) {
  const float x[] = {-3.5f};
  Result<QuantParams> p =
      computeQuantParams(x, {}, symmetric(4), GranularitySpec::perTensor());
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->scales[0], 0.5f);
}

TEST(QuantParams, PerChannelAxis0And1) {
  // [[1, -2, 0.5], [0.7, 0.35, -3.5]]
  const float x[] = {1.0f, -2.0f, 0.5f, 0.7f, 0.35f, -3.5f};
  Result<QuantParams> rows = computeQuantParams(x, {2, 3}, symmetric(4),
                                                GranularitySpec::perChannel(0));
  ASSERT_TRUE(rows) << rows.error();
  EXPECT_EQ(rows->shape, (std::vector<int64_t>{2}));
  EXPECT_FLOAT_EQ(rows->scales[0], 2.0f / 7.0f);
  EXPECT_EQ(rows->scales[1], 0.5f);

  Result<QuantParams> cols = computeQuantParams(
      x, {2, 3}, symmetric(4), GranularitySpec::perChannel(-1));
  ASSERT_TRUE(cols) << cols.error();
  EXPECT_EQ(cols->axis, 1);
  EXPECT_EQ(cols->shape, (std::vector<int64_t>{3}));
  EXPECT_FLOAT_EQ(cols->scales[0], 1.0f / 7.0f);
  EXPECT_FLOAT_EQ(cols->scales[1], 2.0f / 7.0f);
  EXPECT_EQ(cols->scales[2], 0.5f);
}

TEST(QuantParams, PerChannelMiddleAxisOf3D) {
  // Shape [2, 2, 2]; channel c of axis 1 holds x[o][c][i].
  // Channel 0: {1, -7, 0.5, 2}  -> amax 7;  channel 1: {3.5, 0, -1, 0} -> 3.5.
  const float x[] = {1, -7, 3.5f, 0, 0.5f, 2, -1, 0};
  Result<QuantParams> p = computeQuantParams(x, {2, 2, 2}, symmetric(4),
                                             GranularitySpec::perChannel(1));
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->shape, (std::vector<int64_t>{2}));
  EXPECT_EQ(p->scales[0], 1.0f);
  EXPECT_EQ(p->scales[1], 0.5f);
}

// Weight [2, 4], groups of 2 along the reduction axis 1, int4 symmetric:
//   row 0: [1.5, -3.5 | 2.5, 7]       scales 0.5, 1
//   row 1: [14, -3 | 0.1875, -0.875]  scales 2, 0.125
TEST(QuantParams, PerGroupAlongTheReductionAxis) {
  const float w[] = {1.5f, -3.5f, 2.5f, 7.0f, 14.0f, -3.0f, 0.1875f, -0.875f};
  Result<QuantParams> p = computeQuantParams(w, {2, 4}, symmetric(4),
                                             GranularitySpec::perGroup(1, 2));
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(p->scales, (std::vector<float>{0.5f, 1.0f, 2.0f, 0.125f}));
  Result<std::vector<int32_t>> q = quantizeWithParams(w, {2, 4}, *p);
  ASSERT_TRUE(q) << q.error();
  // 2.5 / 1 and -3 / 2 and 0.1875 / 0.125 are ties: 2, -2, 2.
  EXPECT_EQ(*q, (std::vector<int32_t>{3, -7, 2, 7, 7, -2, 2, -7}));
  Result<std::vector<float>> d = dequantizeWithParams(q->data(), {2, 4}, *p);
  ASSERT_TRUE(d) << d.error();
  EXPECT_EQ(*d, (std::vector<float>{1.5f, -3.5f, 2.0f, 7.0f, 14.0f, -4.0f,
                                    0.25f, -0.875f}));
}

TEST(QuantParams, PerGroupAlongAxis0) {
  // Shape [4, 2], groups of 2 rows: params shape [2, 2].
  // Column 0: {1, 3.5 | 7, 0}; column 1: {-14, 0 | 0.5, -0.25}.
  const float x[] = {1, -14, 3.5f, 0, 7, 0.5f, 0, -0.25f};
  Result<QuantParams> p = computeQuantParams(x, {4, 2}, symmetric(4),
                                             GranularitySpec::perGroup(0, 2));
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(p->scales[0], 0.5f);
  EXPECT_EQ(p->scales[1], 2.0f);
  EXPECT_EQ(p->scales[2], 1.0f);
  EXPECT_FLOAT_EQ(p->scales[3], 0.5f / 7.0f);
}

TEST(QuantParams, PerTokenAsymmetric) {
  // uint4 per row: [0, 7.5, 15] -> s = 15/15 = 1, z = 0 (7.5 is a tie -> 8);
  //                 [-3, 0, 4.5] -> s = 7.5/15 = 0.5, z = 3/0.5 = 6.
  const float x[] = {0.0f, 7.5f, 15.0f, -3.0f, 0.0f, 4.5f};
  Result<QuantParams> p =
      computeQuantParams(x, {2, 3}, asymmetric(4), GranularitySpec::perToken());
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->shape, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(p->scales, (std::vector<float>{1.0f, 0.5f}));
  EXPECT_EQ(p->zeroPoints, (std::vector<int32_t>{0, 6}));
  EXPECT_EQ(p->range.qmin, 0);
  EXPECT_EQ(p->range.qmax, 15);
  Result<std::vector<int32_t>> q = quantizeWithParams(x, {2, 3}, *p);
  ASSERT_TRUE(q) << q.error();
  EXPECT_EQ(*q, (std::vector<int32_t>{0, 8, 15, 0, 6, 15}));
}

TEST(QuantParams, PerTokenOn3D) {
  std::vector<float> x(12);
  for (int i = 0; i < 12; ++i)
    x[i] = float(i % 3) * float(1 + i / 3); // row r: {0, r+1, 2(r+1)}
  Result<QuantParams> p = computeQuantParams(x.data(), {2, 2, 3}, symmetric(8),
                                             GranularitySpec::perToken());
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->shape, (std::vector<int64_t>{2, 2, 1}));
  for (int r = 0; r < 4; ++r)
    EXPECT_FLOAT_EQ(p->scales[r], 2.0f * float(r + 1) / 127.0f);
}

TEST(QuantParams, ClipRatioShrinksTheRange) {
  const float x[] = {-10.0f, 3.0f};
  IntQuantSpec spec = symmetric(8);
  spec.clipRatio = 0.5f;
  Result<QuantParams> p =
      computeQuantParams(x, {2}, spec, GranularitySpec::perTensor());
  ASSERT_TRUE(p) << p.error();
  EXPECT_FLOAT_EQ(p->scales[0], 5.0f / 127.0f);
  Result<std::vector<int32_t>> q = quantizeWithParams(x, {2}, *p);
  EXPECT_EQ((*q)[0], -128); // clipped
}

TEST(QuantParams, NaNIsIgnoredAndEmptySlicesAreZero) {
  const float x[] = {std::nanf(""), 3.5f, std::nanf(""), std::nanf("")};
  Result<QuantParams> p = computeQuantParams(x, {2, 2}, symmetric(4),
                                             GranularitySpec::perChannel(0));
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->scales[0], 0.5f);
  EXPECT_EQ(p->scales[1], 1.0f); // no data: the degenerate scale
}

TEST(QuantParams, ParametersApplyToNewBatches) {
  const float calib[] = {1, 2, 3, 4, 5, 6};
  Result<QuantParams> p = computeQuantParams(calib, {2, 3}, symmetric(8),
                                             GranularitySpec::perChannel(1));
  ASSERT_TRUE(p) << p.error();
  std::vector<float> batch(15, 1.0f);
  EXPECT_TRUE(quantizeWithParams(batch.data(), {5, 3}, *p));
  Result<std::vector<int32_t>> bad =
      quantizeWithParams(batch.data(), {3, 5}, *p);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("[3, 5]"), std::string::npos) << bad.error();

  Result<QuantParams> tensor = computeQuantParams(calib, {2, 3}, symmetric(8),
                                                  GranularitySpec::perTensor());
  EXPECT_TRUE(quantizeWithParams(batch.data(), {15}, *tensor));
}

TEST(QuantParams, Errors) {
  const float x[8] = {};
  Result<QuantParams> r = computeQuantParams(x, {2, 4}, symmetric(4),
                                             GranularitySpec::perGroup(1, 3));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("group size 3 does not divide dimension 4"),
            std::string::npos)
      << r.error();
  EXPECT_FALSE(computeQuantParams(x, {2, 4}, symmetric(4),
                                  GranularitySpec::perGroup(1, 0)));
  r = computeQuantParams(x, {2, 4}, symmetric(4),
                         GranularitySpec::perChannel(2));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("axis 2"), std::string::npos) << r.error();
  EXPECT_FALSE(computeQuantParams(x, {2, 4}, symmetric(4),
                                  GranularitySpec::perChannel(-3)));
  EXPECT_FALSE(computeQuantParams(x, {2, 4}, symmetric(1),
                                  GranularitySpec::perTensor()));
  IntQuantSpec badClip = symmetric(8);
  badClip.clipRatio = 0.0f;
  EXPECT_FALSE(
      computeQuantParams(x, {8}, badClip, GranularitySpec::perTensor()));
  EXPECT_FALSE(
      computeQuantParams(x, {}, symmetric(8), GranularitySpec::perToken()));
}

} // namespace
