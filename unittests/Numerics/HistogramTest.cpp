//===- HistogramTest.cpp - Percentile, entropy and MSE calibration --------===//

#include "qc/Numerics/Histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace mlir::qc::numerics;

namespace {

std::vector<float> uniformSamples(int64_t n, float lo, float hi,
                                  uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> x(n);
  for (float &v : x)
    v = dist(rng);
  return x;
}

TEST(HistogramObserver, BinsAndFolding) {
  // 4 |x| bins -> 8 signed bins of width 0.25 over [-1, 1].
  HistogramObserver obs(4);
  const float x[] = {-1.0f, -0.3f, 0.2f, 0.9f, 1.0f};
  obs.update(x, 5);
  EXPECT_EQ(obs.range(), 1.0);
  EXPECT_EQ(obs.binWidth(), 0.25);
  EXPECT_EQ(obs.signedCounts(), (std::vector<double>{1, 0, 1, 0, 1, 0, 0, 2}));
  EXPECT_EQ(obs.absCounts(), (std::vector<double>{1, 1, 0, 3}));
  EXPECT_EQ(obs.totalCount(), 5.0);
}

TEST(HistogramObserver, GrowsByMergingBinPairs) {
  HistogramObserver obs(4);
  const float a[] = {-1.0f, -0.3f, 0.2f, 0.9f, 1.0f};
  obs.update(a, 5);
  // 3 > 1: R doubles twice, to 4 (width 1). By hand:
  //   R = 2: [0, 0, 1, 1 | 1, 2, 0, 0];  R = 4: [0, 0, 0, 2 | 3, 0, 0, 0]
  // and 3.0 lands in [3, 4).
  const float b[] = {3.0f, std::nanf(""), INFINITY};
  obs.update(b, 3);
  EXPECT_EQ(obs.range(), 4.0);
  EXPECT_EQ(obs.signedCounts(), (std::vector<double>{0, 0, 0, 2, 3, 0, 0, 1}));
  EXPECT_EQ(obs.min(), -1.0f);
  EXPECT_EQ(obs.max(), 3.0f);
}

TEST(HistogramObserver, ZerosBeforeTheRangeIsKnown) {
  HistogramObserver obs(4);
  const float zeros[] = {0.0f, 0.0f}, one[] = {1.0f};
  obs.update(zeros, 2);
  EXPECT_EQ(obs.range(), 0.0);
  EXPECT_EQ(obs.totalCount(), 2.0);
  obs.update(one, 1);
  EXPECT_EQ(obs.absCounts(), (std::vector<double>{2, 0, 0, 1}));
}

TEST(Percentile, IntegersOneToThousand) {
  // Values 1..1000, 1000 bins of width 1: 99 % of the values are <= 990,
  // which lies in the bin [990, 991).
  std::vector<float> x(1000);
  for (int i = 0; i < 1000; ++i)
    x[i] = float(i + 1);
  HistogramObserver obs(1000);
  obs.update(x.data(), 1000);
  EXPECT_EQ(obs.percentileAbsThreshold(99.0), 991.0f);
  EXPECT_EQ(obs.percentileAbsThreshold(100.0), 1000.0f);
  EXPECT_EQ(obs.percentileAbsThreshold(50.0), 501.0f);
}

TEST(Percentile, ExcludesAFewHugeOutliers) {
  std::vector<float> x = uniformSamples(100000, -1.0f, 1.0f, 1);
  for (int i = 0; i < 10; ++i)
    x.push_back(i % 2 ? -1000.0f : 1000.0f);
  HistogramObserver obs(8192); // width 1000/8192 = 0.12
  obs.update(x.data(), int64_t(x.size()));
  float t = obs.percentileAbsThreshold(99.9);
  EXPECT_GT(t, 0.99f);
  EXPECT_LT(t, 1.13f);
  EXPECT_EQ(obs.percentileAbsThreshold(100.0), 1000.0f);
  std::pair<float, float> range = obs.percentileRange(99.9);
  EXPECT_GT(range.first, -1.13f);
  EXPECT_LT(range.first, -0.99f);
  EXPECT_GT(range.second, 0.99f);
  EXPECT_LT(range.second, 1.13f);
}

TEST(Percentile, TwoSidedRangeOfIntegers) {
  // -100..99 with 100 |x| bins of width 1: 0.5 % in each tail for 99 %
  // is one value: -100 and 99 are left out.
  std::vector<float> x;
  for (int i = -100; i < 100; ++i)
    x.push_back(float(i));
  HistogramObserver obs(100);
  obs.update(x.data(), int64_t(x.size()));
  std::pair<float, float> r = obs.percentileRange(99.0);
  EXPECT_EQ(r.first, -99.0f);
  EXPECT_EQ(r.second, 99.0f); // upper edge of [98, 99), the last bin kept
  r = obs.percentileRange(100.0);
  EXPECT_EQ(r.first, -100.0f);
  EXPECT_EQ(r.second, 99.0f);
}

TEST(Entropy, IsolatedOutlierBinIsKept) {
  // Cutoff 8: P = [4,4,4,4,0,0,0,1]; Q merges pairs [8, 8, 0, 1] and spreads
  // them over P's non-zero bins: Q = P, KL = 0. Cutoffs 4..7 fold the outlier
  // into the last bin and differ from Q.
  EXPECT_EQ(findEntropyCutoff({4, 4, 4, 4, 0, 0, 0, 1}, 4), 8);
}

TEST(Entropy, EmptyTailIsCut) {
  // Cutoffs 4 and 8 both reproduce P exactly (KL = 0); the first wins.
  EXPECT_EQ(findEntropyCutoff({8, 8, 8, 8, 0, 0, 0, 0}, 4), 4);
  // A fat tail: folding it into one bin would distort P, keeping it is exact.
  EXPECT_EQ(findEntropyCutoff({8, 8, 8, 8, 8, 8, 8, 8}, 4), 8);
  // Fewer bins than levels: everything is kept.
  EXPECT_EQ(findEntropyCutoff({1, 2, 3}, 4), 3);
}

TEST(Entropy, GaussianWithOutliers) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  std::vector<float> x(200000);
  for (float &v : x)
    v = normal(rng);
  x[0] = 40.0f;
  x[1] = -40.0f;
  HistogramObserver obs(2048);
  obs.update(x.data(), int64_t(x.size()));
  float t = obs.entropyThreshold(128);
  EXPECT_GT(t, 2.0f);
  EXPECT_LT(t, 10.0f);
}

