//===- GPUMmaKernel.cpp - the tensor-core W4A16 kernel --------------------===//
//
// See GPUMmaKernel.h, and docs/gpu.md for the design. The fragment reading
// (which codes and activations each thread holds) is numerics::MmaNibbles,
// unit-tested against an emulation of mma.sync.
//
//===----------------------------------------------------------------------===//

#include "GPUMmaKernel.h"
#include "GPUKernelBuilder.h"
#include "PackedParams.h"
#include "qc/Conversion/Passes.h"
#include "qc/Numerics/Packing.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

using namespace mlir;
using qc::numerics::MmaNibbles;
using qc::numerics::NibblePairF16;

namespace {

constexpr int64_t kCodes = 8;                 // codes per word
constexpr int64_t kDefaultWarps = 8;          // splitting K, the same columns
constexpr int64_t kDefaultRowTiles = 1;       // 16-row tiles per block, at most
constexpr int64_t kChunksPerStep = 2;         // chunks whose words load together
constexpr int64_t kSharedBytes = 48 * 1024;   // static shared memory

/// A static memref with the identity layout (contiguous, offset 0).
bool plain(Value v, Type element) {
  auto type = dyn_cast<MemRefType>(v.getType());
  return type && type.hasStaticShape() && type.getLayout().isIdentity() &&
         type.getElementType() == element;
}

} // namespace

bool qc::packedMmaBlockFits(int64_t colTiles, int64_t rowTiles) {
  // Per thread and tile, the 4 f32 accumulators; per warp, 32 threads'.
  return rowTiles * colTiles * 32 * 4 * 4 <= kSharedBytes;
}

