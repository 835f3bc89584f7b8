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
      SmallVector<OpFoldResult> sizes(loops, rewriter.getIndexAttr(0));
      // Tile only dimensions that are static and larger than the tile.
      bool any = false;
      auto tile = [&](int64_t dim, int64_t size) {
        if (size > 0 && !ShapedType::isDynamic(bounds[dim]) &&
            bounds[dim] > size) {
          sizes[dim] = rewriter.getIndexAttr(size);
          any = true;
        }
      };
      tile(n, tileN);
      tile(k, tileK);
      if (!any)
        continue;
      // n tiles outside k tiles; untiled dimensions keep their place.
      SmallVector<int64_t> interchange;
      for (int64_t d = 0; d < loops; ++d)
        if (d != n && d != k)
          interchange.push_back(d);
      interchange.push_back(n);
      interchange.push_back(k);
      scf::SCFTilingOptions options;
      options.setLoopType(scf::SCFTilingOptions::LoopType::ForOp);
      options.setTileSizes(sizes);
      options.setInterchange(interchange);
      rewriter.setInsertionPoint(op);
      FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
          rewriter, cast<TilingInterface>(op.getOperation()), options);
      if (failed(tiled)) {
        op.emitError("qc-tile-contractions: tiling failed");
        return signalPassFailure();
      }
      rewriter.replaceOp(op, tiled->replacements);
    }
  }
};
} // namespace
