//===- Resize.cpp - Resize (nearest, linear) ------------------------------===//
//
// Resize as one linalg.generic over the output: for each resized axis the
// output index is mapped to a source coordinate by the node's
// coordinate_transformation_mode,
//   half_pixel            (x + 0.5) / s - 0.5
//   half_pixel_symmetric  offset + (x + 0.5) / s - 0.5
//   pytorch_half_pixel    (x + 0.5) / s - 0.5, or 0 when s · in is 1
//   align_corners         x · (in - 1) / (s · in - 1), or 0 when s · in is 1
// (s · in, not the integer output size, as ONNX's reference computes it)
//   asymmetric            x / s
// computed in f64 as ONNX's reference does, then
//   nearest: rounded by nearest_mode, clamped to [0, in - 1], one
//            tensor.extract;
//   linear:  floor and floor + 1, clamped, weighted by the fraction: 2^k
//            tensor.extracts for k resized axes (multilinear).
// Scales or sizes must be constants and resized axes static; axes whose scale
// is 1 and size unchanged pass their index through (and may be dynamic).
// Cubic, tf_crop_and_resize and antialiased downsampling are rejected.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

using namespace mlir;
using namespace mlir::qc;
using namespace mlir::qc::onnx_import;

namespace {

/// One axis of the resize: sizes and the affine coordinate map
/// x_ori = (x + shift) · num / den + offset.
struct ResizeAxis {
  int64_t in = 0, out = 0;
  bool resized = false;
  double shift = 0, num = 1, den = 1, offset = 0;
};

std::optional<SmallVector<double>> constantFloats(Value value) {
  DenseElementsAttr attr = constantAttr(value);
  if (!attr || !isa<FloatType>(attr.getElementType()))
    return std::nullopt;
  SmallVector<double> result;
  for (const APFloat &v : attr.getValues<APFloat>())
    result.push_back(v.convertToDouble());
  return result;
}

/// True when input `i` is given and has at least one element (exporters pass
/// an empty `scales` next to `sizes`).
bool hasNonEmptyInput(NodeContext &nc, unsigned i) {
  if (!nc.hasInput(i))
    return false;
  auto type = cast<RankedTensorType>(nc.inputs[i].getType());
  return !type.hasStaticShape() || type.getNumElements() > 0;
}

FailureOr<SmallVector<ResizeAxis>> readResizeAxes(NodeContext &nc,
                                                  RankedTensorType xTy) {
  int64_t rank = xTy.getRank();
  SmallVector<int64_t> axes;
  if (const onnx::AttributeProto *a = nc.attr("axes")) {
    for (int64_t axis : a->ints()) {
      FailureOr<int64_t> n = normalizeAxis(nc, axis, rank, "axes");
      if (failed(n))
        return failure();
      if (llvm::is_contained(axes, *n)) {
        nc.emitError() << "axes repeats axis " << *n;
        return failure();
      }
      axes.push_back(*n);
    }
  } else {
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  }

  bool haveScales = hasNonEmptyInput(nc, 2), haveSizes = hasNonEmptyInput(nc, 3);
  if (haveScales == haveSizes) {
    nc.emitError() << "expects exactly one of scales and sizes";
    return failure();
  }
  SmallVector<double> scales(rank, 1.0);
  SmallVector<int64_t> sizes(xTy.getShape());
  std::string policy = nc.stringAttr("keep_aspect_ratio_policy", "stretch");
  if (haveScales) {
    std::optional<SmallVector<double>> given = constantFloats(nc.inputs[2]);
    if (!given) {
      nc.emitError() << "unsupported run-time scales: they must be a float "
                        "constant";
      return failure();
    }
    if (given->size() != axes.size()) {
      nc.emitError() << "scales has " << given->size() << " values for "
                     << axes.size() << " axes";
      return failure();
    }
    for (auto [i, axis] : llvm::enumerate(axes)) {
      double s = (*given)[i];
      if (!(s > 0) || !std::isfinite(s)) {
        nc.emitError() << "scale " << s << " is not a positive finite number";
        return failure();
      }
      scales[axis] = s;
      if (s != 1.0) {
        if (xTy.isDynamicDim(axis)) {
          nc.emitError() << "unsupported dynamic dimension " << axis
                         << " with scale " << s;
          return failure();
        }
        double out = std::floor(double(xTy.getDimSize(axis)) * s);
        if (out > double(int64_t(1) << 40)) {
          nc.emitError() << "scale " << s << " makes axis " << axis
                         << " larger than 2^40";
          return failure();
        }
        sizes[axis] = int64_t(out);
      }
    }
  } else {
    FailureOr<SmallVector<int64_t>> given =
        constantInput(nc, 3, "sizes");
    if (failed(given))
      return failure();
    if (given->size() != axes.size()) {
      nc.emitError() << "sizes has " << given->size() << " values for "
                     << axes.size() << " axes";
      return failure();
    }
    for (auto [i, axis] : llvm::enumerate(axes)) {
      int64_t size = (*given)[i];
      if (size < 1 || size > (int64_t(1) << 40)) {
        nc.emitError() << "size " << size << " for axis " << axis
                       << " is not a positive size";
        return failure();
      }
      if (xTy.isDynamicDim(axis)) {
        nc.emitError() << "unsupported dynamic dimension " << axis
                       << " with a target size";
        return failure();
      }
      sizes[axis] = size;
      scales[axis] = double(size) / double(xTy.getDimSize(axis));
    }
    if (policy == "not_larger" || policy == "not_smaller") {
      double common = policy == "not_larger" ? INFINITY : 0;
      for (int64_t axis : axes)
        common = policy == "not_larger" ? std::min(common, scales[axis])
                                        : std::max(common, scales[axis]);
      for (int64_t axis : axes) {
        scales[axis] = common;
        sizes[axis] = int64_t(
            std::floor(double(xTy.getDimSize(axis)) * common + 0.5));
      }
    } else if (policy != "stretch") {
      nc.emitError() << "unknown keep_aspect_ratio_policy '" << policy << "'";
      return failure();
    }
  }

  std::string mode =
      nc.stringAttr("coordinate_transformation_mode", "half_pixel");
  SmallVector<ResizeAxis> result(rank);
  for (int64_t d = 0; d < rank; ++d) {
    ResizeAxis &a = result[d];
    a.in = xTy.getDimSize(d);
    a.out = sizes[d];
    a.resized = !(scales[d] == 1.0 && a.out == a.in);
    if (!a.resized)
      continue;
    if (a.out < 1) {
      nc.emitError() << "axis " << d << " would resize to " << a.out
                     << " elements";
      return failure();
    }
    double s = scales[d];
    // ONNX's reference measures the resized length as scale · in (a float),
    // not as the integer output size.
    double resizedLength = s * double(a.in);
    if (mode == "half_pixel" || mode == "pytorch_half_pixel" ||
        mode == "half_pixel_symmetric") {
      a.shift = 0.5;
      a.den = s;
      a.offset = -0.5;
      if (mode == "pytorch_half_pixel" && resizedLength == 1)
        a.shift = a.offset = 0, a.num = 0;
      if (mode == "half_pixel_symmetric") {
        double adjustment = double(a.out) / (s * double(a.in));
        a.offset += double(a.in) / 2 * (1 - adjustment);
      }
    } else if (mode == "align_corners") {
      a.num = resizedLength == 1 ? 0 : double(a.in - 1);
      a.den = resizedLength == 1 ? 1 : resizedLength - 1;
    } else if (mode == "asymmetric") {
      a.den = s;
    } else if (mode == "tf_crop_and_resize") {
      nc.emitError() << "unsupported coordinate_transformation_mode "
                        "'tf_crop_and_resize'";
      return failure();
    } else {
      nc.emitError() << "unknown coordinate_transformation_mode '" << mode
                     << "'";
      return failure();
    }
  }
  return result;
}

LogicalResult convertResize(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x))
    return failure();
  auto xTy = cast<RankedTensorType>(x->getType());
  Type element = xTy.getElementType();
  std::string mode = nc.stringAttr("mode", "nearest");
  if (mode != "nearest" && mode != "linear")
    return nc.emitError() << "unsupported mode '" << mode
                          << "' (nearest and linear are supported)";
  bool linear = mode == "linear";
  if (linear && !isa<FloatType>(element))
    return nc.emitError() << "unsupported linear resize of " << xTy;
  if (!linear && !element.isIntOrFloat())
    return nc.emitError() << "unsupported element type in " << xTy;
  std::string nearestMode = nc.stringAttr("nearest_mode", "round_prefer_floor");
  if (nearestMode != "round_prefer_floor" && nearestMode != "round_prefer_ceil" &&
      nearestMode != "floor" && nearestMode != "ceil")
    return nc.emitError() << "unknown nearest_mode '" << nearestMode << "'";
  FailureOr<SmallVector<ResizeAxis>> axes = readResizeAxes(nc, xTy);
  if (failed(axes))
    return failure();
  if (nc.intAttr("antialias", 0) != 0 &&
      llvm::any_of(*axes, [](const ResizeAxis &a) { return a.out < a.in; }))
    return nc.emitError() << "unsupported antialias with downsampling";

  int64_t rank = xTy.getRank();
  SmallVector<int64_t> outShape;
  SmallVector<Value> dynamic;
  double elements = 1;
  for (int64_t d = 0; d < rank; ++d) {
    outShape.push_back((*axes)[d].out);
    if (!xTy.isDynamicDim(d))
      elements *= double((*axes)[d].out);
    if (elements > double(int64_t(1) << 40))
      return nc.emitError() << "the resized tensor would have more than 2^40 "
                               "elements";
    if (xTy.isDynamicDim(d))
      dynamic.push_back(dimSize(nc.builder, nc.loc, *x, d));
  }
  auto outTy = RankedTensorType::get(outShape, element);
  Value empty =
      tensor::EmptyOp::create(nc.builder, nc.loc, outShape, element, dynamic);
  SmallVector<AffineMap> maps = {nc.builder.getMultiDimIdentityMap(rank)};
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  Value source = *x;
  auto generic = linalg::GenericOp::create(
      nc.builder, nc.loc, TypeRange{outTy}, ValueRange{}, ValueRange{empty},
      maps, iterators, [&](OpBuilder &b, Location l, ValueRange) {
        Type f64 = b.getF64Type(), index = b.getIndexType();
        Type i64 = b.getI64Type();
        auto f64Const = [&](double v) -> Value {
          return arith::ConstantOp::create(b, l, b.getF64FloatAttr(v));
        };
        // Per axis: the candidate source indices and their weights.
        SmallVector<SmallVector<Value>> indices(rank);
        SmallVector<Value> fractions(rank);
        for (int64_t d = 0; d < rank; ++d) {
          const ResizeAxis &a = (*axes)[d];
          Value i = linalg::IndexOp::create(b, l, d);
          if (!a.resized) {
            indices[d].push_back(i);
            continue;
          }
          Value xf = arith::UIToFPOp::create(
              b, l, f64, arith::IndexCastUIOp::create(b, l, i64, i));
          Value coord = arith::AddFOp::create(b, l, xf, f64Const(a.shift));
          coord = arith::MulFOp::create(b, l, coord, f64Const(a.num));
          coord = arith::DivFOp::create(b, l, coord, f64Const(a.den));
          coord = arith::AddFOp::create(b, l, coord, f64Const(a.offset));
          auto clampedIndex = [&](Value f) -> Value {
            f = arith::MaximumFOp::create(b, l, f, f64Const(0));
            f = arith::MinimumFOp::create(b, l, f,
                                          f64Const(double(a.in - 1)));
            return arith::IndexCastOp::create(
                b, l, index, arith::FPToSIOp::create(b, l, i64, f));
          };
          if (linear) {
            Value lo = math::FloorOp::create(b, l, coord);
            fractions[d] = arith::SubFOp::create(b, l, coord, lo);
            Value hi = arith::AddFOp::create(b, l, lo, f64Const(1));
            indices[d] = {clampedIndex(lo), clampedIndex(hi)};
            continue;
          }
          Value rounded;
          if (nearestMode == "floor")
            rounded = math::FloorOp::create(b, l, coord);
          else if (nearestMode == "ceil")
            rounded = math::CeilOp::create(b, l, coord);
          else if (nearestMode == "round_prefer_ceil")
            rounded = math::FloorOp::create(
                b, l, arith::AddFOp::create(b, l, coord, f64Const(0.5)));
          else
            rounded = math::CeilOp::create(
                b, l, arith::SubFOp::create(b, l, coord, f64Const(0.5)));
          indices[d].push_back(clampedIndex(rounded));
        }
        if (!linear) {
          SmallVector<Value> at;
          for (auto &c : indices)
            at.push_back(c[0]);
          linalg::YieldOp::create(
              b, l, tensor::ExtractOp::create(b, l, source, at).getResult());
          return;
        }
        // Multilinear: sum over the 2^k corners of the resized axes.
        auto floatTy = cast<FloatType>(element);
        Type acc = floatTy.getWidth() < 32 ? b.getF32Type() : element;
        SmallVector<int64_t> resizedAxes;
        for (int64_t d = 0; d < rank; ++d)
          if ((*axes)[d].resized)
            resizedAxes.push_back(d);
        Value sum;
        for (uint64_t corner = 0; corner < (uint64_t(1) << resizedAxes.size());
             ++corner) {
          SmallVector<Value> at;
          for (auto &c : indices)
            at.push_back(c[0]);
          Value weight = f64Const(1);
          for (auto [bit, d] : llvm::enumerate(resizedAxes)) {
            bool upper = (corner >> bit) & 1;
            at[d] = indices[d][upper];
            Value w = upper ? fractions[d]
                            : arith::SubFOp::create(b, l, f64Const(1),
                                                    fractions[d]);
            weight = arith::MulFOp::create(b, l, weight, w);
          }
          Value v = tensor::ExtractOp::create(b, l, source, at);
          if (acc != element)
            v = arith::ExtFOp::create(b, l, acc, v);
          if (acc != f64)
            weight = arith::TruncFOp::create(b, l, acc, weight);
          Value term = arith::MulFOp::create(b, l, v, weight);
          sum = sum ? arith::AddFOp::create(b, l, sum, term).getResult() : term;
        }
        if (acc != element)
          sum = arith::TruncFOp::create(b, l, element, sum);
        linalg::YieldOp::create(b, l, sum);
      });
  results.push_back(generic.getResult(0));
  return success();
}

} // namespace

void mlir::qc::onnx_import::addResizeConverters(
    llvm::StringMap<OpConverter> &table) {
  table["::Resize"] = convertResize;
}
