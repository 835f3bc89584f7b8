//===- Normalization.cpp - reductions, LayerNorm, BatchNorm ---------------===//
//
// Reductions become one tosa.reduce_* per axis (keeping dimensions, then
// collapsing them away when keepdims = 0). LayerNormalization becomes
// qc.layer_norm, the op norm folding and rotation reason about;
// BatchNormalization (inference) becomes element-wise tosa ops per channel:
// with constant f32 parameters, the affine x·a + b (numerics::
// batchNormAffine); otherwise the formula itself.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "qc/Dialect/QC/IR/QCOps.h"
#include "qc/Numerics/Folding.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"

using namespace mlir;
using namespace mlir::qc;
using namespace mlir::qc::onnx_import;

namespace {

enum class ReduceKind { Sum, Mean, Max, Min };

/// The axes to reduce: input 1 from opset 18 (13 for ReduceSum), the `axes`
/// attribute before. Empty means all, unless noop_with_empty_axes.
FailureOr<SmallVector<int64_t>> reductionAxes(NodeContext &nc, int64_t rank,
                                              bool axesAsInput, bool &noop) {
  SmallVector<int64_t> axes;
  if (axesAsInput) {
    if (nc.hasInput(1)) {
      std::optional<SmallVector<int64_t>> values =
          getConstantIntValues(nc.inputs[1]);
      if (!values) {
        nc.emitError() << "unsupported run-time axes: they must be constant";
        return failure();
      }
      axes = *values;
    }
  } else if (const onnx::AttributeProto *a = nc.attr("axes")) {
    axes.assign(a->ints().begin(), a->ints().end());
  }
  noop = axes.empty() && nc.intAttr("noop_with_empty_axes", 0) != 0;
  if (axes.empty())
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  SmallVector<int64_t> normalized;
  for (int64_t axis : axes) {
    if (axis < -rank || axis >= rank) {
      nc.emitError() << "axis " << axis << " is out of range for rank " << rank;
      return failure();
    }
    normalized.push_back(axis < 0 ? axis + rank : axis);
  }
  llvm::sort(normalized);
  if (std::adjacent_find(normalized.begin(), normalized.end()) !=
      normalized.end()) {
    nc.emitError() << "axes repeat an axis";
    return failure();
  }
  return normalized;
}

template <ReduceKind kKind>
LogicalResult convertReduce(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x))
    return failure();
  auto type = cast<RankedTensorType>(x->getType());
  Type element = type.getElementType();
  bool isFloat = isa<FloatType>(element);
  if (!isFloat &&
      !(isa<IntegerType>(element) && cast<IntegerType>(element).isSignless() &&
        !element.isInteger(1) && kKind != ReduceKind::Mean))
    return nc.emitError() << "unsupported element type in " << type;
  bool axesAsInput = nc.opset >= 18 || (kKind == ReduceKind::Sum);
  bool noop = false;
  FailureOr<SmallVector<int64_t>> axes =
      reductionAxes(nc, type.getRank(), axesAsInput, noop);
  if (failed(axes))
    return failure();
  if (noop) {
    results.push_back(*x);
    return success();
  }
  Value value = *x;
  SmallVector<int64_t> shape(type.getShape());
  int64_t count = 1;
  for (int64_t axis : *axes) {
    if (ShapedType::isDynamic(shape[axis]) && kKind == ReduceKind::Mean)
      return nc.emitError()
             << "unsupported mean over dynamic dimension " << axis;
    count *= ShapedType::isDynamic(shape[axis]) ? 1 : shape[axis];
    shape[axis] = 1;
    auto reducedType = RankedTensorType::get(shape, element);
    auto axisAttr = nc.builder.getI32IntegerAttr(axis);
    switch (kKind) {
    case ReduceKind::Sum:
    case ReduceKind::Mean:
      value = tosa::ReduceSumOp::create(nc.builder, nc.loc, reducedType, value,
                                        axisAttr);
      break;
    case ReduceKind::Max:
      value = tosa::ReduceMaxOp::create(nc.builder, nc.loc, reducedType, value,
                                        axisAttr);
      break;
    case ReduceKind::Min:
      value = tosa::ReduceMinOp::create(nc.builder, nc.loc, reducedType, value,
                                        axisAttr);
      break;
    }
  }
  if (kKind == ReduceKind::Mean) {
    value = divideByCount(nc.builder, nc.loc, value, count);
  }
  if (nc.intAttr("keepdims", 1) == 0) {
    SmallVector<bool> removed(type.getRank(), false);
    SmallVector<int64_t> kept;
    for (int64_t axis : *axes)
      removed[axis] = true;
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (!removed[d])
        kept.push_back(shape[d]);
    value = tensor::CollapseShapeOp::create(
        nc.builder, nc.loc, RankedTensorType::get(kept, element), value,
        groupsAround(type.getRank(), removed));
  }
  results.push_back(value);
  return success();
}

