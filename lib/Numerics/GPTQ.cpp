//===- GPTQ.cpp - GPTQ weight quantization --------------------------------===//

#include "qc/Numerics/GPTQ.h"

#include "qc/Numerics/LinearAlgebra.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

namespace mlir::qc::numerics {

namespace {

/// Rows of W processed together: their working copy (tile × K doubles) stays
/// in cache while each row of U is streamed once per tile.
constexpr int64_t kRowTile = 32;

} // namespace

Result<GPTQResult> quantizeWeightGPTQ(const float *w, int64_t rows,
                                      int64_t cols, const double *hessian,
                                      const GPTQConfig &config) {
  Result<IntRange> range = validateWeightQuantConfig(config.weight, cols);
  if (!range)
    return Result<GPTQResult>::failure(range.error());
  if (config.blockSize < 1 || !(config.dampPercent >= 0.0) ||
      !std::isfinite(config.dampPercent)) {
    std::ostringstream os;
    os << "invalid GPTQ options: block size " << config.blockSize
       << ", damping " << config.dampPercent;
    return Result<GPTQResult>::failure(os.str());
  }

  const int64_t k = cols;
  const int64_t groupSize = config.weight.groupSize; // 0: per channel
  const bool staticGroups = groupSize && config.staticGroups;
  const int64_t numGroups = groupSize ? k / groupSize : (k ? 1 : 0);

  GPTQResult result;
  QuantizedWeight &out = result.weight;
  out.rows = rows;
  out.cols = k;
  out.groupSize = groupSize ? groupSize : k;
  out.range = *range;
  out.codes.resize(static_cast<size_t>(rows * k));
  out.dequantized.resize(static_cast<size_t>(rows * k));
  out.scales.resize(static_cast<size_t>(rows * numGroups));
  out.zeroPoints.resize(static_cast<size_t>(rows * numGroups));
  out.groupIndex.assign(static_cast<size_t>(k), 0);

  // Step 1: dead columns never see a non-zero input; zeroing them makes
  // their codes the zero point and keeps H invertible.
  std::vector<double> h(hessian, hessian + k * k);
  std::vector<float> wf(w, w + rows * k);
  for (int64_t j = 0; j < k; ++j) {
    if (h[j * k + j] != 0.0)
      continue;
    h[j * k + j] = 1.0;
    for (int64_t r = 0; r < rows; ++r)
      wf[r * k + j] = 0.0f;
  }

  // Step 2: parameters that do not depend on the error feedback.
  auto setParams = [&](int64_t r, int64_t group, AffineParams params) {
    out.scales[r * numGroups + group] = params.scale;
    out.zeroPoints[r * numGroups + group] = params.zeroPoint;
  };
  if (!groupSize || staticGroups)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t group = 0; group < numGroups; ++group)
        setParams(r, group,
                  findSliceParams(wf.data() + r * k + group * out.groupSize,
                                  out.groupSize, config.weight, *range));

