//===- QuantParams.cpp - Scales and zero points by granularity ------------===//

#include "qc/Numerics/QuantParams.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace mlir::qc::numerics {

namespace {

std::string formatShape(const std::vector<int64_t> &shape) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < shape.size(); ++i)
    os << (i ? ", " : "") << shape[i];
  os << "]";
  return os.str();
}

/// The data viewed as [outer, dim, inner] around the parameter axis, and how
/// a flat element index maps to a parameter index. Per-tensor uses dim = 1;
/// per-token is a group covering the whole last axis.
struct ParamLayout {
  Granularity kind;
  int64_t axis = 0;
  int64_t outer = 1, dim = 1, inner = 1;
  int64_t groupSize = 1;
  int64_t numElements = 1;
  std::vector<int64_t> paramShape;

  int64_t numParams() const {
    int64_t n = 1;
    for (int64_t d : paramShape)
      n *= d;
    return n;
  }

  int64_t paramIndex(int64_t flat) const {
    switch (kind) {
    case Granularity::PerTensor:
      return 0;
    case Granularity::PerChannel:
      return (flat / inner) % dim;
    case Granularity::PerGroup:
    case Granularity::PerToken: {
      int64_t i = flat % inner;
      int64_t d = (flat / inner) % dim;
      int64_t o = flat / (inner * dim);
      return (o * (dim / groupSize) + d / groupSize) * inner + i;
    }
    }
    return 0;
  }
};

/// Builds the layout of `shape` for a granularity, checking the axis and the
/// group size. `axis` may be negative; `groupSize` is ignored unless PerGroup.
Result<ParamLayout> buildLayout(const std::vector<int64_t> &shape,
                                Granularity kind, int64_t axis,
                                int64_t groupSize) {
  ParamLayout layout;
  layout.kind = kind;
  const int64_t rank = static_cast<int64_t>(shape.size());
  for (int64_t d : shape) {
    if (d < 0)
      return Result<ParamLayout>::failure("negative dimension in shape " +
                                          formatShape(shape));
    layout.numElements *= d;
  }
  if (kind == Granularity::PerTensor)
    return layout;

  if (rank == 0)
    return Result<ParamLayout>::failure(
        "per-channel, per-group and per-token quantization need a shape of "
        "rank >= 1");
  if (kind == Granularity::PerToken)
    axis = rank - 1;
  if (axis < -rank || axis >= rank) {
    std::ostringstream os;
    os << "axis " << axis << " is out of range for shape "
       << formatShape(shape);
    return Result<ParamLayout>::failure(os.str());
  }
  if (axis < 0)
    axis += rank;
  layout.axis = axis;
  layout.dim = shape[axis];
  for (int64_t i = 0; i < axis; ++i)
    layout.outer *= shape[i];
  for (int64_t i = axis + 1; i < rank; ++i)
    layout.inner *= shape[i];

  if (kind == Granularity::PerChannel) {
    layout.paramShape = {layout.dim};
    return layout;
  }
  if (kind == Granularity::PerToken)
    groupSize = std::max<int64_t>(layout.dim, 1);
  if (groupSize <= 0 || layout.dim % groupSize != 0) {
    std::ostringstream os;
    os << "group size " << groupSize << " does not divide dimension "
       << layout.dim << " (axis " << axis << " of shape " << formatShape(shape)
       << ")";
    return Result<ParamLayout>::failure(os.str());
  }
  layout.groupSize = groupSize;
  layout.paramShape = shape;
  layout.paramShape[axis] = layout.dim / groupSize;
  return layout;
}

/// The layout of `shape` under `params`, checked against the parameters'
/// own shape.
Result<ParamLayout> layoutForParams(const std::vector<int64_t> &shape,
                                    const QuantParams &params) {
  Result<ParamLayout> layout = buildLayout(
      shape, params.granularity,
      params.granularity == Granularity::PerToken ? -1 : params.axis,
      params.groupSize);
  if (!layout)
    return layout;
  if (layout->paramShape != params.shape ||
      static_cast<size_t>(layout->numParams()) != params.scales.size() ||
      params.scales.size() != params.zeroPoints.size())
    return Result<ParamLayout>::failure(
        "data of shape " + formatShape(shape) +
        " does not fit quantization parameters of shape " +
        formatShape(params.shape));
  return layout;
}

} // namespace