LogicalResult convertLayerNorm(NodeContext &nc,
                               SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0), scale = nc.input(1);
  if (failed(x) || failed(scale))
    return failure();
  for (int i = 1; i < nc.node.output_size(); ++i)
    if (!nc.node.output(i).empty())
      return nc.emitError() << "unsupported output " << i
                            << " (Mean/InvStdDev are training outputs)";
  auto type = cast<RankedTensorType>(x->getType());
  if (!isa<FloatType>(type.getElementType()))
    return nc.emitError() << "unsupported element type in " << type;
  int64_t rank = type.getRank();
  int64_t axis = nc.intAttr("axis", -1);
  if (axis < -rank || axis >= rank)
    return nc.emitError() << "axis " << axis << " is out of range for rank "
                          << rank;
  int64_t first = axis < 0 ? axis + rank : axis;
  auto paramType = RankedTensorType::get(type.getShape().drop_front(first),
                                         type.getElementType());
  // qc.layer_norm takes parameters of exactly the normalised shape; ONNX
  // allows anything that broadcasts to it.
  auto checkParam = [&](Value v, llvm::StringRef name) -> LogicalResult {
    if (v.getType() != paramType)
      return nc.emitError() << "unsupported " << name << " of type "
                            << v.getType() << " (expects " << paramType << ")";
    return success();
  };
  Value bias = nc.hasInput(2) ? nc.inputs[2] : Value();
  if (failed(checkParam(*scale, "Scale")) ||
      (bias && failed(checkParam(bias, "B"))))
    return failure();
  float epsilon = nc.floatAttr("epsilon", 1e-5f);
  if (!(epsilon > 0))
    return nc.emitError() << "epsilon must be positive, but is " << epsilon;
  results.push_back(LayerNormOp::create(
      nc.builder, nc.loc, type, *x, *scale, bias,
      nc.builder.getF32FloatAttr(epsilon), nc.builder.getI64IntegerAttr(axis)));
  return success();
}

