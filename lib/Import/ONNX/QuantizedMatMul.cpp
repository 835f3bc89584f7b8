//===- QuantizedMatMul.cpp - QLinearMatMul, MatMulInteger, MatMulNBits ----===//
//
// The quantized products of pre-quantized models, onto qc.matmul with
// !quant.uniform operands where their semantics are those of dequantize ->
// float product -> quantize:
//
//   QLinearMatMul:  y = saturate(round((a-az)(b-bz)·as·bs/ys) + yz)
//                   = qc.matmul(a : !quant<as,az>, b : !quant<bs,bz>)
//                       -> !quant<ys,yz>          (REFERENCES: ONNX operators)
//   MatMulNBits:    Y = A · dequant(B)ᵀ (+ bias), B packed along K, low bits
//                   first = qc.matmul(A, W : [N, K] x !quant<u4/u8, groups>)
//                       {transpose_rhs}
//
// MatMulInteger's int32 result is an exact integer product, kept as integer
// arithmetic (linalg.matmul on i32).
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/IR/Int8Contraction.h"
#include "Importer.h"

#include "qc/Dialect/QC/IR/QCOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::qc;
using namespace mlir::qc::onnx_import;

namespace {

LogicalResult convertQLinearMatMul(NodeContext &nc,
                                   SmallVectorImpl<Value> &results) {
  for (unsigned i = 0; i < 8; ++i)
    if (failed(nc.input(i)))
      return failure();
  Value a = nc.inputs[0], b = nc.inputs[3];
  auto aTy = cast<RankedTensorType>(a.getType());
  auto bTy = cast<RankedTensorType>(b.getType());
  if (aTy.getRank() < 1 || bTy.getRank() < 1)
    return nc.emitError() << "expects operands of rank >= 1";
  Type yElement = getElementTypeOrSelf(nc.inputs[7].getType());
  std::string error;
  FailureOr<SmallVector<int64_t>> shape = inferMatMulShape(
      aTy.getShape(), bTy.getShape(), /*transposeRhs=*/false, &error);
  if (failed(shape))
    return nc.emitError() << error;
  // a is per-tensor or per-row (axis rank-2), b per-tensor or per-column
  // (its last axis).
  FailureOr<quant::QuantizedType> aQ =
      buildQuantizedType(nc, aTy.getElementType(), aTy.getShape(), 1, 2,
                         std::max<int64_t>(0, aTy.getRank() - 2));
  FailureOr<quant::QuantizedType> bQ = buildQuantizedType(
      nc, bTy.getElementType(), bTy.getShape(), 4, 5, bTy.getRank() - 1);
  FailureOr<quant::QuantizedType> yQ =
      buildQuantizedType(nc, yElement, *shape, 6, 7);
  if (failed(aQ) || failed(bQ) || failed(yQ))
    return failure();
  if (aQ->getExpressedType() != bQ->getExpressedType() ||
      aQ->getExpressedType() != yQ->getExpressedType())
    return nc.emitError() << "unsupported mix of scale types";
  auto resultType = RankedTensorType::get(*shape, *yQ);
  Value product = MatMulOp::create(
      nc.builder, nc.loc, resultType, viewAsQuantized(nc, a, *aQ),
      viewAsQuantized(nc, b, *bQ), Value(), UnitAttr());
  results.push_back(viewAsOnnxInteger(nc, product, yElement));
  return success();
}

} // namespace

