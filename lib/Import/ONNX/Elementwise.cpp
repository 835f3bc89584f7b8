//===- Elementwise.cpp - ONNX element-wise operators ----------------------===//
//
// Element-wise operators become tosa ops. ONNX broadcasts numpy-style; tosa
// needs equal ranks and broadcasts size-1 dimensions, so operands are first
// given leading unit dimensions (tensor.expand_shape).
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
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

Value mlir::qc::onnx_import::buildBroadcastGeneric(
    OpBuilder &builder, Location loc, ArrayRef<Value> operands,
    RankedTensorType resultType,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body,
    ArrayRef<Value> resultSizes) {
  int64_t rank = resultType.getRank();
  MLIRContext *ctx = builder.getContext();
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  for (Value operand : operands) {
    Value expanded = expandToRank(builder, loc, operand, rank);
    auto type = cast<RankedTensorType>(expanded.getType());
    SmallVector<AffineExpr> exprs;
    for (int64_t d = 0; d < rank; ++d)
      exprs.push_back(type.getDimSize(d) == 1 && resultType.getDimSize(d) != 1
                          ? getAffineConstantExpr(0, ctx)
                          : getAffineDimExpr(d, ctx));
    inputs.push_back(expanded);
    maps.push_back(AffineMap::get(rank, 0, exprs, ctx));
  }
  // Dynamic result sizes come from an operand that is not broadcast there.
  SmallVector<Value> dynamicSizes(resultSizes);
  for (int64_t d = 0; d < rank && resultSizes.empty(); ++d) {
    if (!resultType.isDynamicDim(d))
      continue;
    for (Value input : inputs)
      if (cast<RankedTensorType>(input.getType()).isDynamicDim(d)) {
        dynamicSizes.push_back(tensor::DimOp::create(builder, loc, input, d));
        break;
      }
  }
  Value init =
      tensor::EmptyOp::create(builder, loc, resultType.getShape(),
                              resultType.getElementType(), dynamicSizes);
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      builder, loc, TypeRange{resultType}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &b, Location l, ValueRange args) {
        linalg::YieldOp::create(b, l, body(b, l, args.drop_back()));
      });
  return generic.getResult(0);
}

Value mlir::qc::onnx_import::divideFloat(OpBuilder &builder, Location loc,
                                         Value numerator, Value denominator) {
  return buildBroadcastGeneric(
      builder, loc, {numerator, denominator},
      cast<RankedTensorType>(numerator.getType()),
      [](OpBuilder &b, Location l, ValueRange args) -> Value {
        return arith::DivFOp::create(b, l, args[0], args[1]);
      });
}

Value mlir::qc::onnx_import::divideByCount(OpBuilder &builder, Location loc,
                                           Value value, double count) {
  Type element = getElementTypeOrSelf(value.getType());
  Value divisor = arith::ConstantOp::create(
      builder, loc,
      DenseElementsAttr::get(RankedTensorType::get({}, element),
                             builder.getFloatAttr(element, count)));
  return divideFloat(builder, loc, value, divisor);
}

