//===- Quantization.cpp - QuantizeLinear and DequantizeLinear -------------===//
//
// ONNX carries quantized tensors as plain integers next to separate scale and
// zero-point tensors. The importer folds constant parameters into upstream's
// !quant.uniform types (per-tensor, per-axis, blocked = sub-channel):
//
//   QuantizeLinear(x, s, z)   -> qc.quantize x : f32 -> !quant.uniform<...>
//                                quant.scast     : -> iN
//                                tensor.bitcast  : -> uiN   (unsigned types)
//   DequantizeLinear(q, s, z) -> the reverse chain, then qc.dequantize
//
// so that the integer values the ONNX graph sees are unchanged, while a QDQ
// pair becomes qc.quantize -> qc.dequantize once the casts cancel (the
// importer connects them directly and drops the dead casts).
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "qc/Dialect/QC/IR/QCOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::qc;
using namespace mlir::qc::onnx_import;

DenseElementsAttr mlir::qc::onnx_import::constantAttr(Value value) {
  if (!value)
    return {};
  auto constant = value.getDefiningOp<arith::ConstantOp>();
  if (!constant)
    return {};
  if (auto dense = dyn_cast<DenseElementsAttr>(constant.getValue()))
    return dense;
  // Scales and zero points of large layers arrive as resource blobs; they are
  // small next to the weights, so a dense copy is fine.
  std::optional<ArrayRef<char>> raw = getConstantRawData(value);
  auto type = cast<RankedTensorType>(constant.getType());
  bool splat = false;
  if (!raw || !DenseElementsAttr::isValidRawBuffer(type, *raw, splat))
    return {};
  return DenseElementsAttr::getFromRawBuffer(type, *raw);
}

std::optional<ArrayRef<char>>
mlir::qc::onnx_import::getConstantRawData(Value value) {
  if (!value)
    return std::nullopt;
  auto constant = value.getDefiningOp<arith::ConstantOp>();
  if (!constant)
    return std::nullopt;
  if (auto dense = dyn_cast<DenseElementsAttr>(constant.getValue())) {
    if (dense.isSplat() || dense.getElementType().isInteger(1))
      return std::nullopt; // not one element per storage unit
    return dense.getRawData();
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getValue()))
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      return blob->getData();
  return std::nullopt;
}

