//===- VectorizePackedContractions.cpp - CPU kernels on int4 words --------===//
//
// See the pass description in include/qc/Conversion/Passes.td.
//
//===----------------------------------------------------------------------===//

#include "ThreadPolicy.h"
#include "qc/Conversion/Passes.h"
#include "qc/Numerics/Packing.h"
#include "X86Dot.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>

namespace mlir::qc {
#define GEN_PASS_DEF_QCVECTORIZEPACKEDCONTRACTIONS
#include "qc/Conversion/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using mlir::qc::numerics::NibbleMagic;

namespace {
/// Codes per 32-bit word of the nibbles layout.
constexpr int64_t kCodes = 8;

/// A parameter (scale or zero point) of the packed contraction: its tensor,
/// the map from the generic's loops to its indices, and how many words
/// share one value along K (0: the same for the whole row).
struct Param {
  Value tensor;
  AffineMap map;
  int64_t wordsPerValue = 0;
};

/// The operands of a `qc.packed_contraction` generic, read off its
/// documented operand order (convert-qc-to-linalg's
/// packedNibbleContraction).
struct PackedContraction {
  linalg::GenericOp op;
  Value x;     ///< [lead..., M, K] float, the source of the lhs view
  Value words; ///< [N, K/8] i32
  Param scale;
  std::optional<Param> zeroPoint;
  bool isSigned = false;
  bool int8 = false; ///< x holds per-token i8 codes (W4A8)
  int64_t n = 0, wordsPerRow = 0;
  int64_t nDim = 0, wDim = 0;
};

/// How many words share a parameter value along K, from its indexing map:
/// no result depends on w (0), one result is w (1) or w floordiv c (c).
/// Fails where a result depends on anything but n and w, or on w
/// otherwise.
FailureOr<int64_t> wordsPerValue(AffineMap map, int64_t nDim, int64_t wDim) {
  int64_t per = 0;
  for (AffineExpr e : map.getResults()) {
    for (unsigned d = 0; d < map.getNumDims(); ++d)
      if (d != nDim && d != wDim && e.isFunctionOfDim(d))
        return failure();
    if (!e.isFunctionOfDim(wDim))
      continue;
    if (per)
      return failure();
    if (auto dim = dyn_cast<AffineDimExpr>(e); dim && dim.getPosition() == wDim) {
      per = 1;
      continue;
    }
    auto bin = dyn_cast<AffineBinaryOpExpr>(e);
    if (!bin || bin.getKind() != AffineExprKind::FloorDiv)
      return failure();
    auto lhs = dyn_cast<AffineDimExpr>(bin.getLHS());
    auto rhs = dyn_cast<AffineConstantExpr>(bin.getRHS());
    if (!lhs || lhs.getPosition() != wDim || !rhs || rhs.getValue() <= 0)
      return failure();
    per = rhs.getValue();
  }
  return per;
}

/// The packed contraction `op` describes, or failure where this pass does
/// not take it.
FailureOr<PackedContraction> match(linalg::GenericOp op) {
  auto attr = op->getAttrOfType<DictionaryAttr>("qc.packed_contraction");
  if (!attr || op.getNumDpsInits() != 1 || !op.hasPureTensorSemantics())
    return failure();
  PackedContraction pc;
  pc.op = op;
  auto flag = [&](StringRef name) {
    auto value = attr.getAs<BoolAttr>(name);
    return value && value.getValue();
  };
  pc.isSigned = flag("signed");
  pc.int8 = flag("int8");
  int64_t inputs = op.getNumDpsInputs();
  if (inputs != kCodes + 2 && inputs != kCodes + 3)
    return failure();
  Value view = op.getDpsInputs()[0];
  for (int64_t c = 1; c < kCodes; ++c)
    if (op.getDpsInputs()[c] != view)
      return failure();
  auto expand = view.getDefiningOp<tensor::ExpandShapeOp>();
  if (!expand)
    return failure();
  pc.x = expand.getSrc();
  auto xTy = cast<RankedTensorType>(pc.x.getType());
  auto outTy = cast<RankedTensorType>(op.getDpsInits()[0].getType());
  Type xElement = xTy.getElementType();
  if (!(pc.int8 ? xElement.isInteger(8) : xElement.isF32()) ||
      !outTy.getElementType().isF32() ||
      xTy.getRank() < 2 || outTy.getRank() != xTy.getRank())
    return failure();
  // Leading dimensions (batch..., m) of x and the output coincide, so both
  // collapse to M rows; the lhs maps read them in place.
  int64_t loops = op.getNumLoops();
  pc.nDim = loops - 2;
  pc.wDim = loops - 1;
  for (int64_t d = 0; d + 1 < xTy.getRank(); ++d)
    if (xTy.getDimSize(d) != outTy.getDimSize(d))
      return failure();
  pc.words = op.getDpsInputs()[kCodes];
  auto wordsTy = cast<RankedTensorType>(pc.words.getType());
  if (!wordsTy.getElementType().isInteger(32) || !wordsTy.hasStaticShape() ||
      wordsTy.getRank() != 2 || outTy.getDimSize(outTy.getRank() - 1) !=
                                    wordsTy.getDimSize(0))
    return failure();
  pc.n = wordsTy.getDimSize(0);
  pc.wordsPerRow = wordsTy.getDimSize(1);
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  auto param = [&](int64_t i) -> FailureOr<Param> {
    Param p;
    p.tensor = op.getDpsInputs()[i];
    p.map = maps[i];
    Type element = getElementTypeOrSelf(p.tensor.getType());
    if (!(element.isF32() || element.isF16() || element.isBF16() ||
          element.isInteger(32)))
      return failure();
    FailureOr<int64_t> per = wordsPerValue(p.map, pc.nDim, pc.wDim);
    if (failed(per))
      return failure();
    p.wordsPerValue = *per;
    return p;
  };
  FailureOr<Param> scale = param(kCodes + 1);
  if (failed(scale))
    return failure();
  pc.scale = *scale;
  if (inputs == kCodes + 3) {
    FailureOr<Param> zp = param(kCodes + 2);
    if (failed(zp))
      return failure();
    pc.zeroPoint = *zp;
  }
  return pc;
}

/// The lanes of a chunk: the largest power of two not above `lanes` that
/// divides the row's words and nests with the parameters' groups (a group
/// spans whole chunks, or a chunk whole groups).
int64_t chunkLanes(const PackedContraction &pc, int64_t lanes) {
  auto nests = [](int64_t per, int64_t l) {
    return per == 0 || per % l == 0 || l % per == 0;
  };
  int64_t l = 1;
  while (l * 2 <= lanes)
    l *= 2;
  for (; l > 1; l /= 2)
    if (pc.wordsPerRow % l == 0 && nests(pc.scale.wordsPerValue, l) &&
        (!pc.zeroPoint || nests(pc.zeroPoint->wordsPerValue, l)))
      break;
  return l;
}

struct Builder {
  OpBuilder &b;
  Location loc;

