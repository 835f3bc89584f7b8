//===- PackWeights.cpp - low-bit weights in the byte layout of a kernel ---===//
//
// See the pass description in include/qc/Dialect/QC/Transforms/Passes.td.
// Invariant: qc.packed_weight(pack(codes)) stands for the same codes; the
// arrangement is numerics::pack.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/Passes.h"
#include "qc/Dialect/QC/Transforms/Quantization.h"
#include "qc/Numerics/Packing.h"

#include "mlir/IR/DialectResourceBlobManager.h"

namespace mlir::qc {
#define GEN_PASS_DEF_PACKWEIGHTS
#include "qc/Dialect/QC/Transforms/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

namespace {
struct PackWeightsPass : public qc::impl::PackWeightsBase<PackWeightsPass> {
  using PackWeightsBase::PackWeightsBase;

  void runOnOperation() override {
    std::optional<numerics::PackedLayout> kind =
        numerics::parsePackedLayout(layout);
    if (!kind) {
      getOperation()->emitError()
          << "qc-pack-weights: unknown layout '" << layout
          << "' (expected nibbles, vnni or mma)";
      return signalPassFailure();
    }
    SmallVector<MatMulOp> matmuls;
    getOperation()->walk([&](MatMulOp op) { matmuls.push_back(op); });
    for (MatMulOp op : matmuls)
      if (failed(pack(op, *kind)))
        return signalPassFailure();
  }

  LogicalResult pack(MatMulOp op, numerics::PackedLayout kind) {
    auto scast = op.getRhs().getDefiningOp<quant::StorageCastOp>();
    auto type = cast<RankedTensorType>(op.getRhs().getType());
    auto q = dyn_cast<quant::QuantizedType>(type.getElementType());
    auto constant = scast ? scast.getInput().getDefiningOp<arith::ConstantOp>()
                          : arith::ConstantOp();
    if (!constant || !q || type.getRank() != 2 || !type.hasStaticShape())
      return success();
    int64_t bits = q.getStorageTypeIntegralWidth();
    if (bits != 4 && bits != 8)
      return success();
    if (bits == 8 && kind != numerics::PackedLayout::VNNI)
      return success(); // a byte per code already
    int64_t kAxis = op.getTransposeRhs() ? 1 : 0;
    auto [n, k] = packedWeightShape(type, kAxis);
    std::string error = numerics::packedLayoutError(kind, bits, n, k);
    if (!error.empty()) {
      op.emitWarning() << "weight of node '" << getNodeName(op.getLoc())
                       << "' left unpacked: " << error;
      return success();
    }
    std::optional<std::vector<int32_t>> stored =
        readIntegerCodes(constant.getValue(), q.isSigned());
    if (!stored)
      return success();
    // Row-major (n, k) codes.
    std::vector<int32_t> codes(n * k);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < k; ++j)
        codes[i * k + j] = (*stored)[kAxis == 1 ? i * k + j : j * n + i];
    numerics::Result<std::vector<uint8_t>> bytes =
        numerics::pack(kind, bits, q.isSigned(), n, k, codes.data());
    if (!bytes)
      return op.emitOpError() << "packing the weight of node '"
                              << getNodeName(op.getLoc())
                              << "': " << bytes.error();
    OpBuilder b(op);
    Location loc = constant.getLoc();
    auto bytesType = RankedTensorType::get(
        {static_cast<int64_t>(bytes->size())}, b.getI8Type());
    ArrayRef<char> raw(reinterpret_cast<const char *>(bytes->data()),
                       bytes->size());
    Attribute data;
    if (bytes->size() <= 256)
      data = DenseElementsAttr::getFromRawBuffer(bytesType, raw);
    else
      data = DenseResourceElementsAttr::get(
          bytesType, "packed_weight",
          // 4-byte aligned: the lowering reads nibbles as 32-bit words
          // from this blob without copying it.
          HeapAsmResourceBlob::allocateAndCopyWithAlign(raw, alignof(uint32_t)));
    Value packed = arith::ConstantOp::create(b, loc, cast<TypedAttr>(data));
    auto attr = PackedLayoutAttr::get(
        b.getContext(),
        static_cast<PackedLayoutKind>(static_cast<int>(kind)), bits, kAxis);
    Value weight =
        PackedWeightOp::create(b, op.getRhs().getLoc(), type, packed, attr);
    op.getRhsMutable().assign(weight);
    if (scast->use_empty())
      scast->erase();
    if (constant->use_empty())
      constant->erase();
    return success();
  }
};
} // namespace
