//===- QCOps.cpp - operations of the qc dialect ---------------------------===//
//
// Verifiers, folders and the shape rules shared with the importer. Every
// diagnostic names the operand it is about and the sizes involved.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/IR/QCOps.h"
#include "qc/Numerics/Hadamard.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InterleavedRange.h"

using namespace mlir;
using namespace mlir::qc;

//===----------------------------------------------------------------------===//
// Shared helpers
//===----------------------------------------------------------------------===//

Type mlir::qc::getExpressedElementType(Type type) {
  Type element = type;
  if (auto shaped = dyn_cast<ShapedType>(type))
    element = shaped.getElementType();
  if (isa<FloatType>(element))
    return element;
  if (auto quantized = dyn_cast<quant::QuantizedType>(element))
    return quantized.getExpressedType();
  return {};
}

static std::string formatDim(int64_t dim) {
  return ShapedType::isDynamic(dim) ? std::string("?") : std::to_string(dim);
}

static bool dimsCompatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// Checks that the `!quant` element type of `type` (if it has one) can describe
/// a tensor of that shape: the quantized axis of a per-axis type exists and has
/// one scale per element; a sub-channel type's scales tile the shape exactly.
/// `what` names the operand in the diagnostic ("result", "rhs", ...).
static LogicalResult verifyQuantizedShape(Operation *op, StringRef what,
                                          RankedTensorType type) {
  ArrayRef<int64_t> shape = type.getShape();
  int64_t rank = type.getRank();
  Type element = type.getElementType();

  if (auto perAxis = dyn_cast<quant::UniformQuantizedPerAxisType>(element)) {
    int64_t axis = perAxis.getQuantizedDimension();
    if (axis >= rank)
      return op->emitOpError() << what << " is quantized along axis " << axis
                               << " but has rank " << rank;
    int64_t numScales = perAxis.getScales().size();
    if (!ShapedType::isDynamic(shape[axis]) && shape[axis] != numScales)
      return op->emitOpError()
             << what << " is quantized along axis " << axis << " of size "
             << shape[axis] << " but its type has " << numScales << " scales";
    return success();
  }

  if (auto subChannel =
          dyn_cast<quant::UniformQuantizedSubChannelType>(element)) {
    ArrayRef<int64_t> scaleShape = subChannel.getScales().getType().getShape();
    if (static_cast<int64_t>(scaleShape.size()) != rank)
      return op->emitOpError()
             << what << " has rank " << rank << " but its sub-channel scales "
             << "have rank " << scaleShape.size();
    SmallVector<int64_t> blockSizes(rank, 0);
    for (auto [axis, block] : llvm::zip(subChannel.getQuantizedDimensions(),
                                        subChannel.getBlockSizes())) {
      if (axis >= rank)
        return op->emitOpError()
               << what << " is quantized in blocks along axis " << axis
               << " but has rank " << rank;
      blockSizes[axis] = block;
    }
    for (int64_t d = 0; d < rank; ++d) {
      if (ShapedType::isDynamic(shape[d]))
        continue;
      // Axes without a block size are covered by one block each.
      int64_t block = blockSizes[d] ? blockSizes[d] : shape[d];
      if (block <= 0 || shape[d] % block != 0 ||
          shape[d] / block != scaleShape[d])
        return op->emitOpError()
               << what << " dimension " << d << " of size " << shape[d]
               << " is not covered by " << scaleShape[d] << " blocks of size "
               << block;
    }
  }
  return success();
}

//===----------------------------------------------------------------------===//
// QuantizeOp / DequantizeOp
//===----------------------------------------------------------------------===//

/// Shared checks of qc.quantize and qc.dequantize: same shape, the quantized
/// side's expressed type is the float side's element type, and the quantized
/// type fits the shape.
static LogicalResult verifyQuantizeCast(Operation *op, RankedTensorType floatTy,
                                        StringRef floatName,
                                        RankedTensorType quantTy,
                                        StringRef quantName) {
  if (floatTy.getShape() != quantTy.getShape())
    return op->emitOpError() << "expects " << floatName << " and " << quantName
                             << " to have the same shape, but got " << floatTy
                             << " and " << quantTy;
  auto quantized = cast<quant::QuantizedType>(quantTy.getElementType());
  if (quantized.getExpressedType() != floatTy.getElementType())
    return op->emitOpError()
           << "expects the expressed type of " << quantName << " ("
           << quantized.getExpressedType() << ") to be the element type of "
           << floatName << " (" << floatTy.getElementType() << ")";
  return verifyQuantizedShape(op, quantName, quantTy);
}