  Value index(int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  }
  Value splatI32(int64_t lanes, int32_t v) {
    return arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(VectorType::get({lanes}, b.getI32Type()),
                               b.getI32IntegerAttr(v)));
  }
  Value read(VectorType type, Value tensor, ValueRange indices) {
    return vector::TransferReadOp::create(
        b, loc, type, tensor, indices, std::nullopt,
        ArrayRef<bool>{true});
  }
  Value toF32(Value v) {
    Type f32 = b.getF32Type();
    Type t = v.getType();
    if (t == f32)
      return v;
    if (isa<FloatType>(t))
      return arith::ExtFOp::create(b, loc, f32, v);
    return arith::SIToFPOp::create(b, loc, f32, v);
  }

  /// The parameter's values for the chunk of `lanes` words starting at word
  /// `w0` of row `n`, as f32 lanes (each word's value), plus `offset`.
  Value paramLanes(const Param &p, Value n, Value w0, int64_t lanes,
                   float offset) {
    int64_t loops = p.map.getNumDims();
    auto lanesType = VectorType::get({lanes}, b.getF32Type());
    auto valueAt = [&](Value w) {
      SmallVector<Value> dims(loops, index(0));
      dims[loops - 2] = n;
      dims[loops - 1] = w;
      SmallVector<Value> indices;
      for (AffineExpr e : p.map.getResults())
        indices.push_back(affine::AffineApplyOp::create(
            b, loc, AffineMap::get(loops, 0, e), dims));
      Value v = toF32(tensor::ExtractOp::create(b, loc, p.tensor, indices));
      if (offset != 0)
        v = arith::AddFOp::create(
            b, loc, v,
            arith::ConstantOp::create(b, loc, b.getF32FloatAttr(offset)));
      return v;
    };
    if (p.wordsPerValue == 0 || p.wordsPerValue >= lanes)
      return vector::BroadcastOp::create(b, loc, lanesType, valueAt(w0));
    // lanes / per distinct values, each repeated over its words.
    int64_t distinct = lanes / p.wordsPerValue;
    SmallVector<Value> values;
    for (int64_t i = 0; i < distinct; ++i)
      values.push_back(valueAt(arith::AddIOp::create(
          b, loc, w0, index(i * p.wordsPerValue))));
    Value packed = vector::FromElementsOp::create(
        b, loc, VectorType::get({distinct}, b.getF32Type()), values);
    SmallVector<int64_t> mask;
    for (int64_t l = 0; l < lanes; ++l)
      mask.push_back(l / p.wordsPerValue);
    return vector::ShuffleOp::create(b, loc, packed, packed, mask);
  }
};

/// The activation codes x ([M, K] i8) as [M, chunks, 2, 4 * lanes]: byte
/// 4l + t of half h of a chunk holds code 8l + 2t + h of the chunk, the
/// byte that vpdpbusd multiplies with byte t of word l's low (h = 0) or
/// high (h = 1) nibbles.
Value rearrangeCodes(OpBuilder &b, Location loc, Value x, int64_t m,
                     int64_t chunks, int64_t lanes, ValueRange dynamicRows) {
  MLIRContext *ctx = b.getContext();
  Type i8 = b.getI8Type();
  SmallVector<OpFoldResult> shape{
      ShapedType::isDynamic(m)
          ? OpFoldResult(tensor::DimOp::create(b, loc, x, 0).getResult())
          : OpFoldResult(b.getIndexAttr(m)),
      b.getIndexAttr(chunks), b.getIndexAttr(lanes), b.getIndexAttr(4),
      b.getIndexAttr(2)};
  Value view = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get({m, chunks, lanes, 4, 2}, i8), x,
      SmallVector<ReassociationIndices>{{0}, {1, 2, 3, 4}}, shape);
  auto outTy = RankedTensorType::get({m, chunks, 2, lanes, 4}, i8);
  Value init = tensor::EmptyOp::create(b, loc, outTy, dynamicRows);
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  Value moved =
      linalg::GenericOp::create(
          b, loc, TypeRange{outTy}, ValueRange{view}, ValueRange{init},
          SmallVector<AffineMap>{
              AffineMap::get(5, 0, {d(0), d(1), d(3), d(4), d(2)}, ctx),
              AffineMap::getMultiDimIdentityMap(5, ctx)},
          SmallVector<utils::IteratorType>(5, utils::IteratorType::parallel),
          [&](OpBuilder &nb, Location l, ValueRange args) {
            linalg::YieldOp::create(nb, l, args[0]);
          })
          .getResult(0);
  return tensor::CollapseShapeOp::create(
      b, loc, moved, SmallVector<ReassociationIndices>{{0}, {1}, {2}, {3, 4}});
}