Value mlir::qc::onnx_import::createTosaMul(OpBuilder &builder, Location loc,
                                           Type type, Value lhs, Value rhs) {
  // tosa.mul's shift applies to i32 only; it is zero here.
  auto shiftType = RankedTensorType::get({1}, builder.getI8Type());
  Value shift = tosa::ConstOp::create(
      builder, loc, shiftType,
      DenseElementsAttr::get(shiftType, builder.getI8IntegerAttr(0)));
  return tosa::MulOp::create(builder, loc, type, lhs, rhs, shift);
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
  results.push_back(createTosaMul(nc.builder, nc.loc, type, lhs, rhs));
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
  OpBuilder &b = nc.builder;
  TypedAttr attr;
  if (const onnx::AttributeProto *value = nc.attr("value")) {
    ElementsAttr tensor = convertTensor(value->t(), nc.loc, "");
    if (!tensor)
      return failure();
    attr = cast<TypedAttr>(tensor);
  } else if (const onnx::AttributeProto *a = nc.attr("value_float")) {
    attr = DenseElementsAttr::get(RankedTensorType::get({}, b.getF32Type()),
                                  b.getF32FloatAttr(a->f()));
  } else if (const onnx::AttributeProto *a = nc.attr("value_int")) {
    attr = DenseElementsAttr::get(RankedTensorType::get({}, b.getI64Type()),
                                  b.getI64IntegerAttr(a->i()));
  } else if (const onnx::AttributeProto *a = nc.attr("value_floats")) {
    SmallVector<float> values(a->floats().begin(), a->floats().end());
    attr = DenseElementsAttr::get(
        RankedTensorType::get({int64_t(values.size())}, b.getF32Type()),
        ArrayRef<float>(values));
  } else if (const onnx::AttributeProto *a = nc.attr("value_ints")) {
    SmallVector<int64_t> values(a->ints().begin(), a->ints().end());
    attr = DenseElementsAttr::get(
        RankedTensorType::get({int64_t(values.size())}, b.getI64Type()),
        ArrayRef<int64_t>(values));
  } else {
    return nc.emitError() << "unsupported constant form (sparse or string "
                             "values)";
  }
  results.push_back(arith::ConstantOp::create(b, nc.loc, attr));
  return success();
}

} // namespace

namespace {

bool isSignedInteger(Type type) {
  auto integer = dyn_cast<IntegerType>(type);
  return integer && integer.isSignless() && integer.getWidth() > 1;
}

} // namespace

LogicalResult mlir::qc::onnx_import::checkNumeric(NodeContext &nc, Value value,
                                                  bool allowInteger) {
  Type element = getElementTypeOrSelf(value.getType());
  if (isa<FloatType>(element) || (allowInteger && isSignedInteger(element)))
    return success();
  return nc.emitError() << "unsupported element type in " << value.getType()
                        << (allowInteger ? " (expects float or signed integer)"
                                         : " (expects float)");
}

namespace {

/// Unary ops on float tensors with an element-wise math/arith/tosa op.
template <typename OpT> OpConverter unaryFloatOp() {
  return [](NodeContext &nc, SmallVectorImpl<Value> &results) -> LogicalResult {
    FailureOr<Value> x = nc.input(0);
    if (failed(x) || failed(checkNumeric(nc, *x, false)))
      return failure();
    results.push_back(OpT::create(nc.builder, nc.loc, x->getType(), *x));
    return success();
  };
}

LogicalResult convertNeg(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x) || failed(checkNumeric(nc, *x, true)))
    return failure();
  auto type = cast<RankedTensorType>(x->getType());
  if (isa<FloatType>(type.getElementType())) {
    results.push_back(arith::NegFOp::create(nc.builder, nc.loc, *x));
    return success();
  }
  results.push_back(buildBroadcastGeneric(
      nc.builder, nc.loc, {*x}, type,
      [&](OpBuilder &b, Location l, ValueRange args) -> Value {
        Value zero = arith::ConstantOp::create(
            b, l, b.getIntegerAttr(type.getElementType(), 0));
        return arith::SubIOp::create(b, l, zero, args[0]);
      }));
  return success();
}

LogicalResult convertAbs(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x) || failed(checkNumeric(nc, *x, true)))
    return failure();
  if (isa<FloatType>(getElementTypeOrSelf(x->getType())))
    results.push_back(math::AbsFOp::create(nc.builder, nc.loc, *x));
  else
    results.push_back(math::AbsIOp::create(nc.builder, nc.loc, *x));
  return success();
}

LogicalResult convertNot(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x))
    return failure();
  if (!getElementTypeOrSelf(x->getType()).isInteger(1))
    return nc.emitError() << "expects a bool input, but got " << x->getType();
  results.push_back(
      tosa::LogicalNotOp::create(nc.builder, nc.loc, x->getType(), *x));
  return success();
}

