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
#include "qc/Numerics/Packing.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using qc::numerics::MmaNibbles;

namespace {

constexpr int64_t kCodes = 8;         // codes per word
constexpr int64_t kWarpsPerBlock = 8; // each 8 columns, sharing x in L1
constexpr int64_t kMaxRowTiles = 4;   // 16-row tiles per block
constexpr int64_t kChunksPerStep = 2; // chunks whose words load together

/// A static memref with the identity layout (contiguous, offset 0).
bool plain(Value v, Type element) {
  auto type = dyn_cast<MemRefType>(v.getType());
  return type && type.hasStaticShape() && type.getLayout().isIdentity() &&
         type.getElementType() == element;
}

} // namespace

LogicalResult qc::buildPackedMmaKernel(RewriterBase &rewriter,
                                       linalg::GenericOp op, Value init,
                                       int64_t minRows) {
  auto marker = op->getAttrOfType<DictionaryAttr>("qc.packed_contraction");
  if (!marker || !op.hasPureBufferSemantics() || op.getNumDpsInits() != 1)
    return failure();
  auto flag = [&](StringRef name) {
    auto v = marker.getAs<BoolAttr>(name);
    return v && v.getValue();
  };
  int64_t inputs = op.getNumDpsInputs();
  if (flag("int8") || inputs < kCodes + 1)
    return failure();
  // The scale and zero point: operands after the words, unless one value
  // for all, which element-wise fusion folds into the body (the marker
  // then has the value). Fusion folds every splat operand at once.
  auto known = [&](StringRef name) -> std::optional<float> {
    if (auto v = marker.getAs<FloatAttr>(name))
      return float(v.getValueAsDouble());
    return std::nullopt;
  };
  std::optional<float> knownScale = known("scale"),
                       knownZeroPoint = known("zero_point");
  int64_t scaleOperand = -1, zeroPointOperand = -1;
  int64_t params = inputs - kCodes - 1;
  if (params == 2) {
    // Nothing folded: the scale, then the zero point.
    scaleOperand = kCodes + 1;
    zeroPointOperand = kCodes + 2;
  } else if (params == 1 && knownZeroPoint) {
    // The scale, with a symmetric (or folded) zero point; a splat zero
    // point not folded would be an operand too.
    scaleOperand = kCodes + 1;
  } else if (params == 1 && knownScale) {
    zeroPointOperand = kCodes + 1; // a folded scale
  } else if (params != 0 || !knownScale || !knownZeroPoint) {
    return failure();
  }
  bool isSigned = flag("signed");
  Value view = op.getDpsInputs()[0];
  for (int64_t c = 1; c < kCodes; ++c)
    if (op.getDpsInputs()[c] != view)
      return failure();
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

  int64_t rowTiles = std::min<int64_t>(kMaxRowTiles, (rows + 15) / 16);
  int64_t blockRows = 16 * rowTiles, blockCols = 8 * kWarpsPerBlock;
  int64_t chunks =
      (k + MmaNibbles::kChunk - 1) / MmaNibbles::kChunk;
  int64_t steps = (chunks + kChunksPerStep - 1) / kChunksPerStep;
  auto launch = gpu::LaunchOp::create(
      rewriter, loc, index((n + blockCols - 1) / blockCols),
      index((rows + blockRows - 1) / blockRows), index(1),
      index(32 * kWarpsPerBlock), index(1), index(1));
  OpBuilder::InsertionGuard guard(rewriter);
  enterLaunchBody(rewriter, launch);
  OpBuilder &b = rewriter;
  IndexMath math{b, loc};
  Value tid = launch.getThreadIds().x;
  Value warp = math.div(tid, 32), lane = math.rem(tid, 32);
  Value g = math.div(lane, 4), t = math.rem(lane, 4);
  Value n0 = math.mul(
      math.add(math.mul(launch.getBlockIds().x, kWarpsPerBlock), warp), 8);
  Value m0 = math.mul(launch.getBlockIds().y, blockRows);
  // The thread's weight column (clamped: a column past N loads column N - 1
  // and is not stored).
  Value column = math.clampTo(math.add(n0, g), n - 1);
  // The thread's rows, g and g + 8 of each row tile, clamped, and whether
  // they exist.
  SmallVector<Value> rowAt, rowOk;
  for (int64_t i = 0; i < rowTiles; ++i)
    for (int64_t h = 0; h < 2; ++h) {
      Value r = math.add(math.add(m0, index(16 * i + 8 * h)), g);
      rowOk.push_back(math.lessThan(r, rows));
      rowAt.push_back(math.clampTo(r, rows - 1));
    }

  // A parameter of the column at word `w`, as f32.
  auto param = [&](int64_t operand, Value w) -> Value {
    AffineMap map = maps[operand];
    SmallVector<Value> point(loops, index(0));
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

  auto accType = VectorType::get({2, 2}, f32);
  auto aType = VectorType::get({4, 2}, b.getF16Type());
  auto bType = VectorType::get({2, 2}, b.getF16Type());
  Value zeroAcc = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(accType, 0.0f));
  SmallVector<Value> accInit(rowTiles, zeroAcc);
  auto loop = scf::ForOp::create(b, loc, index(0), index(steps), index(1),
                                 accInit);
  {
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(loop.getBody());
    Value step = loop.getInductionVar();
    SmallVector<Value> acc(loop.getRegionIterArgs());
    // All the chunks' words first: their loads are in flight together.
    SmallVector<Value> wordRuns, starts, valid;
    for (int64_t u = 0; u < kChunksPerStep; ++u) {
      Value chunk = math.add(math.mul(step, kChunksPerStep), index(u));
      // The thread's first code: 32t of the chunk; a run past K reads the
      // last run and counts as zero (its activations are).
      Value first = math.add(math.mul(chunk, MmaNibbles::kChunk),
                             math.mul(t, MmaNibbles::kThreadCodes));
      valid.push_back(math.lessThan(first, k));
      first = math.clampTo(first, k - MmaNibbles::kThreadCodes);
      starts.push_back(first);
      Value word = math.div(first, kCodes);
      wordRuns.push_back(vector::LoadOp::create(
          b, loc, VectorType::get({4}, i32), words, ValueRange{column, word},
          /*nontemporal=*/false, llvm::MaybeAlign(16)));
    }
    for (int64_t u = 0; u < kChunksPerStep; ++u) {
      Value word = math.div(starts[u], kCodes);
      auto constant = [&](float v) -> Value {
        return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
      };
      Value scale = scaleOperand >= 0 ? param(scaleOperand, word)
                                      : constant(*knownScale);
      // (u - offset)·scale with u the unsigned nibble (signed codes + 8).
      Value offset = constant(isSigned ? 8.0f : 0.0f);
      if (zeroPointOperand >= 0)
        offset =
            arith::AddFOp::create(b, loc, offset, param(zeroPointOperand, word));
      else
        offset = constant((isSigned ? 8.0f : 0.0f) + *knownZeroPoint);
      Value negBase = arith::NegFOp::create(
          b, loc,
          arith::AddFOp::create(
              b, loc,
              arith::ConstantOp::create(
                  b, loc, b.getF32FloatAttr(numerics::NibbleMagic::kBase)),
              offset));
      // A for all the chunk's k-steps first, so that its loads are in
      // flight together (one k-step at a time waits for the cache once
      // per k-step).
      SmallVector<SmallVector<Value>> aSteps;
      for (int64_t j = 0; j < MmaNibbles::kSteps; ++j) {
        // A: rows g and g + 8 of each tile, elements e = 0..3 at
        // code(t, j, 0) (one 128-bit load per row), as f16.
        Value at = math.add(starts[u], index(MmaNibbles::code(0, j, 0)));
        Value zeroRow = arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(VectorType::get({4}, f32), 0.0f));
        SmallVector<Value> aTiles;
        for (int64_t i = 0; i < rowTiles; ++i) {
          Value halves[2];
          for (int64_t h = 0; h < 2; ++h) {
            Value v = vector::LoadOp::create(
                b, loc, VectorType::get({4}, f32), x2,
                ValueRange{rowAt[2 * i + h], at}, /*nontemporal=*/false,
                llvm::MaybeAlign(16));
            Value ok = arith::AndIOp::create(b, loc, rowOk[2 * i + h],
                                             valid[u]);
            v = arith::SelectOp::create(b, loc, ok, v, zeroRow);
            halves[h] = arith::TruncFOp::create(
                b, loc, VectorType::get({4}, b.getF16Type()), v);
          }
          // a0 a1 | a2 a3 | a4 a5 | a6 a7: (row g, e 0 1), (g + 8, e 0 1),
          // (g, e 2 3), (g + 8, e 2 3).
          Value a = arith::ConstantOp::create(
              b, loc, cast<TypedAttr>(b.getZeroAttr(aType)));
          for (int64_t reg = 0; reg < 4; ++reg) {
            Value half = halves[reg % 2];
            int64_t e = reg < 2 ? 0 : 2;
            Value pair = vector::ShuffleOp::create(b, loc, half, half,
                                                   ArrayRef<int64_t>{e, e + 1});
            a = vector::InsertOp::create(b, loc, pair, a, reg);
          }
          aTiles.push_back(a);
        }
        aSteps.push_back(aTiles);
      }
      for (int64_t j = 0; j < MmaNibbles::kSteps; ++j) {
        ArrayRef<Value> aTiles = aSteps[j];
        // B: nibbles nibble(j, 0..3) of word word(j) of the column's run.
        Value w = vector::ExtractOp::create(b, loc, wordRuns[u],
                                            MmaNibbles::word(j));
        if (isSigned)
          w = arith::XOrIOp::create(
              b, loc, w,
              arith::ConstantOp::create(
                  b, loc,
                  b.getI32IntegerAttr(
                      int32_t(numerics::NibbleMagic::kSignFlip))));
        SmallVector<Value> values;
        for (int64_t e = 0; e < 4; ++e) {
          Value nibble = arith::AndIOp::create(
              b, loc,
              arith::ShRUIOp::create(
                  b, loc, w,
                  arith::ConstantOp::create(
                      b, loc,
                      b.getI32IntegerAttr(4 * MmaNibbles::nibble(j, e)))),
              arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0xF)));
          // 2^23 + u, exactly, then - (2^23 + offset): u - offset.
          Value magic = arith::BitcastOp::create(
              b, loc, f32,
              arith::OrIOp::create(
                  b, loc, nibble,
                  arith::ConstantOp::create(
                      b, loc,
                      b.getI32IntegerAttr(
                          int32_t(numerics::NibbleMagic::kExponent)))));
          values.push_back(arith::MulFOp::create(
              b, loc, arith::AddFOp::create(b, loc, magic, negBase), scale));
        }
        Value bVec = arith::ConstantOp::create(
            b, loc, cast<TypedAttr>(b.getZeroAttr(bType)));
        for (int64_t reg = 0; reg < 2; ++reg) {
          Value pair = vector::FromElementsOp::create(
              b, loc, VectorType::get({2}, f32),
              ValueRange{values[2 * reg], values[2 * reg + 1]});
          bVec = vector::InsertOp::create(
              b, loc,
              arith::TruncFOp::create(
                  b, loc, VectorType::get({2}, b.getF16Type()), pair),
              bVec, reg);
        }
        for (int64_t i = 0; i < rowTiles; ++i)
          acc[i] = nvgpu::MmaSyncOp::create(b, loc, aTiles[i], bVec, acc[i],
                                            ArrayRef<int64_t>{16, 8, 16});
      }
    }
    scf::YieldOp::create(b, loc, acc);
  }

  // d0 d1 at row g, d2 d3 at row g + 8; columns 2t, 2t + 1.
  for (int64_t i = 0; i < rowTiles; ++i)
    for (int64_t h = 0; h < 2; ++h) {
      Value r = math.add(math.add(m0, index(16 * i + 8 * h)), g);
      Value pair = vector::ExtractOp::create(b, loc, loop.getResult(i), h);
      for (int64_t q = 0; q < 2; ++q) {
        Value c = math.add(math.add(n0, math.mul(t, 2)), index(q));
        Value ok = arith::AndIOp::create(b, loc, math.lessThan(r, rows),
                                         math.lessThan(c, n));
        auto store = scf::IfOp::create(b, loc, ok, /*else=*/false);
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPoint(store.thenBlock()->getTerminator());
        Value old = init ? init
                         : memref::LoadOp::create(b, loc, out2,
                                                  ValueRange{r, c})
                               .getResult();
        Value v = vector::ExtractOp::create(b, loc, pair, q);
        memref::StoreOp::create(b, loc, arith::AddFOp::create(b, loc, old, v),
                                out2, ValueRange{r, c});
      }
    }
  return success();
}