/// One chunk of a W4A8 contraction: each row's lane sums (f32) of the
/// words' 8 codes times the activation codes, by two vpdpbusd (the low
/// and the high nibbles as unsigned bytes; `word` already offset to c + 8
/// for signed codes).
void dotChunk(Builder &h, Value word, Value codes, ArrayRef<Value> rows,
              Value c, int64_t lanes, int64_t dotBits,
              SmallVectorImpl<Value> &sums) {
  OpBuilder &b = h.b;
  Location loc = h.loc;
  auto laneI32 = VectorType::get({lanes}, b.getI32Type());
  auto bytes = VectorType::get({4 * lanes}, b.getI8Type());
  Value mask = h.splatI32(lanes, 0x0F0F0F0F);
  Value low = arith::AndIOp::create(b, loc, word, mask);
  Value high = arith::AndIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, word, h.splatI32(lanes, 4)),
      mask);
  Value zero = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(laneI32, b.getI32IntegerAttr(0)));
  Value halves[] = {low, high};
  for (auto [r, row] : llvm::enumerate(rows)) {
    Value acc = zero;
    for (auto [half, nibbles] : llvm::enumerate(halves)) {
      Value x = vector::BitCastOp::create(
          b, loc, laneI32,
          h.read(bytes, codes,
                 {row, c, h.index(half), h.index(0)}));
      acc = qc::buildVpdpbusd(b, loc, nibbles, x, acc, dotBits);
    }
    sums[r] = arith::SIToFPOp::create(
        b, loc, VectorType::get({lanes}, b.getF32Type()), acc);
  }
}

