//===- WeightQuantizer.cpp - Round-to-nearest weight quantization ---------===//

#include "qc/Numerics/WeightQuantizer.h"
#include "qc/Numerics/BlockFormats.h"
#include "qc/Numerics/FloatFormats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace mlir::qc::numerics {

Result<IntRange> validateWeightQuantConfig(const WeightQuantConfig &config,
                                           int64_t cols) {
  Result<IntRange> range = getIntRange(config.spec);
  if (!range)
    return range;
  std::ostringstream os;
  if (!(config.spec.clipRatio > 0.0f && config.spec.clipRatio <= 1.0f)) {
    os << "clip ratio " << config.spec.clipRatio << " is outside (0, 1]";
    return Result<IntRange>::failure(os.str());
  }
  if (config.groupSize < 0 ||
      (config.groupSize > 0 && cols % config.groupSize != 0)) {
    os << "group size " << config.groupSize << " does not divide the " << cols
       << " columns of the weight";
    return Result<IntRange>::failure(os.str());
  }
  if (const auto &clip = config.clipSearch) {
    if (clip->grid < 1 || clip->steps < 1 || clip->steps > clip->grid ||
        !(clip->norm > 0)) {
      os << "invalid clip search: grid " << clip->grid << ", steps "
         << clip->steps << ", norm " << clip->norm
         << " (need 1 <= steps <= grid and norm > 0)";
      return Result<IntRange>::failure(os.str());
    }
  }
  return range;
}

double sliceQuantError(const float *x, int64_t n, AffineParams params,
                       IntRange range, double norm) {
  double err = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    float q =
        dequantizeInt(quantizeInt(x[i], params.scale, params.zeroPoint, range),
                      params.scale, params.zeroPoint);
    err += std::pow(std::fabs(static_cast<double>(q) - x[i]), norm);
  }
  return err;
}

AffineParams findSliceParams(const float *x, int64_t n,
                             const WeightQuantConfig &config, IntRange range) {
  float min = 0.0f, max = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    min = std::min(min, x[i]);
    max = std::max(max, x[i]);
  }
  if (!config.clipSearch)
    return computeRangeParams(min, max, config.spec, range);

  const ClipSearchConfig &clip = *config.clipSearch;
  AffineParams best = computeRangeParams(min, max, config.spec, range);
  double bestErr = std::numeric_limits<double>::infinity();
  IntQuantSpec shrunk = config.spec;
  for (int i = 0; i < clip.steps; ++i) {
    shrunk.clipRatio =
        config.spec.clipRatio * static_cast<float>(1.0 - double(i) / clip.grid);
    AffineParams candidate = computeRangeParams(min, max, shrunk, range);
    double err = sliceQuantError(x, n, candidate, range, clip.norm);
    // Strictly smaller: ties keep the wider range, as the reference does.
    if (err < bestErr) {
      bestErr = err;
      best = candidate;
    }
  }
  return best;
}

Result<QuantizedWeight> quantizeWeightRTN(const float *w, int64_t rows,
                                          int64_t cols,
                                          const WeightQuantConfig &config) {
  Result<IntRange> range = validateWeightQuantConfig(config, cols);
  if (!range)
    return Result<QuantizedWeight>::failure(range.error());

  QuantizedWeight result;
  result.rows = rows;
  result.cols = cols;
  result.groupSize = config.groupSize ? config.groupSize : cols;
  result.range = *range;
  const int64_t numGroups = result.numGroups();
  result.codes.resize(static_cast<size_t>(rows * cols));
  result.dequantized.resize(static_cast<size_t>(rows * cols));
  result.scales.resize(static_cast<size_t>(rows * numGroups));
  result.zeroPoints.resize(static_cast<size_t>(rows * numGroups));
  result.groupIndex.resize(static_cast<size_t>(cols));
  for (int64_t j = 0; j < cols; ++j)
    result.groupIndex[j] = static_cast<int32_t>(j / result.groupSize);

  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t g = 0; g < numGroups; ++g) {
      const int64_t begin = r * cols + g * result.groupSize;
      AffineParams params =
          findSliceParams(w + begin, result.groupSize, config, *range);
      result.scales[r * numGroups + g] = params.scale;
      result.zeroPoints[r * numGroups + g] = params.zeroPoint;
      for (int64_t i = begin; i < begin + result.groupSize; ++i) {
        result.codes[i] =
            quantizeInt(w[i], params.scale, params.zeroPoint, *range);
        result.dequantized[i] =
            dequantizeInt(result.codes[i], params.scale, params.zeroPoint);
      }
    }
  }
  return result;
}


