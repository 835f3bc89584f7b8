//===- VectorizeInt8Contractions.cpp - int8 GEMM kernels with vpdpbusd ----===//
//
// See the pass description in include/qc/Conversion/Passes.td.
//
//===----------------------------------------------------------------------===//

#include "EntryPointBuilder.h"
#include "X86Dot.h"
#include "ThreadPolicy.h"
#include "qc/Conversion/Passes.h"
#include "qc/Dialect/QC/IR/Int8Contraction.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cstring>

namespace mlir::qc {
#define GEN_PASS_DEF_QCVECTORIZEINT8CONTRACTIONS
#include "qc/Conversion/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;

namespace {

/// One side of the contraction: the 8-bit codes the centering generic
/// widens, and its zero point (with the generic's map from (row, col) of
/// the codes to the zero point's indices), if any.
struct Side {
  Value codes;
  Value zeroPoint;
  AffineMap zeroPointMap;
  bool isSigned = false;
};

/// The operand `v` of the contraction: a generic computing ext(codes)
/// [- ext(zero point)] element-wise (the importer's centeredInt32).
FailureOr<Side> matchSide(Value v, bool isSigned) {
  auto gen = v.getDefiningOp<linalg::GenericOp>();
  if (!gen || gen.getNumDpsInputs() < 1 || gen.getNumDpsInputs() > 2 ||
      gen.getNumLoops() != 2 ||
      gen.getNumReductionLoops() != 0 ||
      !gen.getIndexingMapsArray()[0].isIdentity())
    return failure();
  Side s;
  s.isSigned = isSigned;
  s.codes = gen.getDpsInputs()[0];
  auto type = cast<RankedTensorType>(s.codes.getType());
  // Rows (M of the activation) may be dynamic; the reduction may not.
  if (!type.getElementType().isInteger(8) || type.getRank() != 2 ||
      ShapedType::isDynamic(type.getDimSize(1)))
    return failure();
  if (gen.getNumDpsInputs() == 2) {
    s.zeroPoint = gen.getDpsInputs()[1];
    s.zeroPointMap = gen.getIndexingMapsArray()[1];
    if (!getElementTypeOrSelf(s.zeroPoint.getType()).isInteger(8))
      return failure();
  }
  return s;
}

/// The raw bytes of a constant tensor.
std::optional<ArrayRef<char>> constantBytes(Value v) {
  auto constant = v.getDefiningOp<arith::ConstantOp>();
  if (!constant)
    return std::nullopt;
  return qc::constantRawBytes(
      constant.getValue(),
      cast<RankedTensorType>(v.getType()).getNumElements());
}

struct QCVectorizeInt8ContractionsPass
    : public qc::impl::QCVectorizeInt8ContractionsBase<
          QCVectorizeInt8ContractionsPass> {
  using QCVectorizeInt8ContractionsBase::QCVectorizeInt8ContractionsBase;

  /// `transposed`: the weight's codes are [N, K] (a transpose_rhs
  /// qc.matmul), else [K, N].
  void rewrite(linalg::GenericOp op, const Side &a, const Side &w,
               ArrayRef<char> wBytes, bool transposed) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    Type i8 = b.getI8Type(), i32 = b.getI32Type();
    auto aType = cast<RankedTensorType>(a.codes.getType());
    int64_t m = aType.getDimSize(0), k = aType.getDimSize(1);
    // The rows, where M is dynamic.
    SmallVector<Value> dynamicRows;
    if (ShapedType::isDynamic(m))
      dynamicRows.push_back(tensor::DimOp::create(b, loc, a.codes, 0));
    int64_t n = cast<RankedTensorType>(w.codes.getType())
                    .getDimSize(transposed ? 0 : 1);
    int64_t lanes = dotBits / 32;
    int64_t quads = k / 4;
    // The activation side is a + 128: any byte, so no vpmaddubsw without
    // VNNI.
    qc::DotTarget target{dotBits, vnni, /*smallUnsigned=*/false};

    auto index = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    auto splat = [&](VectorType t, Attribute v) -> Value {
      return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(t, v));
    };
    auto laneI32 = VectorType::get({lanes}, i32);

