//===- FuseElementwise.cpp - element-wise fusion keeping qc markers -------===//
//
// See the pass description in include/qc/Conversion/Passes.td.
//
//===----------------------------------------------------------------------===//

#include "GPUHadamardKernel.h"
#include "qc/Conversion/Passes.h"

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

struct QCFuseElementwisePass
    : public qc::impl::QCFuseElementwiseBase<QCFuseElementwisePass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    // The upstream pass's patterns and control (fuse a producer with one
    // use).
    // The one-generic Hadamard (qc-map-to-gpu replaces it with its kernel,
    // which reads the plain input) takes part in no fusion.
    linalg::ControlFusionFn control = [](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      return producer && producer->hasOneUse() &&
             !producer->hasAttr(qc::kHadamardMarker) &&
             !fused->getOwner()->hasAttr(qc::kHadamardMarker);
    };
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