  // Step 3: column order.
  std::vector<int64_t> &perm = result.columnOrder;
  perm.resize(static_cast<size_t>(k));
  std::iota(perm.begin(), perm.end(), 0);
  if (config.actOrder)
    std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) {
      return h[a * k + a] > h[b * k + b];
    });
  for (int64_t i = 0; i < k; ++i) {
    if (!groupSize)
      out.groupIndex[perm[i]] = 0;
    else if (staticGroups)
      out.groupIndex[perm[i]] = static_cast<int32_t>(perm[i] / groupSize);
    else
      out.groupIndex[perm[i]] = static_cast<int32_t>(i / groupSize);
  }

  // Step 4: permuted, damped Hessian → U = chol(H⁻¹) upper.
  std::vector<double> u(static_cast<size_t>(k * k));
  double meanDiag = 0.0;
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = 0; j < k; ++j)
      u[i * k + j] = h[perm[i] * k + perm[j]];
    meanDiag += u[i * k + i];
  }
  const double damp = k ? config.dampPercent * meanDiag / double(k) : 0.0;
  for (int64_t i = 0; i < k; ++i)
    u[i * k + i] += damp;
  h.clear();
  h.shrink_to_fit();
  if (!upperCholeskyOfInverse(u.data(), k)) {
    std::ostringstream os;
    os << "GPTQ: the " << k << "x" << k
       << " Hessian is not positive definite after damping by " << damp;
    return Result<GPTQResult>::failure(os.str());
  }

  // Step 5. Non-static groups must not straddle a block (see the header).
  int64_t blockSize = config.blockSize;
  if (groupSize && !staticGroups)
    blockSize =
        groupSize <= blockSize ? blockSize - blockSize % groupSize : groupSize;

  std::vector<double> work(static_cast<size_t>(kRowTile * k));
  std::vector<double> errors(static_cast<size_t>(kRowTile * blockSize));
  std::vector<float> groupSlice(static_cast<size_t>(out.groupSize));
  for (int64_t r0 = 0; r0 < rows; r0 += kRowTile) {
    const int64_t tileRows = std::min(kRowTile, rows - r0);
    for (int64_t t = 0; t < tileRows; ++t)
      for (int64_t i = 0; i < k; ++i)
        work[t * k + i] = wf[(r0 + t) * k + perm[i]];

    for (int64_t i1 = 0; i1 < k; i1 += blockSize) {
      const int64_t i2 = std::min(i1 + blockSize, k);
      for (int64_t t = 0; t < tileRows; ++t) {
        const int64_t r = r0 + t;
        double *row = work.data() + t * k;
        for (int64_t i = i1; i < i2; ++i) {
          int64_t group = 0;
          if (staticGroups) {
            group = perm[i] / groupSize;
          } else if (groupSize) {
            group = i / groupSize;
            if (i % groupSize == 0) {
              for (int64_t j = 0; j < groupSize; ++j)
                groupSlice[j] = static_cast<float>(row[i + j]);
              setParams(r, group,
                        findSliceParams(groupSlice.data(), groupSize,
                                        config.weight, *range));
            }
          }
          const float scale = out.scales[r * numGroups + group];
          const int32_t zero = out.zeroPoints[r * numGroups + group];
          const int32_t code =
              quantizeInt(static_cast<float>(row[i]), scale, zero, *range);
          const float deq = dequantizeInt(code, scale, zero);
          out.codes[r * k + perm[i]] = code;
          out.dequantized[r * k + perm[i]] = deq;

          const double *uRow = u.data() + i * k;
          const double diff = row[i] - deq;
          const double err = diff / uRow[i];
          result.loss += diff * diff / (2.0 * uRow[i] * uRow[i]);
          errors[t * blockSize + (i - i1)] = err;
          for (int64_t j = i + 1; j < i2; ++j)
            row[j] -= err * uRow[j];
        }
      }
      // Lazy update of the columns after the block: W[:, i2:] −= E·U[block,
      // i2:], four rows of U at a time (each pass over a row of W then does
      // four multiply-adds per element) for the whole tile.
      const int64_t count = i2 < k ? i2 - i1 : 0;
      int64_t b = 0;
      for (; b + 4 <= count; b += 4) {
        const double *u0 = u.data() + (i1 + b) * k;
        const double *u1 = u0 + k, *u2 = u1 + k, *u3 = u2 + k;
        for (int64_t t = 0; t < tileRows; ++t) {
          const double *e = errors.data() + t * blockSize + b;
          const double e0 = e[0], e1 = e[1], e2 = e[2], e3 = e[3];
          double *row = work.data() + t * k;
          for (int64_t j = i2; j < k; ++j)
            row[j] -= (e0 * u0[j] + e1 * u1[j]) + (e2 * u2[j] + e3 * u3[j]);
        }
      }
      for (; b < count; ++b) {
        const double *uRow = u.data() + (i1 + b) * k;
        for (int64_t t = 0; t < tileRows; ++t) {
          const double err = errors[t * blockSize + b];
          double *row = work.data() + t * k;
          for (int64_t j = i2; j < k; ++j)
            row[j] -= err * uRow[j];
        }
      }
    }
  }
  return result;
}

} // namespace mlir::qc::numerics
