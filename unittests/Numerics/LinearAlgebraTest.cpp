//===- LinearAlgebraTest.cpp - Cholesky factorisations --------------------===//

#include "qc/Numerics/LinearAlgebra.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

using namespace mlir::qc::numerics;

namespace {

TEST(Cholesky, HandComputed3x3) {
  // The classic example: A = L Lᵀ with L = [[2,0,0],[6,1,0],[-8,5,3]].
  std::vector<double> a = {4, 12, -16, 12, 37, -43, -16, -43, 98};
  ASSERT_TRUE(choleskyLower(a.data(), 3));
  const std::vector<double> l = {2, 0, 0, 6, 1, 0, -8, 5, 3};
  for (int i = 0; i < 9; ++i)
    EXPECT_NEAR(a[i], l[i], 1e-12) << "entry " << i;
}

TEST(Cholesky, RejectsIndefiniteMatrices) {
  std::vector<double> a = {1, 2, 2, 1};
  EXPECT_FALSE(choleskyLower(a.data(), 2));
  std::vector<double> singular = {1, 1, 1, 1};
  EXPECT_FALSE(choleskyLower(singular.data(), 2));
  std::vector<double> nan = {std::nan(""), 0, 0, 1};
  EXPECT_FALSE(choleskyLower(nan.data(), 2));
}

TEST(TriangularInverse, HandComputed3x3) {
  // L⁻¹ of [[2,0,0],[6,1,0],[-8,5,3]] by forward substitution:
  // [[1/2, 0, 0], [-3, 1, 0], [19/3, -5/3, 1/3]].
  std::vector<double> l = {2, 0, 0, 6, 1, 0, -8, 5, 3};
  invertLowerTriangular(l.data(), 3);
  const std::vector<double> inv = {0.5, 0,        0,        -3,     1,
                                   0,   19.0 / 3, -5.0 / 3, 1.0 / 3};
  for (int i = 0; i < 9; ++i)
    EXPECT_NEAR(l[i], inv[i], 1e-12) << "entry " << i;
}

TEST(UpperCholeskyOfInverse, HandComputed2x2) {
  // H = [[4, 2], [2, 3]], H⁻¹ = [[3/8, -1/4], [-1/4, 1/2]];
  // U = [[√(3/8), -1/√6], [0, 1/√3]] satisfies Uᵀ U = H⁻¹.
  std::vector<double> h = {4, 2, 2, 3};
  ASSERT_TRUE(upperCholeskyOfInverse(h.data(), 2));
  EXPECT_NEAR(h[0], std::sqrt(3.0 / 8.0), 1e-12);
  EXPECT_NEAR(h[1], -1.0 / std::sqrt(6.0), 1e-12);
  EXPECT_NEAR(h[2], 0.0, 1e-15);
  EXPECT_NEAR(h[3], 1.0 / std::sqrt(3.0), 1e-12);
}

TEST(UpperCholeskyOfInverse, RandomSPDMatrix) {
  const int n = 60;
  std::mt19937 rng(3);
  std::normal_distribution<double> normal;
  std::vector<double> x(n * 2 * n);
  for (double &v : x)
    v = normal(rng);
  // H = X Xᵀ / (2n) + 0.1 I.
  std::vector<double> h(n * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      double s = 0;
      for (int k = 0; k < 2 * n; ++k)
        s += x[i * 2 * n + k] * x[j * 2 * n + k];
      h[i * n + j] = s / (2 * n) + (i == j ? 0.1 : 0.0);
    }
  std::vector<double> u = h;
  ASSERT_TRUE(upperCholeskyOfInverse(u.data(), n));
  for (int i = 0; i < n; ++i) {
    EXPECT_GT(u[i * n + i], 0.0);
    for (int j = 0; j < i; ++j)
      EXPECT_EQ(u[i * n + j], 0.0);
  }
  // (Uᵀ U) H = I.
  std::vector<double> inv(n * n, 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      for (int k = 0; k <= std::min(i, j); ++k)
        inv[i * n + j] += u[k * n + i] * u[k * n + j];
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      double s = 0;
      for (int k = 0; k < n; ++k)
        s += inv[i * n + k] * h[k * n + j];
      EXPECT_NEAR(s, i == j ? 1.0 : 0.0, 1e-9) << i << ", " << j;
    }
}

TEST(UpperCholeskyOfInverse, RejectsIndefiniteMatrices) {
  std::vector<double> h = {1, 2, 2, 1};
  EXPECT_FALSE(upperCholeskyOfInverse(h.data(), 2));
}

} // namespace