/// Builds the !quant.uniform element type described by a QuantizeLinear or
/// DequantizeLinear node: `storage` is the ONNX integer element type (iN or
/// uiN), `dataShape` the shape of the quantized tensor.
FailureOr<quant::QuantizedType> mlir::qc::onnx_import::buildQuantizedType(
    NodeContext &nc, Type storage, ArrayRef<int64_t> dataShape,
    unsigned scaleIndex, unsigned zeroPointIndex,
    std::optional<int64_t> axisOverride) {
  auto integer = dyn_cast<IntegerType>(storage);
  if (!integer || integer.getWidth() == 1 || integer.getWidth() > 16) {
    nc.emitError() << "unsupported element type " << storage
                   << " for quantized values (int4/8/16, uint4/8/16 are "
                      "supported, and float8 as arithmetic)";
    return failure();
  }
  bool isSigned = !integer.isUnsigned();
  unsigned width = integer.getWidth();
  Type storageType = IntegerType::get(nc.builder.getContext(), width);
  int64_t min =
      quant::QuantizedType::getDefaultMinimumForInteger(isSigned, width);
  int64_t max =
      quant::QuantizedType::getDefaultMaximumForInteger(isSigned, width);
  unsigned flags = isSigned ? quant::QuantizationFlags::Signed : 0;

  DenseElementsAttr scale = constantAttr(nc.inputs[scaleIndex]);
  if (!scale || !isa<FloatType>(scale.getElementType())) {
    nc.emitError() << "unsupported run-time scale: it must be a float "
                      "constant (dynamic quantization is "
                      "DynamicQuantizeLinear)";
    return failure();
  }
  Type expressed = scale.getElementType();
  SmallVector<double> scales;
  for (const APFloat &v : scale.getValues<APFloat>()) {
    double s = v.convertToDouble();
    if (!(s > 0) || !std::isfinite(s)) {
      nc.emitError() << "scale " << s << " is not a positive finite number";
      return failure();
    }
    scales.push_back(s);
  }
  SmallVector<int64_t> zeroPoints(scales.size(), 0);
  if (nc.hasInput(zeroPointIndex)) {
    std::optional<SmallVector<int64_t>> zp =
        getConstantIntValues(nc.inputs[zeroPointIndex]);
    if (!zp) {
      nc.emitError() << "unsupported run-time zero point: it must be a "
                        "constant";
      return failure();
    }
    if (zp->size() != scales.size()) {
      nc.emitError() << "zero point has " << zp->size()
                     << " values but scale has " << scales.size();
      return failure();
    }
    for (int64_t z : *zp)
      if (z < min || z > max) {
        nc.emitError() << "zero point " << z
                       << " is outside the storage range [" << min << ", "
                       << max << "]";
        return failure();
      }
    zeroPoints = *zp;
  }

  int64_t rank = dataShape.size();
  int64_t blockSize = nc.intAttr("block_size", 0);
  ArrayRef<int64_t> scaleShape = scale.getType().getShape();
  auto axisOf = [&]() -> FailureOr<int64_t> {
    int64_t axis = axisOverride ? *axisOverride : nc.intAttr("axis", 1);
    if (axis < -rank || axis >= rank) {
      nc.emitError() << "axis " << axis << " is out of range for rank " << rank;
      return failure();
    }
    return axis < 0 ? axis + rank : axis;
  };

  if (blockSize == 0 && scale.getNumElements() == 1 && scaleShape.size() <= 1)
    return cast<quant::QuantizedType>(quant::UniformQuantizedType::get(
        flags, storageType, expressed, scales[0], zeroPoints[0], min, max));

  FailureOr<int64_t> axis = axisOf();
  if (failed(axis))
    return failure();
  int64_t dim = dataShape[*axis];
  if (blockSize == 0) {
    if (scaleShape.size() != 1 ||
        (!ShapedType::isDynamic(dim) && scaleShape[0] != dim)) {
      nc.emitError() << "per-axis scale of shape [" << scaleShape
                     << "] does not match dimension " << *axis << " of size "
                     << dim;
      return failure();
    }
    return cast<quant::QuantizedType>(quant::UniformQuantizedPerAxisType::get(
        flags, storageType, expressed, scales, zeroPoints, *axis, min, max));
  }

  // Blocked (opset 21): the scale has the data's shape with ceil(D/B) on the
  // axis. !quant.uniform sub-channel types need whole blocks.
  if (blockSize < 0 || ShapedType::isDynamic(dim)) {
    nc.emitError() << "unsupported block_size " << blockSize
                   << " on a dimension of size " << dim;
    return failure();
  }
  if (dim % blockSize != 0) {
    nc.emitError() << "unsupported partial block: dimension " << *axis
                   << " of size " << dim << " is not a multiple of block_size "
                   << blockSize;
    return failure();
  }
  SmallVector<int64_t> expectedShape(dataShape);
  expectedShape[*axis] = dim / blockSize;
  if (ArrayRef<int64_t>(expectedShape) != scaleShape) {
    nc.emitError() << "blocked scale of shape [" << scaleShape
                   << "] does not match [" << expectedShape << "]";
    return failure();
  }
  // The scale constant already has the sub-channel layout: the data's shape
  // with ceil(D/B) on the axis.
  auto zpType = RankedTensorType::get(scaleShape, storageType);
  SmallVector<APInt> zpValues;
  for (int64_t z : zeroPoints)
    zpValues.push_back(APInt(width, uint64_t(z), /*isSigned=*/true,
                             /*implicitTrunc=*/true));
  SmallVector<int32_t> quantizedDims;
  SmallVector<int64_t> blockSizes;
  for (int64_t d = 0; d < rank; ++d) {
    quantizedDims.push_back(d);
    blockSizes.push_back(d == *axis ? blockSize : 1);
  }
  return cast<quant::QuantizedType>(quant::UniformQuantizedSubChannelType::get(
      flags, storageType, expressed, scale,
      DenseElementsAttr::get(zpType, zpValues), quantizedDims, blockSizes, min,
      max));
}

Value mlir::qc::onnx_import::viewAsQuantized(
    NodeContext &nc, Value value, quant::QuantizedType quantElement) {
  auto type = cast<RankedTensorType>(value.getType());
  Type storage = quantElement.getStorageType();
  if (type.getElementType() != storage)
    value = tensor::BitcastOp::create(
        nc.builder, nc.loc, RankedTensorType::get(type.getShape(), storage),
        value);
  return quant::StorageCastOp::create(
      nc.builder, nc.loc, RankedTensorType::get(type.getShape(), quantElement),
      value);
}

