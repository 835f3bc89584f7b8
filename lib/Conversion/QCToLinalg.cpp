//===- QCToLinalg.cpp - qc ops to linalg on tensors -----------------------===//
//
// See the pass description in include/qc/Conversion/Passes.td. Quantized
// values are handled through their storage: each pattern reads a quantized
// operand through `quant.scast` to its storage type and wraps a quantized
// result in `quant.scast` back; once every qc op is gone, the scast pairs
// cancel and no !quant type is left.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/Passes.h"
#include "qc/Dialect/QC/IR/Int8Contraction.h"
#include "qc/Dialect/QC/IR/QCOps.h"
#include "qc/Dialect/QC/Transforms/Quantization.h"
#include "qc/Numerics/Hadamard.h"
#include "qc/Numerics/Packing.h"

#include "GPUHadamardKernel.h"
#include "NibbleF16Body.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>
#include <limits>

namespace mlir::qc {
#define GEN_PASS_DEF_CONVERTQCTOLINALG
#include "qc/Conversion/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// Quantization parameters of a tensor as constant tensors (scale in the
/// expressed type, zero point in i32) and the map from the tensor's
/// dimensions to the parameters' dimensions.
struct QuantParams {
  quant::QuantizedType type;
  Value scale, zeroPoint;
  AffineMap map;
  /// True when every zero point is 0 (the subtraction is skipped).
  bool symmetric = true;
};

Value constantTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                     Type element, ArrayRef<Attribute> values) {
  auto type = RankedTensorType::get(shape, element);
  return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, values));
}

FailureOr<QuantParams> getQuantParams(OpBuilder &b, Location loc,
                                      RankedTensorType tensorType,
                                      Operation *op) {
  auto q = cast<quant::QuantizedType>(tensorType.getElementType());
  Type expressed = q.getExpressedType();
  Type i32 = b.getI32Type();
  MLIRContext *ctx = b.getContext();
  int64_t rank = tensorType.getRank();
  QuantParams p;
  p.type = q;
  auto floatAttr = [&](double v) -> Attribute {
    return b.getFloatAttr(expressed, v);
  };
  if (auto u = dyn_cast<quant::UniformQuantizedType>(q)) {
    p.scale = constantTensor(b, loc, {}, expressed, {floatAttr(u.getScale())});
    p.zeroPoint = constantTensor(b, loc, {}, i32,
                                 {b.getI32IntegerAttr(u.getZeroPoint())});
    p.symmetric = u.getZeroPoint() == 0;
    p.map = AffineMap::get(rank, 0, {}, ctx);
    return p;
  }
  if (auto a = dyn_cast<quant::UniformQuantizedPerAxisType>(q)) {
    SmallVector<Attribute> scales, zps;
    for (double s : a.getScales())
      scales.push_back(floatAttr(s));
    for (int64_t z : a.getZeroPoints()) {
      zps.push_back(b.getI32IntegerAttr(z));
      p.symmetric &= z == 0;
    }
    int64_t n = scales.size();
    p.scale = constantTensor(b, loc, {n}, expressed, scales);
    p.zeroPoint = constantTensor(b, loc, {n}, i32, zps);
    p.map = AffineMap::get(rank, 0,
                           {getAffineDimExpr(a.getQuantizedDimension(), ctx)},
                           ctx);
    return p;
  }
  if (auto s = dyn_cast<quant::UniformQuantizedSubChannelType>(q)) {
    DenseElementsAttr scales = s.getScales();
    auto pShape = cast<ShapedType>(scales.getType()).getShape();
    if (int64_t(pShape.size()) != rank || !tensorType.hasStaticShape())
      return failure(); // reported by checkLowerable
    SmallVector<Attribute> scaleValues, zps;
    for (APFloat v : scales.getValues<APFloat>())
      scaleValues.push_back(floatAttr(v.convertToDouble()));
    for (APInt z : s.getZeroPoints().getValues<APInt>()) {
      int64_t zv = s.isSigned() ? z.getSExtValue() : z.getZExtValue();
      zps.push_back(b.getI32IntegerAttr(zv));
      p.symmetric &= zv == 0;
    }
    p.scale = constantTensor(b, loc, pShape, expressed, scaleValues);
    p.zeroPoint = constantTensor(b, loc, pShape, i32, zps);
    SmallVector<AffineExpr> exprs;
    for (int64_t d = 0; d < rank; ++d) {
      if (pShape[d] == 1) {
        exprs.push_back(getAffineConstantExpr(0, ctx));
        continue;
      }
      int64_t block = tensorType.getDimSize(d) / pShape[d];
      AffineExpr e = getAffineDimExpr(d, ctx);
      exprs.push_back(block == 1 ? e : e.floorDiv(block));
    }
    p.map = AffineMap::get(rank, 0, exprs, ctx);
    return p;
  }
  return failure(); // reported by checkLowerable
}

/// The storage view of a quantized tensor value.
Value toStorage(OpBuilder &b, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  auto q = cast<quant::QuantizedType>(type.getElementType());
  return quant::StorageCastOp::create(
      b, loc, RankedTensorType::get(type.getShape(), q.getStorageType()),
      value);
}

bool isQuantizedTensor(Type type) {
  return isa<quant::QuantizedType>(getElementTypeOrSelf(type));
}

/// Scalar: storage integer -> i32 (sign- or zero-extended).
Value widenStorage(OpBuilder &b, Location loc, Value v, bool isSigned) {
  Type i32 = b.getI32Type();
  unsigned width = v.getType().getIntOrFloatBitWidth();
  if (width == 32)
    return v;
  if (width > 32)
    return arith::TruncIOp::create(b, loc, i32, v);
  return isSigned ? arith::ExtSIOp::create(b, loc, i32, v).getResult()
                  : arith::ExtUIOp::create(b, loc, i32, v).getResult();
}

/// Scalar dequantization: (q - zp) · scale in `floatType` (the scale's type).
Value dequantizeScalar(OpBuilder &b, Location loc, Value stored, Value scale,
                       Value zp, bool isSigned, bool symmetric) {
  Value v = widenStorage(b, loc, stored, isSigned);
  if (!symmetric)
    v = arith::SubIOp::create(b, loc, v, zp);
  Value f = arith::SIToFPOp::create(b, loc, scale.getType(), v);
  return arith::MulFOp::create(b, loc, f, scale);
}

/// Scalar quantization: clamp(round_even(x / scale) + zp, min, max) as the
/// storage integer.
Value quantizeScalar(OpBuilder &b, Location loc, Value x, Value scale,
                     Value zp, quant::QuantizedType q) {
  Type fTy = x.getType();
  if (scale.getType() != fTy)
    scale = arith::ExtFOp::create(b, loc, fTy, scale);
  Value v = arith::DivFOp::create(b, loc, x, scale);
  v = math::RoundEvenOp::create(b, loc, v);
  // Clamp in f32 at least: i8/u8/i16 bounds are exact there; f16 would not
  // hold 32767 exactly but does hold every 8-bit bound.
  Type f32 = b.getF32Type();
  if (fTy.getIntOrFloatBitWidth() < 32)
    v = arith::ExtFOp::create(b, loc, f32, v);
  Type calc = v.getType();
  v = arith::AddFOp::create(b, loc, v,
                            arith::SIToFPOp::create(b, loc, calc, zp));
  auto bound = [&](int64_t n) -> Value {
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(calc, double(n)));
  };
  v = arith::MaximumFOp::create(b, loc, v, bound(q.getStorageTypeMin()));
  v = arith::MinimumFOp::create(b, loc, v, bound(q.getStorageTypeMax()));
  Type i64 = b.getI64Type();
  Value i = arith::FPToSIOp::create(b, loc, i64, v);
  return arith::TruncIOp::create(b, loc, q.getStorageType(), i);
}

/// tensor.empty of `type` whose dynamic sizes are those of `like` at
/// `sourceDims` (one source dimension per result dimension, or -1).
Value emptyLike(OpBuilder &b, Location loc, RankedTensorType type,
                ArrayRef<std::pair<Value, int64_t>> sources) {
  SmallVector<Value> dynamic;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      dynamic.push_back(
          tensor::DimOp::create(b, loc, sources[d].first, sources[d].second));
  return tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType(),
                                 dynamic);
}

/// An element-wise generic over `like`'s shape producing `resultElement`.
Value elementwise(OpBuilder &b, Location loc, Value like, Type resultElement,
                  ArrayRef<Value> inputs, ArrayRef<AffineMap> inputMaps,
                  function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  auto likeTy = cast<RankedTensorType>(like.getType());
  auto type = RankedTensorType::get(likeTy.getShape(), resultElement);
  SmallVector<std::pair<Value, int64_t>> sources;
  for (int64_t d = 0; d < type.getRank(); ++d)
    sources.push_back({like, d});
  Value init = emptyLike(b, loc, type, sources);
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(b.getMultiDimIdentityMap(type.getRank()));
  SmallVector<utils::IteratorType> iters(type.getRank(),
                                         utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, inputs, ValueRange{init}, maps, iters,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               linalg::YieldOp::create(nb, nl, body(nb, nl, args.drop_back()));
             })
      .getResult(0);
}

//===----------------------------------------------------------------------===//
// qc.quantize / qc.dequantize
//===----------------------------------------------------------------------===//

struct QuantizeLowering : OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QuantizeOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultTy = cast<RankedTensorType>(op.getType());
    FailureOr<QuantParams> p = getQuantParams(rewriter, loc, resultTy, op);
    if (failed(p))
      return failure();
    Value x = op.getInput();
    int64_t rank = resultTy.getRank();
    quant::QuantizedType q = p->type;
    Value storage = elementwise(
        rewriter, loc, x, q.getStorageType(), {x, p->scale, p->zeroPoint},
        {rewriter.getMultiDimIdentityMap(rank), p->map, p->map},
        [&](OpBuilder &b, Location l, ValueRange a) {
          return quantizeScalar(b, l, a[0], a[1], a[2], q);
        });
    rewriter.replaceOpWithNewOp<quant::StorageCastOp>(op, resultTy, storage);
    return success();
  }
};

struct DequantizeLowering : OpRewritePattern<DequantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DequantizeOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto inTy = cast<RankedTensorType>(op.getInput().getType());
    FailureOr<QuantParams> p = getQuantParams(rewriter, loc, inTy, op);
    if (failed(p))
      return failure();
    Value storage = toStorage(rewriter, loc, op.getInput());
    int64_t rank = inTy.getRank();
    bool isSigned = p->type.isSigned(), symmetric = p->symmetric;
    Type resultElement = getElementTypeOrSelf(op.getType());
    Value result = elementwise(
        rewriter, loc, storage, resultElement,
        {storage, p->scale, p->zeroPoint},
        {rewriter.getMultiDimIdentityMap(rank), p->map, p->map},
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value v = dequantizeScalar(b, l, a[0], a[1], a[2], isSigned,
                                     symmetric);
          if (v.getType() != resultElement)
            v = arith::TruncFOp::create(b, l, resultElement, v);
          return v;
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// qc.decode
//===----------------------------------------------------------------------===//

/// True while a qc.matmul reads `op`'s result: MatMulLowering folds
/// qc.decode and qc.quantize_per_token producers into the contraction (the
/// codes are read there), so their own lowering waits until no matmul is
/// left reading them.
bool readByMatMul(Operation *op) {
  return llvm::any_of(op->getUsers(),
                      [](Operation *user) { return isa<MatMulOp>(user); });
}

/// Scalar: the bits of an E4M3FN, E5M2 or E2M1 value (in an i8) -> f32,
/// exactly. Normal values are assembled as f32 bits (the exponent rebiased,
/// the mantissa shifted up); subnormals are m · 2^(1 − bias − mantissa
/// bits); E4M3FN's S.1111.111 is NaN; E5M2's all-ones exponent is ±inf
/// (mantissa 0) or NaN. Only selects: it vectorises.
Value decodeSmallFloat(OpBuilder &b, Location loc, Value bits,
                       Type format) {
  bool e4m3 = isa<Float8E4M3FNType>(format);
  bool e5m2 = isa<Float8E5M2Type>(format);
  int64_t expBits = e4m3 ? 4 : e5m2 ? 5 : 2;
  int64_t mantBits = e4m3 ? 3 : e5m2 ? 2 : 1;
  int64_t bias = e4m3 ? 7 : e5m2 ? 15 : 1;
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v));
  };
  Value u = arith::ExtUIOp::create(b, loc, i32, bits);
  Value magnitude =
      arith::AndIOp::create(b, loc, u, c((1 << (expBits + mantBits)) - 1));
  Value e = arith::ShRUIOp::create(b, loc, magnitude, c(mantBits));
  Value m = arith::AndIOp::create(b, loc, u, c((1 << mantBits) - 1));
  // Normal: ((e − bias + 127) << 23) | (m << (23 − mantBits)).
  Value normalBits = arith::OrIOp::create(
      b, loc,
      arith::ShLIOp::create(
          b, loc, arith::AddIOp::create(b, loc, e, c(127 - bias)), c(23)),
      arith::ShLIOp::create(b, loc, m, c(23 - mantBits)));
  Value normal = arith::BitcastOp::create(b, loc, f32, normalBits);
  Value subnormal = arith::MulFOp::create(
      b, loc, arith::UIToFPOp::create(b, loc, f32, m),
      arith::ConstantOp::create(
          b, loc, b.getF32FloatAttr(std::ldexp(1.0, 1 - bias - mantBits))));
  Value isSubnormal =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, e, c(0));
  Value v = arith::SelectOp::create(b, loc, isSubnormal, subnormal, normal);
  Value negative = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::ne,
      arith::AndIOp::create(b, loc, u, c(1 << (expBits + mantBits))), c(0));
  v = arith::SelectOp::create(b, loc, negative,
                              arith::NegFOp::create(b, loc, v), v);
  auto f32Constant = [&](float x) -> Value {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(x));
  };
  Value nan = f32Constant(std::numeric_limits<float>::quiet_NaN());
  if (e4m3) {
    Value isNaN = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                        magnitude, c(0x7F));
    v = arith::SelectOp::create(b, loc, isNaN, nan, v);
  }
  if (e5m2) {
    // Exponent 31: ±inf for mantissa 0, NaN otherwise.
    Value special =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, e, c(31));
    Value isInf = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, m,
                                        c(0));
    float inf = std::numeric_limits<float>::infinity();
    Value signedInf = arith::SelectOp::create(b, loc, negative,
                                              f32Constant(-inf),
                                              f32Constant(inf));
    v = arith::SelectOp::create(
        b, loc, special,
        arith::SelectOp::create(b, loc, isInf, signedInf, nan), v);
  }
  return v;
}