/// Binary ops with a tosa op of the same broadcasting semantics. `swap`
/// exchanges the operands (Less = Greater with swapped operands).
template <typename TosaOp, bool kBoolResult, bool kAllowInteger,
          bool kSwap = false>
OpConverter tosaBinary() {
  return [](NodeContext &nc, SmallVectorImpl<Value> &results) -> LogicalResult {
    Value lhs, rhs;
    RankedTensorType type;
    if (failed(prepareBinary(nc, lhs, rhs, type)) ||
        failed(checkNumeric(nc, lhs, kAllowInteger)))
      return failure();
    if (kBoolResult)
      type = RankedTensorType::get(type.getShape(), nc.builder.getI1Type());
    if (kSwap)
      std::swap(lhs, rhs);
    results.push_back(TosaOp::create(nc.builder, nc.loc, type, lhs, rhs));
    return success();
  };
}

template <typename TosaOp> OpConverter logicalBinary() {
  return [](NodeContext &nc, SmallVectorImpl<Value> &results) -> LogicalResult {
    Value lhs, rhs;
    RankedTensorType type;
    if (failed(prepareBinary(nc, lhs, rhs, type)))
      return failure();
    if (!type.getElementType().isInteger(1))
      return nc.emitError() << "expects bool operands, but got " << type;
    results.push_back(TosaOp::create(nc.builder, nc.loc, type, lhs, rhs));
    return success();
  };
}

/// Div and Mod have no exact tosa equivalent for floats: a broadcasting
/// linalg.generic with the arith op.
LogicalResult convertDiv(NodeContext &nc, SmallVectorImpl<Value> &results) {
  Value lhs, rhs;
  RankedTensorType type;
  if (failed(prepareBinary(nc, lhs, rhs, type)) ||
      failed(checkNumeric(nc, lhs, true)))
    return failure();
  bool isFloat = isa<FloatType>(type.getElementType());
  results.push_back(buildBroadcastGeneric(
      nc.builder, nc.loc, {lhs, rhs}, type,
      [&](OpBuilder &b, Location l, ValueRange args) -> Value {
        if (isFloat)
          return arith::DivFOp::create(b, l, args[0], args[1]);
        return arith::DivSIOp::create(b, l, args[0], args[1]);
      }));
  return success();
}

LogicalResult convertPow(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> a = nc.input(0), b = nc.input(1);
  if (failed(a) || failed(b) || failed(checkNumeric(nc, *a, false)))
    return failure();
  // ONNX lets the exponent have another numeric type; it is converted to the
  // base's float type (exact for the integer exponents models use).
  Type element = getElementTypeOrSelf(a->getType());
  if (getElementTypeOrSelf(b->getType()) != element) {
    if (failed(checkNumeric(nc, *b, true)))
      return failure();
    auto bTy = cast<RankedTensorType>(b->getType());
    nc.inputs[1] = tosa::CastOp::create(
        nc.builder, nc.loc, RankedTensorType::get(bTy.getShape(), element), *b);
  }
  Value lhs, rhs;
  RankedTensorType type;
  if (failed(prepareBinary(nc, lhs, rhs, type)))
    return failure();
  results.push_back(tosa::PowOp::create(nc.builder, nc.loc, type, lhs, rhs));
  return success();
}

