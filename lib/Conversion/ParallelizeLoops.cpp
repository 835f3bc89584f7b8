//===- ParallelizeLoops.cpp - threads for the ops no other pass threaded --===//
//
// See the pass description in include/qc/Conversion/Passes.td.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/Passes.h"

#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/TilingInterface.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCPARALLELIZELOOPS
#include "qc/Conversion/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;

namespace {
struct QCParallelizeLoopsPass
    : public qc::impl::QCParallelizeLoopsBase<QCParallelizeLoopsPass> {
  using QCParallelizeLoopsBase::QCParallelizeLoopsBase;

  void runOnOperation() override {
    if (chunks < 1 || minIterations < 0) {
      getOperation()->emitError("qc-parallelize-loops: chunks must be >= 1 "
                                "and min-iterations >= 0");
      return signalPassFailure();
    }
    SmallVector<linalg::LinalgOp> candidates;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (isa<linalg::FillOp>(op) || !op.hasPureTensorSemantics() ||
          op->getParentOfType<scf::ForallOp>() ||
          op->getParentOfType<scf::ForOp>())
        return;
      candidates.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : candidates) {
      SmallVector<int64_t> bounds = op.getStaticLoopRanges();
      if (llvm::any_of(bounds, ShapedType::isDynamic))
        continue;
      int64_t points = 1;
      for (int64_t b : bounds)
        points *= b;
      if (points < minIterations)
        continue;
      SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
      int64_t loops = bounds.size(), dim = -1;
      for (int64_t d = 0; d < loops && dim < 0; ++d)
        if (iters[d] == utils::IteratorType::parallel && bounds[d] >= 2)
          dim = d;
      if (dim < 0)
        continue;
      int64_t tile = llvm::divideCeil(bounds[dim], chunks);
      if (dim == loops - 1)
        tile = llvm::alignTo(tile, 64);
      if (tile >= bounds[dim])
        continue;
      SmallVector<OpFoldResult> sizes(loops, rewriter.getIndexAttr(0));
      sizes[dim] = rewriter.getIndexAttr(tile);
      scf::SCFTilingOptions options;
      options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
      options.setTileSizes(sizes);
      rewriter.setInsertionPoint(op);
      FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
          rewriter, cast<TilingInterface>(op.getOperation()), options);
      if (failed(tiled)) {
        op->emitError("qc-parallelize-loops: tiling failed");
        return signalPassFailure();
      }
      rewriter.replaceOp(op, tiled->replacements);
    }
  }
};
} // namespace