/// The codes of a qc.decode as an i8 constant over the same bytes (one
/// per element, as DenseElementsAttr stores 8- and 4-bit floats), or null
/// when they are not a dense constant.
Value codeBytes(OpBuilder &b, Location loc, DecodeOp op) {
  auto constant = op.getCodes().getDefiningOp<arith::ConstantOp>();
  auto dense = constant ? dyn_cast<DenseElementsAttr>(constant.getValue())
                        : DenseElementsAttr();
  if (!dense)
    return {};
  auto type = RankedTensorType::get(dense.getType().getShape(),
                                    b.getIntegerType(8));
  return arith::ConstantOp::create(
      b, loc, DenseElementsAttr::getFromRawBuffer(type, dense.getRawData()));
}

/// The map from the codes' dimensions to the scales' of a qc.decode.
AffineMap decodeScaleMap(DecodeOp op) {
  MLIRContext *ctx = op.getContext();
  auto codes = cast<RankedTensorType>(op.getCodes().getType());
  SmallVector<int64_t> blocks = op.getBlockSizes();
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < codes.getRank(); ++d) {
    AffineExpr e = getAffineDimExpr(d, ctx);
    exprs.push_back(blocks[d] == codes.getDimSize(d)
                        ? getAffineConstantExpr(0, ctx)
                        : blocks[d] == 1 ? e
                                         : e.floorDiv(blocks[d]));
  }
  return AffineMap::get(codes.getRank(), 0, exprs, ctx);
}

struct DecodeLowering : OpRewritePattern<DecodeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DecodeOp op,
                                PatternRewriter &rewriter) const override {
    if (readByMatMul(op))
      return failure();
    Location loc = op.getLoc();
    Value bytes = codeBytes(rewriter, loc, op);
    if (!bytes)
      return failure(); // reported by checkLowerable
    Type format = getElementTypeOrSelf(op.getCodes().getType());
    int64_t rank = cast<RankedTensorType>(bytes.getType()).getRank();
    rewriter.replaceOp(
        op, elementwise(rewriter, loc, bytes, rewriter.getF32Type(),
                        {bytes, op.getScales()},
                        {rewriter.getMultiDimIdentityMap(rank),
                         decodeScaleMap(op)},
                        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                          return arith::MulFOp::create(
                              b, l, decodeSmallFloat(b, l, a[0], format), a[1]);
                        }));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// qc.quantize_per_token
//===----------------------------------------------------------------------===//

/// The lowering of qc.quantize_per_token on `x` (f32, rank >= 1): the
/// per-row scales, shaped [outer..., 1] (max|row| / qmax, 1 for a zero
/// row), and either the codes as `bits`-bit integers (`codes` true) or the
/// dequantized values (codes · scale).
std::pair<Value, Value> lowerPerToken(OpBuilder &b, Location loc, Value x,
                                      int64_t bits, bool codes) {
  auto xTy = cast<RankedTensorType>(x.getType());
  int64_t rank = xTy.getRank();
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  SmallVector<int64_t> rowShape(xTy.getShape());
  rowShape.back() = 1;
  SmallVector<std::pair<Value, int64_t>> sources;
  for (int64_t d = 0; d < rank; ++d)
    sources.push_back({x, d});
  auto rowTy = RankedTensorType::get(rowShape, f32);
  Value init = emptyLike(b, loc, rowTy, sources);
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
  init = linalg::FillOp::create(b, loc, zero, init).getResult(0);
  SmallVector<AffineExpr> rowExprs;
  for (int64_t d = 0; d + 1 < rank; ++d)
    rowExprs.push_back(getAffineDimExpr(d, ctx));
  rowExprs.push_back(getAffineConstantExpr(0, ctx));
  AffineMap rowMap = AffineMap::get(rank, 0, rowExprs, ctx);
  AffineMap id = b.getMultiDimIdentityMap(rank);
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  iters.back() = utils::IteratorType::reduction;
  Value amax =
      linalg::GenericOp::create(
          b, loc, TypeRange{rowTy}, ValueRange{x}, ValueRange{init},
          ArrayRef<AffineMap>{id, rowMap}, iters,
          [&](OpBuilder &nb, Location l, ValueRange a) {
            Value v = math::AbsFOp::create(nb, l, a[0]);
            linalg::YieldOp::create(nb, l,
                                    ValueRange{arith::MaximumFOp::create(
                                        nb, l, a[1], v)});
          })
          .getResult(0);
  double qmax = double((int64_t(1) << (bits - 1)) - 1);
  double qmin = -qmax - 1;
  Value scales = elementwise(
      b, loc, amax, f32, {amax}, {b.getMultiDimIdentityMap(rank)},
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value z = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(0.0));
        Value one = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(1.0));
        Value q = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(qmax));
        Value isZero = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ,
                                             a[0], z);
        return arith::SelectOp::create(
            nb, l, isZero, one, arith::DivFOp::create(nb, l, a[0], q));
      });
  Type resultElement =
      codes ? Type(b.getIntegerType(bits)) : xTy.getElementType();
  Value values = elementwise(
      b, loc, x, resultElement, {x, scales}, {id, rowMap},
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value v = arith::DivFOp::create(nb, l, a[0], a[1]);
        v = math::RoundEvenOp::create(nb, l, v);
        auto bound = [&](double n) -> Value {
          return arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(n));
        };
        v = arith::MaximumFOp::create(nb, l, v, bound(qmin));
        v = arith::MinimumFOp::create(nb, l, v, bound(qmax));
        if (codes)
          return arith::FPToSIOp::create(nb, l, resultElement, v);
        return arith::MulFOp::create(nb, l, v, a[1]);
      });
  return {scales, values};
}

struct QuantizePerTokenLowering : OpRewritePattern<QuantizePerTokenOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QuantizePerTokenOp op,
                                PatternRewriter &rewriter) const override {
    if (!getElementTypeOrSelf(op.getType()).isF32())
      return failure(); // reported by checkLowerable
    if (readByMatMul(op))
      return failure();
    rewriter.replaceOp(op, lowerPerToken(rewriter, op.getLoc(), op.getInput(),
                                         op.getBits(), /*codes=*/false)
                               .second);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// qc.matmul
//===----------------------------------------------------------------------===//

/// One operand of the contraction: the tensor read (storage for quantized
/// ones) and its map from the iteration space.
struct ContractionOperand {
  Value value;
  AffineMap map;
  std::optional<QuantParams> quant;
  /// Set when `value` holds the storage bytes of a sub-byte type (i8 for an
  /// i4 weight, see widenSubByteResources): the body truncates first.
  Type narrowTo;
  /// Set for the codes of a qc.decode (`value` holds their bytes): the
  /// small-float type, and the scales with their map from the iteration
  /// space.
  Type decodeFormat = {};
  Value decodeScale = {};
  AffineMap decodeMap = {};
};

/// The i8 bytes behind a storage tensor produced by widenSubByteResources'
/// narrowing generic, or null.
Value bytesBehind(Value storage) {
  auto generic = storage.getDefiningOp<linalg::GenericOp>();
  if (!generic || !generic->hasAttr("qc.narrowed_bytes") ||
      generic.getNumDpsInputs() != 1)
    return {};
  return generic.getDpsInputs()[0];
}

/// The group size g when `w` (the quantized right-hand side, [K, N] or, with
/// `transposed`, [N, K]) has parameters that vary along K only as k floordiv
/// g (a sub-channel type with blocks of g along K, one per output channel or
/// one for all), else 0.
int64_t groupAlongK(const ContractionOperand &w, RankedTensorType type,
                    bool transposed) {
  auto sub = w.quant ? dyn_cast<quant::UniformQuantizedSubChannelType>(
                           w.quant->type)
                     : quant::UniformQuantizedSubChannelType();
  if (!sub || type.getRank() != 2 || !type.hasStaticShape())
    return 0;
  auto shape = cast<ShapedType>(sub.getScales().getType()).getShape();
  int64_t kDim = transposed ? 1 : 0, nDim = 1 - kDim;
  int64_t size = type.getDimSize(kDim);
  if (shape.size() != 2 || shape[kDim] <= 1 || size % shape[kDim] != 0 ||
      (shape[nDim] != 1 && shape[nDim] != type.getDimSize(nDim)))
    return 0;
  return size / shape[kDim];
}

/// The integer contraction of a matmul whose weight has group-wise
/// parameters along K (W4A8, W4A4 with groups): the reduction is split into
/// (groups, g); a first generic sums each group's products of the
/// zero-point-shifted codes in i32 (exact: g products of at most 8-bit
/// codes), [batch..., M, N, K/g] ([..., M, K/g, N] for a [K, N] weight, so
/// that its inner loop streams rows of the weight); a second multiplies each
/// partial sum by its group's weight scale and sums the groups in f32. The
/// activation's scale (constant along K) is left to the epilogue. `a` and
/// `w` are in the matmul's iteration space (batch..., m, n, k) or
/// (batch..., m, k, n); the result is the f32 accumulator of shape
/// `outShape`.
Value groupedIntegerContraction(OpBuilder &b, Location loc,
                                const ContractionOperand &a,
                                const ContractionOperand &w, bool transposed,
                                int64_t batch, int64_t m, int64_t n,
                                int64_t k, int64_t group,
                                ArrayRef<int64_t> outShape,
                                ArrayRef<std::pair<Value, int64_t>> outSources) {
  MLIRContext *ctx = b.getContext();
  int64_t loops = batch + 3;
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  auto dim = [&](int64_t d) { return getAffineDimExpr(d, ctx); };
  // Split space: (batch..., m, n, kg, ki) or (batch..., m, kg, ki, n).
  int64_t sm = batch, sn = transposed ? batch + 1 : batch + 3;
  int64_t skg = transposed ? batch + 2 : batch + 1, ski = skg + 1;
  // The matmul space's dims in the split space (k at its group's start;
  // parameters are constant within a group, so k floordiv g becomes kg).
  auto remap = [&](AffineMap map, int64_t numDims, int64_t mm, int64_t nn,
                   int64_t kg) {
    SmallVector<AffineExpr> repl;
    for (int64_t d = 0; d < loops; ++d)
      repl.push_back(d < batch ? dim(d)
                     : d == m  ? dim(mm)
                     : d == n  ? dim(nn)
                               : dim(kg) * group);
    return map.replaceDimsAndSymbols(repl, {}, numDims, 0);
  };
  // The operands' K axis split into [K / g, g].
  auto split = [&](Value v, int64_t axis) -> Value {
    auto t = cast<RankedTensorType>(v.getType());
    SmallVector<int64_t> shape;
    SmallVector<ReassociationIndices> groups;
    for (int64_t d = 0; d < t.getRank(); ++d) {
      int64_t at = shape.size();
      if (d == axis) {
        shape.append({t.getDimSize(d) / group, group});
        groups.push_back({at, at + 1});
      } else {
        shape.push_back(t.getDimSize(d));
        groups.push_back({at});
      }
    }
    return tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get(shape, t.getElementType()), v, groups);
  };
  int64_t aRank = cast<RankedTensorType>(a.value.getType()).getRank();
  Value aSplit = split(a.value, aRank - 1);
  Value wSplit = split(w.value, transposed ? 1 : 0);
  int64_t splitLoops = loops + 1;
  SmallVector<AffineExpr> aExprs;
  for (AffineExpr e : a.map.getResults().drop_back())
    aExprs.push_back(e);
  AffineMap aPrefix = remap(AffineMap::get(loops, 0, aExprs, ctx), splitLoops,
                            sm, sn, skg);
  aExprs.assign(aPrefix.getResults().begin(), aPrefix.getResults().end());
  aExprs.append({dim(skg), dim(ski)});
  AffineMap aMap = AffineMap::get(splitLoops, 0, aExprs, ctx);
  AffineMap wMap = AffineMap::get(
      splitLoops, 0,
      transposed ? ArrayRef<AffineExpr>{dim(sn), dim(skg), dim(ski)}
                 : ArrayRef<AffineExpr>{dim(skg), dim(ski), dim(sn)},
      ctx);
  // Partial sums, [batch..., M, N, KG] or [batch..., M, KG, N].
  SmallVector<int64_t> partialShape(outShape);
  SmallVector<std::pair<Value, int64_t>> partialSources(outSources);
  int64_t groups = cast<RankedTensorType>(w.value.getType())
                       .getDimSize(transposed ? 1 : 0) /
                   group;
  int64_t kgAt = transposed ? batch + 2 : batch + 1;
  partialShape.insert(partialShape.begin() + kgAt, groups);
  partialSources.insert(partialSources.begin() + kgAt, {Value(), -1});
  SmallVector<AffineExpr> partialExprs;
  for (int64_t d = 0; d < batch; ++d)
    partialExprs.push_back(dim(d));
  partialExprs.push_back(dim(sm));
  if (transposed)
    partialExprs.append({dim(sn), dim(skg)});
  else
    partialExprs.append({dim(skg), dim(sn)});
  auto partialTy = RankedTensorType::get(partialShape, i32);
  Value init = emptyLike(b, loc, partialTy, partialSources);
  Value zeroI32 = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
  init = linalg::FillOp::create(b, loc, zeroI32, init).getResult(0);
  SmallVector<Value> inputs = {aSplit, wSplit};
  SmallVector<AffineMap> maps = {aMap, wMap};
  for (const ContractionOperand *o : {&a, &w})
    if (!o->quant->symmetric) {
      inputs.push_back(o->quant->zeroPoint);
      maps.push_back(remap(o->quant->map, splitLoops, sm, sn, skg));
    }
  maps.push_back(AffineMap::get(splitLoops, 0, partialExprs, ctx));
  SmallVector<utils::IteratorType> iters(splitLoops,
                                         utils::IteratorType::parallel);
  iters[ski] = utils::IteratorType::reduction;
  Value partial =
      linalg::GenericOp::create(
          b, loc, TypeRange{partialTy}, inputs, ValueRange{init}, maps, iters,
          [&](OpBuilder &nb, Location l, ValueRange args) {
            unsigned next = 2;
            auto code = [&](const ContractionOperand &o, Value raw) -> Value {
              if (o.narrowTo)
                raw = arith::TruncIOp::create(nb, l, o.narrowTo, raw);
              Value v = widenStorage(nb, l, raw, o.quant->type.isSigned());
              if (!o.quant->symmetric)
                v = arith::SubIOp::create(nb, l, v, args[next++]);
              return v;
            };
            Value x = code(a, args[0]);
            Value y = code(w, args[1]);
            linalg::YieldOp::create(
                nb, l,
                ValueRange{arith::AddIOp::create(
                    nb, l, args.back(), arith::MulIOp::create(nb, l, x, y))});
          })
          .getResult(0);
  // Σ over groups of partial · the group's weight scale, in f32.
  int64_t rLoops = batch + 3, rm = batch, rn = batch + 1, rkg = batch + 2;
  SmallVector<AffineExpr> readExprs, outExprs;
  for (int64_t d = 0; d < batch; ++d) {
    readExprs.push_back(dim(d));
    outExprs.push_back(dim(d));
  }
  readExprs.push_back(dim(rm));
  if (transposed)
    readExprs.append({dim(rn), dim(rkg)});
  else
    readExprs.append({dim(rkg), dim(rn)});
  outExprs.append({dim(rm), dim(rn)});
  auto accTy = RankedTensorType::get(outShape, f32);
  Value acc = emptyLike(b, loc, accTy, outSources);
  Value zeroF32 = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
  acc = linalg::FillOp::create(b, loc, zeroF32, acc).getResult(0);
  SmallVector<utils::IteratorType> rIters(rLoops,
                                          utils::IteratorType::parallel);
  rIters[rkg] = utils::IteratorType::reduction;
  return linalg::GenericOp::create(
             b, loc, TypeRange{accTy}, ValueRange{partial, w.quant->scale},
             ValueRange{acc},
             ArrayRef<AffineMap>{
                 AffineMap::get(rLoops, 0, readExprs, ctx),
                 remap(w.quant->map, rLoops, rm, rn, rkg),
                 AffineMap::get(rLoops, 0, outExprs, ctx)},
             rIters,
             [&](OpBuilder &nb, Location l, ValueRange args) {
               Value scale = args[1];
               if (scale.getType() != f32)
                 scale = arith::ExtFOp::create(nb, l, f32, scale);
               Value p = arith::SIToFPOp::create(nb, l, f32, args[0]);
               linalg::YieldOp::create(
                   nb, l,
                   ValueRange{arith::AddFOp::create(
                       nb, l, args[2], arith::MulFOp::create(nb, l, p, scale),
                       arith::FastMathFlags::reassoc |
                           arith::FastMathFlags::contract)});
             })
      .getResult(0);
}

