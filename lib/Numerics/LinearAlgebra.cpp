//===- LinearAlgebra.cpp - Cholesky factorisations for GPTQ ---------------===//

#include "qc/Numerics/LinearAlgebra.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace mlir::qc::numerics {

/// Σ_{k<n} a[k]·b[k] with four independent partial sums, which lets the
/// compiler keep several multiply-adds in flight (and vectorise) without
/// -ffast-math.
static double dot(const double *a, const double *b, int64_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t k = 0;
  for (; k + 4 <= n; k += 4) {
    s0 += a[k] * b[k];
    s1 += a[k + 1] * b[k + 1];
    s2 += a[k + 2] * b[k + 2];
    s3 += a[k + 3] * b[k + 3];
  }
  for (; k < n; ++k)
    s0 += a[k] * b[k];
  return (s0 + s1) + (s2 + s3);
}

/// Rows processed together by the factorisations: each finished row of the
/// factor is then read once per block instead of once per row, which keeps
/// n = 4096 (a 128 MiB matrix) from being bound by memory bandwidth.
static constexpr int64_t kRowBlock = 32;

bool choleskyLower(double *a, int64_t n) {
  // Row by row (Cholesky–Banachiewicz): entry (i, j) needs the dot product of
  // the already-finished prefixes of rows i and j, both contiguous.
  for (int64_t i0 = 0; i0 < n; i0 += kRowBlock) {
    const int64_t i1 = std::min(i0 + kRowBlock, n);
    for (int64_t j = 0; j < i0; ++j) {
      const double *rowJ = a + j * n;
      for (int64_t i = i0; i < i1; ++i) {
        double *rowI = a + i * n;
        rowI[j] = (rowI[j] - dot(rowI, rowJ, j)) / rowJ[j];
      }
    }
    for (int64_t i = i0; i < i1; ++i) {
      double *rowI = a + i * n;
      for (int64_t j = i0; j < i; ++j) {
        const double *rowJ = a + j * n;
        rowI[j] = (rowI[j] - dot(rowI, rowJ, j)) / rowJ[j];
      }
      double pivot = rowI[i] - dot(rowI, rowI, i);
      if (!(pivot > 0.0))
        return false;
      rowI[i] = std::sqrt(pivot);
      std::fill(rowI + i + 1, rowI + n, 0.0);
    }
  }
  return true;
}

void invertLowerTriangular(double *l, int64_t n) {
  // Forward substitution for all right-hand sides at once, a row at a time:
  // X[i, :] = (e_i − Σ_{k<i} L[i, k] X[k, :]) / L[i, i]. Row k of X is zero
  // beyond column k, so each update is a contiguous axpy of length k + 1.
  // Rows of X replace rows of L once complete; until then they are built in
  // scratch rows, because L[i, k] is needed while X[i, :] is being formed.
  std::vector<double> scratch(static_cast<size_t>(kRowBlock * n));
  for (int64_t i0 = 0; i0 < n; i0 += kRowBlock) {
    const int64_t i1 = std::min(i0 + kRowBlock, n);
    for (int64_t i = i0; i < i1; ++i) {
      double *row = scratch.data() + (i - i0) * n;
      std::fill(row, row + i + 1, 0.0);
      row[i] = 1.0;
    }
    auto subtract = [&](int64_t i, int64_t k) {
      double *row = scratch.data() + (i - i0) * n;
      const double factor = l[i * n + k];
      const double *rowX = l + k * n;
      for (int64_t j = 0; j <= k; ++j)
        row[j] -= factor * rowX[j];
    };
    for (int64_t k = 0; k < i0; ++k)
      for (int64_t i = i0; i < i1; ++i)
        subtract(i, k);
    for (int64_t i = i0; i < i1; ++i) {
      for (int64_t k = i0; k < i; ++k)
        subtract(i, k);
      const double *row = scratch.data() + (i - i0) * n;
      const double inv = 1.0 / l[i * n + i];
      for (int64_t j = 0; j <= i; ++j)
        l[i * n + j] = row[j] * inv;
    }
  }
}

bool upperCholeskyOfInverse(double *h, int64_t n) {
  // Reverse rows and columns (J H J), factor, invert, and reverse back.
  auto reverseBoth = [&](double *m) {
    for (int64_t i = 0; i < n; ++i)
      std::reverse(m + i * n, m + (i + 1) * n);
    for (int64_t i = 0; i < n / 2; ++i)
      std::swap_ranges(m + i * n, m + (i + 1) * n, m + (n - 1 - i) * n);
  };
  reverseBoth(h);
  if (!choleskyLower(h, n))
    return false;
  invertLowerTriangular(h, n);
  reverseBoth(h);
  return true;
}

} // namespace mlir::qc::numerics
