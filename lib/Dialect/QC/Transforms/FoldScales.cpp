//===- FoldScales.cpp - constant scales into layers, dq/q into qc.matmul --===//
//
// See the pass description in include/qc/Dialect/QC/Transforms/Passes.td.
// Invariant: layer(x)·c = layer'(x) with the layer's output channel n (its
// weight row and bias) multiplied by c[n]; layer(x) + c = layer(x) with
// bias + c; dequantized operands of qc.matmul stand for the same reals as
// the quantized ones. The arithmetic is numerics::scaleOutputChannels.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/Passes.h"
#include "qc/Dialect/QC/Transforms/Quantization.h"
#include "qc/Numerics/Folding.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace mlir::qc {
#define GEN_PASS_DEF_FOLDSCALES
#include "qc/Dialect/QC/Transforms/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

namespace {

/// `v` with reshapes stripped (the importer broadcasts parameters through
/// tensor.expand_shape).
Value throughReshapes(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (!isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp, tosa::ReshapeOp>(
            def))
      break;
    v = def->getOperand(0);
  }
  return v;
}

/// The values of `v` when it is a constant f32 tensor of `like`'s rank whose
/// dimensions are all 1 except possibly `axis`, where it has `like`'s size:
/// one value per index along `axis` (a single value is repeated).
std::optional<std::vector<float>> channelConstant(Value v,
                                                  RankedTensorType like,
                                                  int64_t axis) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || type.getRank() != like.getRank() || !type.hasStaticShape() ||
      like.isDynamicDim(axis))
    return std::nullopt;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.getDimSize(d) != 1 &&
        (d != axis || type.getDimSize(d) != like.getDimSize(axis)))
      return std::nullopt;
  Attribute value;
  if (!matchPattern(throughReshapes(v), m_Constant(&value)))
    return std::nullopt;
  std::optional<std::vector<float>> data = readF32(value);
  if (!data)
    return std::nullopt;
  int64_t channels = like.getDimSize(axis);
  if (data->size() == 1)
    return std::vector<float>(channels, (*data)[0]);
  if (static_cast<int64_t>(data->size()) != channels)
    return std::nullopt;
  return data;
}

/// A constant holding `values` (one per channel along `axis` of `like`):
/// shaped [1, .., C, .., 1], or all 1s when the values are equal.
Value channelConstantLike(PatternRewriter &rewriter, Location loc,
                          RankedTensorType like, int64_t axis,
                          ArrayRef<float> values) {
  SmallVector<int64_t> shape(like.getRank(), 1);
  bool uniform = llvm::all_equal(values);
  if (!uniform)
    shape[axis] = static_cast<int64_t>(values.size());
  auto type = RankedTensorType::get(shape, like.getElementType());
  return arith::ConstantOp::create(
      rewriter, loc,
      DenseElementsAttr::get(type, uniform ? values.take_front(1) : values));
}

/// The channel axis of a layer's result: 1 for a convolution (NC...), the
/// last for a matmul.
int64_t channelAxis(Operation *layer) {
  auto type = cast<RankedTensorType>(layer->getResult(0).getType());
  return isa<MatMulOp>(layer) ? type.getRank() - 1 : 1;
}

/// The constant 1-D bias of `op` (size n), zeros when it has none, nullopt
/// when it is not constant.
std::optional<std::vector<float>> biasOf(MatMulOp op, int64_t n) {
  Value bias = op.getBias();
  if (!bias)
    return std::vector<float>(n, 0.0f);
  auto type = dyn_cast<RankedTensorType>(bias.getType());
  Attribute value;
  if (!type || !type.getElementType().isF32() ||
      !matchPattern(bias, m_Constant(&value)))
    return std::nullopt;
  return readF32(value);
}