/// Codes per word of the packed-nibble contraction: 8 (32-bit words) when
/// 8 divides K and the weight's group along K, else 0 (also when its
/// parameters vary along K otherwise).
int64_t nibbleCodesPerWord(PackedWeightOp packed) {
  auto type = cast<RankedTensorType>(packed.getType());
  int64_t kAxis = packed.getLayout().getKAxis();
  int64_t k = type.getDimSize(kAxis);
  auto q = cast<quant::QuantizedType>(type.getElementType());
  int64_t group = 0; // parameters constant along K
  if (auto axis = dyn_cast<quant::UniformQuantizedPerAxisType>(q)) {
    if (axis.getQuantizedDimension() == kAxis)
      return 0;
  } else if (auto sub = dyn_cast<quant::UniformQuantizedSubChannelType>(q)) {
    auto shape = cast<ShapedType>(sub.getScales().getType()).getShape();
    if (shape.size() != 2 || shape[kAxis] == 0 || k % shape[kAxis] != 0)
      return 0;
    group = shape[kAxis] == 1 ? 0 : k / shape[kAxis];
  } else if (!isa<quant::UniformQuantizedType>(q)) {
    return 0;
  }
  // 32-bit words: 128-bit loads come from runs of 4 words per GPU lane
  // (qc-map-to-gpu); i64 words measured slower on the H100 and i128
  // constants do not translate to LLVM IR.
  if (k % 8 == 0 && (group == 0 || group % 8 == 0))
    return 8;
  return 0;
}

/// The packed weight of `op` when the contraction reads its nibbles
/// directly (packedNibbleContraction): a constant `nibbles` qc.packed_weight
/// of int4 codes, per-tensor, per-output-channel or grouped along K in
/// groups that hold whole words, times a plain float lhs (or, with
/// `int8Activations`, an 8-bit per-token quantized one); else null.
PackedWeightOp nibbleWeight(MatMulOp op, bool int8Activations) {
  auto packed = op.getRhs().getDefiningOp<PackedWeightOp>();
  if (!packed || packed.getLayout().getKind() != PackedLayoutKind::Nibbles ||
      packed.getLayout().getBits() != 4 ||
      !matchPattern(packed.getBytes(), m_Constant()))
    return {};
  Value lhs = op.getLhs();
  auto lhsTy = cast<RankedTensorType>(lhs.getType());
  if (!isa<FloatType>(lhsTy.getElementType()) || lhs.getDefiningOp<DecodeOp>())
    return {};
  if (auto perToken = lhs.getDefiningOp<QuantizePerTokenOp>())
    if (!int8Activations || perToken.getBits() != 8 ||
        !lhsTy.getElementType().isF32() ||
        lhsTy.getRank() != cast<RankedTensorType>(op.getType()).getRank())
      return {};
  Type result = getElementTypeOrSelf(op.getType());
  if (auto q = dyn_cast<quant::QuantizedType>(result))
    result = q.getExpressedType();
  if (!isa<FloatType>(result) || result.getIntOrFloatBitWidth() > 32)
    return {}; // the contraction accumulates in f32
  int64_t kAxis = packed.getLayout().getKAxis();
  if (op.getTransposeRhs() != (kAxis == 1))
    return {};
  return nibbleCodesPerWord(packed) ? packed : PackedWeightOp();
}

/// The packed bytes of a nibbles weight viewed as `wordsType` (i32 words):
/// a resource blob is shared, not copied (qc-pack-weights allocates it
/// 4-byte aligned); small dense bytes (a splat expanded) are retyped.
TypedAttr packedWords(Attribute value, RankedTensorType wordsType) {
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (blob && blob->getDataAlignment() % alignof(uint32_t) == 0)
      return DenseResourceElementsAttr::get(wordsType,
                                            resource.getRawHandle());
    ArrayRef<char> data = blob ? blob->getData() : ArrayRef<char>();
    return DenseResourceElementsAttr::get(
        wordsType, "packed_words",
        HeapAsmResourceBlob::allocateAndCopyWithAlign(data,
                                                      alignof(uint32_t)));
  }
  auto dense = cast<DenseElementsAttr>(value);
  int64_t size = wordsType.getNumElements() * 4;
  std::vector<char> raw(dense.getRawData().begin(), dense.getRawData().end());
  if (dense.isSplat())
    raw.assign(size, dense.getRawData()[0]);
  return DenseElementsAttr::getFromRawBuffer(wordsType, raw);
}

/// The contraction of a float lhs with a `nibbles`-packed int4 weight that
/// reads the packed words themselves: the weight becomes [N, K/8] 32-bit
/// words (little-endian, so code k is nibble k mod 8 of word k / 8), the
/// lhs is viewed as [..., M, K/8, 8], and one generic over (batch..., m, n,
/// w) expands each word's codes in registers (numerics::NibbleMagic: shift,
/// mask, or, subtract; exact), sums its 8 products and adds that sum times
/// the word's scale to the f32 accumulator `init`. qc-map-to-gpu gives a
/// warp 4 rows of the weight, each lane runs of 4 words (128-bit loads).
///
/// With an i8 lhs (the codes of a per-token quantized activation), the
/// body is integer: each nibble decoded (sign-extended for signed codes),
/// times the code, summed in i32 per word, minus zeroPoint · Σcodes, then
/// converted and scaled by the word's scale; the caller applies the
/// per-token scales.
///
/// With `f16Products` (the CUDA pipeline: W4A16's activations are 16-bit),
/// the float body works on f16 pairs: per word, four pairs of codes (i,
/// i + 4) by one lop3 each (numerics::NibblePairF16), scaled to (u −
/// offset)/16 by one f16x2 fma, times the activations' pairs rounded to
/// f16, summed in f16x2 (a multiply and three fmas; at most 4 · |x| per
/// half), then the two halves in f32 times 16 · the scale
/// (buildNibbleF16Sum): about 2.5 instructions per code and row where the
/// f32 body takes 3.9. The marker then says `f16`, and qc-map-to-gpu's GEMV
/// sums a lane's run of 4 words (one scale) in two chains of 2 words
/// instead, converting once per chain and scaling once per run.
Value packedNibbleContraction(OpBuilder &b, Location loc, PackedWeightOp packed,
                              Value lhs, RankedTensorType lhsTy, int64_t batch,
                              Value init, Operation *op,
                              bool f16Products = false) {
  bool int8 = lhsTy.getElementType().isInteger(8);
  MLIRContext *ctx = b.getContext();
  auto type = cast<RankedTensorType>(packed.getType());
  auto q = cast<quant::QuantizedType>(type.getElementType());
  int64_t kAxis = packed.getLayout().getKAxis();
  auto [n, k] = packedWeightShape(type, kAxis);
  int64_t codes = nibbleCodesPerWord(packed);
  int64_t words = k / codes;

  // The words: the packed bytes, retyped.
  Attribute value;
  matchPattern(packed.getBytes(), m_Constant(&value));
  auto wordsType = RankedTensorType::get({n, words}, b.getI32Type());
  Value weight = arith::ConstantOp::create(b, loc, packedWords(value, wordsType));

  // The lhs as [..., M, K/C, C].
  int64_t rank = lhsTy.getRank();
  SmallVector<int64_t> viewShape(lhsTy.getShape());
  viewShape.back() = words;
  viewShape.push_back(codes);
  SmallVector<ReassociationIndices> reassoc;
  for (int64_t d = 0; d < rank - 1; ++d)
    reassoc.push_back({d});
  reassoc.push_back({rank - 1, rank});
  Value view = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(viewShape, lhsTy.getElementType()), lhs,
      reassoc);

  // Iteration space (batch..., m, n, w).
  int64_t loops = batch + 3, mDim = batch, nDim = batch + 1, wDim = batch + 2;
  int64_t lhsBatch = rank - 2;
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  for (int64_t c = 0; c < codes; ++c) {
    SmallVector<AffineExpr> exprs;
    for (int64_t d = 0; d < lhsBatch; ++d)
      exprs.push_back(lhsTy.getDimSize(d) == 1
                          ? getAffineConstantExpr(0, ctx)
                          : getAffineDimExpr(batch - lhsBatch + d, ctx));
    exprs.push_back(getAffineDimExpr(mDim, ctx));
    exprs.push_back(getAffineDimExpr(wDim, ctx));
    exprs.push_back(getAffineConstantExpr(c, ctx));
    inputs.push_back(view);
    maps.push_back(AffineMap::get(loops, 0, exprs, ctx));
  }
  inputs.push_back(weight);
  maps.push_back(AffineMap::get(
      loops, 0, {getAffineDimExpr(nDim, ctx), getAffineDimExpr(wDim, ctx)},
      ctx));
  // Parameters through the weight's own dims at the word's first k.
  FailureOr<QuantParams> p = getQuantParams(b, loc, type, op);
  if (failed(p))
    return {};
  AffineExpr nE = getAffineDimExpr(nDim, ctx);
  AffineExpr kE = getAffineDimExpr(wDim, ctx) * codes;
  AffineMap weightDims = AffineMap::get(
      loops, 0, kAxis == 1 ? SmallVector<AffineExpr>{nE, kE}
                           : SmallVector<AffineExpr>{kE, nE},
      ctx);
  AffineMap paramMap = simplifyAffineMap(p->map.compose(weightDims));
  inputs.push_back(p->scale);
  maps.push_back(paramMap);
  if (!p->symmetric) {
    inputs.push_back(p->zeroPoint);
    maps.push_back(paramMap);
  }
  SmallVector<AffineExpr> outExprs;
  for (int64_t d = 0; d < loops - 1; ++d)
    outExprs.push_back(getAffineDimExpr(d, ctx));
  maps.push_back(AffineMap::get(loops, 0, outExprs, ctx));
  SmallVector<utils::IteratorType> iters(loops, utils::IteratorType::parallel);
  iters[wDim] = utils::IteratorType::reduction;
  bool isSigned = q.isSigned(), symmetric = p->symmetric;
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps, iters,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Type i32 = nb.getI32Type(), f32 = nb.getF32Type();
        auto constant = [&](int64_t v) -> Value {
          return arith::ConstantOp::create(nb, l, nb.getI32IntegerAttr(v));
        };
        auto flags = arith::FastMathFlags::reassoc |
                     arith::FastMathFlags::contract;
        Value word = args[codes];
        Value scale = args[codes + 1];
        Value zeroPoint = symmetric ? Value() : args[codes + 2];
        if (scale.getType() != f32)
          scale = arith::ExtFOp::create(nb, l, f32, scale);
        if (int8) {
          Value sum, codeSum;
          for (int64_t i = 0; i < codes; ++i) {
            Value c =
                isSigned
                    ? arith::ShRSIOp::create(
                          nb, l,
                          arith::ShLIOp::create(nb, l, word,
                                                constant(28 - 4 * i)),
                          constant(28))
                          .getResult()
                    : arith::AndIOp::create(
                          nb, l,
                          arith::ShRUIOp::create(nb, l, word,
                                                 constant(4 * i)),
                          constant(0xF))
                          .getResult();
            Value x = arith::ExtSIOp::create(nb, l, i32, args[i]);
            Value product = arith::MulIOp::create(nb, l, c, x);
            sum = sum ? arith::AddIOp::create(nb, l, sum, product).getResult()
                      : product;
            if (zeroPoint)
              codeSum = codeSum
                            ? arith::AddIOp::create(nb, l, codeSum, x)
                                  .getResult()
                            : x;
          }
          if (zeroPoint)
            sum = arith::SubIOp::create(
                nb, l, sum,
                arith::MulIOp::create(
                    nb, l, arith::ExtSIOp::create(nb, l, i32, zeroPoint),
                    codeSum));
          Value scaled = arith::MulFOp::create(
              nb, l, arith::SIToFPOp::create(nb, l, f32, sum), scale, flags);
          linalg::YieldOp::create(
              nb, l, arith::AddFOp::create(nb, l, args.back(), scaled, flags)
                         .getResult());
          return;
        }
        if (f16Products && codes == 8) {
          SmallVector<Value> x(args.take_front(codes));
          Value scaled =
              buildNibbleF16Sum(nb, l, {word}, x, scale, zeroPoint, isSigned);
          linalg::YieldOp::create(
              nb, l, arith::AddFOp::create(nb, l, args.back(), scaled, flags)
                         .getResult());
          return;
        }
        // Codes as exact floats, one integer op per code and no int ->
        // float conversion (numerics::NibbleMagic): u·2^shift from the bit
        // trick, times x·2^-shift (the same for every row that shares x),
        // minus zeroPoint·Σx per word.
        using numerics::NibbleMagic;
        auto contract = arith::FastMathFlags::contract;
        if (isSigned)
          word = arith::XOrIOp::create(
              nb, l, word, constant(int32_t(NibbleMagic::kSignFlip)));
        Value high = arith::ShRUIOp::create(nb, l, word,
                                            constant(NibbleMagic::kHighShift));
        Value base = arith::ConstantOp::create(
            nb, l, nb.getF32FloatAttr(NibbleMagic::kBase));
        Value sum, xSum;
        for (int64_t i = 0; i < codes; ++i) {
          int shift = NibbleMagic::shift(i);
          Value nibble = arith::AndIOp::create(
              nb, l, i < NibbleMagic::kInPlace ? word : high,
              constant(int32_t(0xF) << shift));
          nibble = arith::OrIOp::create(
              nb, l, nibble, constant(int32_t(NibbleMagic::kExponent)));
          Value w = arith::SubFOp::create(
              nb, l, arith::BitcastOp::create(nb, l, f32, nibble), base);
          Value x = args[i];
          if (x.getType() != f32)
            x = arith::ExtFOp::create(nb, l, f32, x);
          xSum = xSum ? arith::AddFOp::create(nb, l, xSum, x, contract)
                            .getResult()
                      : x;
          if (shift)
            x = arith::MulFOp::create(
                nb, l, x,
                arith::ConstantOp::create(
                    nb, l, nb.getF32FloatAttr(std::ldexp(1.0f, -shift))));
          Value product = arith::MulFOp::create(nb, l, x, w, contract);
          sum = sum ? arith::AddFOp::create(nb, l, sum, product, contract)
                          .getResult()
                    : product;
        }
        // The zero point (+ 8 for signed codes) times Σx.
        Value zp;
        if (zeroPoint)
          zp = arith::AddFOp::create(
              nb, l, arith::SIToFPOp::create(nb, l, f32, zeroPoint),
              arith::ConstantOp::create(
                  nb, l,
                  nb.getF32FloatAttr(NibbleMagic::zeroPoint(isSigned, 0))));
        else if (isSigned)
          zp = arith::ConstantOp::create(
              nb, l, nb.getF32FloatAttr(NibbleMagic::zeroPoint(isSigned, 0)));
        if (zp)
          sum = arith::SubFOp::create(
              nb, l, sum, arith::MulFOp::create(nb, l, zp, xSum, contract),
              contract);
        Value scaled = arith::MulFOp::create(nb, l, sum, scale, flags);
        linalg::YieldOp::create(
            nb, l, arith::AddFOp::create(nb, l, args.back(), scaled, flags)
                       .getResult());
      });
  // What qc-vectorize-packed-contractions needs beyond the operands
  // (inputs: `codes` views of the lhs, the words, the scale, the zero point
  // when not symmetric).
  // And a scale or zero point that is one value for all (a splat, which
  // element-wise fusion may fold into the body, removing the operand): its
  // value, so that a kernel built later still knows it (a symmetric zero
  // point is 0).
  SmallVector<NamedAttribute> marker = {
      b.getNamedAttr("signed", b.getBoolAttr(isSigned)),
      b.getNamedAttr("int8", b.getBoolAttr(int8))};
  if (f16Products && codes == 8 && !int8)
    marker.push_back(b.getNamedAttr("f16", b.getBoolAttr(true)));
  auto splat = [&](Value v) -> std::optional<float> {
    DenseElementsAttr attr;
    if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat())
      return std::nullopt;
    if (isa<FloatType>(attr.getElementType()))
      return attr.getSplatValue<APFloat>().convertToDouble();
    if (isa<IntegerType>(attr.getElementType()))
      return float(attr.getSplatValue<APInt>().getSExtValue());
    return std::nullopt;
  };
  if (std::optional<float> v = splat(p->scale))
    marker.push_back(b.getNamedAttr("scale", b.getF32FloatAttr(*v)));
  std::optional<float> zp =
      symmetric ? std::optional<float>(0.0f) : splat(p->zeroPoint);
  if (zp)
    marker.push_back(b.getNamedAttr("zero_point", b.getF32FloatAttr(*zp)));
  generic->setAttr("qc.packed_contraction", b.getDictionaryAttr(marker));
  return generic.getResult(0);
}

