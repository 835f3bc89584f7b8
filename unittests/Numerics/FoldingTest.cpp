//===- FoldingTest.cpp - per-channel factors through linear layers --------===//

#include "qc/Numerics/Folding.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace mlir::qc::numerics;

namespace {

// W = [[1, 2], [3, 4], [5, 6]] (k = 3, n = 2), factor [2, -1, 0.5]:
// rows scaled -> [[2, 4], [-3, -4], [2.5, 3]]. Transposed storage [n, k]
// scales columns the same way.
TEST(Folding, ScaleInputChannels) {
  float w[6] = {1, 2, 3, 4, 5, 6};
  const float f[3] = {2, -1, 0.5f};
  scaleInputChannels(w, 3, 2, false, f);
  EXPECT_EQ(std::vector<float>(w, w + 6),
            (std::vector<float>{2, 4, -3, -4, 2.5f, 3}));
  float wt[6] = {1, 3, 5, 2, 4, 6}; // the same W stored [n, k]
  scaleInputChannels(wt, 3, 2, true, f);
  EXPECT_EQ(std::vector<float>(wt, wt + 6),
            (std::vector<float>{2, -3, 2.5f, 4, -4, 3}));
}

// v = [1, 0, -1]: v·W = [1 - 5, 2 - 6] = [-4, -4]; v = [0.5, 1, 0] ->
// [0.5 + 3, 1 + 4] = [3.5, 5].
TEST(Folding, VectorTimesWeight) {
  const float w[6] = {1, 2, 3, 4, 5, 6};
  const float wt[6] = {1, 3, 5, 2, 4, 6};
  const float v[3] = {1, 0, -1}, u[3] = {0.5f, 1, 0};
  EXPECT_EQ(vectorTimesWeight(v, w, 3, 2, false),
            (std::vector<float>{-4, -4}));
  EXPECT_EQ(vectorTimesWeight(u, wt, 3, 2, true),
            (std::vector<float>{3.5f, 5}));
}

// Columns scaled: W·diag([10, -1]) = [[10, -2], [30, -4], [50, -6]].
TEST(Folding, ScaleOutputChannels) {
  float w[6] = {1, 2, 3, 4, 5, 6};
  const float f[2] = {10, -1};
  scaleOutputChannels(w, 3, 2, false, f);
  EXPECT_EQ(std::vector<float>(w, w + 6),
            (std::vector<float>{10, -2, 30, -4, 50, -6}));
  float wt[6] = {1, 3, 5, 2, 4, 6};
  scaleOutputChannels(wt, 3, 2, true, f);
  EXPECT_EQ(std::vector<float>(wt, wt + 6),
            (std::vector<float>{10, 30, 50, -2, -4, -6}));
}

// Rows of [[1, -2], [-3, 0.5], [0, 0]]: max |.| = 2, 3, 0, in either storage.
TEST(Folding, InputChannelAbsMax) {
  const float w[6] = {1, -2, -3, 0.5f, 0, 0};
  const float wt[6] = {1, -3, 0, -2, 0.5f, 0};
  EXPECT_EQ(inputChannelAbsMax(w, 3, 2, false),
            (std::vector<float>{2, 3, 0}));
  EXPECT_EQ(inputChannelAbsMax(wt, 3, 2, true),
            (std::vector<float>{2, 3, 0}));
}

// alpha 0.5: s = sqrt(a / w): a = 16, w = 4 -> 2; a = 1, w = 100 -> 0.1.
// alpha 1: s = a (100 -> 100); alpha 0: s = 1 / w (4 -> 0.25). A zero or
// infinite statistic leaves the channel alone (1), and s is clamped: a = 1e12
// at alpha 1 -> 1e5.
TEST(Folding, SmoothingFactors) {
  const float act[5] = {16, 1, 0, INFINITY, 1e12f};
  const float wmax[5] = {4, 100, 3, 1, 1};
  std::vector<float> half = smoothingFactors(act, wmax, 5, 0.5);
  EXPECT_FLOAT_EQ(half[0], 2.0f);
  EXPECT_FLOAT_EQ(half[1], 0.1f);
  EXPECT_EQ(half[2], 1.0f);
  EXPECT_EQ(half[3], 1.0f);
  const float act1[1] = {100}, w1[1] = {4};
  EXPECT_FLOAT_EQ(smoothingFactors(act1, w1, 1, 1.0)[0], 100.0f);
  EXPECT_FLOAT_EQ(smoothingFactors(act1, w1, 1, 0.0)[0], 0.25f);
  EXPECT_FLOAT_EQ(smoothingFactors(act + 4, wmax + 4, 1, 1.0)[0], 1e5f);
}

// γ = [2, 1], β = [1, 0], mean = [3, -1], var = [3, 0.25], ε = 1:
// a = [2/√4, 1/√1.25].
// Channel 0: a = 1, b = 1 − 3·1 = −2. Channel 1: a = 1/√1.25 = 0.894427...,
// b = 0 + 1·a = 0.894427...; and at x = 5, (x − mean)·γ/√(var+ε) + β equals
// x·a + b on both channels.
TEST(Folding, BatchNormAffine) {
  const float gamma[2] = {2, 1}, beta[2] = {1, 0}, mean[2] = {3, -1},
              var[2] = {3, 0.25f};
  float a[2], b[2];
  ASSERT_TRUE(batchNormAffine(gamma, beta, mean, var, 2, 1.0, a, b));
  EXPECT_FLOAT_EQ(a[0], 1.0f);
  EXPECT_FLOAT_EQ(b[0], -2.0f);
  EXPECT_FLOAT_EQ(a[1], 0.894427191f);
  EXPECT_FLOAT_EQ(b[1], 0.894427191f);
  for (int c = 0; c < 2; ++c)
    EXPECT_NEAR(5 * a[c] + b[c],
                (5 - mean[c]) * gamma[c] / std::sqrt(var[c] + 1.0) + beta[c],
                1e-6);
  // A negative variance that ε does not make positive is refused untouched.
  const float bad[2] = {3, -2};
  a[0] = b[0] = 7;
  EXPECT_FALSE(batchNormAffine(gamma, beta, mean, bad, 2, 1.0, a, b));
  EXPECT_EQ(a[0], 7);
  EXPECT_EQ(b[0], 7);
}

// [[1, 2, 6], [0, 0, 3]]: rows minus their means (3, 1) ->
// [[-2, -1, 3], [-1, -1, 2]]; columns minus theirs (0.5, 1, 4.5) ->
// [[0.5, 1, 1.5], [-0.5, -1, -1.5]].
TEST(Folding, SubtractMean) {
  float rows[6] = {1, 2, 6, 0, 0, 3};
  subtractMean(rows, 2, 3, /*alongRows=*/true);
  EXPECT_EQ(std::vector<float>(rows, rows + 6),
            (std::vector<float>{-2, -1, 3, -1, -1, 2}));
  float cols[6] = {1, 2, 6, 0, 0, 3};
  subtractMean(cols, 2, 3, /*alongRows=*/false);
  EXPECT_EQ(std::vector<float>(cols, cols + 6),
            (std::vector<float>{0.5f, 1, 1.5f, -0.5f, -1, -1.5f}));
}

} // namespace
