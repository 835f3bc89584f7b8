//===- TileContractions.cpp - cache blocking of qc.matmul contractions ----===//
//
// See the pass description in include/qc/Conversion/Passes.td.
//
//===----------------------------------------------------------------------===//

#include "EntryPointBuilder.h"
#include "ThreadPolicy.h"
#include "qc/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCTILECONTRACTIONS
#include "qc/Conversion/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;

namespace {
/// The tile size for a dimension of `size`: the largest divisor of `size` not
/// above `tile` when there is one of at least half of it (equal tiles keep
/// the tiled shapes static, which register blocking needs), else `tile`.
int64_t evenTile(int64_t size, int64_t tile) {
  if (tile <= 0 || ShapedType::isDynamic(size))
    return tile;
  for (int64_t d = std::min(tile, size); d * 2 >= tile; --d)
    if (size % d == 0)
      return d;
  return tile;
}

/// Chunks of the reduction a GEMV is split into: enough for 8 threads, each
/// chunk at least this many rows long.
constexpr int64_t kSplitChunks = 8;
constexpr int64_t kMinChunkRows = 128;

struct QCTileContractionsPass
    : public qc::impl::QCTileContractionsBase<QCTileContractionsPass> {
  using QCTileContractionsBase::QCTileContractionsBase;

  /// A GEMV streams its weight once; the hardware prefetchers keep up only
  /// with long contiguous runs, i.e. whole weight rows. So threads split the
  /// reduction, not the columns: k becomes (chunk, k / chunks), each chunk
  /// (a contiguous block of weight rows) accumulates into its own partial
  /// row, and a final generic sums the partial rows. The chunk loop is an
  /// scf.forall. Returns false (op unchanged) where k is not static or not a
  /// multiple of the chunk count, or where an operand is indexed by more
  /// than a projection of the loops (group scales read at k floordiv g:
  /// linalg's reduction splitting and tiling cannot slice those).
  bool splitGemv(IRRewriter &rewriter, linalg::GenericOp op, int64_t k) {
    if (!llvm::all_of(op.getIndexingMapsArray(), [](AffineMap map) {
          return map.isProjectedPermutation();
        }))
      return false;
    int64_t size = op.getStaticLoopRanges()[k];
    if (ShapedType::isDynamic(size) || size % kSplitChunks != 0 ||
        size / kSplitChunks < kMinChunkRows)
      return false;
    rewriter.setInsertionPoint(op);
    FailureOr<linalg::SplitReductionResult> split = linalg::splitReduction(
        rewriter, cast<linalg::LinalgOp>(op.getOperation()),
        [](linalg::LinalgOp) {
          linalg::SplitReductionOptions options;
          options.ratio = kSplitChunks;
          options.index = 0;
          options.innerParallel = false;
          return options;
        });
    if (failed(split))
      return false;
    // The chunk dimension is the output's new leading dimension.
    auto splitOp = cast<TilingInterface>(split->splitLinalgOp.getOperation());
    AffineMap outMap = split->splitLinalgOp.getIndexingMapMatchingResult(
        cast<OpResult>(split->splitLinalgOp->getResult(0)));
    unsigned chunkDim = cast<AffineDimExpr>(outMap.getResult(0)).getPosition();
    SmallVector<OpFoldResult> sizes(outMap.getNumDims(),
                                    rewriter.getIndexAttr(0));
    sizes[chunkDim] = rewriter.getIndexAttr(1);
    scf::SCFTilingOptions options;
    options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
    options.setTileSizes(sizes);
    rewriter.setInsertionPoint(splitOp);
    FailureOr<scf::SCFTilingResult> tiled =
        scf::tileUsingSCF(rewriter, splitOp, options);
    if (failed(tiled))
      return false;
    rewriter.replaceOp(splitOp, tiled->replacements);
    return true;
  }

  /// A GEMV whose reduction cannot be split (group scales at k floordiv g)
  /// but whose weight is [N, K] (k the innermost loop, so each weight row is
  /// one contiguous run): threads take whole rows instead, n in
  /// kSplitChunks scf.forall tiles. Returns false (op unchanged) where n is
  /// not static or too short, or k is not innermost.
  bool splitGemvRows(IRRewriter &rewriter, linalg::GenericOp op, int64_t n,
                     int64_t k) {
    SmallVector<int64_t> bounds = op.getStaticLoopRanges();
    int64_t loops = bounds.size();
    if (k != loops - 1 || ShapedType::isDynamic(bounds[n]) ||
        bounds[n] < kSplitChunks * 16)
      return false;
    SmallVector<OpFoldResult> sizes(loops, rewriter.getIndexAttr(0));
    sizes[n] = rewriter.getIndexAttr(
        evenTile(bounds[n], llvm::divideCeil(bounds[n], kSplitChunks)));
    scf::SCFTilingOptions options;
    options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
    options.setTileSizes(sizes);
    rewriter.setInsertionPoint(op);
    FailureOr<scf::SCFTilingResult> tiled =
        scf::tileUsingSCF(rewriter, cast<TilingInterface>(op.getOperation()),
                          options);
    if (failed(tiled))
      return false;
    rewriter.replaceOp(op, tiled->replacements);
    return true;
  }

  /// Constants referring to each dense resource, by resource key.
  llvm::StringMap<unsigned> resourceUses;

  /// Packs a constant [K, N] right-hand side into panels of registerN
  /// columns, [N / registerN, K, registerN] (panel-major), so that a register
  /// block's k loop reads one contiguous run instead of K rows strided by N.
  /// The contraction (batch..., m, k, n) becomes (batch..., m, k, nb, nr) over
  /// the panels, writing an expand_shape of its output that a collapse_shape
  /// turns back. Only for a two-operand contraction whose weight is a
  /// non-splat constant with whole-byte elements used by this op alone (a
  /// shared weight would be stored twice). Returns the new op, or null.
  linalg::GenericOp packWeight(IRRewriter &rewriter, linalg::GenericOp op,
                               int64_t k, int64_t n) {
    int64_t loops = op.getNumLoops();
    if (registerN <= 0 || op.getNumDpsInputs() != 2 ||
        op.getNumDpsInits() != 1 || n != loops - 1)
      return nullptr;
    MLIRContext *ctx = op.getContext();
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    AffineExpr dk = getAffineDimExpr(k, ctx), dn = getAffineDimExpr(n, ctx);
    if (maps[1] != AffineMap::get(loops, 0, {dk, dn}, ctx) ||
        maps[2].getNumResults() == 0 || maps[2].getResults().back() != dn ||
        maps[0].isFunctionOfDim(n))
      return nullptr;
    OpOperand &rhs = op->getOpOperand(1);
    auto constant = rhs.get().getDefiningOp<arith::ConstantOp>();
    if (!constant || !constant->hasOneUse())
      return nullptr;
    auto type = cast<RankedTensorType>(rhs.get().getType());
    unsigned bits = type.getElementTypeBitWidth();
    if (!type.hasStaticShape() || bits % 8 != 0 ||
        type.getDimSize(1) % registerN != 0)
      return nullptr;
    int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
    size_t width = bits / 8;
    std::optional<ArrayRef<char>> bytes = qc::constantRawBytes(
        constant.getValue(), static_cast<uint64_t>(rows * cols) * width);
    if (!bytes)
      return nullptr;
    ArrayRef<char> data = *bytes;
    int64_t panels = cols / registerN;
    AsmResourceBlob packed = HeapAsmResourceBlob::allocate(data.size(), 64);
    MutableArrayRef<char> out = packed.getMutableData();
    for (int64_t p = 0; p < panels; ++p)
      for (int64_t r = 0; r < rows; ++r)
        std::memcpy(out.data() + ((p * rows + r) * registerN) * width,
                    data.data() + (r * cols + p * registerN) * width,
                    registerN * width);
    auto packedType =
        RankedTensorType::get({panels, rows, registerN}, type.getElementType());
    Location loc = op.getLoc();
    rewriter.setInsertionPoint(op);
    Value weight = arith::ConstantOp::create(
        rewriter, loc,
        DenseResourceElementsAttr::get(packedType, "packed_weight",
                                       std::move(packed)));
    // The output viewed as [..., N / registerN, registerN].
    Value init = op.getDpsInits()[0];
    auto outType = cast<RankedTensorType>(init.getType());
    int64_t rank = outType.getRank();
    SmallVector<int64_t> shape(outType.getShape());
    shape.back() = panels;
    shape.push_back(registerN);
    SmallVector<ReassociationIndices> reassociation;
    for (int64_t d = 0; d + 1 < rank; ++d)
      reassociation.push_back({d});
    reassociation.push_back({rank - 1, rank});
    auto expandedType = RankedTensorType::get(shape, outType.getElementType());
    Value expanded = tensor::ExpandShapeOp::create(rewriter, loc, expandedType,
                                                   init, reassociation);
    AffineExpr dnr = getAffineDimExpr(loops, ctx);
    SmallVector<AffineExpr> outResults(maps[2].getResults());
    outResults.push_back(dnr);
    SmallVector<AffineMap> newMaps = {
        AffineMap::get(loops + 1, 0, maps[0].getResults(), ctx),
        AffineMap::get(loops + 1, 0, {dn, dk, dnr}, ctx),
        AffineMap::get(loops + 1, 0, outResults, ctx)};
    SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
    iters.push_back(utils::IteratorType::parallel);
    auto packedOp =
        linalg::GenericOp::create(rewriter, loc, TypeRange{expandedType},
                                  ValueRange{op.getDpsInputs()[0], weight},
                                  ValueRange{expanded}, newMaps, iters);
    rewriter.inlineRegionBefore(op.getRegion(), packedOp.getRegion(),
                                packedOp.getRegion().end());
    packedOp->setDiscardableAttrs(op->getDiscardableAttrDictionary());
    Value result = tensor::CollapseShapeOp::create(
        rewriter, loc, outType, packedOp.getResult(0), reassociation);
    rewriter.replaceOp(op, result);
    Attribute original = constant.getValue();
    if (constant->use_empty())
      rewriter.eraseOp(constant);
    // The original bytes are dead now: when the caller says no other module
    // shares them, release them unless another constant of this module uses
    // the resource (a mapped external-data file would otherwise stay
    // resident beside the packed copy: 2x the weights at compile time).
    if (auto resource = dyn_cast<DenseResourceElementsAttr>(original)) {
      if (releasePackedSources &&
          resourceUses.lookup(resource.getRawHandle().getKey()) == 1)
        resource.getRawHandle().getResource()->setBlob(AsmResourceBlob());
    }
    return packedOp;
  }

  /// Register blocking of one cache tile (batch..., m, k, n), n innermost:
  /// loops over [registerM x registerN] blocks of the output, inside them a
  /// k loop, and the [registerM x 1] x [1 x registerN] step vectorised
  /// (vector.contract). The accumulator block is hoisted out of the k loop
  /// later (hoistAccumulators), so it lives in registers across k. Returns
  /// false (op unchanged) where the shapes do not divide evenly or the body
  /// does not vectorise.
  bool blockForRegisters(IRRewriter &rewriter, linalg::GenericOp op, int64_t m,
                         int64_t k, int64_t n, int64_t nr = -1) {
    if (registerM <= 0 || registerN <= 0)
      return false;
    SmallVector<int64_t> bounds = op.getStaticLoopRanges();
    if (llvm::any_of(bounds, ShapedType::isDynamic) ||
        bounds[m] % std::min<int64_t>(registerM, bounds[m]) != 0 ||
        (nr < 0 && bounds[n] % registerN != 0))
      return false;
    int64_t loops = bounds.size();
    // Tile sizes (0: not tiled) and the vector shape of the block.
    SmallVector<int64_t> tileSizes(loops, 1);
    tileSizes[m] = std::min<int64_t>(registerM, bounds[m]);
    if (nr < 0) {
      tileSizes[n] = registerN;
    } else {
      tileSizes[n] = 1;
      tileSizes[nr] = 0;
    }
    SmallVector<int64_t> interchange;
    for (int64_t d = 0; d < loops; ++d)
      if (d != m && d != k && d != n && d != nr)
        interchange.push_back(d);
    interchange.append({m, n, k});
    if (nr >= 0)
      interchange.push_back(nr);
    SmallVector<OpFoldResult> sizes;
    for (int64_t size : tileSizes)
      sizes.push_back(rewriter.getIndexAttr(size));
    scf::SCFTilingOptions options;
    options.setLoopType(scf::SCFTilingOptions::LoopType::ForOp);
    options.setTileSizes(sizes);
    options.setInterchange(interchange);
    rewriter.setInsertionPoint(op);
    FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
        rewriter, cast<TilingInterface>(op.getOperation()), options);
    if (failed(tiled))
      return false;
    Operation *inner = tiled->tiledOps.back();
    if (failed(linalg::vectorizeOpPrecondition(inner))) {
      // Undo is not available; the tiled loops are still correct scalar
      // code.
      rewriter.replaceOp(op, tiled->replacements);
      return true;
    }
    rewriter.replaceOp(op, tiled->replacements);
    rewriter.setInsertionPoint(inner);
    FailureOr<linalg::VectorizationResult> vectorized =
        linalg::vectorize(rewriter, inner);
    if (succeeded(vectorized))
      rewriter.replaceOp(inner, vectorized->replacements);
    return true;
  }