struct QCVectorizePackedContractionsPass
    : public qc::impl::QCVectorizePackedContractionsBase<
          QCVectorizePackedContractionsPass> {
  using QCVectorizePackedContractionsBase::QCVectorizePackedContractionsBase;

  void rewrite(const PackedContraction &pc) {
    linalg::GenericOp op = pc.op;
    OpBuilder b(op);
    Location loc = op.getLoc();
    Builder h{b, loc};
    Type f32 = b.getF32Type();
    int64_t lanes = chunkLanes(
        pc, pc.int8 ? std::min<int64_t>(this->lanes, dotBits / 32)
                    : int64_t(this->lanes));
    // vpdpbusd comes in 512 and 256 bits (16 and 8 lanes).
    if (pc.int8 && lanes != 16 && lanes != 8)
      return;
    int64_t chunks = pc.wordsPerRow / lanes;

    // x and the output as [M, K] and [M, N].
    auto collapse = [&](Value v) -> Value {
      auto type = cast<RankedTensorType>(v.getType());
      if (type.getRank() == 2)
        return v;
      SmallVector<ReassociationIndices> reassoc(2);
      for (int64_t d = 0; d + 1 < type.getRank(); ++d)
        reassoc[0].push_back(d);
      reassoc[1].push_back(type.getRank() - 1);
      return tensor::CollapseShapeOp::create(b, loc, v, reassoc);
    };
    Value x = collapse(pc.x);
    Value init = collapse(op.getDpsInits()[0]);
    auto xTy = cast<RankedTensorType>(x.getType());
    int64_t m = xTy.getDimSize(0);
    auto dynamicRows = [&](Value source) {
      SmallVector<Value> sizes;
      if (ShapedType::isDynamic(m))
        sizes.push_back(tensor::DimOp::create(b, loc, source, 0));
      return sizes;
    };

    // x as [M, chunks, lanes, 8], rearranged to [M, chunks, 8, lanes] times
    // 2^-4j for nibble j < 7 (it meets code * 2^4j).
    MLIRContext *ctx = b.getContext();
    auto view = tensor::ExpandShapeOp::create(
        b, loc,
        RankedTensorType::get({m, chunks, lanes, kCodes},
                              cast<RankedTensorType>(x.getType())
                                  .getElementType()),
        x,
        SmallVector<ReassociationIndices>{{0}, {1, 2, 3}},
        SmallVector<OpFoldResult>{
            ShapedType::isDynamic(m)
                ? OpFoldResult(tensor::DimOp::create(b, loc, x, 0).getResult())
                : OpFoldResult(b.getIndexAttr(m)),
            b.getIndexAttr(chunks), b.getIndexAttr(lanes),
            b.getIndexAttr(kCodes)});
    SmallVector<Attribute> factors;
    for (int64_t j = 0; j < kCodes; ++j)
      factors.push_back(
          b.getF32FloatAttr(j + 1 < kCodes ? std::ldexp(1.0f, -4 * int(j)) : 1.0f));
    Value factorTensor = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(RankedTensorType::get({kCodes}, f32), factors));
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    Value xp = pc.int8 ? rearrangeCodes(b, loc, x, m, chunks, lanes,
                                        dynamicRows(x))
                       : Value();
    auto xpTy = RankedTensorType::get({m, chunks, kCodes, lanes}, f32);
    if (!pc.int8) {
    Value xpInit = tensor::EmptyOp::create(b, loc, xpTy, dynamicRows(x));
    xp =
        linalg::GenericOp::create(
            b, loc, TypeRange{xpTy}, ValueRange{view, factorTensor},
            ValueRange{xpInit},
            SmallVector<AffineMap>{
                AffineMap::get(4, 0, {d(0), d(1), d(3), d(2)}, ctx),
                AffineMap::get(4, 0, {d(2)}, ctx),
                AffineMap::getMultiDimIdentityMap(4, ctx)},
            SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
            [&](OpBuilder &nb, Location l, ValueRange args) {
              linalg::YieldOp::create(
                  nb, l,
                  arith::MulFOp::create(nb, l, args[0], args[1]).getResult());
            })
            .getResult(0);
    }
    // The zero point's share: (zero point [+ 8]) * the sum of x over each
    // word, [M, chunks, lanes].
    bool zeroPoint = pc.zeroPoint || pc.isSigned;
    Value xs;
    if (zeroPoint) {
      auto xsTy = RankedTensorType::get({m, chunks, lanes}, f32);
      Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
      Value xsInit = linalg::FillOp::create(
                         b, loc, zero,
                         tensor::EmptyOp::create(b, loc, xsTy, dynamicRows(x))
                             .getResult())
                         .getResult(0);
      xs = linalg::GenericOp::create(
               b, loc, TypeRange{xsTy}, ValueRange{view}, ValueRange{xsInit},
               SmallVector<AffineMap>{
                   AffineMap::getMultiDimIdentityMap(4, ctx),
                   AffineMap::get(4, 0, {d(0), d(1), d(2)}, ctx)},
               SmallVector<utils::IteratorType>{
                   utils::IteratorType::parallel, utils::IteratorType::parallel,
                   utils::IteratorType::parallel,
                   utils::IteratorType::reduction},
               [&](OpBuilder &nb, Location l, ValueRange args) {
                 Value v = args[0];
                 if (pc.int8)
                   v = arith::SIToFPOp::create(nb, l, nb.getF32Type(), v);
                 linalg::YieldOp::create(
                     nb, l,
                     arith::AddFOp::create(nb, l, v, args[1]).getResult());
               })
               .getResult(0);
    }

    // Rows of x sharing one chunk of codes.
    int64_t rowBlock = 1;
    if (!ShapedType::isDynamic(m))
      for (int64_t r = std::min<int64_t>(4, m); r >= 1; --r)
        if (m % r == 0) {
          rowBlock = r;
          break;
        }
    // Weight rows per thread.
    int64_t tile = pc.n, tiles = 1;
    if (parallel && rowTiles > 1 && pc.n >= rowTiles * 16 &&
        qc::worthThreads(m, pc.n, pc.wordsPerRow * kCodes,
                     minParallelMacs)) {
      int64_t want = llvm::divideCeil(pc.n, rowTiles);
      for (int64_t t = want; t * 2 >= want; --t)
        if (pc.n % t == 0) {
          tile = t;
          tiles = pc.n / t;
          break;
        }
    }

    auto laneF32 = VectorType::get({lanes}, f32);
    auto laneI32 = VectorType::get({lanes}, b.getI32Type());
    auto fastmath = arith::FastMathFlagsAttr::get(
        ctx, arith::FastMathFlags::reassoc | arith::FastMathFlags::contract);

    // The weight rows [n0, n0 + tile) into `out` ([M, tile]).
    auto rowsBody = [&](Value n0, Value out) -> Value {
      auto rowLoop = scf::ForOp::create(
          b, loc, h.index(0), h.index(tile), h.index(1), ValueRange{out},
          [&](OpBuilder &nb, Location, Value nn, ValueRange rowIter) {
            OpBuilder::InsertionGuard guard(b);
            b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
            Value n = arith::AddIOp::create(b, loc, n0, nn);
            Value mEnd = ShapedType::isDynamic(m)
                             ? tensor::DimOp::create(b, loc, x, 0).getResult()
                             : h.index(m);
            // Per-row parameters, hoisted where they do not vary along K.
            auto rowParam = [&](const Param &p, float offset) -> Value {
              return p.wordsPerValue == 0
                         ? h.paramLanes(p, n, h.index(0), lanes, offset)
                         : Value();
            };
            float zpOffset = NibbleMagic::zeroPoint(pc.isSigned, 0);
            Value rowScale = rowParam(pc.scale, 0);
            Value rowZero;
            if (pc.zeroPoint)
              rowZero = rowParam(*pc.zeroPoint, zpOffset);
            else if (pc.isSigned)
              rowZero = vector::BroadcastOp::create(
                  b, loc, laneF32,
                  arith::ConstantOp::create(b, loc,
                                            b.getF32FloatAttr(zpOffset)));
            auto mLoop = scf::ForOp::create(
                b, loc, h.index(0), mEnd, h.index(rowBlock),
                ValueRange{rowIter[0]},
                [&](OpBuilder &nb, Location, Value m0, ValueRange mIter) {
                  OpBuilder::InsertionGuard guard(b);
                  b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
                  Value zeroLanes = arith::ConstantOp::create(
                      b, loc, DenseElementsAttr::get(laneF32, 0.0f));
                  SmallVector<Value> accInit(rowBlock, zeroLanes);
                  auto chunkLoop = scf::ForOp::create(
                      b, loc, h.index(0), h.index(chunks), h.index(1),
                      accInit,
                      [&](OpBuilder &nb, Location, Value c, ValueRange accs) {
                        OpBuilder::InsertionGuard guard(b);
                        b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
                        Value w0 = arith::MulIOp::create(b, loc, c,
                                                         h.index(lanes));
                        Value word = h.read(laneI32, pc.words, {n, w0});
                        if (pc.isSigned)
                          word = arith::XOrIOp::create(
                              b, loc, word,
                              h.splatI32(lanes, int32_t(NibbleMagic::
                                                            kSignFlip)));
                        SmallVector<Value> sums(rowBlock);
                        SmallVector<Value> rows;
                        for (int64_t r = 0; r < rowBlock; ++r)
                          rows.push_back(
                              arith::AddIOp::create(b, loc, m0, h.index(r)));
                        if (pc.int8)
                          dotChunk(h, word, xp, rows, c, lanes, dotBits, sums);
                        for (int64_t j = 0; j < kCodes && !pc.int8; ++j) {
                          Value code =
                              j + 1 < kCodes
                                  ? arith::AndIOp::create(
                                        b, loc, word,
                                        h.splatI32(lanes, int32_t(uint32_t(0xF)
                                                                  << (4 * j))))
                                        .getResult()
                                  : arith::ShRUIOp::create(
                                        b, loc, word,
                                        h.splatI32(lanes, 4 * int32_t(j)))
                                        .getResult();
                          code = arith::SIToFPOp::create(b, loc, laneF32, code);
                          for (int64_t r = 0; r < rowBlock; ++r) {
                            Value xv = h.read(laneF32, xp,
                                              {rows[r], c, h.index(j),
                                               h.index(0)});
                            sums[r] =
                                sums[r] ? vector::FMAOp::create(b, loc, code,
                                                                xv, sums[r])
                                              .getResult()
                                        : arith::MulFOp::create(b, loc, code,
                                                                xv)
                                              .getResult();
                          }
                        }
                        Value scale =
                            rowScale ? rowScale
                                     : h.paramLanes(pc.scale, n, w0, lanes, 0);
                        Value negZero;
                        if (zeroPoint) {
                          Value zp = rowZero ? rowZero
                                             : h.paramLanes(*pc.zeroPoint, n,
                                                            w0, lanes,
                                                            zpOffset);
                          negZero = arith::NegFOp::create(b, loc, zp);
                        }
                        SmallVector<Value> next;
                        for (int64_t r = 0; r < rowBlock; ++r) {
                          Value sum = sums[r];
                          if (negZero)
                            sum = vector::FMAOp::create(
                                b, loc, negZero,
                                h.read(laneF32, xs,
                                       {rows[r], c, h.index(0)}),
                                sum);
                          next.push_back(vector::FMAOp::create(
                              b, loc, scale, sum, accs[r]));
                        }
                        scf::YieldOp::create(b, loc, next);
                      });
                  // Lanes into the output.
                  Value tileOut = mIter[0];
                  for (int64_t r = 0; r < rowBlock; ++r) {
                    Value row = arith::AddIOp::create(b, loc, m0, h.index(r));
                    Value total = vector::ReductionOp::create(
                        b, loc, vector::CombiningKind::ADD,
                        chunkLoop.getResult(r), Value(),
                        arith::FastMathFlags::reassoc |
                            arith::FastMathFlags::contract);
                    Value old = tensor::ExtractOp::create(b, loc, tileOut,
                                                          ValueRange{row, nn});
                    tileOut = tensor::InsertOp::create(
                        b, loc,
                        arith::AddFOp::create(b, loc, old, total, fastmath),
                        tileOut, ValueRange{row, nn});
                  }
                  scf::YieldOp::create(b, loc, tileOut);
                });
            scf::YieldOp::create(b, loc, mLoop.getResult(0));
          });
      return rowLoop.getResult(0);
    };

    Value result;
    if (tiles == 1) {
      result = rowsBody(h.index(0), init);
    } else {
      auto forall = scf::ForallOp::create(
          b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(tiles)},
          ValueRange{init}, std::nullopt);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(forall.getBody());
      Value t = forall.getInductionVars()[0];
      Value n0 = arith::MulIOp::create(b, loc, t, h.index(tile));
      Value shared = forall.getRegionIterArgs()[0];
      SmallVector<OpFoldResult> offsets{b.getIndexAttr(0), n0};
      SmallVector<OpFoldResult> sizes{
          ShapedType::isDynamic(m)
              ? OpFoldResult(tensor::DimOp::create(b, loc, shared, 0)
                                 .getResult())
              : OpFoldResult(b.getIndexAttr(m)),
          b.getIndexAttr(tile)};
      SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
      Value slice = tensor::ExtractSliceOp::create(b, loc, shared, offsets,
                                                   sizes, strides);
      Value done = rowsBody(n0, slice);
      b.setInsertionPointToStart(forall.getTerminator().getBody());
      tensor::ParallelInsertSliceOp::create(b, loc, done, shared, offsets,
                                            sizes, strides);
      b.setInsertionPointAfter(forall);
      result = forall.getResult(0);
    }
    // Back to the output's shape.
    auto outTy = cast<RankedTensorType>(op.getResult(0).getType());
    if (outTy.getRank() != 2) {
      SmallVector<ReassociationIndices> reassoc(2);
      for (int64_t i = 0; i + 1 < outTy.getRank(); ++i)
        reassoc[0].push_back(i);
      reassoc[1].push_back(outTy.getRank() - 1);
      result = tensor::ExpandShapeOp::create(b, loc, outTy, result, reassoc);
    }
    op.getResult(0).replaceAllUsesWith(result);
    op.erase();
  }

  void runOnOperation() override {
    if (lanes < 1 || rowTiles < 1) {
      getOperation()->emitError(
          "qc-vectorize-packed-contractions: lanes and row-tiles must be "
          ">= 1");
      return signalPassFailure();
    }
    SmallVector<PackedContraction> found;
    getOperation()->walk([&](linalg::GenericOp op) {
      FailureOr<PackedContraction> pc = match(op);
      if (succeeded(pc))
        found.push_back(*pc);
    });
    for (const PackedContraction &pc : found)
      rewrite(pc);
  }
};
} // namespace