/// Max/Min: variadic, folded pairwise.
template <typename TosaOp> OpConverter variadicMinMax() {
  return [](NodeContext &nc, SmallVectorImpl<Value> &results) -> LogicalResult {
    if (nc.inputs.empty())
      return nc.emitError() << "expects at least one input";
    FailureOr<Value> acc = nc.input(0);
    if (failed(acc) || failed(checkNumeric(nc, *acc, true)))
      return failure();
    Value result = *acc;
    for (unsigned i = 1; i < nc.inputs.size(); ++i) {
      FailureOr<Value> next = nc.input(i);
      if (failed(next))
        return failure();
      auto aTy = cast<RankedTensorType>(result.getType());
      auto bTy = cast<RankedTensorType>(next->getType());
      if (aTy.getElementType() != bTy.getElementType())
        return nc.emitError() << "inputs have different element types, " << aTy
                              << " and " << bTy;
      FailureOr<SmallVector<int64_t>> shape =
          broadcastShapes(aTy.getShape(), bTy.getShape());
      if (failed(shape))
        return nc.emitError()
               << "shapes " << aTy << " and " << bTy << " do not broadcast";
      auto type = RankedTensorType::get(*shape, aTy.getElementType());
      result = TosaOp::create(
          nc.builder, nc.loc, type,
          expandToRank(nc.builder, nc.loc, result, shape->size()),
          expandToRank(nc.builder, nc.loc, *next, shape->size()));
    }
    results.push_back(result);
    return success();
  };
}

LogicalResult convertWhere(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> c = nc.input(0), x = nc.input(1), y = nc.input(2);
  if (failed(c) || failed(x) || failed(y))
    return failure();
  auto cTy = cast<RankedTensorType>(c->getType());
  auto xTy = cast<RankedTensorType>(x->getType());
  auto yTy = cast<RankedTensorType>(y->getType());
  if (!cTy.getElementType().isInteger(1))
    return nc.emitError() << "expects a bool condition, but got " << cTy;
  if (xTy.getElementType() != yTy.getElementType())
    return nc.emitError() << "expects X and Y of one element type, but got "
                          << xTy << " and " << yTy;
  FailureOr<SmallVector<int64_t>> xy =
      broadcastShapes(xTy.getShape(), yTy.getShape());
  FailureOr<SmallVector<int64_t>> shape = failure();
  if (succeeded(xy))
    shape = broadcastShapes(cTy.getShape(), *xy);
  if (failed(shape))
    return nc.emitError() << "shapes " << cTy << ", " << xTy << " and " << yTy
                          << " do not broadcast";
  int64_t rank = shape->size();
  auto type = RankedTensorType::get(*shape, xTy.getElementType());
  results.push_back(tosa::SelectOp::create(
      nc.builder, nc.loc, type, expandToRank(nc.builder, nc.loc, *c, rank),
      expandToRank(nc.builder, nc.loc, *x, rank),
      expandToRank(nc.builder, nc.loc, *y, rank)));
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
  table["::Neg"] = convertNeg;
  table["::Abs"] = convertAbs;
  table["::Not"] = convertNot;
  table["::Sqrt"] = unaryFloatOp<math::SqrtOp>();
  table["::Reciprocal"] = unaryFloatOp<tosa::ReciprocalOp>();
  table["::Erf"] = unaryFloatOp<tosa::ErfOp>();
  table["::Ceil"] = unaryFloatOp<tosa::CeilOp>();
  table["::Floor"] = unaryFloatOp<tosa::FloorOp>();
  table["::Sin"] = unaryFloatOp<tosa::SinOp>();
  table["::Cos"] = unaryFloatOp<tosa::CosOp>();
  table["::Div"] = convertDiv;
  table["::Pow"] = convertPow;
  table["::Max"] = variadicMinMax<tosa::MaximumOp>();
  table["::Min"] = variadicMinMax<tosa::MinimumOp>();
  table["::Equal"] = tosaBinary<tosa::EqualOp, true, true>();
  table["::Greater"] = tosaBinary<tosa::GreaterOp, true, true>();
  table["::GreaterOrEqual"] = tosaBinary<tosa::GreaterEqualOp, true, true>();
  table["::Less"] = tosaBinary<tosa::GreaterOp, true, true, true>();
  table["::LessOrEqual"] = tosaBinary<tosa::GreaterEqualOp, true, true, true>();
  table["::And"] = logicalBinary<tosa::LogicalAndOp>();
  table["::Or"] = logicalBinary<tosa::LogicalOrOp>();
  table["::Xor"] = logicalBinary<tosa::LogicalXorOp>();
  table["::Where"] = convertWhere;
  table["::Constant"] = convertConstant;
}