LogicalResult convertBatchNorm(NodeContext &nc,
                               SmallVectorImpl<Value> &results) {
  if (nc.intAttr("training_mode", 0) != 0)
    return nc.emitError() << "unsupported training_mode (inference only)";
  for (int i = 1; i < nc.node.output_size(); ++i)
    if (!nc.node.output(i).empty())
      return nc.emitError() << "unsupported output " << i
                            << " (running statistics are training outputs)";
  SmallVector<Value> in;
  for (unsigned i = 0; i < 5; ++i) {
    FailureOr<Value> v = nc.input(i);
    if (failed(v))
      return failure();
    in.push_back(*v);
  }
  auto type = cast<RankedTensorType>(in[0].getType());
  int64_t rank = type.getRank();
  if (rank < 2 || !isa<FloatType>(type.getElementType()))
    return nc.emitError() << "expects a float input of rank >= 2, but got "
                          << type;
  int64_t channels = type.getDimSize(1);
  for (unsigned i = 1; i < 5; ++i) {
    auto t = cast<RankedTensorType>(in[i].getType());
    if (t.getRank() != 1 || t.getElementType() != type.getElementType() ||
        (!ShapedType::isDynamic(channels) && !t.isDynamicDim(0) &&
         t.getDimSize(0) != channels))
      return nc.emitError() << "expects parameter " << i << " of shape ["
                            << channels << "], but got " << t;
  }
  Type element = type.getElementType();
  // Constant f32 parameters (a trained model's): the per-channel affine
  // y = x·a + b, the form qc-fold-scales moves into a producing Conv.
  SmallVector<std::vector<float>> params;
  for (unsigned i = 1; i < 5 && element.isF32(); ++i)
    if (DenseElementsAttr attr = constantAttr(in[i])) {
      auto values = attr.getValues<float>();
      params.emplace_back(values.begin(), values.end());
    }
  if (params.size() == 4 && !ShapedType::isDynamic(channels)) {
    std::vector<float> a(channels), b(channels);
    if (!numerics::batchNormAffine(params[0].data(), params[1].data(),
                                   params[2].data(), params[3].data(),
                                   channels, nc.floatAttr("epsilon", 1e-5f),
                                   a.data(), b.data()))
      return nc.emitError() << "variance + epsilon is not positive";
    auto paramTy = RankedTensorType::get({channels}, element);
    auto constant = [&](ArrayRef<float> values) {
      Value c = arith::ConstantOp::create(
          nc.builder, nc.loc, DenseElementsAttr::get(paramTy, values));
      return expandAlongAxis(nc.builder, nc.loc, c, rank, 1);
    };
    Value scaled = createTosaMul(nc.builder, nc.loc, type, in[0], constant(a));
    results.push_back(
        tosa::AddOp::create(nc.builder, nc.loc, type, scaled, constant(b)));
    return success();
  }
  Value scale = expandAlongAxis(nc.builder, nc.loc, in[1], rank, 1);
  Value bias = expandAlongAxis(nc.builder, nc.loc, in[2], rank, 1);
  Value mean = expandAlongAxis(nc.builder, nc.loc, in[3], rank, 1);
  Value var = expandAlongAxis(nc.builder, nc.loc, in[4], rank, 1);
  auto paramType = cast<RankedTensorType>(var.getType());
  auto epsType = RankedTensorType::get(SmallVector<int64_t>(rank, 1), element);
  Value eps = arith::ConstantOp::create(
      nc.builder, nc.loc,
      DenseElementsAttr::get(
          epsType,
          nc.builder.getFloatAttr(element, nc.floatAttr("epsilon", 1e-5f))));
  // y = (x - mean) · rsqrt(var + eps) · scale + bias
  Value centered = tosa::SubOp::create(nc.builder, nc.loc, type, in[0], mean);
  Value varEps = tosa::AddOp::create(nc.builder, nc.loc, paramType, var, eps);
  Value inv = tosa::RsqrtOp::create(nc.builder, nc.loc, paramType, varEps);
  Value factor = createTosaMul(nc.builder, nc.loc, paramType, inv, scale);
  Value scaled = createTosaMul(nc.builder, nc.loc, type, centered, factor);
  results.push_back(
      tosa::AddOp::create(nc.builder, nc.loc, type, scaled, bias));
  return success();
}

} // namespace

void mlir::qc::onnx_import::addNormalizationConverters(
    llvm::StringMap<OpConverter> &table) {
  table["::ReduceSum"] = convertReduce<ReduceKind::Sum>;
  table["::ReduceMean"] = convertReduce<ReduceKind::Mean>;
  table["::ReduceMax"] = convertReduce<ReduceKind::Max>;
  table["::ReduceMin"] = convertReduce<ReduceKind::Min>;
  table["::LayerNormalization"] = convertLayerNorm;
  table["::BatchNormalization"] = convertBatchNorm;
}