LogicalResult qc::buildPackedMmaKernel(RewriterBase &rewriter,
                                       linalg::GenericOp op, Value init,
                                       int64_t minRows, PackedMmaShape shape) {
  FailureOr<PackedOperands> operands = packedContractionOperands(op);
  if (failed(operands) || !op.hasPureBufferSemantics())
    return failure();
  int64_t scaleOperand = operands->scaleOperand,
          zeroPointOperand = operands->zeroPointOperand;
  std::optional<float> knownScale = operands->knownScale,
                       knownZeroPoint = operands->knownZeroPoint;
  bool isSigned = operands->isSigned;
  Value view = op.getDpsInputs()[0];
  auto expand = view.getDefiningOp<memref::ExpandShapeOp>();
  Type f32 = rewriter.getF32Type(), i32 = rewriter.getI32Type();
  if (!expand || !plain(expand.getSrc(), f32))
    return failure();
  Value x = expand.getSrc(), out = op.getDpsInits()[0],
        words = op.getDpsInputs()[kCodes];
  auto xType = cast<MemRefType>(x.getType());
  int64_t rank = xType.getRank();
  if (rank < 2 || !plain(out, f32) || !plain(words, i32) ||
      cast<MemRefType>(out.getType()).getRank() != rank ||
      cast<MemRefType>(words.getType()).getRank() != 2)
    return failure();
  auto outType = cast<MemRefType>(out.getType());
  int64_t rows = 1;
  for (int64_t d = 0; d + 1 < rank; ++d) {
    if (xType.getDimSize(d) != outType.getDimSize(d))
      return failure();
    rows *= xType.getDimSize(d);
  }
  int64_t k = xType.getDimSize(rank - 1), n = outType.getDimSize(rank - 1);
  auto wordsType = cast<MemRefType>(words.getType());
  if (rows < minRows || k % MmaNibbles::kThreadCodes != 0 ||
      wordsType.getDimSize(0) != n || wordsType.getDimSize(1) * kCodes != k)
    return failure();
  unsigned loops = op.getNumLoops(), nDim = loops - 2, wDim = loops - 1;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  for (int64_t i : {scaleOperand, zeroPointOperand}) {
    if (i < 0)
      continue;
    Type element = getElementTypeOrSelf(op.getDpsInputs()[i].getType());
    // One value per run of a thread's 4 words (32 codes) at least.
    FailureOr<int64_t> per = qc::packedWordsPerValue(maps[i], nDim, wDim);
    if (failed(per) || *per % 4 != 0 ||
        !(isa<FloatType>(element) || element.isInteger(32) ||
          element.isInteger(8)))
      return failure();
  }
  // The codes expand to f16 (NibblePairF16); other zero points stay with
  // the GEMV mapping (f32).
  if (!expandsToF16Exactly(op, *operands))
    return failure();

  Location loc = op.getLoc();
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(rewriter, loc, v);
  };
  // [rows, K] and [rows, N] views.
  auto flat = [&](Value v) -> Value {
    if (rank == 2)
      return v;
    SmallVector<ReassociationIndices> groups(2);
    for (int64_t d = 0; d + 1 < rank; ++d)
      groups[0].push_back(d);
    groups[1].push_back(rank - 1);
    return memref::CollapseShapeOp::create(rewriter, loc, v, groups);
  };
  Value x2 = flat(x), out2 = flat(out);

  // A block reads the activations of all its rows for its columns: at 64
  // rows, 256 blocks of 2 column tiles read 32x their weights' bytes in
  // activations. By default one row tile and, from 9 rows, more columns
  // per block (an H100, 4096 x 4096: 64 rows 0.080 -> 0.030 ms, 16 rows
  // 0.025 -> 0.017 ms; docs/gpu.md); up to 8 rows, the 2 column tiles
  // measured there.
  int64_t colTileCount = shape.colTiles > 0 ? shape.colTiles
                         : rows <= 8        ? 2
                         : rows <= 16       ? 4
                                            : 8;
  int64_t rowTiles = std::min<int64_t>(
      shape.rowTiles > 0 ? shape.rowTiles : kDefaultRowTiles, (rows + 15) / 16);
  int64_t blockRows = 16 * rowTiles, blockCols = 8 * colTileCount;
  int64_t chunks = (k + MmaNibbles::kChunk - 1) / MmaNibbles::kChunk;
  int64_t steps = (chunks + kChunksPerStep - 1) / kChunksPerStep;
  // Per thread and tile, the 4 accumulators; per warp, 32 threads' worth.
  int64_t partials = rowTiles * colTileCount * 32 * 4;
  // As many warps as asked whose partial sums fit the shared memory.
  int64_t warpCount = shape.warps > 0 ? shape.warps : kDefaultWarps;
  while (warpCount > 1 && warpCount * partials * 4 > kSharedBytes)
    warpCount /= 2;
  if (!qc::packedMmaBlockFits(colTileCount, rowTiles))
    return failure();
  auto launch = gpu::LaunchOp::create(
      rewriter, loc, index((n + blockCols - 1) / blockCols),
      index((rows + blockRows - 1) / blockRows), index(1),
      index(32 * warpCount), index(1), index(1));
  auto workgroup = gpu::AddressSpaceAttr::get(rewriter.getContext(),
                                              gpu::AddressSpace::Workgroup);
  Value shared = launch.addWorkgroupAttribution(
      MemRefType::get({warpCount, partials}, f32,
                      MemRefLayoutAttrInterface(), workgroup),
      loc);
  OpBuilder::InsertionGuard guard(rewriter);
  enterLaunchBody(rewriter, launch);
  OpBuilder &b = rewriter;
  IndexMath math{b, loc};
  Type f16 = b.getF16Type();
  Value tid = launch.getThreadIds().x;
  Value warp = math.div(tid, 32), lane = math.rem(tid, 32);
  Value g = math.div(lane, 4), t = math.rem(lane, 4);
  Value n0 = math.mul(launch.getBlockIds().x, blockCols);
  Value m0 = math.mul(launch.getBlockIds().y, blockRows);
  // The thread's weight column in each column tile (clamped: a column past
  // N loads column N - 1 and is not stored).
  SmallVector<Value> columns;
  for (int64_t c = 0; c < colTileCount; ++c)
    columns.push_back(
        math.clampTo(math.add(n0, math.add(g, math.index(8 * c))), n - 1));
  // The thread's rows, g and g + 8 of each row tile, clamped, and whether
  // they exist; a half whose first row is past the last one is zero for
  // every thread (rowAt null).
  SmallVector<Value> rowAt, rowOk;
  for (int64_t i = 0; i < rowTiles; ++i)
    for (int64_t h = 0; h < 2; ++h) {
      if (16 * i + 8 * h >= rows) {
        rowAt.push_back(Value());
        rowOk.push_back(Value());
        continue;
      }
      Value r = math.add(math.add(m0, math.index(16 * i + 8 * h)), g);
      rowOk.push_back(math.lessThan(r, rows));
      rowAt.push_back(math.clampTo(r, rows - 1));
    }

  // A parameter of `column` at word `w`, as f32.
  auto param = [&](int64_t operand, Value column, Value w) -> Value {
    AffineMap map = maps[operand];
    SmallVector<Value> point(loops, math.index(0));
    point[nDim] = column;
    point[wDim] = w;
    SmallVector<Value> indices;
    for (unsigned i = 0; i < map.getNumResults(); ++i)
      indices.push_back(
          affine::AffineApplyOp::create(b, loc, map.getSubMap({i}), point));
    Value v =
        memref::LoadOp::create(b, loc, op.getDpsInputs()[operand], indices);
    if (v.getType() == f32)
      return v;
    if (isa<FloatType>(v.getType()))
      return arith::ExtFOp::create(b, loc, f32, v);
    return arith::SIToFPOp::create(b, loc, f32, v);
  };
  auto f32Constant = [&](float v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  };
  auto i32Constant = [&](uint32_t v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(int32_t(v)));
  };
  auto pairType = VectorType::get({2}, f16);
  // An f32 scalar in both halves of an f16 pair.
  auto splatPair = [&](Value v) -> Value {
    return vector::BroadcastOp::create(b, loc, pairType,
                                       arith::TruncFOp::create(b, loc, f16, v));
  };

  auto accType = VectorType::get({2, 2}, f32);
  auto aType = VectorType::get({4, 2}, f16);
  auto bType = VectorType::get({2, 2}, f16);
  Value zeroAcc =
      arith::ConstantOp::create(b, loc, DenseElementsAttr::get(accType, 0.0f));
  SmallVector<Value> accInit(rowTiles * colTileCount, zeroAcc);
  // The warps of a block split K: warp w takes steps w, w + 8, ...
  auto loop = scf::ForOp::create(b, loc, warp, math.index(steps),
                                 math.index(warpCount), accInit);
  {
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(loop.getBody());
    Value step = loop.getInductionVar();
    SmallVector<Value> acc(loop.getRegionIterArgs());
    // All the step's words first: their loads are in flight together.
    SmallVector<Value> starts, valid;
    SmallVector<SmallVector<Value>> wordRuns(kChunksPerStep);
    for (int64_t u = 0; u < kChunksPerStep; ++u) {
      Value chunk = math.add(math.mul(step, kChunksPerStep), math.index(u));
      // The thread's first code: 32t of the chunk; a run past K reads the
      // last run and counts as zero (its activations are).
      Value first = math.add(math.mul(chunk, MmaNibbles::kChunk),
                             math.mul(t, MmaNibbles::kThreadCodes));
      valid.push_back(math.lessThan(first, k));
      first = math.clampTo(first, k - MmaNibbles::kThreadCodes);
      starts.push_back(first);
      Value word = math.div(first, kCodes);
      for (int64_t c = 0; c < colTileCount; ++c)
        wordRuns[u].push_back(vector::LoadOp::create(
            b, loc, VectorType::get({4}, i32), words,
            ValueRange{columns[c], word},
            /*nontemporal=*/false, llvm::MaybeAlign(16)));
    }
    for (int64_t u = 0; u < kChunksPerStep; ++u) {
      Value word = math.div(starts[u], kCodes);
      // Per column tile, the f16 pairs that expand its codes:
      // (v - (1024 + offset))·scale with v = 1024 + u, u the unsigned
      // nibble (signed codes + 8), offset the zero point (+ 8 if signed).
      SmallVector<Value> scales, bases;
      for (int64_t c = 0; c < colTileCount; ++c) {
        Value scale = scaleOperand >= 0 ? param(scaleOperand, columns[c], word)
                                        : f32Constant(*knownScale);
        Value offset =
            f32Constant(NibblePairF16::kBase + (isSigned ? 8.0f : 0.0f) +
                        (knownZeroPoint ? *knownZeroPoint : 0.0f));
        if (zeroPointOperand >= 0)
          offset = arith::AddFOp::create(
              b, loc, offset, param(zeroPointOperand, columns[c], word));
        scales.push_back(splatPair(scale));
        bases.push_back(splatPair(offset));
      }
      // A, word by word of the thread's run: each row's 8 activations (two
      // 128-bit loads) as f16, for the word's two k-steps. All the chunk's
      // loads come first, so that they are in flight together.
      Value zeroRow = arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(VectorType::get({4}, f32), 0.0f));
      // rowHalves[wi][i * 2 + h] = {codes 0..3, codes 4..7} as f16.
      SmallVector<SmallVector<std::pair<Value, Value>>> rowHalves(4);
      for (int64_t wi = 0; wi < 4; ++wi)
        for (int64_t i = 0; i < rowTiles; ++i)
          for (int64_t h = 0; h < 2; ++h) {
            if (!rowAt[2 * i + h]) {
              rowHalves[wi].push_back({Value(), Value()});
              continue;
            }
            Value ok =
                arith::AndIOp::create(b, loc, rowOk[2 * i + h], valid[u]);
            Value quarter[2];
            for (int64_t q = 0; q < 2; ++q) {
              Value at = math.add(starts[u], math.index(8 * wi + 4 * q));
              Value v = vector::LoadOp::create(
                  b, loc, VectorType::get({4}, f32), x2,
                  ValueRange{rowAt[2 * i + h], at}, /*nontemporal=*/false,
                  llvm::MaybeAlign(16));
              v = arith::SelectOp::create(b, loc, ok, v, zeroRow);
              quarter[q] =
                  arith::TruncFOp::create(b, loc, VectorType::get({4}, f16), v);
            }
            rowHalves[wi].push_back({quarter[0], quarter[1]});
          }
      for (int64_t j = 0; j < MmaNibbles::kSteps; ++j) {
        int64_t wi = MmaNibbles::word(j);
        // A of row tile i: a0 a1 | a2 a3 | a4 a5 | a6 a7 = (row g, e 0 1),
        // (g + 8, e 0 1), (g, e 2 3), (g + 8, e 2 3); element e is code
        // nibble(j, e) of the word: (low[q], high[q]) for e = 0, 1 and
        // (low[q + 1], high[q + 1]) for e = 2, 3, with q = nibble(j, 0).
        int64_t q = MmaNibbles::nibble(j, 0);
        SmallVector<Value> aTiles;
        for (int64_t i = 0; i < rowTiles; ++i) {
          Value a = arith::ConstantOp::create(
              b, loc, cast<TypedAttr>(b.getZeroAttr(aType)));
          for (int64_t reg = 0; reg < 4; ++reg) {
            auto [low, high] = rowHalves[wi][2 * i + reg % 2];
            if (!low)
              continue; // stays zero
            int64_t e = q + reg / 2;
            Value pair = vector::ShuffleOp::create(b, loc, low, high,
                                                   ArrayRef<int64_t>{e, 4 + e});
            a = vector::InsertOp::create(b, loc, pair, a, reg);
          }
          aTiles.push_back(a);
        }
        for (int64_t c = 0; c < colTileCount; ++c) {
          // B: register r holds nibbles 0 and 4 of the word shifted right
          // by pairShift(j, r), expanded by one lop3 (NibblePairF16).
          Value w = vector::ExtractOp::create(b, loc, wordRuns[u][c], wi);
          if (isSigned)
            w = arith::XOrIOp::create(
                b, loc, w, i32Constant(numerics::NibbleMagic::kSignFlip));
          Value bVec = arith::ConstantOp::create(
              b, loc, cast<TypedAttr>(b.getZeroAttr(bType)));
          for (int64_t r = 0; r < 2; ++r) {
            Value source = w;
            if (int shift = MmaNibbles::pairShift(j, r))
              source = arith::ShRUIOp::create(b, loc, w, i32Constant(shift));
            Value bits = arith::OrIOp::create(
                b, loc,
                arith::AndIOp::create(b, loc, source,
                                      i32Constant(NibblePairF16::kMask)),
                i32Constant(NibblePairF16::kExponent));
            Value pair = vector::BitCastOp::create(
                b, loc, pairType,
                vector::BroadcastOp::create(b, loc, VectorType::get({1}, i32),
                                            bits));
            pair = arith::MulFOp::create(
                b, loc, arith::SubFOp::create(b, loc, pair, bases[c]),
                scales[c]);
            bVec = vector::InsertOp::create(b, loc, pair, bVec, r);
          }
          for (int64_t i = 0; i < rowTiles; ++i)
            acc[i * colTileCount + c] = nvgpu::MmaSyncOp::create(
                b, loc, aTiles[i], bVec, acc[i * colTileCount + c],
                ArrayRef<int64_t>{16, 8, 16});
        }
      }
    }
    scf::YieldOp::create(b, loc, acc);
  }

  // The warps' partial sums through shared memory: thread (warp, lane)
  // writes its 4 accumulators of tile (i, c) at ((i·C + c)·32 + lane)·4.
  for (int64_t tile = 0; tile < rowTiles * colTileCount; ++tile) {
    Value at = math.mul(math.add(math.index(tile * 32), lane), 4);
    Value accTile = loop.getResult(tile);
    for (int64_t h = 0; h < 2; ++h)
      vector::StoreOp::create(
          b, loc, vector::ExtractOp::create(b, loc, accTile, h), shared,
          ValueRange{warp, math.add(at, math.index(2 * h))});
  }
  gpu::BarrierOp::create(b, loc);
  // Then thread tid sums entry f = tid + 256·s over the warps and stores
  // it: tile f / 128 (i, c), lane f / 4 % 32 (g, t), accumulator f % 4
  // (d0 d1 at row g, d2 d3 at g + 8; columns 2t, 2t + 1).
  for (int64_t s = 0; s * 32 * warpCount < partials; ++s) {
    Value f = math.add(tid, math.index(s * 32 * warpCount));
    auto inside = scf::IfOp::create(b, loc, math.lessThan(f, partials),
                                    /*else=*/false);
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPoint(inside.thenBlock()->getTerminator());
    Value sum =
        memref::LoadOp::create(b, loc, shared, ValueRange{math.index(0), f});
    for (int64_t w = 1; w < warpCount; ++w)
      sum = arith::AddFOp::create(
          b, loc, sum,
          memref::LoadOp::create(b, loc, shared, ValueRange{math.index(w), f}));
    Value tile = math.div(f, 128), fLane = math.rem(math.div(f, 4), 32),
          reg = math.rem(f, 4);
    Value r =
        math.add(math.add(m0, math.mul(math.div(tile, colTileCount), 16)),
                 math.add(math.mul(math.div(reg, 2), 8), math.div(fLane, 4)));
    Value col =
        math.add(math.add(n0, math.mul(math.rem(tile, colTileCount), 8)),
                 math.add(math.mul(math.rem(fLane, 4), 2), math.rem(reg, 2)));
    Value ok = arith::AndIOp::create(b, loc, math.lessThan(r, rows),
                                     math.lessThan(col, n));
    auto store = scf::IfOp::create(b, loc, ok, /*else=*/false);
    b.setInsertionPoint(store.thenBlock()->getTerminator());
    Value old = init ? init
                     : memref::LoadOp::create(b, loc, out2, ValueRange{r, col})
                           .getResult();
    memref::StoreOp::create(b, loc, arith::AddFOp::create(b, loc, old, sum),
                            out2, ValueRange{r, col});
  }
  return success();
}
