//===- DynamicQuantization.cpp - DynamicQuantizeLinear --------------------===//
//
// DynamicQuantizeLinear computes uint8 parameters from the data at run time
// (REFERENCES: ONNX operators):
//   scale = (max(0, max x) - min(0, min x)) / 255
//   zp    = saturate(round(0 - min(0, min x) / scale))        in [0, 255]
//   y     = saturate(round(x / scale) + zp)                    round half even
// Run-time parameters cannot live in a !quant.uniform type, so this is
// arithmetic: tosa reductions and broadcasting linalg.generic ops.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"

using namespace mlir;
using namespace mlir::qc;
using namespace mlir::qc::onnx_import;

namespace {

/// Reduces every axis of `x` with TosaOp and returns a rank-0 tensor.
template <typename TosaOp> Value reduceAll(NodeContext &nc, Value x) {
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> shape(type.getShape());
  for (int64_t d = 0; d < type.getRank(); ++d) {
    shape[d] = 1;
    x = TosaOp::create(nc.builder, nc.loc,
                       RankedTensorType::get(shape, type.getElementType()), x,
                       nc.builder.getI32IntegerAttr(d));
  }
  if (type.getRank() == 0)
    return x;
  return tensor::CollapseShapeOp::create(
      nc.builder, nc.loc, RankedTensorType::get({}, type.getElementType()), x,
      SmallVector<ReassociationIndices>{});
}

LogicalResult convertDynamicQuantizeLinear(NodeContext &nc,
                                           SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x))
    return failure();
  auto type = cast<RankedTensorType>(x->getType());
  if (!type.getElementType().isF32())
    return nc.emitError() << "unsupported element type in " << type
                          << " (expects f32)";
  Type f32 = nc.builder.getF32Type(), i8 = nc.builder.getI8Type();
  Value min = reduceAll<tosa::ReduceMinOp>(nc, *x);
  Value max = reduceAll<tosa::ReduceMaxOp>(nc, *x);
  auto scalarF32 = RankedTensorType::get({}, f32);
  auto constant = [](OpBuilder &b, Location l, double v) -> Value {
    return arith::ConstantOp::create(b, l, b.getF32FloatAttr(v));
  };
  // The range always contains 0.
  Value scale = buildBroadcastGeneric(
      nc.builder, nc.loc, {min, max}, scalarF32,
      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
        Value lo = arith::MinimumFOp::create(b, l, a[0], constant(b, l, 0));
        Value hi = arith::MaximumFOp::create(b, l, a[1], constant(b, l, 0));
        Value range = arith::SubFOp::create(b, l, hi, lo);
        return arith::DivFOp::create(b, l, range, constant(b, l, 255));
      });
  auto saturate = [&](OpBuilder &b, Location l, Value v) -> Value {
    v = arith::MaximumFOp::create(b, l, v, constant(b, l, 0));
    return arith::MinimumFOp::create(b, l, v, constant(b, l, 255));
  };
  Value zeroPointF = buildBroadcastGeneric(
      nc.builder, nc.loc, {min, scale}, scalarF32,
      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
        Value lo = arith::MinimumFOp::create(b, l, a[0], constant(b, l, 0));
        Value neg = arith::SubFOp::create(b, l, constant(b, l, 0), lo);
        Value q = arith::DivFOp::create(b, l, neg, a[1]);
        return saturate(b, l, math::RoundEvenOp::create(b, l, q));
      });
  Value y = buildBroadcastGeneric(
      nc.builder, nc.loc, {*x, scale, zeroPointF},
      RankedTensorType::get(type.getShape(), i8),
      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
        Value q = math::RoundEvenOp::create(
            b, l, arith::DivFOp::create(b, l, a[0], a[1]));
        q = saturate(b, l, arith::AddFOp::create(b, l, q, a[2]));
        return arith::FPToUIOp::create(b, l, i8, q);
      });
  Value zeroPoint = buildBroadcastGeneric(
      nc.builder, nc.loc, {zeroPointF}, RankedTensorType::get({}, i8),
      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
        return arith::FPToUIOp::create(b, l, i8, a[0]);
      });
  // The ONNX outputs are uint8.
  Type u8 = IntegerType::get(nc.builder.getContext(), 8, IntegerType::Unsigned);
  auto asU8 = [&](Value v) -> Value {
    auto t = cast<RankedTensorType>(v.getType());
    return tensor::BitcastOp::create(
        nc.builder, nc.loc, RankedTensorType::get(t.getShape(), u8), v);
  };
  results.push_back(asU8(y));
  results.push_back(scale);
  results.push_back(asU8(zeroPoint));
  return success();
}

/// Tile with constant repeats: tosa.tile.
LogicalResult convertTile(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  FailureOr<SmallVector<int64_t>> repeats = constantInput(nc, 1, "repeats");
  if (failed(x) || failed(repeats))
    return failure();
  auto type = cast<RankedTensorType>(x->getType());
  if (int64_t(repeats->size()) != type.getRank())
    return nc.emitError() << "repeats has " << repeats->size()
                          << " entries for rank " << type.getRank();
  SmallVector<int64_t> shape;
  for (auto [dim, rep] : llvm::zip(type.getShape(), *repeats)) {
    if (rep < 0)
      return nc.emitError() << "repeats must be non-negative";
    shape.push_back(ShapedType::isDynamic(dim) ? dim : dim * rep);
  }
  MLIRContext *ctx = nc.builder.getContext();
  auto shapeType = tosa::shapeType::get(ctx, repeats->size());
  Value multiples = tosa::ConstShapeOp::create(
      nc.builder, nc.loc, shapeType,
      DenseIntElementsAttr::get(
          RankedTensorType::get({int64_t(repeats->size())},
                                nc.builder.getIndexType()),
          *repeats));
  results.push_back(tosa::TileOp::create(
      nc.builder, nc.loc, RankedTensorType::get(shape, type.getElementType()),
      *x, multiples));
  return success();
}

} // namespace

void mlir::qc::onnx_import::addDynamicQuantizationConverters(
    llvm::StringMap<OpConverter> &table) {
  table["::DynamicQuantizeLinear"] = convertDynamicQuantizeLinear;
  table["::Tile"] = convertTile;
}