/// Whether `v` is a constant seen through storage casts (which fold away
/// before the kernels run).
bool constantBehindCasts(Value v) {
  while (auto cast = v.getDefiningOp<quant::StorageCastOp>())
    v = cast.getInput();
  return matchPattern(v, m_Constant());
}

/// a · b of 8-bit codes in the form qc-vectorize-int8-contractions takes
/// (the importer's MatMulInteger): each side widened to i32 by its own
/// generic, contracted in (m, k, n) order, marked `qc.int8_contraction`.
/// `b` is [N, K] when `transposeRhs`, else [K, N]; `init` is the zeroed
/// [M, N] i32 accumulator.
Value int8MarkedContraction(OpBuilder &b, Location loc, Value aCodes,
                            bool aSigned, Value bCodes, bool bSigned,
                            bool transposeRhs, Value init) {
  Type i32 = b.getI32Type();
  auto widen = [&](Value codes, bool isSigned) {
    return elementwise(b, loc, codes, i32, {codes},
                       {b.getMultiDimIdentityMap(2)},
                       [&](OpBuilder &nb, Location l, ValueRange v) {
                         return widenStorage(nb, l, v[0], isSigned);
                       });
  };
  // (In this order: argument evaluation order is unspecified.)
  Value a32 = widen(aCodes, aSigned);
  Value b32 = widen(bCodes, bSigned);
  return buildInt8Contraction(b, loc, a32, b32, transposeRhs, init, aSigned,
                              bSigned)
      .getResult(0);
}

struct MatMulLowering : OpRewritePattern<MatMulOp> {
  MatMulLowering(MLIRContext *ctx, bool int8Activations, bool int8Mma,
                 bool f16Products)
      : OpRewritePattern(ctx), int8Activations(int8Activations),
        int8Mma(int8Mma), f16Products(f16Products) {}
  /// Per-token int8 activations times nibbles weights read packed words.
  bool int8Activations;
  /// W8A8 in the form of qc-map-to-gpu's int8 tensor-core kernel.
  bool int8Mma;
  /// Float activations times nibbles words in f16 pairs.
  bool f16Products;