Result<IntRange> getIntRange(const IntQuantSpec &spec) {
  return intRange(spec.bits, /*isSigned=*/spec.symmetric);
}

AffineParams computeRangeParams(float min, float max, const IntQuantSpec &spec,
                                IntRange range) {
  if (spec.symmetric)
    return symmetricParams(
        spec.clipRatio * std::max(std::fabs(min), std::fabs(max)), range);
  return asymmetricParams(spec.clipRatio * min, spec.clipRatio * max, range);
}

Result<QuantParams> computeQuantParams(const float *data,
                                       const std::vector<int64_t> &shape,
                                       const IntQuantSpec &spec,
                                       const GranularitySpec &granularity) {
  Result<IntRange> range = getIntRange(spec);
  if (!range)
    return Result<QuantParams>::failure(range.error());
  if (!(spec.clipRatio > 0.0f && spec.clipRatio <= 1.0f)) {
    std::ostringstream os;
    os << "clip ratio " << spec.clipRatio << " is outside (0, 1]";
    return Result<QuantParams>::failure(os.str());
  }
  Result<ParamLayout> layout = buildLayout(
      shape, granularity.kind, granularity.axis, granularity.groupSize);
  if (!layout)
    return Result<QuantParams>::failure(layout.error());

  const int64_t numParams = layout->numParams();
  std::vector<float> mins(numParams, std::numeric_limits<float>::infinity());
  std::vector<float> maxs(numParams, -std::numeric_limits<float>::infinity());
  for (int64_t f = 0; f < layout->numElements; ++f) {
    float v = data[f];
    if (std::isnan(v))
      continue;
    int64_t p = layout->paramIndex(f);
    mins[p] = std::min(mins[p], v);
    maxs[p] = std::max(maxs[p], v);
  }

  QuantParams params;
  params.range = *range;
  params.granularity = granularity.kind;
  params.axis = layout->axis;
  params.groupSize = layout->groupSize;
  params.shape = layout->paramShape;
  params.scales.resize(numParams);
  params.zeroPoints.resize(numParams);
  for (int64_t p = 0; p < numParams; ++p) {
    // A slice with no (non-NaN) elements behaves like an all-zero one.
    if (mins[p] > maxs[p])
      mins[p] = maxs[p] = 0.0f;
    AffineParams affine = computeRangeParams(mins[p], maxs[p], spec, *range);
    params.scales[p] = affine.scale;
    params.zeroPoints[p] = affine.zeroPoint;
  }
  return params;
}

Result<std::vector<int32_t>>
quantizeWithParams(const float *data, const std::vector<int64_t> &shape,
                   const QuantParams &params) {
  Result<ParamLayout> layout = layoutForParams(shape, params);
  if (!layout)
    return Result<std::vector<int32_t>>::failure(layout.error());
  std::vector<int32_t> codes(static_cast<size_t>(layout->numElements));
  for (int64_t f = 0; f < layout->numElements; ++f) {
    int64_t p = layout->paramIndex(f);
    codes[f] = quantizeInt(data[f], params.scales[p], params.zeroPoints[p],
                           params.range);
  }
  return codes;
}

Result<std::vector<float>>
dequantizeWithParams(const int32_t *codes, const std::vector<int64_t> &shape,
                     const QuantParams &params) {
  Result<ParamLayout> layout = layoutForParams(shape, params);
  if (!layout)
    return Result<std::vector<float>>::failure(layout.error());
  std::vector<float> values(static_cast<size_t>(layout->numElements));
  for (int64_t f = 0; f < layout->numElements; ++f) {
    int64_t p = layout->paramIndex(f);
    values[f] = dequantizeInt(codes[f], params.scales[p], params.zeroPoints[p]);
  }
  return values;
}

} // namespace mlir::qc::numerics