/// True when `conv` is a convolution the quantization passes rewrite (a
/// constant f32 weight) accumulating into zeros, so that scaling its weight
/// scales its output. Only types are looked at: the weight is read once, by
/// scaleLayer.
bool isScalableConv(Operation *op) {
  if (!isQuantizableConv(op))
    return false;
  auto conv = cast<linalg::LinalgOp>(op);
  auto fill = conv.getDpsInits()[0].getDefiningOp<linalg::FillOp>();
  Attribute zero;
  if (!fill || !matchPattern(fill.getInputs()[0], m_Constant(&zero)))
    return false;
  auto f = dyn_cast<FloatAttr>(zero);
  return f && f.getValue().isZero();
}

/// A quantized matmul weight with `factor` multiplied into its scales per
/// output channel (the quant.scast of constant codes, retyped), or null when
/// its parameters are not per output channel or some factor is not positive.
Value scaleQuantizedWeight(PatternRewriter &rewriter, MatMulOp op,
                           ArrayRef<float> factor) {
  auto scast = op.getRhs().getDefiningOp<quant::StorageCastOp>();
  auto type = cast<RankedTensorType>(op.getRhs().getType());
  if (!scast || type.getRank() != 2 ||
      !matchPattern(scast.getInput(), m_Constant()))
    return {};
  for (float f : factor)
    if (!(f > 0) || !std::isfinite(f))
      return {};
  int64_t nDim = op.getTransposeRhs() ? 0 : 1;
  Type element = type.getElementType();
  Type scaled;
  if (auto axis = dyn_cast<quant::UniformQuantizedPerAxisType>(element)) {
    if (axis.getQuantizedDimension() != nDim)
      return {};
    SmallVector<double> scales(axis.getScales());
    for (auto [s, f] : llvm::zip_equal(scales, factor))
      s *= f;
    scaled = quant::UniformQuantizedPerAxisType::get(
        axis.getFlags(), axis.getStorageType(), axis.getExpressedType(),
        scales, axis.getZeroPoints(), nDim, axis.getStorageTypeMin(),
        axis.getStorageTypeMax());
  } else if (auto sub =
                 dyn_cast<quant::UniformQuantizedSubChannelType>(element)) {
    DenseElementsAttr scalesAttr = sub.getScales();
    auto scalesTy = cast<ShapedType>(scalesAttr.getType());
    if (scalesTy.getRank() != 2 ||
        scalesTy.getDimSize(nDim) != static_cast<int64_t>(factor.size()) ||
        !scalesTy.getElementType().isF32())
      return {};
    SmallVector<float> scales(scalesAttr.getValues<float>());
    int64_t cols = scalesTy.getDimSize(1);
    for (int64_t i = 0; i < static_cast<int64_t>(scales.size()); ++i)
      scales[i] *= factor[nDim == 0 ? i / cols : i % cols];
    scaled = quant::UniformQuantizedSubChannelType::get(
        sub.getFlags(), sub.getStorageType(), sub.getExpressedType(),
        DenseElementsAttr::get(scalesTy, ArrayRef<float>(scales)),
        sub.getZeroPoints(), sub.getQuantizedDimensions(),
        sub.getBlockSizes(), sub.getStorageTypeMin(),
        sub.getStorageTypeMax());
  } else {
    return {};
  }
  return quant::StorageCastOp::create(
      rewriter, scast.getLoc(), RankedTensorType::get(type.getShape(), scaled),
      scast.getInput());
}