LogicalResult QuantizeOp::verify() {
  return verifyQuantizeCast(*this, getInput().getType(), "input",
                            getResult().getType(), "result");
}

OpFoldResult QuantizeOp::fold(FoldAdaptor) {
  // quantize(dequantize(q)) == q when the types agree: (q - z)·s/s rounds back
  // to q - z exactly and q is already within the storage range.
  if (auto dequantize = getInput().getDefiningOp<DequantizeOp>())
    if (dequantize.getInput().getType() == getResult().getType())
      return dequantize.getInput();
  return {};
}

LogicalResult DequantizeOp::verify() {
  return verifyQuantizeCast(*this, getResult().getType(), "result",
                            getInput().getType(), "input");
}

//===----------------------------------------------------------------------===//
// MatMulOp
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<int64_t>>
mlir::qc::inferMatMulShape(ArrayRef<int64_t> lhsShape,
                           ArrayRef<int64_t> rhsShape, bool transposeRhs,
                           std::string *error) {
  auto fail = [&](const std::string &message) {
    if (error)
      *error = message;
    return failure();
  };
  if (lhsShape.empty() || rhsShape.empty())
    return fail("expects lhs and rhs to have rank >= 1");

  // Promote 1-D operands to matrices, remembering which unit dims to drop.
  SmallVector<int64_t> lhs(lhsShape), rhs(rhsShape);
  bool dropM = lhs.size() == 1, dropN = rhs.size() == 1;
  if (dropM)
    lhs.insert(lhs.begin(), 1);
  if (dropN) {
    if (transposeRhs)
      rhs.insert(rhs.begin(), 1);
    else
      rhs.push_back(1);
  }

  size_t lr = lhs.size(), rr = rhs.size();
  int64_t m = lhs[lr - 2], lhsK = lhs[lr - 1];
  int64_t rhsK = transposeRhs ? rhs[rr - 1] : rhs[rr - 2];
  int64_t n = transposeRhs ? rhs[rr - 2] : rhs[rr - 1];
  if (!dimsCompatible(lhsK, rhsK))
    return fail(llvm::formatv("contraction sizes differ: lhs has K = {0}, "
                              "rhs has K = {1}",
                              formatDim(lhsK), formatDim(rhsK))
                    .str());

  // Broadcast the batch dimensions, aligned from the right.
  ArrayRef<int64_t> lhsBatch = ArrayRef(lhs).drop_back(2);
  ArrayRef<int64_t> rhsBatch = ArrayRef(rhs).drop_back(2);
  size_t batchRank = std::max(lhsBatch.size(), rhsBatch.size());
  SmallVector<int64_t> result(batchRank);
  for (size_t i = 0; i < batchRank; ++i) {
    int64_t a = i < batchRank - lhsBatch.size()
                    ? 1
                    : lhsBatch[i - (batchRank - lhsBatch.size())];
    int64_t b = i < batchRank - rhsBatch.size()
                    ? 1
                    : rhsBatch[i - (batchRank - rhsBatch.size())];
    if (a == 1)
      result[i] = b;
    else if (b == 1)
      result[i] = a;
    else if (ShapedType::isDynamic(a))
      result[i] = b;
    else if (ShapedType::isDynamic(b) || a == b)
      result[i] = a;
    else
      return fail(llvm::formatv("batch dimensions do not broadcast: lhs has "
                                "{0} and rhs has {1} at batch position {2}",
                                a, b, i)
                      .str());
  }
  if (!dropM)
    result.push_back(m);
  if (!dropN)
    result.push_back(n);
  return result;
}