  LogicalResult matchAndRewrite(MatMulOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value lhs = op.getLhs(), rhs = op.getRhs();
    auto lhsTy = cast<RankedTensorType>(lhs.getType());
    auto rhsTy = cast<RankedTensorType>(rhs.getType());
    auto resultTy = cast<RankedTensorType>(op.getType());
    bool transposeRhs = op.getTransposeRhs();

    // 1-D operands become matrices; the unit dimension is dropped from the
    // result at the end.
    bool lhsVector = lhsTy.getRank() == 1, rhsVector = rhsTy.getRank() == 1;
    auto expand = [&](Value v, bool front) -> Value {
      auto t = cast<RankedTensorType>(v.getType());
      SmallVector<int64_t> shape =
          front ? SmallVector<int64_t>{1, t.getDimSize(0)}
                : SmallVector<int64_t>{t.getDimSize(0), 1};
      return tensor::ExpandShapeOp::create(
          rewriter, loc, RankedTensorType::get(shape, t.getElementType()), v,
          SmallVector<ReassociationIndices>{{0, 1}});
    };
    if (lhsVector)
      lhs = expand(lhs, /*front=*/true);
    if (rhsVector)
      rhs = expand(rhs, /*front=*/transposeRhs);
    lhsTy = cast<RankedTensorType>(lhs.getType());
    rhsTy = cast<RankedTensorType>(rhs.getType());

    // Iteration space: (batch..., m, n, k).
    int64_t lhsBatch = lhsTy.getRank() - 2, rhsBatch = rhsTy.getRank() - 2;
    int64_t batch = std::max(lhsBatch, rhsBatch);
    // Loop order (the order linalg-to-loops nests them): with a [K, N] rhs,
    // (m, k, n) so that the innermost loop streams contiguous rows of rhs
    // and the output (an AXPY LLVM vectorises); with a [N, K] rhs
    // (transpose_rhs), (m, n, k): the innermost loop is a dot product of
    // two contiguous rows, vectorised as a reassociable reduction.
    int64_t m = batch, loops = batch + 3;
    int64_t n = transposeRhs ? batch + 1 : batch + 2;
    int64_t k = transposeRhs ? batch + 2 : batch + 1;
    SmallVector<int64_t> outShape;
    SmallVector<std::pair<Value, int64_t>> outSources;
    auto batchExprs = [&](RankedTensorType t, int64_t own) {
      SmallVector<AffineExpr> exprs;
      for (int64_t d = 0; d < own; ++d) {
        int64_t loop = batch - own + d;
        exprs.push_back(t.getDimSize(d) == 1 ? getAffineConstantExpr(0, ctx)
                                             : getAffineDimExpr(loop, ctx));
      }
      return exprs;
    };
    for (int64_t d = 0; d < batch; ++d) {
      int64_t ld = d - (batch - lhsBatch), rd = d - (batch - rhsBatch);
      int64_t ls = ld >= 0 ? lhsTy.getDimSize(ld) : 1;
      int64_t rs = rd >= 0 ? rhsTy.getDimSize(rd) : 1;
      if (ls != 1) {
        outShape.push_back(ls);
        outSources.push_back({lhs, ld});
      } else {
        outShape.push_back(rs);
        outSources.push_back({rhs, rd});
      }
    }
    outShape.push_back(lhsTy.getDimSize(lhsBatch));
    outSources.push_back({lhs, lhsBatch});
    int64_t rhsN = transposeRhs ? rhsBatch : rhsBatch + 1;
    outShape.push_back(rhsTy.getDimSize(rhsN));
    outSources.push_back({rhs, rhsN});

    SmallVector<AffineExpr> lhsExprs = batchExprs(lhsTy, lhsBatch);
    lhsExprs.push_back(getAffineDimExpr(m, ctx));
    lhsExprs.push_back(getAffineDimExpr(k, ctx));
    SmallVector<AffineExpr> rhsExprs = batchExprs(rhsTy, rhsBatch);
    if (transposeRhs) {
      rhsExprs.push_back(getAffineDimExpr(n, ctx));
      rhsExprs.push_back(getAffineDimExpr(k, ctx));
    } else {
      rhsExprs.push_back(getAffineDimExpr(k, ctx));
      rhsExprs.push_back(getAffineDimExpr(n, ctx));
    }
    AffineMap lhsMap = AffineMap::get(loops, 0, lhsExprs, ctx);
    AffineMap rhsMap = AffineMap::get(loops, 0, rhsExprs, ctx);
    SmallVector<AffineExpr> outExprs;
    for (int64_t d = 0; d < batch; ++d)
      outExprs.push_back(getAffineDimExpr(d, ctx));
    outExprs.push_back(getAffineDimExpr(m, ctx));
    outExprs.push_back(getAffineDimExpr(n, ctx));
    AffineMap outMap = AffineMap::get(loops, 0, outExprs, ctx);

    // Operands, quantized ones through their storage and parameters.
    auto makeOperand = [&](Value v, AffineMap map)
        -> FailureOr<ContractionOperand> {
      ContractionOperand operand{v, map, std::nullopt, Type()};
      if (auto decode = v.getDefiningOp<DecodeOp>()) {
        if (Value bytes = codeBytes(rewriter, loc, decode)) {
          operand.value = bytes;
          operand.decodeFormat =
              getElementTypeOrSelf(decode.getCodes().getType());
          operand.decodeScale = decode.getScales();
          operand.decodeMap = decodeScaleMap(decode).compose(map);
        }
        return operand;
      }
      if (!isQuantizedTensor(v.getType()))
        return operand;
      FailureOr<QuantParams> p = getQuantParams(
          rewriter, loc, cast<RankedTensorType>(v.getType()), op);
      if (failed(p))
        return failure();
      // Read an int4 constant's bytes directly (no narrowed copy).
      Value storage;
      if (auto view = v.getDefiningOp<quant::StorageCastOp>())
        storage = view.getInput();
      if (Value bytes = storage ? bytesBehind(storage) : Value()) {
        operand.value = bytes;
        operand.narrowTo = p->type.getStorageType();
      } else {
        operand.value = toStorage(rewriter, loc, v);
      }
      p->map = p->map.compose(map);
      operand.quant = *p;
      return operand;
    };
    // A nibbles-packed int4 weight is read as packed words
    // (packedNibbleContraction); it takes no part in the paths below.
    PackedWeightOp nibbles = nibbleWeight(op, int8Activations);
    FailureOr<ContractionOperand> bOp =
        nibbles ? FailureOr<ContractionOperand>(
                      ContractionOperand{rhs, rhsMap, std::nullopt, Type()})
                : makeOperand(rhs, rhsMap);
    if (failed(bOp))
      return failure();
    auto constantAlongK = [&](const ContractionOperand &o) {
      return o.quant && !o.quant->map.isFunctionOfDim(k);
    };
    // Group-wise integer weights (parameters vary along k by groups).
    int64_t group = !lhsVector && !rhsVector && rhsBatch == 0 &&
                            bOp->quant &&
                            isa<IntegerType>(bOp->quant->type.getStorageType())
                        ? groupAlongK(*bOp, rhsTy, transposeRhs)
                        : 0;
    // A per-token quantized lhs feeding integer weights: its codes enter
    // the integer path, its per-row scales the epilogue.
    FailureOr<ContractionOperand> a = failure();
    auto perToken = lhs.getDefiningOp<QuantizePerTokenOp>();
    if (perToken && !lhsVector && (constantAlongK(*bOp) || group > 0) &&
        isa<IntegerType>(bOp->quant->type.getStorageType()) &&
        lhsTy.getElementType().isF32()) {
      int64_t bits = perToken.getBits();
      auto [scales, codes] = lowerPerToken(rewriter, loc, perToken.getInput(),
                                           bits, /*codes=*/true);
      int64_t qmax = (int64_t(1) << (bits - 1)) - 1;
      QuantParams p;
      p.type = quant::UniformQuantizedType::get(
          quant::QuantizationFlags::Signed, rewriter.getIntegerType(bits),
          rewriter.getF32Type(), 1.0, 0, -qmax - 1, qmax);
      p.scale = scales;
      p.zeroPoint = constantTensor(rewriter, loc, {}, rewriter.getI32Type(),
                                   {rewriter.getI32IntegerAttr(0)});
      SmallVector<AffineExpr> rowExprs(lhsExprs);
      rowExprs.back() = getAffineConstantExpr(0, ctx);
      p.map = AffineMap::get(loops, 0, rowExprs, ctx);
      a = ContractionOperand{codes, lhsMap, p, Type()};
    } else {
      a = makeOperand(lhs, lhsMap);
    }
    if (failed(a))
      return failure();
    // Dynamic output sizes come from the tensors read (a quantized value
    // has no lowering of its own tensor.dim).
    for (auto &[source, d] : outSources)
      source = source == lhs ? a->value : bOp->value;

    // Integer path: both quantized, no parameter varies along k.
    bool integer = constantAlongK(*a) && constantAlongK(*bOp) &&
                   isa<IntegerType>(a->quant->type.getStorageType()) &&
                   a->quant->type.getStorageTypeIntegralWidth() <= 16 &&
                   bOp->quant->type.getStorageTypeIntegralWidth() <= 16;
    // Grouped integer path: the weight's parameters vary along k by groups
    // (i32 partial sums per group, scaled and summed in f32); the codes of
    // at most 8 bits keep the partial sums exact.
    bool grouped = !integer && group > 0 && constantAlongK(*a) &&
                   isa<IntegerType>(a->quant->type.getStorageType()) &&
                   a->quant->type.getStorageTypeIntegralWidth() <= 8 &&
                   bOp->quant->type.getStorageTypeIntegralWidth() <= 8;

    Type expressed = resultTy.getElementType();
    if (auto q = dyn_cast<quant::QuantizedType>(expressed))
      expressed = q.getExpressedType();
    Type accType = integer ? Type(rewriter.getI32Type())
                   : expressed.getIntOrFloatBitWidth() < 32
                       ? Type(rewriter.getF32Type())
                       : expressed;

    grouped = grouped && accType.isF32();
    // W8A8 on an int8 dot-product target (int8Activations: the pipeline
    // sets it with vpdpbusd): symmetric 8-bit codes on both sides, a
    // constant signed 2-D weight of the sizes the kernel tiles (K % 4, N a
    // multiple of 16 lanes, so 8 too), an activation of any rows (dynamic
    // or with leading dimensions, folded into M): the int8 kernel's form,
    // whose scales the epilogue below applies.
    auto byteCodes = [](const ContractionOperand &o) {
      return o.quant && !o.narrowTo && o.quant->symmetric &&
             o.quant->type.getStorageTypeIntegralWidth() == 8 &&
             getElementTypeOrSelf(o.value.getType()).isInteger(8);
    };
    int64_t reduction = lhsTy.getDimSize(lhsTy.getRank() - 1);
    bool int8Form = integer && rhsBatch == 0 && !lhsVector && !rhsVector &&
                    byteCodes(*a) && byteCodes(*bOp) &&
                    bOp->quant->type.isSigned() &&
                    cast<RankedTensorType>(bOp->value.getType())
                        .hasStaticShape() &&
                    !ShapedType::isDynamic(reduction) &&
                    constantBehindCasts(bOp->value);
    // The GPU's (int8Mma): signed codes on both sides (mma.sync's s8),
    // 16-byte runs along K (its cp.async copies), any N.
    bool gpuInt8 = int8Form && int8Mma && a->quant->type.isSigned() &&
                   reduction % 16 == 0;
    // A [K, N] weight's codes, which the GPU form transposes (read before
    // anything is rewritten; unreadable: the generic form).
    std::optional<std::vector<int32_t>> gpuWeightKN;
    if (gpuInt8 && !transposeRhs) {
      Value stored = bOp->value;
      while (auto cast = stored.getDefiningOp<quant::StorageCastOp>())
        stored = cast.getInput();
      Attribute value;
      if (matchPattern(stored, m_Constant(&value)))
        gpuWeightKN = readIntegerCodes(value, /*isSigned=*/true);
      gpuInt8 = gpuWeightKN.has_value();
    }
    bool int8Kernel =
        gpuInt8 || (int8Form && int8Activations && reduction % 4 == 0 &&
                    !ShapedType::isDynamic(outShape.back()) &&
                    outShape.back() % 16 == 0);

    Value acc;
    if (nibbles) {
      auto accTy = RankedTensorType::get(outShape, accType);
      Value init = emptyLike(rewriter, loc, accTy, outSources);
      Value zero = arith::ConstantOp::create(
          rewriter, loc, rewriter.getFloatAttr(accType, 0.0));
      init = linalg::FillOp::create(rewriter, loc, zero, init).getResult(0);
      if (auto perToken = lhs.getDefiningOp<QuantizePerTokenOp>()) {
        // W4A8: the codes contract with the words, the per-token scales
        // ([..., M, 1]) multiply the result.
        auto [scales, codes] = lowerPerToken(rewriter, loc, perToken.getInput(),
                                             8, /*codes=*/true);
        acc = packedNibbleContraction(
            rewriter, loc, nibbles, codes,
            cast<RankedTensorType>(codes.getType()), batch, init, op);
        if (!acc)
          return failure();
        auto accTy = cast<RankedTensorType>(acc.getType());
        int64_t rank = accTy.getRank();
        // (nibbleWeight: the lhs has the result's rank.)
        SmallVector<AffineExpr> rowExprs;
        for (int64_t d = 0; d + 1 < rank; ++d)
          rowExprs.push_back(getAffineDimExpr(d, ctx));
        rowExprs.push_back(getAffineConstantExpr(0, ctx));
        acc = elementwise(
            rewriter, loc, acc, accType, {acc, scales},
            {rewriter.getMultiDimIdentityMap(rank),
             AffineMap::get(rank, 0, rowExprs, ctx)},
            [&](OpBuilder &nb, Location l, ValueRange v) -> Value {
              return arith::MulFOp::create(nb, l, v[0], v[1]);
            });
      } else {
        acc = packedNibbleContraction(rewriter, loc, nibbles, a->value, lhsTy,
                                      batch, init, op, f16Products);
        if (!acc)
          return failure();
      }
    } else if (grouped) {
      acc = groupedIntegerContraction(rewriter, loc, *a, *bOp, transposeRhs,
                                      batch, m, n, k, group, outShape,
                                      outSources);
    } else if (int8Kernel) {
      // The kernel is 2-D: the activation's leading dimensions fold into
      // its rows, and the result unfolds again.
      Value codes = a->value;
      int64_t rank = outShape.size();
      SmallVector<ReassociationIndices> rowDims;
      if (rank > 2) {
        rowDims.emplace_back();
        for (int64_t d = 0; d + 1 < rank; ++d)
          rowDims[0].push_back(d);
        rowDims.push_back({rank - 1});
        codes = tensor::CollapseShapeOp::create(rewriter, loc, codes, rowDims);
      }
      int64_t rows = cast<RankedTensorType>(codes.getType()).getDimSize(0);
      auto accTy = RankedTensorType::get({rows, outShape.back()}, accType);
      Value init = emptyLike(rewriter, loc, accTy, {{codes, 0}, {codes, -1}});
      Value zero = arith::ConstantOp::create(
          rewriter, loc, rewriter.getIntegerAttr(accType, 0));
      init = linalg::FillOp::create(rewriter, loc, zero, init).getResult(0);
      if (gpuInt8) {
        // The kernel reads the weight as [N, K] rows (both mma.sync
        // operands then come from shared memory by ldmatrix): a [K, N]
        // constant is transposed here, once.
        Value weight = bOp->value;
        if (!transposeRhs) {
          int64_t kk = rhsTy.getDimSize(0), nn = rhsTy.getDimSize(1);
          std::vector<int8_t> codesNK(gpuWeightKN->size());
          for (int64_t i = 0; i < kk; ++i)
            for (int64_t j = 0; j < nn; ++j)
              codesNK[j * kk + i] = int8_t((*gpuWeightKN)[i * nn + j]);
          weight = createI8Constant(rewriter, loc, {nn, kk}, codesNK,
                                    "int8_weight_nk");
        }
        // (byteCodes: both sides are i8 codes already.)
        acc = buildInt8Contraction(rewriter, loc, codes, weight,
                                   /*transposeRhs=*/true, init,
                                   /*lhsSigned=*/true, /*rhsSigned=*/true)
                  .getResult(0);
      } else {
        acc = int8MarkedContraction(rewriter, loc, codes,
                                    a->quant->type.isSigned(), bOp->value,
                                    /*bSigned=*/true, transposeRhs, init);
      }
      if (rank > 2) {
        SmallVector<OpFoldResult> sizes;
        for (int64_t d = 0; d < rank; ++d)
          sizes.push_back(
              ShapedType::isDynamic(outShape[d])
                  ? OpFoldResult(tensor::DimOp::create(rewriter, loc,
                                                       a->value, d)
                                     .getResult())
                  : OpFoldResult(rewriter.getIndexAttr(outShape[d])));
        acc = tensor::ExpandShapeOp::create(
            rewriter, loc, RankedTensorType::get(outShape, accType), acc,
            rowDims, sizes);
      }
    } else {
      // The accumulator, zero-filled.
      auto accTy = RankedTensorType::get(outShape, accType);
      Value init = emptyLike(rewriter, loc, accTy, outSources);
      Value zero = arith::ConstantOp::create(
          rewriter, loc,
          integer ? TypedAttr(rewriter.getIntegerAttr(accType, 0))
                  : TypedAttr(rewriter.getFloatAttr(accType, 0.0)));
      init = linalg::FillOp::create(rewriter, loc, zero, init).getResult(0);

      SmallVector<Value> inputs = {a->value, bOp->value};
      SmallVector<AffineMap> maps = {a->map, bOp->map};
      // Float path: parameters of quantized operands are read in the body.
      auto addParams = [&](const ContractionOperand &o) {
        if (o.decodeFormat) {
          inputs.push_back(o.decodeScale);
          maps.push_back(o.decodeMap);
          return;
        }
        if (integer || !o.quant)
          return;
        inputs.push_back(o.quant->scale);
        inputs.push_back(o.quant->zeroPoint);
        maps.push_back(o.quant->map);
        maps.push_back(o.quant->map);
      };
      // Integer path: zero points (constant along k) are read in the body.
      auto addZeroPoint = [&](const ContractionOperand &o) {
        if (!integer || o.quant->symmetric)
          return;
        inputs.push_back(o.quant->zeroPoint);
        maps.push_back(o.quant->map);
      };
      addParams(*a);
      addParams(*bOp);
      addZeroPoint(*a);
      addZeroPoint(*bOp);
      maps.push_back(outMap);
      SmallVector<utils::IteratorType> iters(loops,
                                             utils::IteratorType::parallel);
      iters[k] = utils::IteratorType::reduction;

      auto generic = linalg::GenericOp::create(
          rewriter, loc, TypeRange{accTy}, inputs, ValueRange{init}, maps,
          iters, [&](OpBuilder &b, Location l, ValueRange args) {
            unsigned next = 2;
            auto operandValue = [&](const ContractionOperand &o,
                                    Value raw) -> Value {
              if (o.narrowTo)
                raw = arith::TruncIOp::create(b, l, o.narrowTo, raw);
              if (integer) {
                Value v = widenStorage(b, l, raw, o.quant->type.isSigned());
                if (!o.quant->symmetric)
                  v = arith::SubIOp::create(b, l, v, args[next++]);
                return v;
              }
              Value v = raw;
              if (o.decodeFormat) {
                v = arith::MulFOp::create(
                    b, l, decodeSmallFloat(b, l, raw, o.decodeFormat),
                    args[next++]);
              } else if (o.quant) {
                v = dequantizeScalar(b, l, raw, args[next], args[next + 1],
                                     o.quant->type.isSigned(),
                                     o.quant->symmetric);
                next += 2;
              }
              if (v.getType() != accType)
                v = arith::ExtFOp::create(b, l, accType, v);
              return v;
            };
            Value x = operandValue(*a, args[0]);
            Value y = operandValue(*bOp, args[1]);
            Value acc = args.back();
            Value r = integer
                          ? arith::AddIOp::create(
                                b, l, acc, arith::MulIOp::create(b, l, x, y))
                                .getResult()
                          : arith::AddFOp::create(
                                b, l, acc, arith::MulFOp::create(b, l, x, y),
                                arith::FastMathFlags::reassoc |
                                    arith::FastMathFlags::contract)
                                .getResult();
            linalg::YieldOp::create(b, l, r);
          });
      // Marks the contraction for qc-tile-contractions.
      generic->setAttr("qc.contraction", rewriter.getUnitAttr());
      acc = generic.getResult(0);
    }

    // Epilogue: scales (integer path), bias, the result's quantization or
    // float type, in one element-wise generic.
    int64_t outRank = outShape.size();
    SmallVector<Value> epiInputs = {acc};
    SmallVector<AffineMap> epiMaps = {rewriter.getMultiDimIdentityMap(outRank)};
    // Maps from the iteration space restricted to the output dims.
    auto toOutput = [&](AffineMap iterMap) -> AffineMap {
      SmallVector<AffineExpr> repl;
      for (int64_t d = 0; d < loops; ++d)
        repl.push_back(d < batch    ? getAffineDimExpr(d, ctx)
                       : d == m     ? getAffineDimExpr(batch, ctx)
                       : d == n     ? getAffineDimExpr(batch + 1, ctx)
                                    : getAffineConstantExpr(0, ctx));
      return iterMap.replaceDimsAndSymbols(repl, {}, outRank, 0);
    };
    if (integer || grouped) {
      epiInputs.push_back(a->quant->scale);
      epiMaps.push_back(toOutput(a->quant->map));
    }
    if (integer) {
      epiInputs.push_back(bOp->quant->scale);
      epiMaps.push_back(toOutput(bOp->quant->map));
    }
    Value bias = op.getBias();
    std::optional<QuantParams> biasQuant;
    if (bias) {
      auto biasTy = cast<RankedTensorType>(bias.getType());
      if (isQuantizedTensor(biasTy)) {
        FailureOr<QuantParams> p = getQuantParams(rewriter, loc, biasTy, op);
        if (failed(p))
          return failure();
        biasQuant = *p;
        bias = toStorage(rewriter, loc, bias);
      }
      AffineMap biasMap = AffineMap::get(outRank, 0,
                                         {getAffineDimExpr(outRank - 1, ctx)},
                                         ctx);
      epiInputs.push_back(bias);
      epiMaps.push_back(biasMap);
      if (biasQuant) {
        epiInputs.push_back(biasQuant->scale);
        epiMaps.push_back(biasQuant->map.compose(biasMap));
        epiInputs.push_back(biasQuant->zeroPoint);
        epiMaps.push_back(biasQuant->map.compose(biasMap));
      }
    }
    std::optional<QuantParams> resultQuant;
    if (isQuantizedTensor(resultTy)) {
      auto plainTy = RankedTensorType::get(outShape, resultTy.getElementType());
      FailureOr<QuantParams> p = getQuantParams(rewriter, loc, plainTy, op);
      if (failed(p))
        return failure();
      resultQuant = *p;
      epiInputs.push_back(p->scale);
      epiMaps.push_back(p->map);
      epiInputs.push_back(p->zeroPoint);
      epiMaps.push_back(p->map);
    }
    Type finalElement = resultQuant ? resultQuant->type.getStorageType()
                                    : expressed;
    bool needsEpilogue =
        integer || grouped || bias || resultQuant || accType != expressed;
    Value result = acc;
    if (needsEpilogue)
      result = elementwise(
          rewriter, loc, acc, finalElement, epiInputs, epiMaps,
          [&](OpBuilder &b, Location l, ValueRange args) -> Value {
            unsigned next = 1;
            Value v = args[0];
            if (integer) {
              Value sa = args[next++], sb = args[next++];
              Type f = sa.getType();
              v = arith::SIToFPOp::create(b, l, f, v);
              v = arith::MulFOp::create(b, l, v,
                                        arith::MulFOp::create(b, l, sa, sb));
            } else if (grouped) {
              Value sa = args[next++];
              if (sa.getType() != v.getType())
                sa = arith::ExtFOp::create(b, l, v.getType(), sa);
              v = arith::MulFOp::create(b, l, v, sa);
            }
            if (bias) {
              Value bv = args[next++];
              if (biasQuant) {
                bv = dequantizeScalar(b, l, bv, args[next], args[next + 1],
                                      biasQuant->type.isSigned(),
                                      biasQuant->symmetric);
                next += 2;
              }
              if (bv.getType() != v.getType())
                bv = arith::ExtFOp::create(b, l, v.getType(), bv);
              v = arith::AddFOp::create(b, l, v, bv);
            }
            if (resultQuant)
              return quantizeScalar(b, l, v, args[next], args[next + 1],
                                    resultQuant->type);
            if (v.getType() != expressed)
              v = arith::TruncFOp::create(b, l, expressed, v);
            return v;
          });

    // Drop the unit dimensions of 1-D operands.
    auto plainResultTy = RankedTensorType::get(
        resultTy.getShape(), getElementTypeOrSelf(result.getType()));
    if (lhsVector || rhsVector) {
      SmallVector<ReassociationIndices> groups;
      int64_t r = cast<RankedTensorType>(result.getType()).getRank();
      // Result [..., M, N] -> without M (lhs vector) and/or N (rhs vector).
      SmallVector<bool> removed(r, false);
      if (lhsVector)
        removed[r - 2] = true;
      if (rhsVector)
        removed[r - 1] = true;
      ReassociationIndices current;
      for (int64_t d = 0; d < r; ++d) {
        current.push_back(d);
        if (!removed[d]) {
          groups.push_back(current);
          current.clear();
        }
      }
      if (!current.empty()) {
        if (groups.empty())
          groups.push_back({});
        llvm::append_range(groups.back(), current);
      }
      if (plainResultTy.getRank() == 0)
        groups.clear();
      result = tensor::CollapseShapeOp::create(rewriter, loc, plainResultTy,
                                               result, groups);
    }
    if (resultQuant)
      result = quant::StorageCastOp::create(rewriter, loc, resultTy, result);
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Normalisations
//===----------------------------------------------------------------------===//

/// Sums f(x) over the trailing dimensions [axis, rank) into [outer..., 1...]
/// -shaped f32 values (kept rank so that maps stay simple).
Value reduceTrailing(OpBuilder &b, Location loc, Value x, int64_t axis,
                     ArrayRef<Value> extra, ArrayRef<AffineMap> extraMaps,
                     function_ref<Value(OpBuilder &, Location, Value,
                                        ValueRange)>
                         term) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  MLIRContext *ctx = b.getContext();
  SmallVector<int64_t> shape(type.getShape().take_front(axis));
  shape.append(rank - axis, 1);
  Type f32 = b.getF32Type();
  auto redTy = RankedTensorType::get(shape, f32);
  SmallVector<std::pair<Value, int64_t>> sources;
  for (int64_t d = 0; d < rank; ++d)
    sources.push_back({x, d});
  Value init = emptyLike(b, loc, redTy, sources);
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  init = linalg::FillOp::create(b, loc, zero, init).getResult(0);
  SmallVector<AffineExpr> outExprs;
  for (int64_t d = 0; d < rank; ++d)
    outExprs.push_back(d < axis ? getAffineDimExpr(d, ctx)
                                : getAffineConstantExpr(0, ctx));
  SmallVector<Value> inputs = {x};
  llvm::append_range(inputs, extra);
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank)};
  llvm::append_range(maps, extraMaps);
  maps.push_back(AffineMap::get(rank, 0, outExprs, ctx));
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  for (int64_t d = axis; d < rank; ++d)
    iters[d] = utils::IteratorType::reduction;
  return linalg::GenericOp::create(
             b, loc, TypeRange{redTy}, inputs, ValueRange{init}, maps, iters,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               Value v = args[0];
               if (v.getType() != f32)
                 v = arith::ExtFOp::create(nb, nl, f32, v);
               Value t = term(nb, nl, v, args.drop_front().drop_back());
               Value sum = arith::AddFOp::create(nb, nl, args.back(), t);
               linalg::YieldOp::create(nb, nl, sum);
             })
      .getResult(0);
}

