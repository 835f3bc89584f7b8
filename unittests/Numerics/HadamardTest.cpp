//===- HadamardTest.cpp - Hadamard sizes and the FWHT ---------------------===//

#include "qc/Numerics/Hadamard.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace mlir::qc::numerics;

namespace {

void expectFactor(int64_t n, int64_t k, int64_t m) {
  std::optional<HadamardSize> size = factorHadamardSize(n);
  ASSERT_TRUE(size.has_value()) << "n = " << n;
  EXPECT_EQ(size->factor, k) << "n = " << n;
  EXPECT_EQ(size->log2PowerOfTwo, m) << "n = " << n;
}

TEST(HadamardSize, PowersOfTwo) {
  expectFactor(1, 1, 0);
  expectFactor(2, 1, 1);
  expectFactor(4096, 1, 12);
  expectFactor(8192, 1, 13);
}

TEST(HadamardSize, ModelDimensionsFromTheQuaRotPaper) {
  expectFactor(11008, 172, 6); // LLaMA-2 7B intermediate size.
  expectFactor(14336, 28, 9);  // Llama-3 8B.
  expectFactor(28672, 28, 10); // LLaMA-2 70B.
  expectFactor(96, 12, 3);
  expectFactor(12, 12, 0);
}

TEST(HadamardSize, PrefersTheSmallestFactor) {
  // 40·2^m is also 20·2^(m+1): the smaller K leaves more to the FWHT.
  expectFactor(40, 20, 1);
  expectFactor(160, 20, 3);
}

TEST(HadamardSize, Unsupported) {
  for (int64_t n : {0, -4, 3, 6, 24 * 7, 13696, 29568})
    EXPECT_FALSE(factorHadamardSize(n).has_value()) << "n = " << n;
}

TEST(HadamardSize, Description) {
  EXPECT_EQ(describeSupportedHadamardSizes(),
            "K*2^m for K in {1, 12, 20, 28, 36, 40, 52, 60, 108, 140, 156, "
            "172}");
}

TEST(WalshHadamard, HandComputedSize4) {
  // H_4 (Sylvester) = [[1,1,1,1],[1,-1,1,-1],[1,1,-1,-1],[1,-1,-1,1]];
  // H_4 · [1,2,3,4] / 2 = [10,-2,-4,0] / 2.
  float x[4] = {1, 2, 3, 4};
  ASSERT_TRUE(applyWalshHadamard(x, 4));
  EXPECT_FLOAT_EQ(x[0], 5.0f);
  EXPECT_FLOAT_EQ(x[1], -1.0f);
  EXPECT_FLOAT_EQ(x[2], -2.0f);
  EXPECT_FLOAT_EQ(x[3], 0.0f);
}

TEST(WalshHadamard, UnitVectorSpreadsEvenly) {
  std::vector<float> x(64, 0.0f);
  x[0] = 1.0f;
  ASSERT_TRUE(applyWalshHadamard(x.data(), 64));
  for (float v : x)
    EXPECT_FLOAT_EQ(v, 0.125f);
}

TEST(WalshHadamard, MatchesTheExplicitMatrix) {
  const int64_t n = 32;
  std::vector<float> h = buildSylvesterHadamard(n);
  ASSERT_EQ(h.size(), static_cast<size_t>(n * n));
  std::mt19937 rng(7);
  std::normal_distribution<float> dist;
  std::vector<float> x(n), y(n);
  for (float &v : x)
    v = dist(rng);
  for (int64_t i = 0; i < n; ++i) {
    double acc = 0;
    for (int64_t j = 0; j < n; ++j)
      acc += h[i * n + j] * x[j];
    y[i] = static_cast<float>(acc / std::sqrt(double(n)));
  }
  ASSERT_TRUE(applyWalshHadamard(x.data(), n));
  for (int64_t i = 0; i < n; ++i)
    EXPECT_NEAR(x[i], y[i], 1e-5f) << "i = " << i;
}

TEST(WalshHadamard, IsAnInvolutionAndPreservesTheNorm) {
  const int64_t n = 1024;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-3, 3);
  std::vector<float> x(n);
  for (float &v : x)
    v = dist(rng);
  std::vector<float> y = x;
  ASSERT_TRUE(applyWalshHadamard(y.data(), n));
  double normX = 0, normY = 0;
  for (int64_t i = 0; i < n; ++i) {
    normX += double(x[i]) * x[i];
    normY += double(y[i]) * y[i];
  }
  EXPECT_NEAR(normY / normX, 1.0, 1e-6);
  ASSERT_TRUE(applyWalshHadamard(y.data(), n));
  for (int64_t i = 0; i < n; ++i)
    EXPECT_NEAR(y[i], x[i], 1e-5f) << "i = " << i;
}

TEST(WalshHadamard, RejectsNonPowersOfTwo) {
  float x[12] = {1, 2, 3};
  EXPECT_FALSE(applyWalshHadamard(x, 12));
  EXPECT_FLOAT_EQ(x[0], 1.0f); // untouched
  EXPECT_TRUE(buildSylvesterHadamard(12).empty());
}

TEST(SylvesterHadamard, RowsAreOrthogonal) {
  const int64_t n = 16;
  std::vector<float> h = buildSylvesterHadamard(n);
  for (int64_t a = 0; a < n; ++a)
    for (int64_t b = 0; b < n; ++b) {
      float dot = 0;
      for (int64_t j = 0; j < n; ++j)
        dot += h[a * n + j] * h[b * n + j];
      EXPECT_FLOAT_EQ(dot, a == b ? float(n) : 0.0f);
    }
}

} // namespace
