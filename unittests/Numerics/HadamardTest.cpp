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
  expectFactor(14336, 28, 9);  // Llama-3 8B.
  expectFactor(28672, 28, 10); // LLaMA-2 70B.
  expectFactor(11008, 172, 6); // LLaMA-2 7B.
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
            "K*2^m for K in {1, 12, 20, 28, 36, 40, 52, 60, 108, 140, "
            "156, 172}");
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

// Every built-in factor is a Hadamard matrix: ±1 entries, H·Hᵀ = K·I.
TEST(HadamardFactor, EveryFactorIsHadamard) {
  for (int64_t k : supportedHadamardFactors()) {
    const std::vector<float> &h = hadamardFactor(k);
    ASSERT_EQ(h.size(), static_cast<size_t>(k * k)) << "K = " << k;
    for (float v : h)
      ASSERT_TRUE(v == 1.0f || v == -1.0f) << "K = " << k;
    for (int64_t a = 0; a < k; ++a)
      for (int64_t b = 0; b < k; ++b) {
        double dot = 0;
        for (int64_t j = 0; j < k; ++j)
          dot += h[a * k + j] * h[b * k + j];
        ASSERT_EQ(dot, a == b ? double(k) : 0.0)
            << "K = " << k << ", rows " << a << ", " << b;
      }
  }
  EXPECT_TRUE(hadamardFactor(13).empty());
}

// The 12×12 factor (Paley I over GF(11), squares {1, 3, 4, 5, 9}): the
// first row is all ones; row 1 = [-1, 1, then χ(0 − j) for j = 1..10]:
// χ(−1) = χ(10) = −1, χ(−2) = χ(9) = 1, χ(−3) = χ(8) = −1.
TEST(HadamardFactor, PaleyTwelveByHand) {
  const std::vector<float> &h = hadamardFactor(12);
  for (int64_t j = 0; j < 12; ++j)
    EXPECT_EQ(h[j], 1.0f);
  EXPECT_EQ(h[12 + 0], -1.0f);
  EXPECT_EQ(h[12 + 1], 1.0f);
  EXPECT_EQ(h[12 + 2], -1.0f);
  EXPECT_EQ(h[12 + 3], 1.0f);
  EXPECT_EQ(h[12 + 4], -1.0f);
}

// applyHadamardRows against x·diag(s)·(I ⊗ H_size ⊗ I_stride)/√size built
// from the explicit matrix, for a non-power-of-two size, a stride and signs.
TEST(HadamardTransform, MatchesTheExplicitMatrix) {
  struct Case {
    int64_t n, size, stride;
  };
  for (Case c : {Case{24, 24, 1}, Case{48, 12, 2}, Case{80, 20, 1},
                 Case{64, 8, 4}}) {
    std::vector<float> h = buildHadamard(c.size);
    ASSERT_EQ(h.size(), static_cast<size_t>(c.size * c.size));
    std::vector<float> signs = randomSigns(c.n, 5);
    std::mt19937 rng(3);
    std::normal_distribution<float> dist;
    const int64_t rows = 3;
    std::vector<float> x(rows * c.n);
    for (float &v : x)
      v = dist(rng);
    std::vector<float> expected(x.size(), 0.0f);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < c.n; ++j) {
        // Output j = (o, i', t): Σ_i x[(o, i, t)]·s·H[i, i'].
        int64_t o = j / (c.size * c.stride), i2 = (j / c.stride) % c.size,
                t = j % c.stride;
        double acc = 0;
        for (int64_t i = 0; i < c.size; ++i) {
          int64_t at = o * c.size * c.stride + i * c.stride + t;
          acc += double(x[r * c.n + at]) * signs[at] * h[i * c.size + i2];
        }
        expected[r * c.n + j] = float(acc / std::sqrt(double(c.size)));
      }
    std::vector<float> y = x;
    ASSERT_TRUE(applyHadamardRows(y.data(), rows, c.n, c.size, c.stride,
                                  signs));
    for (size_t i = 0; i < y.size(); ++i)
      EXPECT_NEAR(y[i], expected[i], 1e-5) << "n = " << c.n << ", i = " << i;
    // Columns: the same transform on each column of the transpose.
    std::vector<float> t(x.size());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < c.n; ++j)
        t[j * rows + r] = x[r * c.n + j];
    ASSERT_TRUE(applyHadamardColumns(t.data(), c.n, rows, c.size, c.stride,
                                     signs));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < c.n; ++j)
        EXPECT_NEAR(t[j * rows + r], expected[r * c.n + j], 1e-5);
  }
}