TEST(Entropy, UniformDataKeepsNearlyEverything) {
  std::vector<float> x = uniformSamples(200000, -1.0f, 1.0f, 8);
  HistogramObserver obs(2048);
  obs.update(x.data(), int64_t(x.size()));
  EXPECT_GT(obs.entropyThreshold(128), 0.9f);
}

TEST(ExpectedQuantError, HandComputed) {
  const IntRange int4{-8, 7};
  // One value uniform in [0, 1), scale 1: ∫₀^½ x² + ∫½^1 (x−1)² = 1/12.
  EXPECT_NEAR(expectedQuantError({1}, 0.0, 1.0, {1.0f, 0}, int4), 1.0 / 12,
              1e-15);
  // Two values uniform in [9, 10), clamped to 7: 2·∫₉^10 (x−7)² = 38/3.
  EXPECT_NEAR(expectedQuantError({0, 2}, 8.0, 1.0, {1.0f, 0}, int4), 38.0 / 3,
              1e-12);
  // A zero point shifts the levels: codes 0..15 with z = 8 are the int4
  // levels again.
  EXPECT_NEAR(expectedQuantError({0, 2}, 8.0, 1.0, {1.0f, 8}, IntRange{0, 15}),
              38.0 / 3, 1e-12);
}

// Uniform data on [-1, 1] with symmetric levels kΔ, |k| <= n, t = nΔ:
// E(Δ) ∝ (n + ½)Δ³/12 + ((1 − nΔ)³ − (Δ/2)³)/3 is minimal at
// Δ = 2(1 − nΔ), i.e. t = 2n/(2n + 1): 14/15 for n = 7, 254/255 for 127.
TEST(MSE, SymmetricThresholdOfUniformData) {
  std::vector<float> x = uniformSamples(1000000, -1.0f, 1.0f, 9);
  HistogramObserver obs(2048);
  obs.update(x.data(), int64_t(x.size()));
  EXPECT_NEAR(obs.mseSymmetricThreshold(IntRange{-7, 7}), 14.0 / 15, 0.005);
  EXPECT_NEAR(obs.mseSymmetricThreshold(IntRange{-127, 127}), 254.0 / 255,
              0.002);
  EXPECT_LE(obs.mseSymmetricThreshold(IntRange{-127, 127}), obs.absMax());
}

// Uniform on [0, 1], uint4 [0, 15]: levels k·s, s = hi/15, minimal at
// s = 2(1 − 15s): hi = 30/31 = 0.968; the grid 1 − j/100 gives 0.97.
TEST(MSE, AsymmetricRangeOfUniformData) {
  std::vector<float> x = uniformSamples(1000000, 0.0f, 1.0f, 10);
  HistogramObserver obs(2048);
  obs.update(x.data(), int64_t(x.size()));
  std::pair<float, float> r = obs.mseAsymmetricRange(IntRange{0, 15}, 100);
  EXPECT_EQ(r.first, 0.0f);
  EXPECT_NEAR(r.second, 0.97f * obs.max(), 0.006);
}

// N uniform values on [-1, 1] and one at 10, int8, t > 1:
// E(t) ≈ N·(t/127)²/12 + (10 − t)² is minimal where N·t/(6·127²) = 2(10 − t);
// with N = 6·127²·2 = 193548 that is t = 5: the outlier is clipped halfway,
// trading its error against the resolution of everything else. (Δ²/12 is
// exact only up to the partial steps at ±1, hence the tolerance.)
TEST(MSE, BalancesClippingAgainstResolution) {
  std::vector<float> x = uniformSamples(193548, -1.0f, 1.0f, 12);
  x.push_back(10.0f);
  HistogramObserver obs(2048);
  obs.update(x.data(), int64_t(x.size()));
  EXPECT_NEAR(obs.mseSymmetricThreshold(IntRange{-127, 127}), 5.0f, 0.3f);
}

} // namespace