    // The weight as the instruction reads it: [N/L, K/4, 4L] bytes, byte
    // 4l + t of quad q of block nb holding w[4q + t, nb*L + l]; and its
    // column sums (the unsigned side's offset and zero point meet them).
    int64_t blocks = n / lanes;
    AsmResourceBlob packed = HeapAsmResourceBlob::allocate(wBytes.size(), 64);
    MutableArrayRef<char> out = packed.getMutableData();
    SmallVector<int32_t> colSums(n, 0);
    for (int64_t row = 0; row < k; ++row)
      for (int64_t col = 0; col < n; ++col) {
        char byte = transposed ? wBytes[col * k + row] : wBytes[row * n + col];
        colSums[col] += int32_t(static_cast<int8_t>(byte));
        int64_t nb = col / lanes, l = col % lanes;
        out[((nb * quads + row / 4) * lanes + l) * 4 + row % 4] = byte;
      }
    Value weight = arith::ConstantOp::create(
        b, loc,
        DenseResourceElementsAttr::get(
            RankedTensorType::get({blocks, quads, 4 * lanes}, i8),
            "vnni_weight", std::move(packed)));
    Value sums = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(RankedTensorType::get({n}, i32),
                               ArrayRef<int32_t>(colSums)));

    // The activation as unsigned bytes: signed codes + 128 (XOR 0x80).
    Value codes = a.codes;
    int32_t offset = a.isSigned ? 128 : 0;
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    auto identity2 = AffineMap::getMultiDimIdentityMap(2, ctx);
    if (a.isSigned) {
      Value init =
          tensor::EmptyOp::create(b, loc, aType.getShape(), i8, dynamicRows);
      codes = linalg::GenericOp::create(
                  b, loc, TypeRange{aType}, ValueRange{a.codes},
                  ValueRange{init},
                  SmallVector<AffineMap>{identity2, identity2},
                  SmallVector<utils::IteratorType>(
                      2, utils::IteratorType::parallel),
                  [&](OpBuilder &nb, Location l, ValueRange args) {
                    Value flip = arith::ConstantOp::create(
                        nb, l, nb.getIntegerAttr(i8, -128));
                    linalg::YieldOp::create(
                        nb, l,
                        arith::XOrIOp::create(nb, l, args[0], flip)
                            .getResult());
                  })
                  .getResult(0);
    }
    // The activation's row sums, where the weight has a zero point.
    Value rowSums;
    if (w.zeroPoint) {
      auto sumType = RankedTensorType::get({m}, i32);
      Value zero = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
      Value init = linalg::FillOp::create(
                       b, loc, zero,
                       tensor::EmptyOp::create(b, loc, sumType.getShape(), i32,
                                               dynamicRows)
                           .getResult())
                       .getResult(0);
      rowSums =
          linalg::GenericOp::create(
              b, loc, TypeRange{sumType}, ValueRange{a.codes},
              ValueRange{init},
              SmallVector<AffineMap>{identity2,
                                     AffineMap::get(2, 0, {d(0)}, ctx)},
              SmallVector<utils::IteratorType>{
                  utils::IteratorType::parallel,
                  utils::IteratorType::reduction},
              [&](OpBuilder &nb, Location l, ValueRange args) {
                Value v = a.isSigned
                              ? arith::ExtSIOp::create(nb, l, i32, args[0])
                                    .getResult()
                              : arith::ExtUIOp::create(nb, l, i32, args[0])
                                    .getResult();
                linalg::YieldOp::create(
                    nb, l, arith::AddIOp::create(nb, l, args[1], v)
                               .getResult());
              })
              .getResult(0);
    }