LogicalResult MatMulOp::verify() {
  auto lhsTy = getLhs().getType(), rhsTy = getRhs().getType();
  auto resultTy = getResult().getType();

  // All values must express the same float type.
  Type expressed = getExpressedElementType(resultTy);
  auto checkExpressed = [&](Value value, StringRef name) -> LogicalResult {
    Type type = getExpressedElementType(value.getType());
    if (type != expressed)
      return emitOpError() << "expects " << name << " to express " << expressed
                           << " like the result, but it expresses " << type;
    return success();
  };
  if (failed(checkExpressed(getLhs(), "lhs")) ||
      failed(checkExpressed(getRhs(), "rhs")))
    return failure();

  std::string error;
  FailureOr<SmallVector<int64_t>> inferred = inferMatMulShape(
      lhsTy.getShape(), rhsTy.getShape(), getTransposeRhs(), &error);
  if (failed(inferred))
    return emitOpError() << error;
  ArrayRef<int64_t> resultShape = resultTy.getShape();
  if (inferred->size() != resultShape.size() ||
      !llvm::all_of(llvm::zip(*inferred, resultShape), [](auto pair) {
        return dimsCompatible(std::get<0>(pair), std::get<1>(pair));
      }))
    return emitOpError() << "result shape " << resultTy
                         << " is incompatible with the inferred shape ["
                         << llvm::interleaved(
                                llvm::map_range(*inferred, formatDim))
                         << "]";

  if (Value bias = getBias()) {
    if (failed(checkExpressed(bias, "bias")))
      return failure();
    auto biasTy = cast<RankedTensorType>(bias.getType());
    int64_t n =
        rhsTy.getRank() == 1
            ? 1
            : (getTransposeRhs() ? rhsTy.getDimSize(rhsTy.getRank() - 2)
                                 : rhsTy.getDimSize(rhsTy.getRank() - 1));
    if (biasTy.getRank() != 1 || !dimsCompatible(biasTy.getDimSize(0), n))
      return emitOpError() << "expects bias of shape [" << formatDim(n)
                           << "] (one value per output column), but got "
                           << biasTy;
    if (failed(verifyQuantizedShape(*this, "bias", biasTy)))
      return failure();
  }
  if (failed(verifyQuantizedShape(*this, "lhs", lhsTy)) ||
      failed(verifyQuantizedShape(*this, "rhs", rhsTy)) ||
      failed(verifyQuantizedShape(*this, "result", resultTy)))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// RMSNormOp / LayerNormOp
//===----------------------------------------------------------------------===//

/// Shared checks of the normalisations: the result has the input's type,
/// epsilon is positive, axis is within the rank, and each optional parameter
/// (`scale`, `bias`) has the shape input.shape[axis:] and the input's element
/// type.
static LogicalResult verifyNorm(Operation *op, RankedTensorType inputTy,
                                RankedTensorType resultTy, APFloat epsilon,
                                int64_t axis,
                                ArrayRef<std::pair<Value, StringRef>> params) {
  if (inputTy != resultTy)
    return op->emitOpError() << "expects the result type " << resultTy
                             << " to equal the input type " << inputTy;
  if (!(epsilon.convertToDouble() > 0.0))
    return op->emitOpError()
           << "expects epsilon > 0, but got " << epsilon.convertToDouble();
  int64_t rank = inputTy.getRank();
  if (axis < -rank || axis >= rank)
    return op->emitOpError() << "axis " << axis << " is out of range for input "
                             << "of rank " << rank;
  int64_t first = axis < 0 ? axis + rank : axis;
  ArrayRef<int64_t> normShape = inputTy.getShape().drop_front(first);
  for (auto [value, name] : params) {
    if (!value)
      continue;
    auto type = cast<RankedTensorType>(value.getType());
    if (type.getElementType() != inputTy.getElementType())
      return op->emitOpError()
             << "expects " << name << " to have element type "
             << inputTy.getElementType() << ", but got " << type;
    if (type.getRank() != static_cast<int64_t>(normShape.size()) ||
        !llvm::all_of(llvm::zip(type.getShape(), normShape), [](auto pair) {
          return dimsCompatible(std::get<0>(pair), std::get<1>(pair));
        }))
      return op->emitOpError()
             << "expects " << name << " to have the normalised shape ["
             << llvm::interleaved(llvm::map_range(normShape, formatDim))
             << "] (input dimensions from axis " << first << "), but got "
             << type;
  }
  return success();
}

LogicalResult RMSNormOp::verify() {
  return verifyNorm(*this, getInput().getType(), getResult().getType(),
                    getEpsilon(), getAxis(), {{getScale(), "scale"}});
}

LogicalResult LayerNormOp::verify() {
  return verifyNorm(*this, getInput().getType(), getResult().getType(),
                    getEpsilon(), getAxis(),
                    {{getScale(), "scale"}, {getBias(), "bias"}});
}

//===----------------------------------------------------------------------===//
// HadamardOp
//===----------------------------------------------------------------------===//

int64_t HadamardOp::getTransformStride() { return getStride().value_or(1); }

int64_t HadamardOp::getTransformSize() {
  if (std::optional<int64_t> size = getSize())
    return *size;
  int64_t n = getInput().getType().getShape().back();
  int64_t stride = getTransformStride();
  return stride > 0 ? n / stride : n;
}

numerics::PackedLayout mlir::qc::toNumerics(PackedLayoutKind kind) {
  switch (kind) {
  case PackedLayoutKind::Nibbles:
    return numerics::PackedLayout::Nibbles;
  case PackedLayoutKind::VNNI:
    return numerics::PackedLayout::VNNI;
  case PackedLayoutKind::MMA:
    return numerics::PackedLayout::MMA;
  }
  return numerics::PackedLayout::Nibbles;
}

std::pair<int64_t, int64_t> mlir::qc::packedWeightShape(RankedTensorType type,
                                                        int64_t kAxis) {
  return {type.getDimSize(1 - kAxis), type.getDimSize(kAxis)};
}

LogicalResult PackedWeightOp::verify() {
  PackedLayoutAttr layout = getLayout();
  auto bytes = cast<RankedTensorType>(getBytes().getType());
  auto result = cast<RankedTensorType>(getResult().getType());
  if (layout.getKAxis() != 0 && layout.getKAxis() != 1)
    return emitOpError("k_axis must be 0 or 1, but is ") << layout.getKAxis();
  if (result.getRank() != 2 || !result.hasStaticShape())
    return emitOpError("needs a static 2-D result, but got ") << result;
  auto q = cast<quant::QuantizedType>(result.getElementType());
  if (q.getStorageTypeIntegralWidth() != layout.getBits())
    return emitOpError("result storage is ")
           << q.getStorageTypeIntegralWidth() << "-bit but the layout holds "
           << layout.getBits() << "-bit codes";
  auto [n, k] = packedWeightShape(result, layout.getKAxis());
  std::string error = numerics::packedLayoutError(
      toNumerics(layout.getKind()), layout.getBits(), n, k);
  if (!error.empty())
    return emitOpError(error);
  int64_t size = numerics::packedBytes(toNumerics(layout.getKind()),
                                       layout.getBits(), n, k);
  if (bytes.getRank() != 1 || bytes.getDimSize(0) != size)
    return emitOpError("needs ")
           << size << " bytes (tensor<" << size << "xi8>) for a " << n << " x "
           << k << " weight, but got " << bytes;
  return success();
}

LogicalResult DecodeOp::verify() {
  auto codes = cast<RankedTensorType>(getCodes().getType());
  auto scales = cast<RankedTensorType>(getScales().getType());
  auto result = cast<RankedTensorType>(getResult().getType());
  if (!codes.hasStaticShape() || !scales.hasStaticShape())
    return emitOpError("needs static shapes, but got ")
           << codes << " and " << scales;
  if (scales.getRank() != codes.getRank())
    return emitOpError("scales must have the rank of the codes (")
           << codes.getRank() << "), but got " << scales;
  for (int64_t d = 0; d < codes.getRank(); ++d)
    if (scales.getDimSize(d) == 0 ||
        codes.getDimSize(d) % scales.getDimSize(d) != 0)
      return emitOpError("dimension ")
             << d << " of the codes (" << codes.getDimSize(d)
             << ") is not a multiple of that of the scales ("
             << scales.getDimSize(d) << ")";
  if (result.getShape() != codes.getShape())
    return emitOpError("result shape must be that of the codes, but got ")
           << result;
  return success();
}

SmallVector<int64_t> DecodeOp::getBlockSizes() {
  auto codes = cast<RankedTensorType>(getCodes().getType());
  auto scales = cast<RankedTensorType>(getScales().getType());
  SmallVector<int64_t> blocks;
  for (int64_t d = 0; d < codes.getRank(); ++d)
    blocks.push_back(codes.getDimSize(d) / scales.getDimSize(d));
  return blocks;
}

LogicalResult QuantizePerTokenOp::verify() {
  if (getBits() < 2 || getBits() > 16)
    return emitOpError("bits must be between 2 and 16, got ") << getBits();
  if (cast<RankedTensorType>(getInput().getType()).getRank() < 1)
    return emitOpError("input must have rank >= 1 (the last axis is the "
                       "token's vector)");
  return success();
}

LogicalResult HadamardOp::verify() {
  RankedTensorType type = getInput().getType();
  if (type.getRank() < 1)
    return emitOpError() << "expects an input of rank >= 1, but got " << type;
  int64_t n = type.getShape().back();
  if (ShapedType::isDynamic(n))
    return emitOpError() << "expects a static last dimension, but got " << type;
  int64_t stride = getTransformStride();
  if (stride < 1)
    return emitOpError() << "expects stride >= 1, but got " << stride;
  int64_t size = getTransformSize();
  if (size < 1)
    return emitOpError() << "expects size >= 1, but got " << size;
  // Compare before multiplying: size·stride may overflow for hostile input.
  if (size > n || stride > n / size || n % (size * stride) != 0)
    return emitOpError() << "transform size " << size << " times stride "
                         << stride << " does not divide the last dimension "
                         << n;
  if (!numerics::factorHadamardSize(size))
    return emitOpError() << "transform size " << size
                         << " is not supported; supported sizes are "
                         << numerics::describeSupportedHadamardSizes();
  return success();
}

OpFoldResult HadamardOp::fold(FoldAdaptor) {
  int64_t size = getTransformSize();
  if (size == 1)
    return getInput();
  // H·H = I for the symmetric, orthonormal Sylvester matrix (sizes 2^m only;
  // the built-in K×K factors need not be symmetric).
  if (auto inner = getInput().getDefiningOp<HadamardOp>())
    if (numerics::isPowerOfTwo(size) && inner.getTransformSize() == size &&
        inner.getTransformStride() == getTransformStride())
      return inner.getInput();
  return {};
}

//===----------------------------------------------------------------------===//
// ObserveOp
//===----------------------------------------------------------------------===//

/// The statistic of `qc.observe` as a bare keyword: `qc.observe min_max %x
/// ...`.
static ParseResult parseStatisticKeyword(OpAsmParser &parser,
                                         StatisticAttr &statistic) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseKeyword(&keyword))
    return failure();
  std::optional<Statistic> value = symbolizeStatistic(keyword);
  if (!value) {
    InFlightDiagnostic diag = parser.emitError(loc)
                              << "unknown statistic '" << keyword
                              << "'; expected one of: ";
    for (uint32_t i = 0; i <= getMaxEnumValForStatistic(); ++i)
      diag << (i ? ", " : "") << stringifyStatistic(static_cast<Statistic>(i));
    return failure();
  }
  statistic = StatisticAttr::get(parser.getContext(), *value);
  return success();
}

static void printStatisticKeyword(OpAsmPrinter &printer, Operation *,
                                  StatisticAttr statistic) {
  printer << stringifyStatistic(statistic.getValue());
}

LogicalResult ObserveOp::verify() {
  if (getTag().empty())
    return emitOpError() << "expects a non-empty tag";
  bool perChannel = getStatistic() == Statistic::AbsMaxPerChannel ||
                    getStatistic() == Statistic::MeanAbsPerChannel ||
                    getStatistic() == Statistic::Gram;
  std::optional<int64_t> axis = getAxis();
  if (perChannel && !axis)
    return emitOpError() << "statistic '" << stringifyStatistic(getStatistic())
                         << "' needs an axis";
  if (!perChannel && axis)
    return emitOpError() << "statistic '" << stringifyStatistic(getStatistic())
                         << "' takes no axis";
  int64_t rank = getInput().getType().getRank();
  if (axis && (*axis < -rank || *axis >= rank))
    return emitOpError() << "axis " << *axis
                         << " is out of range for input of rank " << rank;
  return success();
}

#define GET_OP_CLASSES
#include "qc/Dialect/QC/IR/QCOps.cpp.inc"