/// Map reading a [outer..., 1...] reduction result from the full space.
AffineMap reducedMap(MLIRContext *ctx, int64_t rank, int64_t axis) {
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d)
    exprs.push_back(d < axis ? getAffineDimExpr(d, ctx)
                             : getAffineConstantExpr(0, ctx));
  return AffineMap::get(rank, 0, exprs, ctx);
}

/// Map reading a [normalised...] gain or bias from the full space.
AffineMap trailingMap(MLIRContext *ctx, int64_t rank, int64_t axis) {
  SmallVector<AffineExpr> exprs;
  for (int64_t d = axis; d < rank; ++d)
    exprs.push_back(getAffineDimExpr(d, ctx));
  return AffineMap::get(rank, 0, exprs, ctx);
}

/// The normalised element count, or failure for dynamic trailing dims.
FailureOr<double> trailingCount(RankedTensorType type, int64_t axis) {
  double count = 1;
  for (int64_t d = axis; d < type.getRank(); ++d) {
    if (type.isDynamicDim(d))
      return failure();
    count *= double(type.getDimSize(d));
  }
  return count;
}

template <typename NormOp>
LogicalResult lowerNorm(NormOp op, PatternRewriter &rewriter, bool isLayer,
                        Value bias) {
  Location loc = op.getLoc();
  MLIRContext *ctx = rewriter.getContext();
  Value x = op.getInput();
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  // I64Attr getters return uint64_t: read the axis as signed.
  int64_t axis = static_cast<int64_t>(op.getAxis());
  if (axis < 0)
    axis += rank;
  FailureOr<double> count = trailingCount(type, axis);
  if (failed(count))
    return failure();
  Type f32 = rewriter.getF32Type();
  auto f32Const = [&](OpBuilder &b, Location l, double v) -> Value {
    return arith::ConstantOp::create(b, l, b.getF32FloatAttr(v));
  };
  AffineMap identity = rewriter.getMultiDimIdentityMap(rank);
  AffineMap reduced = reducedMap(ctx, rank, axis);
  Value mean;
  if (isLayer)
    mean = reduceTrailing(rewriter, loc, x, axis, {}, {},
                          [&](OpBuilder &, Location, Value v, ValueRange) {
                            return v;
                          });
  double inv = 1.0 / *count;
  // Sum of squares (of x - mean for LayerNorm).
  SmallVector<Value> extra;
  SmallVector<AffineMap> extraMaps;
  if (isLayer) {
    extra.push_back(mean);
    extraMaps.push_back(reduced);
  }
  Value squares = reduceTrailing(
      rewriter, loc, x, axis, extra, extraMaps,
      [&](OpBuilder &b, Location l, Value v, ValueRange e) -> Value {
        if (isLayer)
          v = arith::SubFOp::create(
              b, l, v, arith::MulFOp::create(b, l, e[0], f32Const(b, l, inv)));
        return arith::MulFOp::create(b, l, v, v);
      });
  SmallVector<Value> inputs = {x, squares};
  SmallVector<AffineMap> maps = {identity, reduced};
  if (isLayer) {
    inputs.push_back(mean);
    maps.push_back(reduced);
  }
  Value scale = op.getScale();
  if (scale) {
    inputs.push_back(scale);
    maps.push_back(trailingMap(ctx, rank, axis));
  }
  if (bias) {
    inputs.push_back(bias);
    maps.push_back(trailingMap(ctx, rank, axis));
  }
  double eps = op.getEpsilon().convertToDouble();
  Type element = type.getElementType();
  Value result = elementwise(
      rewriter, loc, x, element, inputs, maps,
      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
        auto toF32 = [&](Value v) -> Value {
          return v.getType() == f32 ? v
                                    : arith::ExtFOp::create(b, l, f32, v)
                                          .getResult();
        };
        unsigned next = 2;
        Value v = toF32(a[0]);
        if (isLayer)
          v = arith::SubFOp::create(
              b, l, v,
              arith::MulFOp::create(b, l, a[next++], f32Const(b, l, inv)));
        Value var = arith::MulFOp::create(b, l, a[1], f32Const(b, l, inv));
        var = arith::AddFOp::create(b, l, var, f32Const(b, l, eps));
        Value r = math::RsqrtOp::create(b, l, var);
        v = arith::MulFOp::create(b, l, v, r);
        if (scale)
          v = arith::MulFOp::create(b, l, v, toF32(a[next++]));
        if (bias)
          v = arith::AddFOp::create(b, l, v, toF32(a[next++]));
        if (element != f32)
          v = arith::TruncFOp::create(b, l, element, v);
        return v;
      });
  rewriter.replaceOp(op, result);
  return success();
}

struct RMSNormLowering : OpRewritePattern<RMSNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RMSNormOp op,
                                PatternRewriter &rewriter) const override {
    return lowerNorm(op, rewriter, /*isLayer=*/false, Value());
  }
};

struct LayerNormLowering : OpRewritePattern<LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LayerNormOp op,
                                PatternRewriter &rewriter) const override {
    return lowerNorm(op, rewriter, /*isLayer=*/true, op.getBias());
  }
};

//===----------------------------------------------------------------------===//
// qc.hadamard
//===----------------------------------------------------------------------===//

/// qc.hadamard of size K·2^m: the axis viewed as [..., n / (size·stride), K,
/// 2, ..., 2, stride]; m butterfly stages, each one generic over one binary
/// axis, then (K > 1) one contraction of the K axis with the constant H_K;
/// the 1/√size normalisation in the last stage.
struct HadamardLowering : OpRewritePattern<HadamardOp> {
  HadamardLowering(MLIRContext *ctx, bool oneGeneric)
      : OpRewritePattern(ctx), oneGeneric(oneGeneric) {}
  bool oneGeneric;