/// Multiplies `layer`'s output channels by `factor`; failure (nothing
/// changed) when its weight cannot take it.
LogicalResult scaleLayer(PatternRewriter &rewriter, Operation *layer,
                         ArrayRef<float> factor) {
  rewriter.setInsertionPoint(layer);
  if (auto conv = dyn_cast<linalg::LinalgOp>(layer)) {
    Value weight = conv.getDpsInputs()[1];
    Attribute value;
    std::optional<std::vector<float>> data;
    if (matchPattern(weight, m_Constant(&value)))
      data = readF32(value);
    if (!data)
      return failure();
    std::vector<float> &w = *data;
    auto type = cast<RankedTensorType>(weight.getType());
    int64_t f = type.getDimSize(0), k = type.getNumElements() / f;
    numerics::scaleOutputChannels(w.data(), k, f, /*transposed=*/true,
                                  factor.data());
    Value scaled =
        createF32Constant(rewriter, weight.getLoc(), type.getShape(), w,
                          "scaled_weight");
    rewriter.modifyOpInPlace(layer, [&] { layer->setOperand(1, scaled); });
    return success();
  }
  auto op = cast<MatMulOp>(layer);
  int64_t n = static_cast<int64_t>(factor.size());
  std::optional<std::vector<float>> bias = biasOf(op, n);
  if (!bias)
    return failure();
  Value weight;
  auto wType = cast<RankedTensorType>(op.getRhs().getType());
  Attribute value;
  std::optional<std::vector<float>> floatWeight;
  if (matchPattern(op.getRhs(), m_Constant(&value)))
    floatWeight = readF32(value);
  if (floatWeight) {
    std::vector<float> &w = *floatWeight;
    int64_t k = wType.getNumElements() / n;
    numerics::scaleOutputChannels(w.data(), k, n, op.getTransposeRhs(),
                                  factor.data());
    weight = createF32Constant(rewriter, op.getRhs().getLoc(),
                               wType.getShape(), w, "scaled_weight");
  } else {
    weight = scaleQuantizedWeight(rewriter, op, factor);
  }
  if (!weight)
    return failure();
  for (int64_t j = 0; j < n; ++j)
    (*bias)[j] *= factor[j];
  Value newBias;
  if (op.getBias())
    newBias = createF32Constant(rewriter, op.getBias().getLoc(), {n}, *bias,
                                "scaled_bias");
  rewriter.modifyOpInPlace(op, [&] {
    op.getRhsMutable().assign(weight);
    if (newBias)
      op.getBiasMutable().assign(newBias);
  });
  return success();
}

/// The layer producing `v` when `v` is its only use and a factor per output
/// channel can go into it, else null.
Operation *scalableLayer(Value v) {
  Operation *def = v.getDefiningOp();
  if (!def || !v.hasOneUse())
    return nullptr;
  if (auto matmul = dyn_cast<MatMulOp>(def)) {
    auto type = cast<RankedTensorType>(matmul.getType());
    auto rhs = cast<RankedTensorType>(matmul.getRhs().getType());
    if (!isa<FloatType>(type.getElementType()) || rhs.getRank() != 2 ||
        type.getRank() < 1)
      return nullptr;
    return def;
  }
  return isScalableConv(def) ? def : nullptr;
}

/// The operands of a binary tosa op as (value, constant along `axis` of
/// the value's type), in either order; nullopt when neither is such a
/// constant. `axisOf` picks the axis from the value's producer.
struct ConstantOperand {
  Value value;
  Value constant;
  std::vector<float> values;
  int64_t axis;
};
std::optional<ConstantOperand>
splitConstant(Operation *op, function_ref<std::optional<int64_t>(Value)> axisOf) {
  auto resultTy = cast<RankedTensorType>(op->getResult(0).getType());
  for (unsigned i = 0; i < 2; ++i) {
    Value v = op->getOperand(i), c = op->getOperand(1 - i);
    if (v.getType() != resultTy)
      continue;
    std::optional<int64_t> axis = axisOf(v);
    if (!axis)
      continue;
    if (std::optional<std::vector<float>> values =
            channelConstant(c, resultTy, *axis))
      return ConstantOperand{v, c, std::move(*values), *axis};
  }
  return std::nullopt;
}

/// The channel axis along which constants may be combined with `v`: that of
/// the layer it comes from, directly or through constant adds and muls.
std::optional<int64_t> chainAxis(Value v) {
  for (int depth = 0; depth < 8; ++depth) {
    Operation *def = v.getDefiningOp();
    if (!def)
      return std::nullopt;
    if (isa<MatMulOp>(def) || isScalableConv(def))
      return channelAxis(def);
    if (!isa<tosa::AddOp, tosa::MulOp>(def))
      return std::nullopt;
    // Follow the non-constant operand.
    Value next;
    for (Value operand : def->getOperands().take_front(2))
      if (!matchPattern(throughReshapes(operand), m_Constant()))
        next = operand;
    if (!next)
      return std::nullopt;
    v = next;
  }
  return std::nullopt;
}