    // A zero point at (row, col) of its side's codes, as i32.
    auto zeroPointAt = [&](const Side &s, Value row, Value col) -> Value {
      SmallVector<Value> indices;
      for (AffineExpr e : s.zeroPointMap.getResults())
        indices.push_back(affine::AffineApplyOp::create(
            b, loc, AffineMap::get(2, 0, e), ValueRange{row, col}));
      Value v = tensor::ExtractOp::create(b, loc, s.zeroPoint, indices);
      return s.isSigned ? arith::ExtSIOp::create(b, loc, i32, v).getResult()
                        : arith::ExtUIOp::create(b, loc, i32, v).getResult();
    };
    // The weight's zero points for the L columns from `col` (lanes).
    bool perColumn =
        w.zeroPoint && w.zeroPointMap.isFunctionOfDim(1);
    auto weightZeroPoints = [&](Value col) -> Value {
      if (!perColumn)
        return vector::BroadcastOp::create(
            b, loc, laneI32, zeroPointAt(w, index(0), index(0)));
      SmallVector<Value> indices;
      for (AffineExpr e : w.zeroPointMap.getResults())
        indices.push_back(affine::AffineApplyOp::create(
            b, loc, AffineMap::get(2, 0, e), ValueRange{index(0), col}));
      Value bytes = vector::TransferReadOp::create(
          b, loc, VectorType::get({lanes}, i8), w.zeroPoint, indices,
          std::nullopt, ArrayRef<bool>{true});
      return w.isSigned
                 ? arith::ExtSIOp::create(b, loc, laneI32, bytes).getResult()
                 : arith::ExtUIOp::create(b, loc, laneI32, bytes).getResult();
    };

    // Register block: rows x column vectors of accumulators (16 of the 32
    // zmm registers, 8 of the 16 ymm), the loaded weight vectors and one
    // broadcast beside them.
    // Without VNNI each weight vector and broadcast is split into two
    // 16-bit halves: 4 accumulators leave room for them.
    int64_t budget = lanes >= 16 ? 16 : vnni ? 8 : 4;
    int64_t cols = 1;
    for (int64_t c : {4, 2, 1})
      if (blocks % c == 0 && c * 4 <= budget) {
        cols = c;
        break;
      }
    // A static M: the largest block that divides it. A dynamic M: blocks of
    // the largest size, then the rows left over one at a time.
    int64_t rows = 1;
    if (ShapedType::isDynamic(m))
      rows = budget / cols;
    else
      for (int64_t r = std::min<int64_t>(budget / cols, m); r >= 1; --r)
        if (m % r == 0) {
          rows = r;
          break;
        }
    int64_t panelCols = cols * lanes, panels = n / panelCols;
    Value mValue = dynamicRows.empty() ? index(m) : dynamicRows[0];
    // The end of the row blocks: M rounded down to a multiple of `rows`.
    Value blockedRows = mValue;
    if (!dynamicRows.empty() && rows > 1)
      blockedRows = arith::MulIOp::create(
          b, loc,
          arith::DivUIOp::create(b, loc, mValue, index(rows)).getResult(),
          index(rows));

    Value init = op.getDpsInits()[0];
    auto bytes4 = VectorType::get({4}, i8);
    auto word1 = VectorType::get({1}, i32);
    auto wordBytes = VectorType::get({4 * lanes}, i8);