  LogicalResult matchAndRewrite(HadamardOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto type = cast<RankedTensorType>(op.getType());
    int64_t size = op.getTransformSize(), stride = op.getTransformStride();
    std::optional<numerics::HadamardSize> split =
        numerics::factorHadamardSize(size);
    if (!split)
      return rewriter.notifyMatchFailure(op, "unsupported size");
    if (oneGeneric && type.hasStaticShape() && type.getElementType().isF32() &&
        hadamardKernelTakes(size))
      return oneGenericForm(op, rewriter, *split);
    int64_t k = split->factor, m = split->log2PowerOfTwo;
    int64_t rank = type.getRank(), n = type.getDimSize(rank - 1);
    // [..., n] -> [..., n / (size·stride), K, 2, ..., 2, stride].
    SmallVector<int64_t> shape(type.getShape().drop_back());
    shape.push_back(n / (size * stride));
    shape.push_back(k);
    shape.append(m, 2);
    shape.push_back(stride);
    SmallVector<ReassociationIndices> groups;
    for (int64_t d = 0; d < rank - 1; ++d)
      groups.push_back({d});
    ReassociationIndices last;
    for (int64_t d = rank - 1; d < int64_t(shape.size()); ++d)
      last.push_back(d);
    groups.push_back(last);
    Type elementType = type.getElementType();
    Value v = tensor::ExpandShapeOp::create(
        rewriter, loc, RankedTensorType::get(shape, elementType),
        op.getInput(), groups);
    int64_t r = shape.size(), kAxis = rank;
    double norm = 1.0 / std::sqrt(double(size));
    auto normConstant = [&](OpBuilder &b, Location l) -> Value {
      return arith::ConstantOp::create(b, l, b.getFloatAttr(elementType, norm));
    };
    for (int64_t s = 0; s < m; ++s) {
      int64_t axis = rank + 1 + s; // the s-th binary axis
      SmallVector<AffineExpr> e0, e1;
      for (int64_t d = 0; d < r; ++d) {
        e0.push_back(d == axis ? getAffineConstantExpr(0, ctx)
                               : getAffineDimExpr(d, ctx));
        e1.push_back(d == axis ? getAffineConstantExpr(1, ctx)
                               : getAffineDimExpr(d, ctx));
      }
      AffineMap m0 = AffineMap::get(r, 0, e0, ctx);
      AffineMap m1 = AffineMap::get(r, 0, e1, ctx);
      bool normalise = s == m - 1 && k == 1;
      Value in = v;
      v = elementwise(
          rewriter, loc, in, elementType, {in, in}, {m0, m1},
          [&](OpBuilder &b, Location l, ValueRange a) -> Value {
            Value i = linalg::IndexOp::create(b, l, axis);
            Value isLow = arith::CmpIOp::create(
                b, l, arith::CmpIPredicate::eq, i,
                arith::ConstantIndexOp::create(b, l, 0));
            Value sum = arith::AddFOp::create(b, l, a[0], a[1]);
            Value diff = arith::SubFOp::create(b, l, a[0], a[1]);
            Value y = arith::SelectOp::create(b, l, isLow, sum, diff);
            if (normalise)
              y = arith::MulFOp::create(b, l, y, normConstant(b, l));
            return y;
          });
    }
    if (k > 1) {
      // out[..., a', ...] = Σ_a in[..., a, ...]·H_K[a, a'] / √size, the
      // reduction over an extra trailing loop.
      const std::vector<float> &factor = numerics::hadamardFactor(k);
      SmallVector<Attribute> values;
      for (float f : factor)
        values.push_back(rewriter.getFloatAttr(elementType, f));
      Value hk = constantTensor(rewriter, loc, {k, k}, elementType, values);
      SmallVector<AffineExpr> inExprs, outExprs;
      for (int64_t d = 0; d < r; ++d) {
        outExprs.push_back(getAffineDimExpr(d, ctx));
        inExprs.push_back(d == kAxis ? getAffineDimExpr(r, ctx)
                                     : getAffineDimExpr(d, ctx));
      }
      AffineMap inMap = AffineMap::get(r + 1, 0, inExprs, ctx);
      AffineMap hMap = AffineMap::get(
          r + 1, 0, {getAffineDimExpr(r, ctx), getAffineDimExpr(kAxis, ctx)},
          ctx);
      AffineMap outMap = AffineMap::get(r + 1, 0, outExprs, ctx);
      auto vTy = cast<RankedTensorType>(v.getType());
      SmallVector<std::pair<Value, int64_t>> sources;
      for (int64_t d = 0; d < r; ++d)
        sources.push_back({v, d});
      Value init = emptyLike(rewriter, loc, vTy, sources);
      Value zero = arith::ConstantOp::create(
          rewriter, loc, rewriter.getFloatAttr(elementType, 0.0));
      init = linalg::FillOp::create(rewriter, loc, zero, init).getResult(0);
      SmallVector<utils::IteratorType> iters(r + 1,
                                             utils::IteratorType::parallel);
      iters[r] = utils::IteratorType::reduction;
      Value mixed =
          linalg::GenericOp::create(
              rewriter, loc, TypeRange{vTy}, ValueRange{v, hk},
              ValueRange{init}, ArrayRef<AffineMap>{inMap, hMap, outMap},
              iters,
              [&](OpBuilder &b, Location l, ValueRange a) {
                Value p = arith::MulFOp::create(b, l, a[0], a[1]);
                linalg::YieldOp::create(
                    b, l, ValueRange{arith::AddFOp::create(b, l, a[2], p)});
              })
              .getResult(0);
      v = elementwise(rewriter, loc, mixed, elementType, {mixed},
                      {rewriter.getMultiDimIdentityMap(r)},
                      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                        return arith::MulFOp::create(b, l, a[0],
                                                     normConstant(b, l));
                      });
    }
    rewriter.replaceOpWithNewOp<tensor::CollapseShapeOp>(op, type, v, groups);
    return success();
  }

  /// The transform as one reduction generic marked kHadamardMarker, for
  /// qc-map-to-gpu's kernel: the axis viewed as [..., B, size, stride]
  /// (B = n / (size·stride)), out[.., b, j, t] = Σ_i x[.., b, i, t]·h(i, j)
  /// / √size with h(i, j) = H_K[i / 2^m][j / 2^m]·(−1)^popcount(i & j &
  /// (2^m − 1)), the Sylvester entry computed from the indices. Exact as it
  /// stands (size multiply-adds per output, where the kernel does
  /// log2-many): the kernel replaces it, nothing else is meant to run it.
  LogicalResult oneGenericForm(HadamardOp op, PatternRewriter &rewriter,
                               numerics::HadamardSize split) const {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto type = cast<RankedTensorType>(op.getType());
    int64_t size = op.getTransformSize(), stride = op.getTransformStride();
    int64_t k = split.factor, pow2 = int64_t(1) << split.log2PowerOfTwo;
    int64_t rank = type.getRank(), n = type.getDimSize(rank - 1);
    Type f32 = rewriter.getF32Type();
    SmallVector<int64_t> shape(type.getShape().drop_back());
    shape.append({n / (size * stride), size, stride});
    SmallVector<ReassociationIndices> groups;
    for (int64_t d = 0; d + 1 < rank; ++d)
      groups.push_back({d});
    groups.push_back({rank - 1, rank, rank + 1});
    auto viewType = RankedTensorType::get(shape, f32);
    Value x = tensor::ExpandShapeOp::create(rewriter, loc, viewType,
                                            op.getInput(), groups);
    const std::vector<float> &factor = numerics::hadamardFactor(k);
    SmallVector<Attribute> values;
    for (float f : factor)
      values.push_back(rewriter.getF32FloatAttr(f));
    Value hk = constantTensor(rewriter, loc, {k, k}, f32, values);
    // Loops (lead..., b, j, t, i); i the reduction.
    int64_t r = shape.size(), jDim = rank, iDim = r;
    auto dim = [&](int64_t d) { return getAffineDimExpr(d, ctx); };
    SmallVector<AffineExpr> xExprs, outExprs;
    for (int64_t d = 0; d < r; ++d) {
      outExprs.push_back(dim(d));
      xExprs.push_back(d == jDim ? dim(iDim) : dim(d));
    }
    AffineMap xMap = AffineMap::get(r + 1, 0, xExprs, ctx);
    AffineMap hMap = AffineMap::get(
        r + 1, 0, {dim(iDim).floorDiv(pow2), dim(jDim).floorDiv(pow2)}, ctx);
    AffineMap outMap = AffineMap::get(r + 1, 0, outExprs, ctx);
    Value init = tensor::EmptyOp::create(rewriter, loc, shape, f32);
    Value zero = arith::ConstantOp::create(rewriter, loc,
                                           rewriter.getF32FloatAttr(0.0f));
    init = linalg::FillOp::create(rewriter, loc, zero, init).getResult(0);
    SmallVector<utils::IteratorType> iters(r + 1,
                                           utils::IteratorType::parallel);
    iters[iDim] = utils::IteratorType::reduction;
    double norm = 1.0 / std::sqrt(double(size));
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{viewType}, ValueRange{x, hk}, ValueRange{init},
        ArrayRef<AffineMap>{xMap, hMap, outMap}, iters,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Type i32 = b.getI32Type();
          auto low = [&](int64_t d) -> Value {
            Value i = arith::IndexCastOp::create(
                b, l, i32, linalg::IndexOp::create(b, l, d));
            return arith::AndIOp::create(
                b, l, i,
                arith::ConstantOp::create(b, l,
                                          b.getI32IntegerAttr(pow2 - 1)));
          };
          Value both = arith::AndIOp::create(b, l, low(iDim), low(jDim));
          Value odd = arith::AndIOp::create(
              b, l, math::CtPopOp::create(b, l, both),
              arith::ConstantOp::create(b, l, b.getI32IntegerAttr(1)));
          Value negative = arith::CmpIOp::create(
              b, l, arith::CmpIPredicate::ne, odd,
              arith::ConstantOp::create(b, l, b.getI32IntegerAttr(0)));
          Value h = arith::MulFOp::create(
              b, l, a[1], arith::ConstantOp::create(b, l, b.getF32FloatAttr(norm)));
          h = arith::SelectOp::create(b, l, negative,
                                      arith::NegFOp::create(b, l, h), h);
          Value p = arith::MulFOp::create(b, l, a[0], h);
          linalg::YieldOp::create(
              b, l, ValueRange{arith::AddFOp::create(b, l, a[2], p)});
        });
    generic->setAttr(kHadamardMarker,
                     rewriter.getDictionaryAttr(
                         {rewriter.getNamedAttr(
                              "size", rewriter.getI64IntegerAttr(size)),
                          rewriter.getNamedAttr(
                              "stride", rewriter.getI64IntegerAttr(stride))}));
    rewriter.replaceOpWithNewOp<tensor::CollapseShapeOp>(
        op, type, generic.getResult(0), groups);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

/// scast(scast(x)) back to x's type is x.
struct CancelStorageCasts : OpRewritePattern<quant::StorageCastOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(quant::StorageCastOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<quant::StorageCastOp>();
    if (!inner || inner.getInput().getType() != op.getType())
      return failure();
    rewriter.replaceOp(op, inner.getInput());
    return success();
  }
};

/// Unsigned integer constants become signless constants viewed through
/// tensor.bitcast, so that erasing signedness later (the upstream
/// tosa-convert-integer-type-to-signless pass retypes results, not attribute
/// payloads) leaves valid constants. Resource blobs are shared, not copied.
void signlessConstants(ModuleOp module) {
  SmallVector<arith::ConstantOp> unsignedConstants;
  module.walk([&](arith::ConstantOp op) {
    auto type = dyn_cast<RankedTensorType>(op.getType());
    if (type && type.getElementType().isUnsignedInteger())
      unsignedConstants.push_back(op);
  });
  for (arith::ConstantOp op : unsignedConstants) {
    auto type = cast<RankedTensorType>(op.getType());
    auto signless = RankedTensorType::get(
        type.getShape(),
        IntegerType::get(op.getContext(),
                         type.getElementType().getIntOrFloatBitWidth()));
    TypedAttr value;
    if (auto dense = dyn_cast<DenseElementsAttr>(op.getValue()))
      value = dense.bitcast(signless.getElementType());
    else if (auto resource = dyn_cast<DenseResourceElementsAttr>(op.getValue()))
      value = DenseResourceElementsAttr::get(signless,
                                             resource.getRawHandle());
    if (!value)
      continue;
    OpBuilder b(op);
    Value c = arith::ConstantOp::create(b, op.getLoc(), value);
    Value view = tensor::BitcastOp::create(b, op.getLoc(), type, c);
    op.replaceAllUsesWith(view);
    op.erase();
  }
}

/// Reports what the patterns cannot lower, once, before they run (patterns
/// may be tried several times and must not emit diagnostics).
LogicalResult checkLowerable(ModuleOp module) {
  bool ok = true;
  auto checkQuantType = [&](Operation *op, Type type) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (!tensor)
      return;
    auto q = dyn_cast<quant::QuantizedType>(tensor.getElementType());
    if (!q)
      return;
    if (isa<quant::UniformQuantizedType, quant::UniformQuantizedPerAxisType>(
            q))
      return;
    if (auto s = dyn_cast<quant::UniformQuantizedSubChannelType>(q)) {
      if (tensor.hasStaticShape() &&
          cast<ShapedType>(s.getScales().getType()).getRank() ==
              tensor.getRank())
        return;
    }
    op->emitError("unsupported quantized type ") << tensor;
    ok = false;
  };
  bool reportedFloat8 = false;
  module.walk([&](Operation *op) {
    // float8 and float4 values (fp8 QDQ imports) have no CPU lowering yet,
    // except as the constant codes of a qc.decode.
    if (auto decode = dyn_cast<DecodeOp>(op)) {
      auto codes = decode.getCodes().getDefiningOp<arith::ConstantOp>();
      if (!codes || !isa<DenseElementsAttr>(codes.getValue())) {
        decode.emitError("unsupported lowering of qc.decode: the codes must "
                         "be a dense constant");
        ok = false;
      }
      return;
    }
    bool decodeCodes =
        isa<arith::ConstantOp>(op) && !op->use_empty() &&
        llvm::all_of(op->getUsers(),
                     [](Operation *user) { return isa<DecodeOp>(user); });
    if (!reportedFloat8 && !decodeCodes)
      for (Type t : llvm::concat<Type>(op->getOperandTypes(),
                                       op->getResultTypes())) {
        Type e = getElementTypeOrSelf(t);
        if (isa<FloatType>(e) && e.getIntOrFloatBitWidth() < 16) {
          op->emitError("unsupported ")
              << e << " values: float8/float4 arithmetic is not lowered to "
                      "the CPU (only constant qc.decode codes are)";
          reportedFloat8 = true;
          ok = false;
          break;
        }
      }
    if (!isa<QCDialect>(op->getDialect()))
      return;
    for (Type t : op->getOperandTypes())
      checkQuantType(op, t);
    for (Type t : op->getResultTypes())
      checkQuantType(op, t);
    if (auto observe = dyn_cast<ObserveOp>(op)) {
      observe.emitError("qc.observe cannot be compiled: run "
                        "qc-strip-observers (or calibrate) first");
      ok = false;
    } else if (auto pt = dyn_cast<QuantizePerTokenOp>(op)) {
      if (!getElementTypeOrSelf(pt.getType()).isF32()) {
        pt.emitError("unsupported lowering of qc.quantize_per_token on ")
            << pt.getType() << ": only f32 is lowered";
        ok = false;
      }
    } else if (isa<RMSNormOp, LayerNormOp>(op)) {
      auto type = cast<RankedTensorType>(op->getOperand(0).getType());
      int64_t axis = static_cast<int64_t>(
          isa<RMSNormOp>(op) ? cast<RMSNormOp>(op).getAxis()
                             : cast<LayerNormOp>(op).getAxis());
      if (axis < 0)
        axis += type.getRank();
      for (int64_t d = axis; d < type.getRank(); ++d)
        if (type.isDynamicDim(d)) {
          op->emitError("unsupported dynamic normalised dimension ") << d;
          ok = false;
          break;
        }
    }
  });
  return success(ok);
}

