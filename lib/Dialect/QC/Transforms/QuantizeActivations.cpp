//===- QuantizeActivations.cpp - static per-tensor activation quantization ===//
//
// See the pass description in include/qc/Dialect/QC/Transforms/Passes.td.
// The parameters come from numerics::computeRangeParams; this file only
// builds the type and inserts qc.quantize.
//
// Invariant: the matmul reads dequant(quant(x)) instead of x.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/IR/QCOps.h"
#include "qc/Dialect/QC/Transforms/Passes.h"
#include "qc/Dialect/QC/Transforms/Quantization.h"
#include "qc/Numerics/QuantParams.h"

#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/IR/TypeUtilities.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QUANTIZEACTIVATIONS
#include "qc/Dialect/QC/Transforms/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

namespace {
struct QuantizeActivationsPass
    : public qc::impl::QuantizeActivationsBase<QuantizeActivationsPass> {
  using QuantizeActivationsBase::QuantizeActivationsBase;

  void runOnOperation() override {
    if (bits != 4 && bits != 8) {
      getOperation()->emitError()
          << "qc-quantize-activations: bits must be 4 or 8, got "
          << int64_t(bits);
      return signalPassFailure();
    }
    KeepFloat keep;
    if (failed(keep.init(getOperation(), "qc-quantize-activations", keepFloat)))
      return signalPassFailure();
    numerics::IntQuantSpec spec;
    spec.bits = bits;
    spec.symmetric = symmetric;
    numerics::Result<numerics::IntRange> range = numerics::getIntRange(spec);
    if (!range) {
      getOperation()->emitError()
          << "qc-quantize-activations: " << range.error();
      return signalPassFailure();
    }
    if (perToken) {
      if (!symmetric) {
        getOperation()->emitError()
            << "qc-quantize-activations: per-token quantization is "
               "symmetric (signed codes); symmetric=false is not supported";
        return signalPassFailure();
      }
      // Every matmul reading a quantized weight gets its input quantized
      // per token at run time; no calibration is involved.
      getOperation()->walk([&](MatMulOp op) {
        Value lhs = op.getLhs();
        bool quantizedWeight =
            isa<quant::QuantizedType>(
                getElementTypeOrSelf(op.getRhs().getType())) ||
            op.getRhs().getDefiningOp<DecodeOp>();
        if (!quantizedWeight ||
            !getElementTypeOrSelf(lhs.getType()).isF32() ||
            lhs.getDefiningOp<QuantizePerTokenOp>() || keep.matches(op))
          return;
        OpBuilder b(op);
        op.getLhsMutable().assign(
            QuantizePerTokenOp::create(b, op.getLoc(), lhs, int64_t(bits)));
      });
      return;
    }
    WalkResult result = getOperation()->walk([&](Operation *op) {
      if (!isLayer(op))
        return WalkResult::advance();
      auto calibrated = op->getAttrOfType<DenseF32ArrayAttr>(kCalibRangeAttr);
      Value lhs = op->getOperand(0);
      auto lhsType = cast<RankedTensorType>(lhs.getType());
      if (!calibrated || !isa<FloatType>(lhsType.getElementType()) ||
          lhs.getDefiningOp<DequantizeOp>() ||
          keep.matches(op))
        return WalkResult::advance();
      if (calibrated.size() != 2 || !(calibrated[0] <= calibrated[1])) {
        op->emitOpError() << "malformed " << kCalibRangeAttr.str()
                         << " (expected array<f32: lo, hi> with lo <= hi)";
        return WalkResult::interrupt();
      }
      numerics::AffineParams params = numerics::computeRangeParams(
          calibrated[0], calibrated[1], spec, *range);
      MLIRContext *ctx = op->getContext();
      auto element = quant::UniformQuantizedType::get(
          symmetric ? quant::QuantizationFlags::Signed : 0,
          IntegerType::get(ctx, bits), lhsType.getElementType(), params.scale,
          params.zeroPoint, range->qmin, range->qmax);
      OpBuilder b(op);
      Value quantized = QuantizeOp::create(
          b, op->getLoc(), RankedTensorType::get(lhsType.getShape(), element),
          lhs);
      // A convolution reads the dequantized input (see qc-quantize-weights).
      if (!isa<MatMulOp>(op))
        quantized = DequantizeOp::create(b, op->getLoc(), lhsType, quantized);
      op->setOperand(0, quantized);
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