  /// Folds the slices around the vectorised blocks into the transfers and
  /// hoists the accumulator's read/write pair out of every loop it is
  /// invariant in, so the k loop carries the block as a vector.
  void hoistAccumulators() {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    tensor::populateFoldTensorSubsetIntoVectorTransferPatterns(patterns);
    vector::populateVectorReductionToContractPatterns(patterns);
    vector::TransferReadOp::getCanonicalizationPatterns(patterns, ctx);
    vector::TransferWriteOp::getCanonicalizationPatterns(patterns, ctx);
    (void)applyPatternsGreedily(getOperation(), std::move(patterns));
    IRRewriter rewriter(ctx);
    getOperation()->walk([&](LoopLikeOpInterface loop) {
      (void)hoistLoopInvariantSubsets(rewriter, loop);
    });
  }

  void runOnOperation() override {
    if (tileN < 0 || tileK < 0) {
      getOperation()->emitError("qc-tile-contractions: tile sizes must be "
                                "non-negative");
      return signalPassFailure();
    }
    getOperation()->walk([&](arith::ConstantOp op) {
      if (auto resource = dyn_cast<DenseResourceElementsAttr>(op.getValue()))
        ++resourceUses[resource.getRawHandle().getKey()];
    });
    SmallVector<linalg::GenericOp> contractions;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (op->hasAttr("qc.contraction"))
        contractions.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    bool vectorizedAny = false;
    for (linalg::GenericOp op : contractions) {
      // The lowering's iteration space is (batch..., m, n, k) or
      // (batch..., m, k, n): one reduction dimension, n the last parallel
      // one.
      SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
      int64_t loops = iters.size();
      auto k =
          llvm::find(iters, utils::IteratorType::reduction) - iters.begin();
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
      // A constant weight read along n: packed into panels; n tiles become
      // tiles of whole panels.
      int64_t nr = -1;
      int64_t nTile = tileN;
      if (k == loops - 2) {
        if (linalg::GenericOp packedOp = packWeight(rewriter, op, k, n)) {
          op = packedOp;
          nr = loops++;
          nTile = tileN > 0 ? std::max<int64_t>(1, tileN / registerN) : 0;
          bounds = op.getStaticLoopRanges();
        }
      }
      // An unpacked GEMV: split the reduction across threads, or leave it
      // whole (single-threaded, or k too short to split).
      bool threads =
          parallel && qc::worthThreads(rows < 0 ? ShapedType::kDynamic : rows,
                                   bounds[n], bounds[k], minParallelMacs);
      if (gemv && nr < 0) {
        if (threads && !splitGemv(rewriter, op, k))
          (void)splitGemvRows(rewriter, op, n, k);
        continue;
      }
      int64_t kTile = gemv ? 0 : tileK;
      // First n: scf.forall when `parallel` (each tile is independent: it
      // writes its own columns), else scf.for. Then k, inside, with scf.for.
      Operation *current = op;
      for (auto [dim, size, loopType] :
           {std::make_tuple(n, nTile,
                            threads ? scf::SCFTilingOptions::LoopType::ForallOp
                                     : scf::SCFTilingOptions::LoopType::ForOp),
            std::make_tuple(k, kTile,
                            scf::SCFTilingOptions::LoopType::ForOp)}) {
        if (!worthTiling(dim, size))
          continue;
        SmallVector<OpFoldResult> sizes(loops, rewriter.getIndexAttr(0));
        sizes[dim] = rewriter.getIndexAttr(evenTile(bounds[dim], size));
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
      // (batch..., m, k, n) only: with k innermost (a transposed right-hand
      // side) the block would need a reduction across vector lanes.
      if (nr >= 0 || k == loops - 2)
        vectorizedAny |= blockForRegisters(
            rewriter, cast<linalg::GenericOp>(current), k - 1, k, n, nr);
    }
    if (vectorizedAny)
      hoistAccumulators();
  }
};
} // namespace
