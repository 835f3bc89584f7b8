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
      // Rows of the left-hand side (all other parallel dimensions): with few
      // of them (a GEMV), nothing is reused across rows, so there is no
      // point in k tiles; wider n tiles stream the weight in longer runs.
      int64_t rows = 1;
      for (int64_t d = 0; d < loops; ++d)
        if (d != n && d != k)
          rows = ShapedType::isDynamic(bounds[d]) || rows < 0
                     ? -1
                     : rows * bounds[d];
      bool gemv = rows >= 0 && rows <= 8;
      int64_t nTile = gemv ? std::max<int64_t>(tileN, 1024) : tileN;
      int64_t kTile = gemv ? 0 : tileK;
      // First n: scf.forall when `parallel` (each tile is independent: it
      // writes its own columns), else scf.for. Then k, inside, with scf.for.
      Operation *current = op;
      for (auto [dim, size, loopType] :
           {std::make_tuple(n, nTile,
                            parallel ? scf::SCFTilingOptions::LoopType::ForallOp
                                     : scf::SCFTilingOptions::LoopType::ForOp),
            std::make_tuple(k, kTile,
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