/// The producer of `outer.value` (a single-use binary tosa op with its own
/// constant along the same axis) seen through: its other operand, and the
/// two constants combined by `combine` (a new constant before `op`).
struct Merged {
  Value value;
  Value constant;
};
std::optional<Merged> mergeWithProducer(PatternRewriter &rewriter,
                                        Operation *op,
                                        const ConstantOperand &outer,
                                        function_ref<float(float, float)> combine) {
  Operation *def = outer.value.getDefiningOp();
  if (!outer.value.hasOneUse())
    return std::nullopt;
  std::optional<ConstantOperand> inner = splitConstant(def, chainAxis);
  if (!inner || inner->axis != outer.axis)
    return std::nullopt;
  std::vector<float> combined(inner->values);
  for (auto [a, b] : llvm::zip_equal(combined, outer.values))
    a = combine(a, b);
  rewriter.setInsertionPoint(op);
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  return Merged{inner->value, channelConstantLike(rewriter, op->getLoc(), type,
                                                  outer.axis, combined)};
}

/// tosa.mul(y, c): into y's layer, through a constant add or mul before it.
struct ScaleIntoProducer : OpRewritePattern<tosa::MulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(tosa::MulOp op,
                                PatternRewriter &rewriter) const override {
    auto resultTy = cast<RankedTensorType>(op.getType());
    if (!resultTy.getElementType().isF32())
      return failure();
    std::optional<ConstantOperand> split = splitConstant(op, chainAxis);
    if (!split)
      return failure();
    Value y = split->value;
    if (Operation *layer = scalableLayer(y)) {
      if (failed(scaleLayer(rewriter, layer, split->values)))
        return failure();
      rewriter.replaceOp(op, y);
      return success();
    }
    Operation *def = y.getDefiningOp();
    if (!isa_and_nonnull<tosa::AddOp, tosa::MulOp>(def))
      return failure();
    // (z + c1)·c = z·c + c1·c;  (z·c1)·c = z·(c1·c).
    std::optional<Merged> merged = mergeWithProducer(
        rewriter, op, *split, [](float a, float b) { return a * b; });
    if (!merged)
      return failure();
    if (isa<tosa::MulOp>(def)) {
      rewriter.replaceOpWithNewOp<tosa::MulOp>(op, resultTy, merged->value,
                                               merged->constant, op.getShift());
      return success();
    }
    Value scaled = tosa::MulOp::create(rewriter, op.getLoc(), resultTy,
                                       merged->value, split->constant,
                                       op.getShift());
    rewriter.replaceOpWithNewOp<tosa::AddOp>(op, resultTy, scaled,
                                             merged->constant);
    return success();
  }
};

/// tosa.add(y, c): into a qc.matmul's bias, or merged with a constant add
/// before it.
struct ShiftIntoProducer : OpRewritePattern<tosa::AddOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(tosa::AddOp op,
                                PatternRewriter &rewriter) const override {
    auto resultTy = cast<RankedTensorType>(op.getType());
    if (!resultTy.getElementType().isF32())
      return failure();
    std::optional<ConstantOperand> split = splitConstant(op, chainAxis);
    if (!split || !split->value.hasOneUse())
      return failure();
    Operation *def = split->value.getDefiningOp();
    if (auto matmul = dyn_cast_or_null<MatMulOp>(def)) {
      if (!scalableLayer(split->value))
        return failure();
      int64_t n = static_cast<int64_t>(split->values.size());
      std::optional<std::vector<float>> bias = biasOf(matmul, n);
      if (!bias)
        return failure();
      for (int64_t j = 0; j < n; ++j)
        (*bias)[j] += split->values[j];
      rewriter.setInsertionPoint(matmul);
      Value newBias = createF32Constant(rewriter, matmul.getLoc(), {n}, *bias,
                                        "shifted_bias");
      rewriter.modifyOpInPlace(
          matmul, [&] { matmul.getBiasMutable().assign(newBias); });
      rewriter.replaceOp(op, split->value);
      return success();
    }
    if (!isa_and_nonnull<tosa::AddOp>(def))
      return failure();
    std::optional<Merged> merged = mergeWithProducer(
        rewriter, op, *split, [](float a, float b) { return a + b; });
    if (!merged)
      return failure();
    rewriter.replaceOpWithNewOp<tosa::AddOp>(op, resultTy, merged->value,
                                             merged->constant);
    return success();
  }
};

