//===- Elementwise.cpp - ONNX element-wise operators ----------------------===//
//
// Element-wise operators become tosa ops. ONNX broadcasts numpy-style; tosa
// needs equal ranks and broadcasts size-1 dimensions, so operands are first
// given leading unit dimensions (tensor.expand_shape).
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"

using namespace mlir;
using namespace mlir::qc;
using namespace mlir::qc::onnx_import;

FailureOr<SmallVector<int64_t>>
mlir::qc::onnx_import::broadcastShapes(ArrayRef<int64_t> a,
                                       ArrayRef<int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  SmallVector<int64_t> result(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t x = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t y = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (x == 1)
      result[i] = y;
    else if (y == 1)
      result[i] = x;
    else if (ShapedType::isDynamic(x))
      result[i] = y;
    else if (ShapedType::isDynamic(y) || x == y)
      result[i] = x;
    else
      return failure();
  }
  return result;
}

Value mlir::qc::onnx_import::expandToRank(OpBuilder &builder, Location loc,
                                          Value value, int64_t rank) {
  auto type = cast<RankedTensorType>(value.getType());
  int64_t extra = rank - type.getRank();
  if (extra <= 0)
    return value;
  SmallVector<int64_t> shape(extra, 1);
  llvm::append_range(shape, type.getShape());
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  // Group the new unit dimensions with the first original one; a rank-0 input
  // has no groups at all.
  SmallVector<ReassociationIndices> groups;
  if (type.getRank() > 0) {
    ReassociationIndices first;
    for (int64_t i = 0; i <= extra; ++i)
      first.push_back(i);
    groups.push_back(first);
    for (int64_t i = extra + 1; i < rank; ++i)
      groups.push_back({i});
  }
  return tensor::ExpandShapeOp::create(builder, loc, resultType, value, groups);
}

namespace {

/// Checks that both operands have the same element type and computes the
/// broadcast result type; brings both to the result's rank.
LogicalResult prepareBinary(NodeContext &nc, Value &lhs, Value &rhs,
                            RankedTensorType &resultType) {
  FailureOr<Value> a = nc.input(0), b = nc.input(1);
  if (failed(a) || failed(b))
    return failure();
  auto aTy = cast<RankedTensorType>(a->getType());
  auto bTy = cast<RankedTensorType>(b->getType());
  if (aTy.getElementType() != bTy.getElementType())
    return nc.emitError() << "operands have different element types, " << aTy
                          << " and " << bTy;
  FailureOr<SmallVector<int64_t>> shape =
      broadcastShapes(aTy.getShape(), bTy.getShape());
  if (failed(shape))
    return nc.emitError() << "shapes " << aTy << " and " << bTy
                          << " do not broadcast";
  resultType = RankedTensorType::get(*shape, aTy.getElementType());
  lhs = expandToRank(nc.builder, nc.loc, *a, shape->size());
  rhs = expandToRank(nc.builder, nc.loc, *b, shape->size());
  return success();
}

template <typename TosaOp> OpConverter binary() {
  return [](NodeContext &nc, SmallVectorImpl<Value> &results) -> LogicalResult {
    Value lhs, rhs;
    RankedTensorType type;
    if (failed(prepareBinary(nc, lhs, rhs, type)))
      return failure();
    results.push_back(TosaOp::create(nc.builder, nc.loc, type, lhs, rhs));
    return success();
  };
}

LogicalResult convertMul(NodeContext &nc, SmallVectorImpl<Value> &results) {
  Value lhs, rhs;
  RankedTensorType type;
  if (failed(prepareBinary(nc, lhs, rhs, type)))
    return failure();
  // tosa.mul's shift applies to i32 only; it is zero here.
  auto shiftType = RankedTensorType::get({1}, nc.builder.getI8Type());
  Value shift = tosa::ConstOp::create(
      nc.builder, nc.loc, shiftType,
      DenseElementsAttr::get(shiftType, nc.builder.getI8IntegerAttr(0)));
  results.push_back(
      tosa::MulOp::create(nc.builder, nc.loc, type, lhs, rhs, shift));
  return success();
}

/// Float-only unary ops.
template <typename TosaOp> OpConverter unaryFloat() {
  return [](NodeContext &nc, SmallVectorImpl<Value> &results) -> LogicalResult {
    FailureOr<Value> x = nc.input(0);
    if (failed(x))
      return failure();
    if (!isa<FloatType>(getElementTypeOrSelf(x->getType())))
      return nc.emitError()
             << "expects a float input, but got " << x->getType();
    results.push_back(TosaOp::create(nc.builder, nc.loc, x->getType(), *x));
    return success();
  };
}

LogicalResult convertRelu(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x))
    return failure();
  auto floatType = dyn_cast<FloatType>(getElementTypeOrSelf(x->getType()));
  if (!floatType)
    return nc.emitError() << "expects a float input, but got " << x->getType();
  auto min = nc.builder.getFloatAttr(floatType, 0.0);
  auto max = nc.builder.getFloatAttr(
      floatType, APFloat::getLargest(floatType.getFloatSemantics()));
  results.push_back(
      tosa::ClampOp::create(nc.builder, nc.loc, x->getType(), *x, min, max));
  return success();
}

LogicalResult convertIdentity(NodeContext &nc,
                              SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x))
    return failure();
  results.push_back(*x);
  return success();
}

LogicalResult convertConstant(NodeContext &nc,
                              SmallVectorImpl<Value> &results) {
  const onnx::AttributeProto *value = nc.attr("value");
  if (!value || !value->has_t())
    return nc.emitError() << "only the 'value' (tensor) form is supported";
  ElementsAttr attr = convertTensor(value->t(), nc.loc, "");
  if (!attr)
    return failure();
  results.push_back(
      arith::ConstantOp::create(nc.builder, nc.loc, cast<TypedAttr>(attr)));
  return success();
}

} // namespace

void mlir::qc::onnx_import::addElementwiseConverters(
    llvm::StringMap<OpConverter> &table) {
  table["::Add"] = binary<tosa::AddOp>();
  table["::Sub"] = binary<tosa::SubOp>();
  table["::Mul"] = convertMul;
  table["::Relu"] = convertRelu;
  table["::Sigmoid"] = unaryFloat<tosa::SigmoidOp>();
  table["::Tanh"] = unaryFloat<tosa::TanhOp>();
  table["::Exp"] = unaryFloat<tosa::ExpOp>();
  table["::Log"] = unaryFloat<tosa::LogOp>();
  table["::Identity"] = convertIdentity;
  table["::Constant"] = convertConstant;
}