FailureOr<Value>
mlir::qc::onnx_import::centeredInt32(NodeContext &nc, Value value,
                                     unsigned zpIndex,
                                     std::optional<int64_t> zpAxis) {
  auto type = cast<RankedTensorType>(value.getType());
  auto integer = dyn_cast<IntegerType>(type.getElementType());
  if (!integer || integer.getWidth() != 8) {
    nc.emitError() << "unsupported element type in " << type
                   << " (expects int8 or uint8)";
    return failure();
  }
  bool isUnsigned = integer.isUnsigned();
  Type i8 = nc.builder.getI8Type(), i32 = nc.builder.getI32Type();
  if (isUnsigned)
    value = tensor::BitcastOp::create(
        nc.builder, nc.loc, RankedTensorType::get(type.getShape(), i8), value);
  SmallVector<Value> operands = {value};
  if (nc.hasInput(zpIndex)) {
    auto zpType = cast<RankedTensorType>(nc.inputs[zpIndex].getType());
    bool perAxis = zpAxis && zpType.getRank() == 1 &&
                   zpType.getDimSize(0) == type.getDimSize(*zpAxis);
    if (zpType.getNumElements() != 1 && !perAxis)
      return nc.emitError() << "unsupported zero point " << zpType
                            << (zpAxis ? " (expects one value or one per "
                                         "output channel)"
                                       : " (expects one value)");
    if (zpType.getElementType() != type.getElementType())
      return nc.emitError() << "zero point type " << zpType
                            << " differs from the input's " << type;
    Value zp = nc.inputs[zpIndex];
    if (isUnsigned)
      zp = tensor::BitcastOp::create(
          nc.builder, nc.loc, RankedTensorType::get(zpType.getShape(), i8), zp);
    if (perAxis)
      zp = expandAlongAxis(nc.builder, nc.loc, zp, type.getRank(), *zpAxis);
    else
      zp = expandToRank(nc.builder, nc.loc, zp, type.getRank());
    operands.push_back(zp);
  }
  return buildBroadcastGeneric(
      nc.builder, nc.loc, operands, RankedTensorType::get(type.getShape(), i32),
      [&](OpBuilder &b, Location l, ValueRange args) -> Value {
        auto widen = [&](Value v) -> Value {
          return isUnsigned ? arith::ExtUIOp::create(b, l, i32, v).getResult()
                            : arith::ExtSIOp::create(b, l, i32, v).getResult();
        };
        Value v = widen(args[0]);
        if (args.size() > 1)
          v = arith::SubIOp::create(b, l, v, widen(args[1]));
        return v;
      });
}