Result<FloatQuantizedWeight>
quantizeWeightFloat(const float *w, int64_t rows,
                                        int64_t cols, FloatWeightFormat format,
                                        int64_t blockSize) {
  using R = Result<FloatQuantizedWeight>;
  if (format == FloatWeightFormat::MXFP4)
    blockSize = kMXFP4BlockSize;
  else if (format == FloatWeightFormat::NVFP4)
    blockSize = kNVFP4BlockSize;
  else if (blockSize == 0)
    blockSize = cols;
  if (rows <= 0 || cols <= 0 || blockSize <= 0 || cols % blockSize != 0) {
    std::ostringstream os;
    os << "block size " << blockSize << " does not divide the " << cols
       << " columns";
    return R::failure(os.str());
  }
  for (int64_t i = 0; i < rows * cols; ++i)
    if (!std::isfinite(w[i]))
      return R::failure("the weight holds a NaN or an infinity");
  FloatQuantizedWeight q;
  q.rows = rows;
  q.cols = cols;
  q.blockSize = blockSize;
  q.codes.resize(rows * cols);
  q.dequantized.resize(rows * cols);
  int64_t blocks = cols / blockSize;
  q.scales.resize(rows * blocks);
  // Elements i of the codes of a packed E2M1 array (low nibble first).
  auto nibble = [](const std::vector<uint8_t> &packed, int64_t i) {
    return uint8_t((packed[i / 2] >> (4 * (i % 2))) & 0xF);
  };
  switch (format) {
  case FloatWeightFormat::E4M3FN:
  case FloatWeightFormat::E5M2: {
    Float8Format f8 = format == FloatWeightFormat::E4M3FN ? Float8Format::E4M3FN
                                                          : Float8Format::E5M2;
    float largest = format == FloatWeightFormat::E4M3FN ? 448.0f : 57344.0f;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t b = 0; b < blocks; ++b) {
        const float *x = w + r * cols + b * blockSize;
        float amax = 0;
        for (int64_t j = 0; j < blockSize; ++j)
          amax = std::max(amax, std::fabs(x[j]));
        float scale = amax > 0 ? amax / largest : 1.0f;
        q.scales[r * blocks + b] = scale;
        for (int64_t j = 0; j < blockSize; ++j) {
          int64_t at = r * cols + b * blockSize + j;
          q.codes[at] = floatToFloat8(x[j] / scale, f8);
          q.dequantized[at] = float8ToFloat(q.codes[at], f8) * scale;
        }
      }
    break;
  }
  case FloatWeightFormat::MXFP4:
    for (int64_t r = 0; r < rows; ++r) {
      MXFP4Tensor t = encodeMXFP4(w + r * cols, cols);
      for (int64_t b = 0; b < blocks; ++b)
        q.scales[r * blocks + b] = e8m0ToFloat(t.scales[b]);
      for (int64_t j = 0; j < cols; ++j) {
        int64_t at = r * cols + j;
        q.codes[at] = nibble(t.codes, j);
        q.dequantized[at] =
            e2m1ToFloat(q.codes[at]) * q.scales[r * blocks + j / blockSize];
      }
    }
    break;
  case FloatWeightFormat::NVFP4: {
    // One tensor scale for the matrix; blocks of 16 along each row (cols is
    // a multiple of 16, so the flat blocks are the row blocks).
    NVFP4Tensor t = encodeNVFP4(w, rows * cols);
    for (int64_t b = 0; b < rows * blocks; ++b)
      q.scales[b] = float8ToFloat(t.blockScales[b], Float8Format::E4M3FN) *
                    t.globalScale;
    for (int64_t i = 0; i < rows * cols; ++i) {
      q.codes[i] = nibble(t.codes, i);
      q.dequantized[i] = e2m1ToFloat(q.codes[i]) * q.scales[i / blockSize];
    }
    break;
  }
  }
  return q;
}

} // namespace mlir::qc::numerics