    // Rows [lb, ub) of panel p of the output ([M, panelCols] at column
    // p * panelCols), `rows` at a time.
    auto rowBlocks = [&](Value p, Value slice, Value lb, Value ub,
                         int64_t rows) -> Value {
      Value n0 = arith::MulIOp::create(b, loc, p, index(panelCols));
      Value nb0 = arith::MulIOp::create(b, loc, p, index(cols));
      auto rowLoop = scf::ForOp::create(
          b, loc, lb, ub, index(rows), ValueRange{slice},
          [&](OpBuilder &nb, Location, Value m0, ValueRange iter) {
            OpBuilder::InsertionGuard guard(b);
            b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
            Value zero = splat(laneI32, b.getI32IntegerAttr(0));
            SmallVector<Value> accInit(rows * cols, zero);
            auto kLoop = scf::ForOp::create(
                b, loc, index(0), index(quads), index(1), accInit,
                [&](OpBuilder &kb, Location, Value q, ValueRange accs) {
                  OpBuilder::InsertionGuard guard(b);
                  b.setInsertionPoint(kb.getInsertionBlock(),
                                      kb.getInsertionPoint());
                  SmallVector<Value> wv;
                  for (int64_t c = 0; c < cols; ++c) {
                    Value block = arith::AddIOp::create(b, loc, nb0, index(c));
                    Value raw = vector::TransferReadOp::create(
                        b, loc, wordBytes, weight,
                        ValueRange{block, q, index(0)}, std::nullopt,
                        ArrayRef<bool>{true});
                    wv.push_back(
                        vector::BitCastOp::create(b, loc, laneI32, raw));
                  }
                  Value k0 = arith::MulIOp::create(b, loc, q, index(4));
                  SmallVector<Value> next;
                  for (int64_t r = 0; r < rows; ++r) {
                    Value row = arith::AddIOp::create(b, loc, m0, index(r));
                    Value four = vector::TransferReadOp::create(
                        b, loc, bytes4, codes, ValueRange{row, k0},
                        std::nullopt, ArrayRef<bool>{true});
                    Value word = vector::BitCastOp::create(b, loc, word1, four);
                    Value bcast =
                        vector::BroadcastOp::create(b, loc, laneI32, word);
                    for (int64_t c = 0; c < cols; ++c)
                      next.push_back(qc::buildDot(b, loc, bcast, wv[c],
                                                  accs[r * cols + c], target));
                  }
                  scf::YieldOp::create(b, loc, next);
                });
            // Epilogue: the offsets and zero points against the sums.
            Value result = iter[0];
            for (int64_t r = 0; r < rows; ++r) {
              Value row = arith::AddIOp::create(b, loc, m0, index(r));
              // (za + offset) for the column sums.
              Value za = a.zeroPoint ? zeroPointAt(a, row, index(0))
                                     : arith::ConstantOp::create(
                                           b, loc, b.getI32IntegerAttr(0))
                                           .getResult();
              Value zaOff = arith::AddIOp::create(
                  b, loc, za,
                  arith::ConstantOp::create(b, loc,
                                            b.getI32IntegerAttr(offset)));
              Value zaOffLanes =
                  vector::BroadcastOp::create(b, loc, laneI32, zaOff);
              Value rowSumLanes, zaLanes;
              if (w.zeroPoint) {
                rowSumLanes = vector::BroadcastOp::create(
                    b, loc, laneI32,
                    tensor::ExtractOp::create(b, loc, rowSums,
                                              ValueRange{row}));
                zaLanes = vector::BroadcastOp::create(
                    b, loc, laneI32,
                    arith::MulIOp::create(
                        b, loc, za,
                        arith::ConstantOp::create(b, loc,
                                                  b.getI32IntegerAttr(k))));
              }
              for (int64_t c = 0; c < cols; ++c) {
                Value local = index(c * lanes);
                Value col = arith::AddIOp::create(b, loc, n0, local);
                Value colSum = vector::TransferReadOp::create(
                    b, loc, laneI32, sums, ValueRange{col}, std::nullopt,
                    ArrayRef<bool>{true});
                Value y = arith::SubIOp::create(
                    b, loc, kLoop.getResult(r * cols + c),
                    arith::MulIOp::create(b, loc, zaOffLanes, colSum));
                if (w.zeroPoint) {
                  // - zb * rowsum(a) + K * za * zb.
                  Value zb = weightZeroPoints(col);
                  y = arith::AddIOp::create(
                      b, loc, y,
                      arith::MulIOp::create(
                          b, loc, zb,
                          arith::SubIOp::create(b, loc, zaLanes,
                                                rowSumLanes)));
                }
                result = vector::TransferWriteOp::create(
                             b, loc, y, result, ValueRange{row, local},
                             ArrayRef<bool>{true})
                             .getResult();
              }
            }
            scf::YieldOp::create(b, loc, result);
          });
      return rowLoop.getResult(0);
    };
    auto panelBody = [&](Value p, Value slice) -> Value {
      Value done = rowBlocks(p, slice, index(0), blockedRows, rows);
      if (blockedRows != mValue)
        done = rowBlocks(p, done, blockedRows, mValue, 1);
      return done;
    };