/// Constants of sub-byte integers (the int4 weights of MatMulNBits, stored
/// one element per byte in a resource; the int4 codes of
/// qc-quantize-weights, dense) become i8 constants (a resource keeps its
/// blob, no copy; a dense one is sign-extended), narrowed by an element-wise
/// arith.trunci generic; qc.matmul reads the i8 bytes directly and truncates
/// in its body, so the weight is still read once, in its storage, and the
/// narrowing generic is dead. Resources of sub-byte integers cannot be
/// translated to LLVM IR as such, and vectors of them would be read
/// bit-packed from memory laid out one element per byte.
void widenSubByteResources(ModuleOp module) {
  SmallVector<arith::ConstantOp> narrow;
  module.walk([&](arith::ConstantOp op) {
    auto type = dyn_cast<RankedTensorType>(op.getType());
    if (!type || !isa<DenseResourceElementsAttr, DenseElementsAttr>(
                     op.getValue()))
      return;
    auto integer = dyn_cast<IntegerType>(type.getElementType());
    if (integer && integer.getWidth() > 1 && integer.getWidth() < 8)
      narrow.push_back(op);
  });
  for (arith::ConstantOp op : narrow) {
    auto type = cast<RankedTensorType>(op.getType());
    OpBuilder b(op);
    auto bytes = RankedTensorType::get(type.getShape(), b.getI8Type());
    Attribute wideValue;
    if (auto resource = dyn_cast<DenseResourceElementsAttr>(op.getValue()))
      wideValue = DenseResourceElementsAttr::get(bytes, resource.getRawHandle());
    else
      wideValue = cast<DenseElementsAttr>(op.getValue())
                      .mapValues(b.getI8Type(), [](const APInt &v) {
                        return v.sext(8);
                      });
    Value wide = arith::ConstantOp::create(b, op.getLoc(),
                                           cast<TypedAttr>(wideValue));
    Type element = type.getElementType();
    Value narrowed = elementwise(
        b, op.getLoc(), wide, element, {wide},
        {b.getMultiDimIdentityMap(type.getRank())},
        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
          return arith::TruncIOp::create(nb, l, element, a[0]);
        });
    // qc.matmul reads the bytes directly (see bytesBehind); other users
    // keep the narrowed tensor.
    narrowed.getDefiningOp()->setAttr("qc.narrowed_bytes", b.getUnitAttr());
    op.replaceAllUsesWith(narrowed);
    op.erase();
  }
}

/// Convolutions of dequantized integer operands (qc-quantize-weights and
/// qc-quantize-activations on a Conv, or a QDQ graph) become exact i32
/// convolutions of the zero-point-shifted codes with the scales in a float
/// epilogue: conv(dq(x), dq(w))[n, f, ...] = sx·sw[f]·conv_i32(x − zx,
/// w − zw[f]). Needs a per-tensor input and a per-tensor or per-output-
/// channel weight, both of at most 8 bits (so that i32 cannot overflow for
/// any realistic reduction); anything else keeps the float convolution of
/// the dequantized values.
void integerConvolution(linalg::LinalgOp conv) {
  if (!isa<linalg::Conv1DNcwFcwOp, linalg::Conv2DNchwFchwOp>(conv))
    return;
  auto dx = conv.getDpsInputs()[0].getDefiningOp<DequantizeOp>();
  auto dw = conv.getDpsInputs()[1].getDefiningOp<DequantizeOp>();
  Value init = conv.getDpsInits()[0];
  auto resultTy = cast<RankedTensorType>(conv->getResult(0).getType());
  if (!dx || !dw || !resultTy.getElementType().isF32())
    return;
  auto xTy = cast<RankedTensorType>(dx.getInput().getType());
  auto wTy = cast<RankedTensorType>(dw.getInput().getType());
  auto qx = dyn_cast<quant::UniformQuantizedType>(xTy.getElementType());
  auto qw = cast<quant::QuantizedType>(wTy.getElementType());
  if (auto axis = dyn_cast<quant::UniformQuantizedPerAxisType>(qw)) {
    if (axis.getQuantizedDimension() != 0)
      return;
  } else if (!isa<quant::UniformQuantizedType>(qw)) {
    return;
  }
  if (!qx || qx.getStorageTypeIntegralWidth() > 8 ||
      qw.getStorageTypeIntegralWidth() > 8 || !qx.getExpressedType().isF32() ||
      !qw.getExpressedType().isF32())
    return;

  OpBuilder b(conv);
  Location loc = conv.getLoc();
  Type i32 = b.getI32Type();
  // The codes minus their zero points; signed 8-bit codes without zero
  // points are read as they are (the named op sign-extends).
  auto shifted = [&](DequantizeOp dq, const QuantParams &p) -> Value {
    Value storage = toStorage(b, loc, dq.getInput());
    bool isSigned = p.type.isSigned(), symmetric = p.symmetric;
    if (isSigned && symmetric && p.type.getStorageTypeIntegralWidth() == 8)
      return storage;
    int64_t rank = cast<RankedTensorType>(storage.getType()).getRank();
    return elementwise(b, loc, storage, i32, {storage, p.zeroPoint},
                       {b.getMultiDimIdentityMap(rank), p.map},
                       [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                         Value v = widenStorage(nb, l, a[0], isSigned);
                         if (!symmetric)
                           v = arith::SubIOp::create(nb, l, v, a[1]);
                         return v;
                       });
  };
  FailureOr<QuantParams> px = getQuantParams(b, loc, xTy, conv);
  FailureOr<QuantParams> pw = getQuantParams(b, loc, wTy, conv);
  if (failed(px) || failed(pw))
    return;
  Value x = shifted(dx, *px), w = shifted(dw, *pw);
  int64_t rank = resultTy.getRank();
  SmallVector<std::pair<Value, int64_t>> sources;
  for (int64_t d = 0; d < rank; ++d)
    sources.push_back({init, d});
  auto accTy = RankedTensorType::get(resultTy.getShape(), i32);
  Value acc = emptyLike(b, loc, accTy, sources);
  Value zero = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
  acc = linalg::FillOp::create(b, loc, zero, acc).getResult(0);
  SmallVector<NamedAttribute> attrs;
  for (StringRef name : {"strides", "dilations"})
    if (Attribute a = conv->getAttr(name))
      attrs.push_back(b.getNamedAttr(name, a));
  Operation *integer;
  if (isa<linalg::Conv1DNcwFcwOp>(conv))
    integer = linalg::Conv1DNcwFcwOp::create(b, loc, TypeRange{accTy},
                                             ValueRange{x, w}, ValueRange{acc},
                                             attrs);
  else
    integer = linalg::Conv2DNchwFchwOp::create(
        b, loc, TypeRange{accTy}, ValueRange{x, w}, ValueRange{acc}, attrs);
  // Output dimension 1 is the weight's dimension 0 (the filter).
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineExpr> toWeight(rank, getAffineConstantExpr(0, ctx));
  toWeight[0] = getAffineDimExpr(1, ctx);
  AffineMap weightScaleMap =
      pw->map.compose(AffineMap::get(rank, 0, toWeight, ctx));
  AffineMap id = b.getMultiDimIdentityMap(rank);
  Value result = elementwise(
      b, loc, integer->getResult(0), resultTy.getElementType(),
      {integer->getResult(0), init, px->scale, pw->scale},
      {id, id, AffineMap::get(rank, 0, {}, ctx), weightScaleMap},
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value v = arith::SIToFPOp::create(nb, l, nb.getF32Type(), a[0]);
        v = arith::MulFOp::create(nb, l, v,
                                  arith::MulFOp::create(nb, l, a[2], a[3]));
        return arith::AddFOp::create(nb, l, a[1], v);
      });
  conv->getResult(0).replaceAllUsesWith(result);
  conv->erase();
}

/// qc.packed_weight of constant bytes becomes the constant codes it stands
/// for (numerics::unpack, at compile time), except `nibbles` weights that
/// every reader contracts in their packed words (nibbleWeight): the other
/// layouts have no kernel that reads them yet.
LogicalResult unpackConstantWeights(ModuleOp module, bool int8Activations) {
  SmallVector<PackedWeightOp> packed;
  module.walk([&](PackedWeightOp op) {
    // Those that every reader contracts in their packed words stay.
    bool readPacked = llvm::all_of(op->getUsers(), [&](Operation *user) {
      auto matmul = dyn_cast<MatMulOp>(user);
      return matmul && nibbleWeight(matmul, int8Activations) == op;
    });
    if (!readPacked)
      packed.push_back(op);
  });
  for (PackedWeightOp op : packed) {
    Attribute value;
    std::optional<std::vector<int32_t>> bytes;
    if (matchPattern(op.getBytes(), m_Constant(&value)))
      bytes = readIntegerCodes(value, /*isSigned=*/false);
    if (!bytes)
      return op.emitError("unsupported lowering of qc.packed_weight: its "
                          "bytes must be a constant");
    PackedLayoutAttr layout = op.getLayout();
    auto type = cast<RankedTensorType>(op.getType());
    auto q = cast<quant::QuantizedType>(type.getElementType());
    int64_t kAxis = layout.getKAxis(), bits = layout.getBits();
    auto [n, k] = packedWeightShape(type, kAxis);
    std::vector<uint8_t> raw(bytes->begin(), bytes->end());
    std::vector<int32_t> codes =
        numerics::unpack(toNumerics(layout.getKind()), bits, q.isSigned(), n,
                         k, raw.data());
    SmallVector<APInt> stored(n * k);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < k; ++j)
        stored[kAxis == 1 ? i * k + j : j * n + i] =
            APInt(bits, static_cast<uint64_t>(int64_t(codes[i * k + j])),
                  /*isSigned=*/q.isSigned(), /*implicitTrunc=*/true);
    OpBuilder b(op);
    auto storageType = RankedTensorType::get(
        type.getShape(), IntegerType::get(b.getContext(), bits));
    Value constant = arith::ConstantOp::create(
        b, op.getLoc(), DenseElementsAttr::get(storageType, stored));
    op.replaceAllUsesWith(
        quant::StorageCastOp::create(b, op.getLoc(), type, constant)
            .getResult());
    op.erase();
  }
  return success();
}

struct ConvertQCToLinalgPass
    : public qc::impl::ConvertQCToLinalgBase<ConvertQCToLinalgPass> {
  using ConvertQCToLinalgBase::ConvertQCToLinalgBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (failed(checkLowerable(module)) ||
        failed(unpackConstantWeights(module, packedInt8Activations)))
      return signalPassFailure();

    signlessConstants(module);
    widenSubByteResources(module);
    SmallVector<linalg::LinalgOp> convs;
    module.walk([&](linalg::LinalgOp op) { convs.push_back(op); });
    for (linalg::LinalgOp conv : convs)
      integerConvolution(conv);

    RewritePatternSet patterns(&getContext());
    patterns.add<MatMulLowering>(&getContext(), packedInt8Activations,
                                 int8Mma, f16Products);
    patterns.add<QuantizeLowering, DequantizeLowering,
                 QuantizePerTokenLowering, DecodeLowering,
                 RMSNormLowering, LayerNormLowering,
                 CancelStorageCasts>(&getContext());
    patterns.add<HadamardLowering>(&getContext(), hadamardKernel);
    GreedyRewriteConfig config;
    config.setUseTopDownTraversal(true);
    if (failed(applyPatternsGreedily(module, std::move(patterns), config)))
      return signalPassFailure();

    // Every qc op must be gone; a remaining one failed with a diagnostic.
    WalkResult left = module.walk([](Operation *op) {
      if (isa<QCDialect>(op->getDialect())) {
        op->emitError("could not lower '") << op->getName() << "'";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (left.wasInterrupted())
      return signalPassFailure();

    // A quantized value may remain where storage was viewed as quantized
    // and back (quant.scast chains); constants of quantized storage are
    // already plain. Anything else on quantized tensors is unsupported.
    WalkResult quantLeft = module.walk([](Operation *op) {
      if (isa<quant::StorageCastOp>(op))
        return WalkResult::advance();
      for (Type t : llvm::concat<Type>(op->getOperandTypes(),
                                       op->getResultTypes()))
        if (isQuantizedTensor(t)) {
          op->emitError("unsupported operation on quantized tensors: '")
              << op->getName() << "' (only qc ops lower them)";
          return WalkResult::interrupt();
        }
      return WalkResult::advance();
    });
    if (quantLeft.wasInterrupted())
      return signalPassFailure();
  }
};

} // namespace
