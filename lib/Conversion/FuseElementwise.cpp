//===- FuseElementwise.cpp - element-wise fusion keeping qc markers -------===//
//
// See the pass description in include/qc/Conversion/Passes.td.
//
//===----------------------------------------------------------------------===//

#include "GPUHadamardKernel.h"
#include "qc/Conversion/Passes.h"
#include "qc/Dialect/QC/IR/Int8Contraction.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCFUSEELEMENTWISE
#include "qc/Conversion/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;

namespace {

/// Copies the `qc.*` attributes of a replaced op to the op that produces
/// its replacement values, when that op is of the same kind.
struct KeepMarkers : RewriterBase::Listener {
  void notifyOperationReplaced(Operation *op, ValueRange values) override {
    if (values.empty())
      return;
    Operation *by = values.front().getDefiningOp();
    if (!by || by == op || by->getName() != op->getName())
      return;
    for (NamedAttribute attr : op->getDiscardableAttrs())
      if (attr.getName().strref().starts_with("qc.") &&
          !by->hasAttr(attr.getName()))
        by->setAttr(attr.getName(), attr.getValue());
  }
};

/// A generic that only widens integer codes (sign- or zero-extends them,
/// minus a widened zero point: the importer's centered int32 operands).
bool onlyWidens(Operation *op) {
  auto generic = dyn_cast<linalg::GenericOp>(op);
  return generic &&
         llvm::all_of(generic.getRegion().front().without_terminator(),
                      [](Operation &inner) {
                        return isa<arith::ExtSIOp, arith::ExtUIOp,
                                   arith::SubIOp>(inner);
                      });
}

/// Upstream's producer-into-consumer fusion (linalg::fuseElementwiseOps),
/// with the consumer's `qc.*` markers copied to the fused op: upstream's
/// pattern redirects the consumer's uses and erases it, which no listener
/// sees as a replacement (KeepMarkers does not catch it). Added with a
/// higher benefit than upstream's, which it pre-empts.
struct FuseKeepingMarkers : OpRewritePattern<linalg::GenericOp> {
  FuseKeepingMarkers(MLIRContext *ctx, linalg::ControlFusionFn control)
      : OpRewritePattern(ctx, /*benefit=*/2), control(std::move(control)) {}
  linalg::ControlFusionFn control;

  LogicalResult matchAndRewrite(linalg::GenericOp consumer,
                                PatternRewriter &rewriter) const override {
    for (OpOperand &operand : consumer->getOpOperands()) {
      if (!linalg::areElementwiseOpsFusable(&operand) || !control(&operand))
        continue;
      Operation *producer = operand.get().getDefiningOp();
      FailureOr<linalg::ElementwiseOpFusionResult> fused =
          linalg::fuseElementwiseOps(rewriter, &operand);
      if (failed(fused))
        return rewriter.notifyMatchFailure(consumer, "fusion failed");
      for (NamedAttribute attr : consumer->getDiscardableAttrs())
        if (attr.getName().strref().starts_with("qc."))
          fused->fusedOp->setAttr(attr.getName(), attr.getValue());
      for (auto [from, to] : fused->replacements)
        rewriter.replaceUsesWithIf(from, to, [&](OpOperand &use) {
          return use.get().getDefiningOp() != producer;
        });
      rewriter.eraseOp(consumer);
      return success();
    }
    return failure();
  }
};

struct QCFuseElementwisePass
    : public qc::impl::QCFuseElementwiseBase<QCFuseElementwisePass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    // A transpose read only by a generic (an attention's K^T) becomes a
    // generic itself, which the patterns below fold into its reader's
    // indexing map: the reader reads the untransposed tensor, and the
    // transposed copy (a kernel and a pass over the tensor) is never made.
    SmallVector<linalg::TransposeOp> transposes;
    getOperation()->walk([&](linalg::TransposeOp op) {
      if (op.hasPureTensorSemantics() && op->hasOneUse() &&
          isa<linalg::GenericOp>(*op->getUsers().begin()))
        transposes.push_back(op);
    });
    IRRewriter rewriter(ctx);
    for (linalg::TransposeOp op : transposes) {
      rewriter.setInsertionPoint(op);
      (void)linalg::generalizeNamedOp(rewriter, op);
    }
    RewritePatternSet patterns(ctx);
    // The upstream pass's patterns and control (fuse a producer with one
    // use).
    // The one-generic Hadamard (qc-map-to-gpu replaces it with its kernel,
    // which reads the plain input) takes part in no fusion.
    // An int8 contraction takes only widening producers: its kernel
    // (qc-map-to-gpu's int8 tensor-core kernel, or the CPU's) reads codes,
    // and a fused quantization would run once per output instead of once.
    linalg::ControlFusionFn control = [](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      Operation *consumer = fused->getOwner();
      if (!producer || !producer->hasOneUse() ||
          producer->hasAttr(qc::kHadamardMarker) ||
          consumer->hasAttr(qc::kHadamardMarker))
        return false;
      return !consumer->hasAttr(qc::kInt8ContractionAttr) ||
             onlyWidens(producer);
    };
    patterns.add<FuseKeepingMarkers>(ctx, control);
    linalg::populateElementwiseOpsFusionPatterns(patterns, control);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, control);
    tensor::populateBubbleUpExpandShapePatterns(patterns);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, ctx);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, ctx);
    ctx->getLoadedDialect<linalg::LinalgDialect>()->getCanonicalizationPatterns(
        patterns);
    linalg::populateConstantFoldLinalgOperations(patterns, control);
    KeepMarkers listener;
    GreedyRewriteConfig config;
    config.setUseTopDownTraversal().setListener(&listener);
    // As upstream: not reaching a fixpoint is not an error.
    (void)applyPatternsGreedily(getOperation(), std::move(patterns), config);
  }
};

} // namespace