    // The [M, panelCols] window of panel p.
    SmallVector<OpFoldResult> offsets,
        sizes{dynamicRows.empty() ? OpFoldResult(b.getIndexAttr(m))
                                  : OpFoldResult(mValue),
              b.getIndexAttr(panelCols)};
    SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
    auto panelSlice = [&](Value p, Value whole) -> Value {
      Value n0 = arith::MulIOp::create(b, loc, p, index(panelCols));
      offsets = {b.getIndexAttr(0), n0};
      return tensor::ExtractSliceOp::create(b, loc, whole, offsets, sizes,
                                            strides);
    };
    Value result;
    if (!parallel || panels == 1 || !qc::worthThreads(m, n, k, minParallelMacs)) {
      auto loop = scf::ForOp::create(
          b, loc, index(0), index(panels), index(1), ValueRange{init},
          [&](OpBuilder &nb, Location, Value p, ValueRange iter) {
            OpBuilder::InsertionGuard guard(b);
            b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
            Value done = panelBody(p, panelSlice(p, iter[0]));
            scf::YieldOp::create(
                b, loc,
                ValueRange{tensor::InsertSliceOp::create(
                               b, loc, done, iter[0], offsets, sizes, strides)
                               .getResult()});
          });
      result = loop.getResult(0);
    } else {
      auto forall = scf::ForallOp::create(
          b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(panels)},
          ValueRange{init}, std::nullopt);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(forall.getBody());
      Value p = forall.getInductionVars()[0];
      Value done =
          panelBody(p, panelSlice(p, forall.getRegionIterArgs()[0]));
      b.setInsertionPointToStart(forall.getTerminator().getBody());
      tensor::ParallelInsertSliceOp::create(b, loc, done,
                                            forall.getRegionIterArgs()[0],
                                            offsets, sizes, strides);
      b.setInsertionPointAfter(forall);
      result = forall.getResult(0);
    }
    op.getResult(0).replaceAllUsesWith(result);
    op.erase();
  }

  void runOnOperation() override {
    std::string error = qc::checkDotOptions("qc-vectorize-int8-contractions", dotBits, vnni);
    if (!error.empty()) {
      getOperation()->emitError(error);
      return signalPassFailure();
    }
    if (dotBits == 0)
      return;
    SmallVector<linalg::GenericOp> found;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (op->hasAttr(qc::kInt8ContractionAttr))
        found.push_back(op);
    });
    int64_t lanes = dotBits / 32;
    for (linalg::GenericOp op : found) {
      auto marker = op->getAttrOfType<DictionaryAttr>(qc::kInt8ContractionAttr);
      auto flag = [&](StringRef name) {
        auto v = marker ? marker.getAs<BoolAttr>(name) : BoolAttr();
        return v && v.getValue();
      };
      if (!marker || op.getNumDpsInputs() != 2 || op.getNumLoops() != 3)
        continue;
      MLIRContext *ctx = op.getContext();
      AffineExpr m = getAffineDimExpr(0, ctx), k = getAffineDimExpr(1, ctx),
                 n = getAffineDimExpr(2, ctx);
      SmallVector<AffineMap> maps = op.getIndexingMapsArray();
      bool transposed = maps[1] == AffineMap::get(3, 0, {n, k}, ctx);
      if (maps[0] != AffineMap::get(3, 0, {m, k}, ctx) ||
          (!transposed && maps[1] != AffineMap::get(3, 0, {k, n}, ctx)) ||
          maps[2] != AffineMap::get(3, 0, {m, n}, ctx))
        continue;
      // The weight side must be signed bytes (vpdpbusd's signed operand).
      if (!flag("rhs_signed"))
        continue;
      FailureOr<Side> a = matchSide(op.getDpsInputs()[0], flag("lhs_signed"));
      FailureOr<Side> w = matchSide(op.getDpsInputs()[1], true);
      if (failed(a) || failed(w))
        continue;
      auto aType = cast<RankedTensorType>(a->codes.getType());
      auto wType = cast<RankedTensorType>(w->codes.getType());
      // (A weight zero point is read at (k, n) of the codes: [K, N] only.)
      if (aType.getRank() != 2 || wType.getRank() != 2 ||
          (transposed && w->zeroPoint) || aType.getDimSize(1) % 4 != 0 ||
          !wType.hasStaticShape() ||
          wType.getDimSize(transposed ? 0 : 1) % lanes != 0 ||
          ShapedType::isDynamic(
              cast<RankedTensorType>(op.getResult(0).getType())
                  .getDimSize(1)))
        continue;
      std::optional<ArrayRef<char>> bytes = constantBytes(w->codes);
      if (!bytes)
        continue;
      rewrite(op, *a, *w, *bytes, transposed);
    }
  }
};

} // namespace