Value mlir::qc::onnx_import::viewAsOnnxInteger(NodeContext &nc, Value value,
                                               Type onnxElement) {
  auto type = cast<RankedTensorType>(value.getType());
  if (auto q = dyn_cast<quant::QuantizedType>(type.getElementType()))
    value = quant::StorageCastOp::create(
        nc.builder, nc.loc,
        RankedTensorType::get(type.getShape(), q.getStorageType()), value);
  if (getElementTypeOrSelf(value.getType()) == onnxElement)
    return value;
  return tensor::BitcastOp::create(
      nc.builder, nc.loc, RankedTensorType::get(type.getShape(), onnxElement),
      value);
}

namespace {

/// True when the scale (and zero point, if any) are constants, so the
/// parameters fit into a !quant.uniform type.
bool hasConstantParameters(NodeContext &nc) {
  return constantAttr(nc.inputs[1]) &&
         (!nc.hasInput(2) || constantAttr(nc.inputs[2]));
}

/// Brings a run-time scale or zero point to the data's rank: a scalar stays
/// (it broadcasts), a 1-D per-axis parameter becomes [1, .., C, .., 1].
FailureOr<Value> alignParameter(NodeContext &nc, Value param, int64_t rank) {
  auto type = cast<RankedTensorType>(param.getType());
  if (type.getRank() == 0 || (type.getRank() == 1 && type.getDimSize(0) == 1))
    return param;
  if (nc.intAttr("block_size", 0) != 0 || type.getRank() != 1) {
    nc.emitError() << "unsupported run-time blocked quantization parameters";
    return failure();
  }
  int64_t axis = nc.intAttr("axis", 1);
  if (axis < -rank || axis >= rank) {
    nc.emitError() << "axis " << axis << " is out of range for rank " << rank;
    return failure();
  }
  return expandAlongAxis(nc.builder, nc.loc, param, rank,
                         axis < 0 ? axis + rank : axis);
}

/// A uiN tensor viewed as signless iN (arith works on signless integers).
Value asSignless(NodeContext &nc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  auto integer = dyn_cast<IntegerType>(type.getElementType());
  if (!integer || integer.isSignless())
    return value;
  return tensor::BitcastOp::create(
      nc.builder, nc.loc,
      RankedTensorType::get(
          type.getShape(),
          IntegerType::get(nc.builder.getContext(), integer.getWidth())),
      value);
}

/// QuantizeLinear/DequantizeLinear with run-time parameters: the ONNX formulas
/// as element-wise arithmetic (round half to even, saturate), no !quant type.
LogicalResult convertRuntimeQuantization(NodeContext &nc, bool quantize,
                                         Type onnxInteger,
                                         SmallVectorImpl<Value> &results) {
  Value x = nc.inputs[0];
  auto xTy = cast<RankedTensorType>(x.getType());
  auto integer = dyn_cast<IntegerType>(onnxInteger);
  if (!integer || integer.getWidth() == 1 || integer.getWidth() > 16)
    return nc.emitError() << "unsupported element type " << onnxInteger
                          << " for quantized values";
  bool isSigned = !integer.isUnsigned();
  unsigned width = integer.getWidth();
  Type floatType = getElementTypeOrSelf(nc.inputs[1].getType());
  if (!isa<FloatType>(floatType))
    return nc.emitError() << "expects a float scale, but got "
                          << nc.inputs[1].getType();
  SmallVector<Value> operands = {asSignless(nc, x)};
  FailureOr<Value> scale = alignParameter(nc, nc.inputs[1], xTy.getRank());
  if (failed(scale))
    return failure();
  operands.push_back(*scale);
  if (nc.hasInput(2)) {
    FailureOr<Value> zp =
        alignParameter(nc, asSignless(nc, nc.inputs[2]), xTy.getRank());
    if (failed(zp))
      return failure();
    operands.push_back(*zp);
  }
  bool hasZeroPoint = operands.size() == 3;
  Type storage = IntegerType::get(nc.builder.getContext(), width);
  auto toFloat = [&](OpBuilder &b, Location l, Value v) -> Value {
    return isSigned ? arith::SIToFPOp::create(b, l, floatType, v).getResult()
                    : arith::UIToFPOp::create(b, l, floatType, v).getResult();
  };
  Value result;
  if (quantize) {
    if (xTy.getElementType() != floatType)
      return nc.emitError() << "unsupported mix of input " << xTy
                            << " and scale type " << floatType;
    double lo = double(
        quant::QuantizedType::getDefaultMinimumForInteger(isSigned, width));
    double hi = double(
        quant::QuantizedType::getDefaultMaximumForInteger(isSigned, width));
    result = buildBroadcastGeneric(
        nc.builder, nc.loc, operands,
        RankedTensorType::get(xTy.getShape(), storage),
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value v = arith::DivFOp::create(b, l, args[0], args[1]);
          v = math::RoundEvenOp::create(b, l, v);
          if (hasZeroPoint)
            v = arith::AddFOp::create(b, l, v, toFloat(b, l, args[2]));
          Value loV =
              arith::ConstantOp::create(b, l, b.getFloatAttr(floatType, lo));
          Value hiV =
              arith::ConstantOp::create(b, l, b.getFloatAttr(floatType, hi));
          v = arith::MaximumFOp::create(b, l, v, loV);
          v = arith::MinimumFOp::create(b, l, v, hiV);
          return isSigned
                     ? arith::FPToSIOp::create(b, l, storage, v).getResult()
                     : arith::FPToUIOp::create(b, l, storage, v).getResult();
        });
    results.push_back(viewAsOnnxInteger(nc, result, onnxInteger));
    return success();
  }
  result = buildBroadcastGeneric(
      nc.builder, nc.loc, operands,
      RankedTensorType::get(xTy.getShape(), floatType),
      [&](OpBuilder &b, Location l, ValueRange args) -> Value {
        Value v = toFloat(b, l, args[0]);
        if (hasZeroPoint)
          v = arith::SubFOp::create(b, l, v, toFloat(b, l, args[2]));
        return arith::MulFOp::create(b, l, v, args[1]);
      });
  results.push_back(result);
  return success();
}