namespace {

LogicalResult convertMatMulInteger(NodeContext &nc,
                                   SmallVectorImpl<Value> &results) {
  FailureOr<Value> a = nc.input(0), b = nc.input(1);
  if (failed(a) || failed(b))
    return failure();
  auto aTy = cast<RankedTensorType>(a->getType());
  auto bTy = cast<RankedTensorType>(b->getType());
  if (aTy.getRank() != 2 || bTy.getRank() != 2)
    return nc.emitError() << "unsupported operand ranks " << aTy.getRank()
                          << " and " << bTy.getRank() << " (2-D only)";
  std::string error;
  FailureOr<SmallVector<int64_t>> shape =
      inferMatMulShape(aTy.getShape(), bTy.getShape(), false, &error);
  if (failed(shape))
    return nc.emitError() << error;
  FailureOr<Value> a32 = centeredInt32(nc, *a, 2, /*zpAxis=*/0);
  FailureOr<Value> b32 = centeredInt32(nc, *b, 3, /*zpAxis=*/1);
  if (failed(a32) || failed(b32))
    return failure();
  Type i32 = nc.builder.getI32Type();
  auto resultType = RankedTensorType::get(*shape, i32);
  SmallVector<Value> dynamicSizes;
  if (resultType.isDynamicDim(0))
    dynamicSizes.push_back(tensor::DimOp::create(nc.builder, nc.loc, *a, 0));
  if (resultType.isDynamicDim(1))
    dynamicSizes.push_back(tensor::DimOp::create(nc.builder, nc.loc, *b, 1));
  Value empty =
      tensor::EmptyOp::create(nc.builder, nc.loc, *shape, i32, dynamicSizes);
  Value zero = arith::ConstantOp::create(nc.builder, nc.loc,
                                         nc.builder.getI32IntegerAttr(0));
  Value init =
      linalg::FillOp::create(nc.builder, nc.loc, zero, empty).getResult(0);
  // Which codes are signed, for the int8 kernels
  // (qc-vectorize-int8-contractions).
  auto isSigned = [](Value v) {
    return !getElementTypeOrSelf(v.getType()).isUnsignedInteger();
  };
  linalg::GenericOp product =
      buildInt8Contraction(nc.builder, nc.loc, *a32, *b32,
                           /*transposeRhs=*/false, init, isSigned(*a),
                           isSigned(*b));
  results.push_back(product.getResult(0));
  return success();
}

/// Bit `bits`-wide unsigned value `index` of a little-endian packed buffer.
uint8_t packedValue(ArrayRef<uint8_t> bytes, int64_t index, int bits) {
  if (bits == 8)
    return bytes[index];
  uint8_t byte = bytes[index / 2];
  return index % 2 == 0 ? (byte & 0x0F) : (byte >> 4);
}

LogicalResult convertMatMulNBits(NodeContext &nc,
                                 SmallVectorImpl<Value> &results) {
  if (nc.hasInput(4))
    return nc.emitError() << "unsupported g_idx input (deprecated): "
                             "re-export the model without act-order indices";
  FailureOr<Value> a = nc.input(0);
  if (failed(a) || failed(nc.input(1)) || failed(nc.input(2)))
    return failure();
  int64_t k = nc.intAttr("K", 0), n = nc.intAttr("N", 0);
  int64_t bits = nc.intAttr("bits", 4), blockSize = nc.intAttr("block_size", 0);
  if (bits != 4 && bits != 8)
    return nc.emitError() << "unsupported bits " << bits << " (4 and 8 are)";
  if (k <= 0 || n <= 0 || blockSize < 16 || (blockSize & (blockSize - 1)))
    return nc.emitError() << "invalid K " << k << ", N " << n
                          << " or block_size " << blockSize
                          << " (a power of two >= 16)";
  if (k % blockSize != 0)
    return nc.emitError() << "unsupported partial block: K " << k
                          << " is not a multiple of block_size " << blockSize;
  int64_t blocks = k / blockSize;
  auto aTy = cast<RankedTensorType>(a->getType());
  Type expressed = aTy.getElementType();
  if (!isa<FloatType>(expressed) || aTy.getRank() < 1 ||
      (!aTy.isDynamicDim(aTy.getRank() - 1) &&
       aTy.getDimSize(aTy.getRank() - 1) != k))
    return nc.emitError() << "expects A of float type with last dimension K = "
                          << k << ", but got " << aTy;

  int64_t blobSize = blockSize * bits / 8;
  std::optional<ArrayRef<char>> packed = getConstantRawData(nc.inputs[1]);
  if (!packed || int64_t(packed->size()) != n * blocks * blobSize ||
      !getElementTypeOrSelf(nc.inputs[1].getType()).isInteger(8))
    return nc.emitError() << "B must be a constant uint8 tensor of "
                          << n * blocks * blobSize << " bytes ([N, "
                          << "k_blocks, block_size*bits/8])";
  DenseElementsAttr scales = constantAttr(nc.inputs[2]);
  if (!scales || scales.getElementType() != expressed ||
      scales.getNumElements() != n * blocks)
    return nc.emitError() << "scales must be a constant of " << n * blocks
                          << " values of A's element type " << expressed;
  ArrayRef<uint8_t> bytes(reinterpret_cast<const uint8_t *>(packed->data()),
                          packed->size());

  // Zero points: packed like B (default 2^(bits-1)).
  SmallVector<int64_t> zeroPoints(n * blocks, int64_t(1) << (bits - 1));
  if (nc.hasInput(3)) {
    DenseElementsAttr zp = constantAttr(nc.inputs[3]);
    if (!zp || !zp.getElementType().isInteger(8))
      return nc.emitError() << "unsupported zero_points: only constant packed "
                               "uint8 zero points are supported";
    int64_t perRow = (blocks * bits + 7) / 8;
    if (zp.getNumElements() != n * perRow)
      return nc.emitError() << "zero_points has " << zp.getNumElements()
                            << " bytes, expected " << n * perRow;
    SmallVector<uint8_t> zpBytes;
    for (const APInt &v : zp.getValues<APInt>())
      zpBytes.push_back(static_cast<uint8_t>(v.getZExtValue()));
    for (int64_t row = 0; row < n; ++row)
      for (int64_t blk = 0; blk < blocks; ++blk)
        zeroPoints[row * blocks + blk] = packedValue(
            ArrayRef(zpBytes).slice(row * perRow, perRow), blk, bits);
  }

  // Unpack B into an [N, K] tensor of iN storage (one value per byte, MLIR's
  // dense layout), holding the unsigned codes 0 .. 2^bits - 1. Large weights
  // become a resource blob, never a vector of APInts.
  MLIRContext *ctx = nc.builder.getContext();
  Type storage = IntegerType::get(ctx, bits);
  std::vector<char> unpacked(size_t(n) * size_t(k));
  for (int64_t row = 0; row < n; ++row)
    for (int64_t col = 0; col < k; ++col) {
      int64_t blk = col / blockSize, within = col % blockSize;
      ArrayRef<uint8_t> blob =
          ArrayRef(bytes).slice((row * blocks + blk) * blobSize, blobSize);
      uint8_t code = packedValue(blob, within, bits);
      // Sign-extend the i4 bit pattern as MLIR's dense storage expects.
      unpacked[row * k + col] =
          static_cast<char>(bits == 4 && (code & 0x8) ? (code | 0xF0) : code);
    }
  auto storageType = RankedTensorType::get({n, k}, storage);
  std::string name =
      nc.node.input(1).empty() ? "matmulnbits_weight" : nc.node.input(1);
  Value weight = arith::ConstantOp::create(
      nc.builder, nc.loc,
      cast<TypedAttr>(buildElementsAttr(storageType, unpacked, name)));

  auto scaleType = RankedTensorType::get({n, blocks}, expressed);
  auto zpType = RankedTensorType::get({n, blocks}, storage);
  SmallVector<APInt> zpValues;
  for (int64_t z : zeroPoints)
    zpValues.push_back(APInt(bits, uint64_t(z)));
  auto quantType = quant::UniformQuantizedSubChannelType::get(
      /*flags=*/0, storage, expressed, scales.reshape(scaleType),
      DenseElementsAttr::get(zpType, zpValues), {0, 1}, {1, blockSize}, 0,
      (int64_t(1) << bits) - 1);
  Value quantized = quant::StorageCastOp::create(
      nc.builder, nc.loc, RankedTensorType::get({n, k}, quantType), weight);

  Value bias;
  if (nc.hasInput(5)) {
    bias = nc.inputs[5];
    auto biasTy = cast<RankedTensorType>(bias.getType());
    if (biasTy.getRank() != 1 || biasTy.getDimSize(0) != n ||
        biasTy.getElementType() != expressed)
      return nc.emitError()
             << "expects bias of type " << RankedTensorType::get({n}, expressed)
             << ", but got " << biasTy;
  }
  std::string error;
  FailureOr<SmallVector<int64_t>> shape =
      inferMatMulShape(aTy.getShape(), {n, k}, /*transposeRhs=*/true, &error);
  if (failed(shape))
    return nc.emitError() << error;
  results.push_back(MatMulOp::create(
      nc.builder, nc.loc, RankedTensorType::get(*shape, expressed), *a,
      quantized, bias, nc.builder.getUnitAttr()));
  return success();
}

} // namespace

void mlir::qc::onnx_import::addQuantizedMatMulConverters(
    llvm::StringMap<OpConverter> &table) {
  table["::QLinearMatMul"] = convertQLinearMatMul;
  table["::MatMulInteger"] = convertMatMulInteger;
  table["com.microsoft::MatMulNBits"] = convertMatMulNBits;
}
