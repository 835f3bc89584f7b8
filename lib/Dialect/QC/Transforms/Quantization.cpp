//===- Quantization.cpp - what the quantization passes share ---------------===//
//
// Node names, the keep-float option, and which ops are quantizable layers.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/Quantization.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cstring>

using namespace mlir;
using namespace mlir::qc;

std::string mlir::qc::getNodeName(Location loc) {
  std::string name;
  loc->walk([&](Location inner) {
    if (auto named = dyn_cast<NameLoc>(inner)) {
      name = named.getName().str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return name;
}

LogicalResult mlir::qc::KeepFloat::init(Operation *root, llvm::StringRef pass,
                                        llvm::StringRef pattern) {
  if (pattern.empty())
    return success();
  regex.emplace(("^(" + pattern + ")$").str());
  std::string error;
  if (!regex->isValid(error))
    return root->emitError() << pass << ": invalid regular expression '"
                             << pattern << "' for keep-float: " << error;
  return success();
}

bool mlir::qc::KeepFloat::matches(Operation *op) const {
  return regex && regex->match(getNodeName(op->getLoc()));
}

bool mlir::qc::hasQuantizableWeight(MatMulOp op) {
  auto lhsType = cast<RankedTensorType>(op.getLhs().getType());
  auto rhsType = cast<RankedTensorType>(op.getRhs().getType());
  return isa<FloatType>(lhsType.getElementType()) &&
         isa<FloatType>(op.getResult().getType().getElementType()) &&
         rhsType.getRank() == 2 && rhsType.getElementType().isF32() &&
         rhsType.hasStaticShape() &&
         op.getRhs().getDefiningOp<arith::ConstantOp>();
}

bool mlir::qc::isQuantizableConv(Operation *op) {
  if (!isa<linalg::Conv1DNcwFcwOp, linalg::Conv2DNchwFchwOp>(op))
    return false;
  auto input = dyn_cast<RankedTensorType>(op->getOperand(0).getType());
  auto weight = dyn_cast<RankedTensorType>(op->getOperand(1).getType());
  return input && weight && input.getElementType().isF32() &&
         weight.getElementType().isF32() && weight.hasStaticShape() &&
         op->getOperand(1).getDefiningOp<arith::ConstantOp>();
}

bool mlir::qc::isQuantizableLayer(Operation *op) {
  if (auto matmul = dyn_cast<MatMulOp>(op))
    return hasQuantizableWeight(matmul);
  return isQuantizableConv(op);
}

bool mlir::qc::isLayer(Operation *op) {
  return isa<MatMulOp, linalg::Conv1DNcwFcwOp, linalg::Conv2DNchwFchwOp>(op);
}

std::optional<std::vector<float>> mlir::qc::readF32(Attribute value) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || !elements.getElementType().isF32())
    return std::nullopt;
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    ArrayRef<char> bytes = blob->getData();
    if (bytes.size() != elements.getNumElements() * sizeof(float))
      return std::nullopt;
    std::vector<float> data(elements.getNumElements());
    std::memcpy(data.data(), bytes.data(), bytes.size());
    return data;
  }
  if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
    auto values = dense.getValues<float>();
    return std::vector<float>(values.begin(), values.end());
  }
  return std::nullopt;
}

std::optional<std::vector<int32_t>>
mlir::qc::readIntegerCodes(Attribute value, bool isSigned) {
  auto elements = dyn_cast<ElementsAttr>(value);
  auto integer = elements ? dyn_cast<IntegerType>(elements.getElementType())
                          : IntegerType();
  if (!integer || integer.getWidth() > 8)
    return std::nullopt;
  std::vector<int32_t> codes;
  codes.reserve(elements.getNumElements());
  if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
    for (const APInt &v : dense.getValues<APInt>())
      codes.push_back(static_cast<int32_t>(isSigned ? v.getSExtValue()
                                                    : v.getZExtValue()));
    return codes;
  }
  // A resource holds one element per byte (sub-byte widths included).
  auto resource = dyn_cast<DenseResourceElementsAttr>(value);
  AsmResourceBlob *blob = resource ? resource.getRawHandle().getBlob() : nullptr;
  if (!blob || static_cast<int64_t>(blob->getData().size()) !=
                   elements.getNumElements())
    return std::nullopt;
  unsigned width = integer.getWidth();
  for (char c : blob->getData()) {
    APInt v(8, static_cast<uint8_t>(c));
    v = v.trunc(width);
    codes.push_back(
        static_cast<int32_t>(isSigned ? v.getSExtValue() : v.getZExtValue()));
  }
  return codes;
}