/// The largest finite value of a float8 type (the saturation bound).
double float8Max(FloatType type) {
  return APFloat::getLargest(type.getFloatSemantics()).convertToDouble();
}

/// QuantizeLinear/DequantizeLinear to or from float8 (E4M3FN, E4M3FNUZ,
/// E5M2, E5M2FNUZ): the ONNX formulas as element-wise arithmetic, since
/// !quant.uniform has no float storage. Quantize: x / scale, clamped to the
/// type's largest finite value when `saturate` (default 1), then arith.truncf
/// (round to nearest even). Dequantize: extf, times scale. The zero point of a
/// float8 type must be zero; per-tensor and per-axis scales.
LogicalResult convertFloat8Quantization(NodeContext &nc, bool quantize,
                                        FloatType f8,
                                        SmallVectorImpl<Value> &results) {
  Value x = nc.inputs[0];
  auto xTy = cast<RankedTensorType>(x.getType());
  if (nc.intAttr("block_size", 0) != 0)
    return nc.emitError() << "unsupported blocked float8 quantization";
  if (nc.hasInput(2)) {
    DenseElementsAttr zp = constantAttr(nc.inputs[2]);
    if (!zp || !llvm::all_of(zp.getValues<APFloat>(),
                             [](const APFloat &v) { return v.isZero(); }))
      return nc.emitError() << "unsupported float8 zero point: it must be a "
                               "constant zero";
  }
  Type floatType = getElementTypeOrSelf(nc.inputs[1].getType());
  if (!isa<FloatType>(floatType))
    return nc.emitError() << "expects a float scale, but got "
                          << nc.inputs[1].getType();
  FailureOr<Value> scale = alignParameter(nc, nc.inputs[1], xTy.getRank());
  if (failed(scale))
    return failure();
  if (quantize) {
    if (xTy.getElementType() != floatType)
      return nc.emitError() << "unsupported mix of input " << xTy
                            << " and scale type " << floatType;
    bool saturate = nc.intAttr("saturate", 1) != 0;
    double bound = float8Max(f8);
    results.push_back(buildBroadcastGeneric(
        nc.builder, nc.loc, {x, *scale},
        RankedTensorType::get(xTy.getShape(), f8),
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value v = arith::DivFOp::create(b, l, args[0], args[1]);
          if (saturate) {
            Value hi = arith::ConstantOp::create(
                b, l, b.getFloatAttr(floatType, bound));
            Value lo = arith::ConstantOp::create(
                b, l, b.getFloatAttr(floatType, -bound));
            v = arith::MaximumFOp::create(b, l, v, lo);
            v = arith::MinimumFOp::create(b, l, v, hi);
          }
          return arith::TruncFOp::create(b, l, f8, v);
        }));
    return success();
  }
  results.push_back(buildBroadcastGeneric(
      nc.builder, nc.loc, {x, *scale},
      RankedTensorType::get(xTy.getShape(), floatType),
      [&](OpBuilder &b, Location l, ValueRange args) -> Value {
        Value v = arith::ExtFOp::create(b, l, floatType, args[0]);
        return arith::MulFOp::create(b, l, v, args[1]);
      }));
  return success();
}

