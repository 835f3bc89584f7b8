//===- CalibrationTest.cpp - Running calibration statistics ---------------===//

#include "qc/Numerics/Calibration.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace mlir::qc::numerics;

namespace {

TEST(MinMaxObserver, TracksTheRangeAndSkipsNaN) {
  MinMaxObserver obs;
  EXPECT_TRUE(obs.empty());
  const float nan[] = {std::nanf("")};
  obs.update(nan, 1);
  EXPECT_TRUE(obs.empty());
  const float a[] = {1.0f, -2.0f, 3.0f};
  const float b[] = {0.5f, std::nanf(""), -4.0f};
  obs.update(a, 3);
  EXPECT_FALSE(obs.empty());
  EXPECT_EQ(obs.min(), -2.0f);
  EXPECT_EQ(obs.max(), 3.0f);
  obs.update(b, 3);
  EXPECT_EQ(obs.min(), -4.0f);
  EXPECT_EQ(obs.max(), 3.0f);
  EXPECT_EQ(obs.absMax(), 4.0f);
}

TEST(MovingAverageMinMaxObserver, HandComputed) {
  // momentum 0.5: (-1, 1) -> ((-1 - 3)/2, (1 + 5)/2) = (-2, 3)
  //               -> ((-2 + 0)/2, (3 + 1)/2) = (-1, 2).
  MovingAverageMinMaxObserver obs(0.5f);
  const float a[] = {-1.0f, 1.0f}, b[] = {-3.0f, 5.0f}, c[] = {0.0f, 1.0f};
  obs.update(a, 2);
  EXPECT_EQ(obs.min(), -1.0f);
  EXPECT_EQ(obs.max(), 1.0f);
  obs.update(b, 2);
  EXPECT_EQ(obs.min(), -2.0f);
  EXPECT_EQ(obs.max(), 3.0f);
  obs.update(c, 2);
  EXPECT_EQ(obs.min(), -1.0f);
  EXPECT_EQ(obs.max(), 2.0f);
}

TEST(MovingAverageMinMaxObserver, DefaultMomentumMovesSlowly) {
  MovingAverageMinMaxObserver obs;
  const float a[] = {0.0f, 1.0f}, b[] = {0.0f, 101.0f};
  obs.update(a, 2);
  obs.update(b, 2);
  EXPECT_FLOAT_EQ(obs.max(), 2.0f); // 0.99 · 1 + 0.01 · 101
}

TEST(ChannelStatsAccumulator, AbsMaxAndMeanAbs) {
  // Rows [1, -2], [-3, 0.5], [2, NaN]: |max| = [3, 2], mean|x| = [2, 1.25].
  ChannelStatsAccumulator acc(2);
  const float a[] = {1.0f, -2.0f, -3.0f, 0.5f};
  const float b[] = {2.0f, std::nanf("")};
  acc.update(a, 2);
  acc.update(b, 1);
  EXPECT_EQ(acc.numRows(), 3);
  EXPECT_EQ(acc.absMax(), (std::vector<float>{3.0f, 2.0f}));
  EXPECT_EQ(acc.meanAbs(), (std::vector<float>{2.0f, 1.25f}));
}

TEST(HessianAccumulator, HandComputed) {
  // Batch 1: x = [1, 2] -> H = 2·[[1, 2], [2, 4]].
  // Batch 2: [3, -1], [0, 1] -> Σ xxᵀ = [[10, -1], [-1, 6]], H = (2/3)·Σ.
  HessianAccumulator acc(2);
  const float a[] = {1.0f, 2.0f};
  acc.update(a, 1);
  EXPECT_EQ(acc.hessian(), (std::vector<double>{2, 4, 4, 8}));
  const float b[] = {3.0f, -1.0f, 0.0f, 1.0f};
  acc.update(b, 2);
  EXPECT_EQ(acc.numSamples(), 3);
  const std::vector<double> expected = {20.0 / 3, -2.0 / 3, -2.0 / 3, 4.0};
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(acc.hessian()[i], expected[i], 1e-12) << "entry " << i;
}

TEST(HessianAccumulator, BatchingDoesNotMatter) {
  const int64_t rows = 37, dim = 5;
  std::vector<float> x(rows * dim);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = std::cos(0.7f * float(i)) + 0.1f * float(i % 3);
  HessianAccumulator once(dim), inPieces(dim);
  once.update(x.data(), rows);
  inPieces.update(x.data(), 10);
  inPieces.update(x.data() + 10 * dim, 0);
  inPieces.update(x.data() + 10 * dim, 27);
  for (int64_t i = 0; i < dim * dim; ++i)
    EXPECT_NEAR(once.hessian()[i], inPieces.hessian()[i], 1e-12);
  // Symmetric, and the diagonal is 2·mean(x_j²).
  for (int64_t j = 0; j < dim; ++j) {
    double sq = 0;
    for (int64_t r = 0; r < rows; ++r)
      sq += double(x[r * dim + j]) * x[r * dim + j];
    EXPECT_NEAR(once.hessian()[j * dim + j], 2.0 * sq / rows, 1e-12);
    for (int64_t k = 0; k < dim; ++k)
      EXPECT_EQ(once.hessian()[j * dim + k], once.hessian()[k * dim + j]);
  }
}

} // namespace
