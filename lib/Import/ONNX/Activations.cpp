//===- Activations.cpp - activations, Clip, Softmax -----------------------===//
//
// Activation functions as tosa element-wise ops (ONNX's formulas, spelled out
// in each converter), Clip as tosa.clamp or maximum/minimum, and Softmax /
// LogSoftmax in the numerically stable form with an exact division.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/TypeUtilities.h"

#include <cmath>

using namespace mlir;
using namespace mlir::qc;
using namespace mlir::qc::onnx_import;

namespace {

/// A scalar constant broadcastable against a tensor of rank `rank`.
Value splatLike(NodeContext &nc, Type element, int64_t rank, double value) {
  auto type = RankedTensorType::get(SmallVector<int64_t>(rank, 1), element);
  return arith::ConstantOp::create(
      nc.builder, nc.loc,
      DenseElementsAttr::get(type, nc.builder.getFloatAttr(element, value)));
}

Value mulBy(NodeContext &nc, Value x, Value y) {
  return createTosaMul(nc.builder, nc.loc, x.getType(), x, y);
}

Value clampFloat(NodeContext &nc, Value x, double lo, double hi) {
  Type element = getElementTypeOrSelf(x.getType());
  return tosa::ClampOp::create(nc.builder, nc.loc, x.getType(), x,
                               nc.builder.getFloatAttr(element, lo),
                               nc.builder.getFloatAttr(element, hi),
                               /*nan_mode=*/nullptr);
}

LogicalResult convertLeakyRelu(NodeContext &nc,
                               SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x) || failed(checkNumeric(nc, *x, false)))
    return failure();
  auto type = cast<RankedTensorType>(x->getType());
  Value zero = splatLike(nc, type.getElementType(), type.getRank(), 0.0);
  Value alpha = splatLike(nc, type.getElementType(), type.getRank(),
                          nc.floatAttr("alpha", 0.01f));
  auto boolType =
      RankedTensorType::get(type.getShape(), nc.builder.getI1Type());
  Value positive =
      tosa::GreaterEqualOp::create(nc.builder, nc.loc, boolType, *x, zero);
  results.push_back(tosa::SelectOp::create(nc.builder, nc.loc, type, positive,
                                           *x, mulBy(nc, *x, alpha)));
  return success();
}

/// max(0, min(1, alpha·x + beta)).
Value hardSigmoid(NodeContext &nc, Value x, float alpha, float beta) {
  auto type = cast<RankedTensorType>(x.getType());
  Value a = splatLike(nc, type.getElementType(), type.getRank(), alpha);
  Value b = splatLike(nc, type.getElementType(), type.getRank(), beta);
  Value ax = mulBy(nc, x, a);
  Value axb = tosa::AddOp::create(nc.builder, nc.loc, type, ax, b);
  return clampFloat(nc, axb, 0.0, 1.0);
}

LogicalResult convertHardSigmoid(NodeContext &nc,
                                 SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x) || failed(checkNumeric(nc, *x, false)))
    return failure();
  results.push_back(hardSigmoid(nc, *x, nc.floatAttr("alpha", 0.2f),
                                nc.floatAttr("beta", 0.5f)));
  return success();
}

LogicalResult convertHardSwish(NodeContext &nc,
                               SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x) || failed(checkNumeric(nc, *x, false)))
    return failure();
  results.push_back(mulBy(nc, *x, hardSigmoid(nc, *x, 1.0f / 6.0f, 0.5f)));
  return success();
}

LogicalResult convertGelu(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x) || failed(checkNumeric(nc, *x, false)))
    return failure();
  std::string approximate = nc.stringAttr("approximate", "none");
  auto type = cast<RankedTensorType>(x->getType());
  Type element = type.getElementType();
  int64_t rank = type.getRank();
  Value inner;
  if (approximate == "none") {
    // 0.5·x·(1 + erf(x/√2))
    Value scaled = mulBy(nc, *x, splatLike(nc, element, rank, M_SQRT1_2));
    inner = tosa::ErfOp::create(nc.builder, nc.loc, type, scaled);
  } else if (approximate == "tanh") {
    // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    Value cube = mulBy(nc, mulBy(nc, *x, *x), *x);
    Value poly = tosa::AddOp::create(
        nc.builder, nc.loc, type, *x,
        mulBy(nc, cube, splatLike(nc, element, rank, 0.044715)));
    Value arg =
        mulBy(nc, poly, splatLike(nc, element, rank, std::sqrt(2.0 / M_PI)));
    inner = tosa::TanhOp::create(nc.builder, nc.loc, type, arg);
  } else {
    return nc.emitError() << "approximate must be 'none' or 'tanh', but is '"
                          << approximate << "'";
  }
  Value onePlus = tosa::AddOp::create(nc.builder, nc.loc, type, inner,
                                      splatLike(nc, element, rank, 1.0));
  Value half = mulBy(nc, *x, splatLike(nc, element, rank, 0.5));
  results.push_back(mulBy(nc, half, onePlus));
  return success();
}

