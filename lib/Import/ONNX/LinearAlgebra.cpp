//===- LinearAlgebra.cpp - MatMul and Gemm --------------------------------===//
//
// MatMul and Gemm become qc.matmul, the op the quantization passes rewrite.
// Gemm's transB maps to transpose_rhs (the [N, K] weight layout); transA to a
// tosa.transpose; alpha and beta to element-wise scaling.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "qc/Dialect/QC/IR/QCOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"

using namespace mlir;
using namespace mlir::qc;
using namespace mlir::qc::onnx_import;

namespace {

FailureOr<Value> buildMatMul(NodeContext &nc, Value lhs, Value rhs,
                             bool transposeRhs) {
  auto lhsTy = cast<RankedTensorType>(lhs.getType());
  auto rhsTy = cast<RankedTensorType>(rhs.getType());
  if (!isa<FloatType>(lhsTy.getElementType()) ||
      lhsTy.getElementType() != rhsTy.getElementType())
    return nc.emitError() << "expects float operands of one type, but got "
                          << lhsTy << " and " << rhsTy
                          << " (integer products are MatMulInteger)";
  std::string error;
  FailureOr<SmallVector<int64_t>> shape = inferMatMulShape(
      lhsTy.getShape(), rhsTy.getShape(), transposeRhs, &error);
  if (failed(shape))
    return nc.emitError() << error;
  auto type = RankedTensorType::get(*shape, lhsTy.getElementType());
  return MatMulOp::create(nc.builder, nc.loc, type, lhs, rhs, Value(),
                          transposeRhs ? nc.builder.getUnitAttr() : UnitAttr())
      .getResult();
}

LogicalResult convertMatMul(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> a = nc.input(0), b = nc.input(1);
  if (failed(a) || failed(b))
    return failure();
  FailureOr<Value> y = buildMatMul(nc, *a, *b, /*transposeRhs=*/false);
  if (failed(y))
    return failure();
  results.push_back(*y);
  return success();
}

/// Multiplies `value` by the scalar `factor` (a splat constant).
Value scale(NodeContext &nc, Value value, float factor) {
  auto type = cast<RankedTensorType>(value.getType());
  auto splatType = RankedTensorType::get(
      SmallVector<int64_t>(type.getRank(), 1), type.getElementType());
  Value splat = arith::ConstantOp::create(
      nc.builder, nc.loc,
      DenseElementsAttr::get(
          splatType, nc.builder.getFloatAttr(type.getElementType(), factor)));
  return createTosaMul(nc.builder, nc.loc, type, value, splat);
}

LogicalResult convertGemm(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> a = nc.input(0), b = nc.input(1);
  if (failed(a) || failed(b))
    return failure();
  for (Value v : {*a, *b})
    if (cast<RankedTensorType>(v.getType()).getRank() != 2)
      return nc.emitError() << "expects 2-D A and B, but got " << v.getType();
  Value lhs = *a;
  if (nc.intAttr("transA", 0)) {
    auto ty = cast<RankedTensorType>(lhs.getType());
    auto transposed = RankedTensorType::get(
        {ty.getDimSize(1), ty.getDimSize(0)}, ty.getElementType());
    lhs = tosa::TransposeOp::create(nc.builder, nc.loc, transposed, lhs,
                                    nc.builder.getDenseI32ArrayAttr({1, 0}));
  }
  FailureOr<Value> y = buildMatMul(nc, lhs, *b, nc.intAttr("transB", 0) != 0);
  if (failed(y))
    return failure();
  Value result = *y;
  float alpha = nc.floatAttr("alpha", 1.0f), beta = nc.floatAttr("beta", 1.0f);
  if (alpha != 1.0f)
    result = scale(nc, result, alpha);
  if (nc.hasInput(2) && beta != 0.0f) {
    Value c = nc.inputs[2];
    auto resultTy = cast<RankedTensorType>(result.getType());
    auto cTy = cast<RankedTensorType>(c.getType());
    if (cTy.getElementType() != resultTy.getElementType())
      return nc.emitError() << "expects C of element type "
                            << resultTy.getElementType() << ", but got " << cTy;
    // C broadcasts unidirectionally to [M, N].
    FailureOr<SmallVector<int64_t>> shape =
        broadcastShapes(resultTy.getShape(), cTy.getShape());
    if (failed(shape) || ArrayRef<int64_t>(*shape) != resultTy.getShape())
      return nc.emitError() << "C of type " << cTy
                            << " does not broadcast to the result " << resultTy;
    if (beta != 1.0f)
      c = scale(nc, c, beta);
    c = expandToRank(nc.builder, nc.loc, c, 2);
    result = tosa::AddOp::create(nc.builder, nc.loc, resultTy, result, c);
  }
  results.push_back(result);
  return success();
}

} // namespace

void mlir::qc::onnx_import::addLinearAlgebraConverters(
    llvm::StringMap<OpConverter> &table) {
  table["::MatMul"] = convertMatMul;
  table["::Gemm"] = convertGemm;
}