TEST(HadamardTransform, RejectsUnsupportedShapes) {
  std::vector<float> x(26, 1.0f);
  EXPECT_FALSE(applyHadamardRows(x.data(), 1, 26, 26));
  EXPECT_FALSE(applyHadamardRows(x.data(), 1, 26, 4));
  EXPECT_FALSE(applyHadamardRows(x.data(), 1, 26, 2, 1, {1.0f}));
  EXPECT_EQ(x[0], 1.0f);
}

// Fallback blocks: 13696 = 2^7·107 has no supported divisor above 128;
// 29568 = 28·32·33 -> 896; 11008 = 172·64 and 4608 = 36·128 are whole.
TEST(HadamardTransform, LargestBlock) {
  EXPECT_EQ(largestHadamardBlock(13696), 128);
  EXPECT_EQ(largestHadamardBlock(29568), 896);
  EXPECT_EQ(largestHadamardBlock(11008), 11008);
  EXPECT_EQ(largestHadamardBlock(4608), 4608);
  EXPECT_EQ(largestHadamardBlock(7), 1);
  EXPECT_EQ(largestHadamardBlock(0), 0);
}

TEST(HadamardTransform, RandomSignsAreSeeded) {
  std::vector<float> a = randomSigns(256, 1), b = randomSigns(256, 1),
                     c = randomSigns(256, 2);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  int64_t negative = 0;
  for (float v : a) {
    ASSERT_TRUE(v == 1.0f || v == -1.0f);
    negative += v < 0;
  }
  EXPECT_GT(negative, 96); // about half of 256
  EXPECT_LT(negative, 160);
}

// Q from randomOrthogonal is orthogonal (QᵀQ = I), fixed by its seed and
// different for another seed; for n = 1 it is ±1.
TEST(RandomOrthogonal, OrthogonalAndSeeded) {
  for (int64_t n : {1, 7, 64}) {
    std::vector<double> q = randomOrthogonal(n, 3);
    ASSERT_EQ(static_cast<int64_t>(q.size()), n * n);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double dot = 0;
        for (int64_t r = 0; r < n; ++r)
          dot += q[r * n + i] * q[r * n + j];
        EXPECT_NEAR(dot, i == j ? 1.0 : 0.0, 1e-12) << n << ": " << i << ", " << j;
      }
    EXPECT_EQ(randomOrthogonal(n, 3), q);
    if (n > 1) {
      EXPECT_NE(randomOrthogonal(n, 4), q);
    }
  }
  EXPECT_EQ(std::fabs(randomOrthogonal(1, 9)[0]), 1.0);
}

// The 2×2 rotation Q = [[0, 1], [-1, 0]]: x·Q for x = [3, 5] is [-5, 3];
// Qᵀ·W for W = [[1, 2], [3, 4]] is [[-3, -4], [1, 2]]. And rows and
// columns agree: (x·Q)·(Qᵀ·W) = x·W.
TEST(RandomOrthogonal, MultiplyRowsAndColumns) {
  const double q[4] = {0, 1, -1, 0};
  float x[2] = {3, 5};
  multiplyRows(x, 1, 2, q);
  EXPECT_EQ(x[0], -5);
  EXPECT_EQ(x[1], 3);
  float w[4] = {1, 2, 3, 4};
  multiplyColumns(w, 2, 2, q);
  EXPECT_EQ(std::vector<float>(w, w + 4), (std::vector<float>{-3, -4, 1, 2}));
  EXPECT_EQ(x[0] * w[0] + x[1] * w[2], 3 * 1 + 5 * 3);
  EXPECT_EQ(x[0] * w[1] + x[1] * w[3], 3 * 2 + 5 * 4);
}

} // namespace