bool isFloat8(Type type) {
  return isa<Float8E4M3FNType, Float8E4M3FNUZType, Float8E5M2Type,
             Float8E5M2FNUZType>(type);
}

LogicalResult convertQuantizeLinear(NodeContext &nc,
                                    SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x) || failed(nc.input(1)))
    return failure();
  auto xTy = cast<RankedTensorType>(x->getType());
  // The output type: the zero point's, else output_dtype, else uint8.
  Type onnxElement;
  if (nc.hasInput(2))
    onnxElement = getElementTypeOrSelf(nc.inputs[2].getType());
  else if (int64_t dtype = nc.intAttr("output_dtype", 0))
    onnxElement = convertElementType(dtype, nc.builder.getContext());
  else
    onnxElement =
        IntegerType::get(nc.builder.getContext(), 8, IntegerType::Unsigned);
  if (!onnxElement)
    return nc.emitError() << "unsupported output_dtype";
  if (isFloat8(onnxElement))
    return convertFloat8Quantization(nc, /*quantize=*/true,
                                     cast<FloatType>(onnxElement), results);
  if (!hasConstantParameters(nc))
    return convertRuntimeQuantization(nc, /*quantize=*/true, onnxElement,
                                      results);
  FailureOr<quant::QuantizedType> qType =
      buildQuantizedType(nc, onnxElement, xTy.getShape(), 1, 2);
  if (failed(qType))
    return failure();
  if (qType->getExpressedType() != xTy.getElementType())
    return nc.emitError() << "unsupported mix of input " << xTy
                          << " and scale type " << qType->getExpressedType();
  auto quantTensor = RankedTensorType::get(xTy.getShape(), *qType);
  Value q = QuantizeOp::create(nc.builder, nc.loc, quantTensor, *x);
  results.push_back(viewAsOnnxInteger(nc, q, onnxElement));
  return success();
}

/// If `value` is the integer view of a qc.quantize result of type `qType`
/// (the chain QuantizeLinear builds), returns that result.
Value findQuantized(Value value, Type quantTensor) {
  if (auto bitcast = value.getDefiningOp<tensor::BitcastOp>())
    value = bitcast.getSource();
  if (auto scast = value.getDefiningOp<quant::StorageCastOp>())
    if (scast.getInput().getType() == quantTensor)
      return scast.getInput();
  return {};
}

LogicalResult convertDequantizeLinear(NodeContext &nc,
                                      SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x) || failed(nc.input(1)))
    return failure();
  auto xTy = cast<RankedTensorType>(x->getType());
  if (nc.hasInput(2) &&
      getElementTypeOrSelf(nc.inputs[2].getType()) != xTy.getElementType())
    return nc.emitError() << "zero point type "
                          << getElementTypeOrSelf(nc.inputs[2].getType())
                          << " differs from the input's "
                          << xTy.getElementType();
  if (isFloat8(xTy.getElementType()))
    return convertFloat8Quantization(nc, /*quantize=*/false,
                                     cast<FloatType>(xTy.getElementType()),
                                     results);
  if (!hasConstantParameters(nc))
    return convertRuntimeQuantization(nc, /*quantize=*/false,
                                      xTy.getElementType(), results);
  FailureOr<quant::QuantizedType> qType =
      buildQuantizedType(nc, xTy.getElementType(), xTy.getShape(), 1, 2);
  if (failed(qType))
    return failure();
  auto quantTensor = RankedTensorType::get(xTy.getShape(), *qType);
  Value q = findQuantized(*x, quantTensor);
  if (!q) {
    Value storage = *x;
    Type storageElement = qType->getStorageType();
    if (xTy.getElementType() != storageElement)
      storage = tensor::BitcastOp::create(
          nc.builder, nc.loc,
          RankedTensorType::get(xTy.getShape(), storageElement), storage);
    q = quant::StorageCastOp::create(nc.builder, nc.loc, quantTensor, storage);
  }
  auto resultType =
      RankedTensorType::get(xTy.getShape(), qType->getExpressedType());
  results.push_back(DequantizeOp::create(nc.builder, nc.loc, resultType, q));
  return success();
}

} // namespace

void mlir::qc::onnx_import::addQuantizationConverters(
    llvm::StringMap<OpConverter> &table) {
  table["::QuantizeLinear"] = convertQuantizeLinear;
  table["::DequantizeLinear"] = convertDequantizeLinear;
}
