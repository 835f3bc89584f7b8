//===- TileContractions.cpp - cache blocking of qc.matmul contractions ----===//
//
// See the pass description in include/qc/Conversion/Passes.td.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/Passes.h"

#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/TilingInterface.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCTILECONTRACTIONS
#include "qc/Conversion/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;

namespace {
struct QCTileContractionsPass
    : public qc::impl::QCTileContractionsBase<QCTileContractionsPass> {
  using QCTileContractionsBase::QCTileContractionsBase;

  void runOnOperation() override {
    if (tileN < 0 || tileK < 0) {
      getOperation()->emitError("qc-tile-contractions: tile sizes must be "
                                "non-negative");
      return signalPassFailure();
    }
    SmallVector<linalg::GenericOp> contractions;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (op->hasAttr("qc.contraction"))
        contractions.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : contractions) {
      // The lowering's iteration space is (batch..., m, n, k) or
      // (batch..., m, k, n): one reduction dimension, n the last parallel
      // one.
      SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
      int64_t loops = iters.size();
      auto k = llvm::find(iters, utils::IteratorType::reduction) - iters.begin();
      if (k == loops || loops < 3)
        continue;
      int64_t n = k == loops - 1 ? loops - 2 : loops - 1;
      SmallVector<int64_t> bounds = op.getStaticLoopRanges();
      // Tile only dimensions that are static and larger than the tile.
      auto worthTiling = [&](int64_t dim, int64_t size) {
        return size > 0 && !ShapedType::isDynamic(bounds[dim]) &&
               bounds[dim] > size;
      };
      // First n: scf.forall when `parallel` (each tile is independent: it
      // writes its own columns), else scf.for. Then k, inside, with scf.for.
      Operation *current = op;
      for (auto [dim, size, loopType] :
           {std::make_tuple(n, int64_t(tileN),
                            parallel ? scf::SCFTilingOptions::LoopType::ForallOp
                                     : scf::SCFTilingOptions::LoopType::ForOp),
            std::make_tuple(k, int64_t(tileK),
                            scf::SCFTilingOptions::LoopType::ForOp)}) {
        if (!worthTiling(dim, size))
          continue;
        SmallVector<OpFoldResult> sizes(loops, rewriter.getIndexAttr(0));
        sizes[dim] = rewriter.getIndexAttr(size);
        scf::SCFTilingOptions options;
        options.setLoopType(loopType);
        options.setTileSizes(sizes);
        rewriter.setInsertionPoint(current);
        FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
            rewriter, cast<TilingInterface>(current), options);
        if (failed(tiled)) {
          current->emitError("qc-tile-contractions: tiling failed");
          return signalPassFailure();
        }
        rewriter.replaceOp(current, tiled->replacements);
        current = tiled->tiledOps.back();
      }
    }
  }
};
} // namespace