/// True when a dequantized value of this type can be a qc.matmul operand
/// that the lowering contracts as integers: per-tensor for the left-hand
/// side; for a 2-D weight also per output channel (`nDim`) or sub-channel.
bool absorbable(Type type, bool isWeight, int64_t rank, int64_t nDim) {
  auto element = getElementTypeOrSelf(type);
  auto q = dyn_cast<quant::QuantizedType>(element);
  if (!q || q.getStorageTypeIntegralWidth() > 8 ||
      !q.getExpressedType().isF32())
    return false;
  if (isa<quant::UniformQuantizedType>(q))
    return true;
  if (!isWeight || rank != 2)
    return false;
  if (auto axis = dyn_cast<quant::UniformQuantizedPerAxisType>(q))
    return axis.getQuantizedDimension() == nDim;
  return isa<quant::UniformQuantizedSubChannelType>(q);
}

/// qc.matmul(qc.dequantize(a), qc.dequantize(w)) → qc.matmul(a, w).
struct AbsorbDequantize : OpRewritePattern<MatMulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatMulOp op,
                                PatternRewriter &rewriter) const override {
    auto lhs = op.getLhs().getDefiningOp<DequantizeOp>();
    auto rhs = op.getRhs().getDefiningOp<DequantizeOp>();
    auto rhsTy = cast<RankedTensorType>(op.getRhs().getType());
    int64_t nDim = op.getTransposeRhs() ? rhsTy.getRank() - 2
                                        : rhsTy.getRank() - 1;
    bool takeLhs = lhs && absorbable(lhs.getInput().getType(), false,
                                     rhsTy.getRank(), nDim);
    bool takeRhs = rhs && absorbable(rhs.getInput().getType(), true,
                                     rhsTy.getRank(), nDim);
    if (!takeLhs && !takeRhs)
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      if (takeLhs)
        op.getLhsMutable().assign(lhs.getInput());
      if (takeRhs)
        op.getRhsMutable().assign(rhs.getInput());
    });
    return success();
  }
};

/// qc.quantize(qc.matmul(...)) → qc.matmul(...) with the quantized result
/// type, when the float product has no other use and the result type is
/// per tensor.
struct AbsorbQuantize : OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(QuantizeOp op,
                                PatternRewriter &rewriter) const override {
    auto matmul = op.getInput().getDefiningOp<MatMulOp>();
    if (!matmul || !matmul->hasOneUse() ||
        !isa<quant::UniformQuantizedType>(
            getElementTypeOrSelf(op.getType())) ||
        llvm::none_of(ValueRange{matmul.getLhs(), matmul.getRhs()},
                      [](Value v) {
                        return isa<quant::QuantizedType>(
                            getElementTypeOrSelf(v.getType()));
                      }))
      return failure();
    rewriter.replaceOpWithNewOp<MatMulOp>(
        op, op.getType(), matmul.getLhs(), matmul.getRhs(), matmul.getBias(),
        matmul.getTransposeRhs());
    return success();
  }
};

struct FoldScalesPass : public qc::impl::FoldScalesBase<FoldScalesPass> {
  using FoldScalesBase::FoldScalesBase;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ScaleIntoProducer, ShiftIntoProducer, AbsorbDequantize,
                 AbsorbQuantize>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