namespace {
/// Dense up to 256 elements (readable IR), else a heap resource blob.
template <typename T>
Value createConstant(OpBuilder &b, Location loc, RankedTensorType type,
                     ArrayRef<T> data, llvm::StringRef key) {
  if (data.size() <= 256)
    return arith::ConstantOp::create(b, loc,
                                     DenseElementsAttr::get(type, data));
  AsmResourceBlob blob =
      HeapAsmResourceBlob::allocateAndCopyInferAlign(data);
  return arith::ConstantOp::create(
      b, loc, DenseResourceElementsAttr::get(type, key, std::move(blob)));
}
} // namespace

Value mlir::qc::createF32Constant(OpBuilder &b, Location loc,
                                  ArrayRef<int64_t> shape,
                                  ArrayRef<float> data, llvm::StringRef key) {
  return createConstant(b, loc, RankedTensorType::get(shape, b.getF32Type()),
                        data, key);
}

Value mlir::qc::createI8Constant(OpBuilder &b, Location loc,
                                 ArrayRef<int64_t> shape,
                                 ArrayRef<int8_t> data, llvm::StringRef key) {
  return createIntegerCodesConstant(b, loc, shape, b.getIntegerType(8), data,
                                    key);
}

Value mlir::qc::createIntegerCodesConstant(OpBuilder &b, Location loc,
                                           ArrayRef<int64_t> shape,
                                           IntegerType storage,
                                           ArrayRef<int8_t> data,
                                           llvm::StringRef key) {
  auto type = RankedTensorType::get(shape, storage);
  if (data.size() > 256)
    return arith::ConstantOp::create(
        b, loc,
        DenseResourceElementsAttr::get(
            type, key, HeapAsmResourceBlob::allocateAndCopyInferAlign(data)));
  SmallVector<APInt> values;
  for (int8_t v : data)
    values.push_back(APInt(storage.getWidth(), uint64_t(int64_t(v)),
                           /*isSigned=*/true, /*implicitTrunc=*/true));
  return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, values));
}

std::optional<std::vector<float>>
mlir::qc::readWeightRows(Operation *layer, int64_t &n, int64_t &k) {
  Value rhs = layer->getOperand(1);
  auto type = cast<RankedTensorType>(rhs.getType());
  auto constant = rhs.getDefiningOp<arith::ConstantOp>();
  std::optional<std::vector<float>> data =
      constant ? readF32(constant.getValue()) : std::nullopt;
  if (!data)
    return std::nullopt;
  // A convolution's weight [F, C, k...] is F rows of C·k... elements (the
  // layout of a transposed matmul weight).
  auto matmul = dyn_cast<MatMulOp>(layer);
  bool transposed = !matmul || matmul.getTransposeRhs();
  n = type.getDimSize(transposed ? 0 : 1);
  k = type.getNumElements() / n;
  if (transposed)
    return data;
  std::vector<float> rows(data->size());
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j)
      rows[j * k + i] = (*data)[i * n + j];
  return rows;
}

const std::vector<double> *
mlir::qc::WeightCalibration::findHessian(Operation *layer, int64_t k) const {
  auto id = layer->getAttrOfType<IntegerAttr>(kCalibIdAttr);
  if (!id)
    return nullptr;
  auto it = hessians.find(id.getInt());
  if (it == hessians.end() || it->second.size() != static_cast<size_t>(k * k))
    return nullptr;
  return &it->second;
}