/// Reads a constant scalar input (Clip's min/max) if it is one.
std::optional<double> constantScalar(Value value) {
  if (!value)
    return std::nullopt;
  auto constant = value.getDefiningOp<arith::ConstantOp>();
  auto dense = constant ? dyn_cast<DenseElementsAttr>(constant.getValue())
                        : DenseElementsAttr();
  if (!dense || dense.getNumElements() != 1 ||
      !isa<FloatType>(dense.getElementType()))
    return std::nullopt;
  return (*dense.getValues<APFloat>().begin()).convertToDouble();
}

LogicalResult convertClip(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x) || failed(checkNumeric(nc, *x, true)))
    return failure();
  auto type = cast<RankedTensorType>(x->getType());
  // Constant float bounds: one tosa.clamp.
  auto floatType = dyn_cast<FloatType>(type.getElementType());
  std::optional<double> lo, hi;
  if (nc.hasInput(1))
    lo = constantScalar(nc.inputs[1]);
  if (nc.hasInput(2))
    hi = constantScalar(nc.inputs[2]);
  if (floatType && (!nc.hasInput(1) || lo) && (!nc.hasInput(2) || hi)) {
    double largest =
        APFloat::getLargest(floatType.getFloatSemantics()).convertToDouble();
    results.push_back(
        clampFloat(nc, *x, lo.value_or(-largest), hi.value_or(largest)));
    return success();
  }
  // Otherwise max(x, min) then min(., max), broadcasting the bounds.
  Value result = *x;
  for (unsigned index : {1u, 2u}) {
    if (!nc.hasInput(index))
      continue;
    Value bound = nc.inputs[index];
    if (getElementTypeOrSelf(bound.getType()) != type.getElementType())
      return nc.emitError()
             << "expects bounds of element type " << type.getElementType()
             << ", but got " << bound.getType();
    Value expanded = expandToRank(nc.builder, nc.loc, bound, type.getRank());
    if (index == 1)
      result =
          tosa::MaximumOp::create(nc.builder, nc.loc, type, result, expanded);
    else
      result =
          tosa::MinimumOp::create(nc.builder, nc.loc, type, result, expanded);
  }
  results.push_back(result);
  return success();
}

/// Softmax/LogSoftmax (opset 13: one axis, default -1), computed stably as
/// exp(x - max) / sum(exp(x - max)).
template <bool kLog>
LogicalResult convertSoftmax(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x) || failed(checkNumeric(nc, *x, false)))
    return failure();
  auto type = cast<RankedTensorType>(x->getType());
  int64_t rank = type.getRank();
  int64_t axis = nc.intAttr("axis", -1);
  if (axis < -rank || axis >= rank || rank == 0)
    return nc.emitError() << "axis " << axis << " is out of range for rank "
                          << rank;
  if (axis < 0)
    axis += rank;
  SmallVector<int64_t> reducedShape(type.getShape());
  reducedShape[axis] = 1;
  auto reducedType = RankedTensorType::get(reducedShape, type.getElementType());
  auto axisAttr = nc.builder.getI32IntegerAttr(axis);
  Value max =
      tosa::ReduceMaxOp::create(nc.builder, nc.loc, reducedType, *x, axisAttr);
  Value shifted = tosa::SubOp::create(nc.builder, nc.loc, type, *x, max);
  Value exp = tosa::ExpOp::create(nc.builder, nc.loc, type, shifted);
  Value sum =
      tosa::ReduceSumOp::create(nc.builder, nc.loc, reducedType, exp, axisAttr);
  if (kLog) {
    Value logSum = tosa::LogOp::create(nc.builder, nc.loc, reducedType, sum);
    results.push_back(
        tosa::SubOp::create(nc.builder, nc.loc, type, shifted, logSum));
    return success();
  }
  results.push_back(divideFloat(nc.builder, nc.loc, exp, sum));
  return success();
}

} // namespace

void mlir::qc::onnx_import::addActivationConverters(
    llvm::StringMap<OpConverter> &table) {
  table["::LeakyRelu"] = convertLeakyRelu;
  table["::HardSigmoid"] = convertHardSigmoid;
  table["::HardSwish"] = convertHardSwish;
  table["::Gelu"] = convertGelu;
  table["::Clip"] = convertClip;
  table["::Softmax"] = convertSoftmax<false>;
  table["::LogSoftmax"] = convertSoftmax<true>;
}
