//===- VectorizePackedContractions.cpp - CPU kernels on int4 words --------===//
//
// See the pass description in include/qc/Conversion/Passes.td.
//
//===----------------------------------------------------------------------===//

#include "EntryPointBuilder.h"
#include "PackedParams.h"
#include "ThreadPolicy.h"
#include "qc/Conversion/Passes.h"
#include "qc/Numerics/Packing.h"
#include "X86Dot.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>
#include <cstring>

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
    FailureOr<int64_t> per = qc::packedWordsPerValue(p.map, pc.nDim, pc.wDim);
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

/// The value of `e` at the constant `dims`, or nullopt for a symbol or a
/// division by zero.
std::optional<int64_t> evaluate(AffineExpr e, ArrayRef<int64_t> dims) {
  if (auto c = dyn_cast<AffineConstantExpr>(e))
    return c.getValue();
  if (auto d = dyn_cast<AffineDimExpr>(e))
    return dims[d.getPosition()];
  auto bin = dyn_cast<AffineBinaryOpExpr>(e);
  if (!bin)
    return std::nullopt;
  std::optional<int64_t> l = evaluate(bin.getLHS(), dims);
  std::optional<int64_t> r = evaluate(bin.getRHS(), dims);
  if (!l || !r)
    return std::nullopt;
  switch (bin.getKind()) {
  case AffineExprKind::Add:
    return *l + *r;
  case AffineExprKind::Mul:
    return *l * *r;
  case AffineExprKind::FloorDiv:
    return *r > 0 ? std::optional<int64_t>(llvm::divideFloorSigned(*l, *r))
                  : std::nullopt;
  case AffineExprKind::CeilDiv:
    return *r > 0 ? std::optional<int64_t>(llvm::divideCeilSigned(*l, *r))
                  : std::nullopt;
  case AffineExprKind::Mod:
    return *r > 0 ? std::optional<int64_t>(llvm::mod(*l, *r)) : std::nullopt;
  default:
    return std::nullopt;
  }
}

/// The elements of a constant tensor (dense or a resource blob) of f32,
/// f16, bf16 or i32 as floats; nullopt when `v` is not such a constant.
std::optional<std::vector<float>> constantFloats(Value v) {
  auto constant = v.getDefiningOp<arith::ConstantOp>();
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!constant || !type)
    return std::nullopt;
  Type element = type.getElementType();
  int64_t count = type.getNumElements();
  unsigned width = element.getIntOrFloatBitWidth();
  auto fromBits = [&](uint64_t bits) -> float {
    if (element.isF32()) {
      float f;
      uint32_t u = uint32_t(bits);
      std::memcpy(&f, &u, 4);
      return f;
    }
    if (element.isInteger(32))
      return float(int32_t(uint32_t(bits)));
    const llvm::fltSemantics &sem = cast<FloatType>(element).getFloatSemantics();
    return llvm::APFloat(sem, llvm::APInt(width, bits)).convertToFloat();
  };
  if (!(element.isF32() || element.isF16() || element.isBF16() ||
        element.isInteger(32)))
    return std::nullopt;
  std::vector<float> out(count);
  if (auto dense = dyn_cast<DenseElementsAttr>(constant.getValue())) {
    auto bits = [&](Attribute a) -> uint64_t {
      if (auto f = dyn_cast<FloatAttr>(a))
        return f.getValue().bitcastToAPInt().getZExtValue();
      return cast<IntegerAttr>(a).getValue().getZExtValue();
    };
    if (dense.isSplat()) {
      std::fill(out.begin(), out.end(),
                fromBits(bits(dense.getSplatValue<Attribute>())));
      return out;
    }
    int64_t i = 0;
    if (element.isInteger(32)) {
      for (APInt value : dense.getValues<APInt>())
        out[i++] = fromBits(value.getZExtValue());
    } else {
      for (APFloat value : dense.getValues<APFloat>())
        out[i++] = fromBits(value.bitcastToAPInt().getZExtValue());
    }
    return out;
  }
  auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getValue());
  AsmResourceBlob *blob =
      resource ? resource.getRawHandle().getBlob() : nullptr;
  if (!blob || int64_t(blob->getData().size()) != count * (width / 8))
    return std::nullopt;
  const char *data = blob->getData().data();
  for (int64_t i = 0; i < count; ++i) {
    uint64_t bits = 0;
    std::memcpy(&bits, data + i * (width / 8), width / 8);
    out[i] = fromBits(bits);
  }
  return out;
}

/// The words of a constant i32 tensor (dense or a resource blob), or
/// nullopt.
std::optional<std::vector<uint32_t>> constantWords(Value v) {
  auto constant = v.getDefiningOp<arith::ConstantOp>();
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!constant || !type || !type.getElementType().isInteger(32))
    return std::nullopt;
  int64_t count = type.getNumElements();
  std::vector<uint32_t> out(count);
  if (auto dense = dyn_cast<DenseElementsAttr>(constant.getValue())) {
    if (dense.isSplat()) {
      std::fill(out.begin(), out.end(),
                uint32_t(dense.getSplatValue<APInt>().getZExtValue()));
      return out;
    }
    int64_t i = 0;
    for (APInt value : dense.getValues<APInt>())
      out[i++] = uint32_t(value.getZExtValue());
    return out;
  }
  std::optional<ArrayRef<char>> raw =
      qc::constantRawBytes(constant.getValue(), count * 4);
  if (!raw)
    return std::nullopt;
  std::memcpy(out.data(), raw->data(), count * 4);
  return out;
}

/// A constant tensor of `type` holding `data` in a resource blob named
/// `name`.
Value blobConstant(OpBuilder &b, Location loc, RankedTensorType type,
                   StringRef name, ArrayRef<char> data) {
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
      data, /*align=*/64);
  return arith::ConstantOp::create(
      b, loc, DenseResourceElementsAttr::get(type, name, std::move(blob)));
}

/// A parameter laid out for the VNNI kernel: [n/lanes, groups, lanes] f32,
/// element (t, g, j) the value at row lanes·t + j and word g·groupWords,
/// plus `offset`; nullopt when the parameter is not a constant or its map
/// leaves the tensor.
std::optional<std::vector<float>>
vnniParam(const Param &p, int64_t n, int64_t groups, int64_t groupWords,
          int64_t lanes, float offset) {
  std::optional<std::vector<float>> values = constantFloats(p.tensor);
  if (!values)
    return std::nullopt;
  ArrayRef<int64_t> shape = cast<RankedTensorType>(p.tensor.getType())
                                .getShape();
  int64_t loops = p.map.getNumDims();
  SmallVector<int64_t> dims(loops, 0);
  std::vector<float> out(n * groups);
  for (int64_t row = 0; row < n; ++row)
    for (int64_t g = 0; g < groups; ++g) {
      dims[loops - 2] = row;
      dims[loops - 1] = g * groupWords;
      int64_t linear = 0;
      for (auto [i, e] : llvm::enumerate(p.map.getResults())) {
        std::optional<int64_t> at = evaluate(e, dims);
        if (!at || *at < 0 || *at >= shape[i])
          return std::nullopt;
        linear = linear * shape[i] + *at;
      }
      out[((row / lanes) * groups + g) * lanes + row % lanes] =
          (*values)[linear] + offset;
    }
  return out;
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
              Value c, int64_t lanes, const qc::DotTarget &target,
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
      acc = qc::buildDot(b, loc, nibbles, x, acc, target);
    }
    sums[r] = arith::SIToFPOp::create(
        b, loc, VectorType::get({lanes}, b.getF32Type()), acc);
  }
}

/// `v` ([lead..., rows, cols]) as [rows', cols], the leading dimensions
/// collapsed; a 2-D value as it is.
Value collapseRows(OpBuilder &b, Location loc, Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  if (type.getRank() == 2)
    return v;
  SmallVector<ReassociationIndices> reassoc(2);
  for (int64_t d = 0; d + 1 < type.getRank(); ++d)
    reassoc[0].push_back(d);
  reassoc[1].push_back(type.getRank() - 1);
  return tensor::CollapseShapeOp::create(b, loc, v, reassoc);
}

/// `result` ([rows, cols]) replacing `op`'s result, expanded back to its
/// shape.
void replaceWithRows(OpBuilder &b, Location loc, linalg::GenericOp op,
                     Value result) {
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

/// `body(c0, slice)` over the columns of `init` ([M, tiles * tileCols]):
/// once over all of them when `tiles` is 1, else one `scf.forall`
/// iteration per tile of `tileCols` columns from c0.
Value overColumnTiles(OpBuilder &b, Location loc, Value init, int64_t tiles,
                      int64_t tileCols,
                      function_ref<Value(Value, Value)> body) {
  if (tiles == 1)
    return body(arith::ConstantIndexOp::create(b, loc, 0), init);
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(tiles)},
      ValueRange{init}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(forall.getBody());
  Value c0 = arith::MulIOp::create(
      b, loc, forall.getInductionVars()[0],
      arith::ConstantIndexOp::create(b, loc, tileCols));
  Value shared = forall.getRegionIterArgs()[0];
  int64_t m = cast<RankedTensorType>(init.getType()).getDimSize(0);
  SmallVector<OpFoldResult> offsets{b.getIndexAttr(0), c0};
  SmallVector<OpFoldResult> sizes{
      ShapedType::isDynamic(m)
          ? OpFoldResult(tensor::DimOp::create(b, loc, shared, 0).getResult())
          : OpFoldResult(b.getIndexAttr(m)),
      b.getIndexAttr(tileCols)};
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  Value slice = tensor::ExtractSliceOp::create(b, loc, shared, offsets, sizes,
                                               strides);
  Value done = body(c0, slice);
  b.setInsertionPointToStart(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(b, loc, done, shared, offsets, sizes,
                                        strides);
  b.setInsertionPointAfter(forall);
  return forall.getResult(0);
}

/// The number of pieces `units` weight rows (or blocks of them) are split
/// into over threads (1: no split) and the size of each.
std::pair<int64_t, int64_t> splitUnits(int64_t units, int64_t pieces) {
  if (pieces <= 1 || units < pieces)
    return {1, units};
  int64_t want = llvm::divideCeil(units, pieces);
  for (int64_t t = want; t * 2 >= want; --t)
    if (units % t == 0)
      return {units / t, t};
  return {1, units};
}

/// Rows of x that share the loaded weights: the largest divisor of a
/// static M up to `most`; 1 for a dynamic M.
int64_t rowBlockFor(int64_t m, int64_t most) {
  if (ShapedType::isDynamic(m))
    return 1;
  for (int64_t r = std::min(most, m); r > 1; --r)
    if (m % r == 0)
      return r;
  return 1;
}

struct QCVectorizePackedContractionsPass
    : public qc::impl::QCVectorizePackedContractionsBase<
          QCVectorizePackedContractionsPass> {
  using QCVectorizePackedContractionsBase::QCVectorizePackedContractionsBase;

  /// W4A8 with the weight laid out at compile time in the VNNI words of
  /// numerics::nibblesToVnniWords (`lanes` weight rows per vector), so that
  /// lanes are output columns: per word, the low and high nibbles meet the
  /// broadcast activation bytes 8w..8w+3 and 8w+4..8w+7 in two dot
  /// products accumulating in i32 over a whole group; per group, the
  /// correction (zero point [+ 8]) * the group's code sum and the scale.
  /// Returns false, changing nothing, where it does not apply (N not a
  /// multiple of the lanes, a parameter that is not a constant or varies
  /// inside a group, a non-constant weight).
  bool rewriteVnni(const PackedContraction &pc) {
    int64_t lanes = dotBits / 32;
    int64_t wordsPerRow = pc.wordsPerRow;
    int64_t groupWords =
        pc.scale.wordsPerValue ? pc.scale.wordsPerValue : wordsPerRow;
    if (!pc.int8 || (lanes != 16 && lanes != 8) || pc.n % lanes ||
        wordsPerRow % groupWords ||
        (pc.zeroPoint && pc.zeroPoint->wordsPerValue % groupWords) ||
        // A group's i32 sums: 8 codes of at most 15 x 128 per word.
        groupWords * 8 * 15 * 128 >= (int64_t(1) << 31))
      return false;
    int64_t groups = wordsPerRow / groupWords;
    std::optional<std::vector<uint32_t>> words = constantWords(pc.words);
    if (!words)
      return false;
    float zpOffset = NibbleMagic::zeroPoint(pc.isSigned, 0);
    std::optional<std::vector<float>> scales =
        vnniParam(pc.scale, pc.n, groups, groupWords, lanes, 0);
    std::optional<std::vector<float>> zeroPoints;
    if (pc.zeroPoint)
      zeroPoints = vnniParam(*pc.zeroPoint, pc.n, groups, groupWords, lanes,
                             zpOffset);
    if (!scales || (pc.zeroPoint && !zeroPoints))
      return false;
    // One zero point for all (ONNX MatMulNBits' default 8 of unsigned
    // codes): a constant vector instead of a tensor streamed beside the
    // codes.
    std::optional<float> uniformZero;
    if (!zeroPoints)
      uniformZero = zpOffset;
    else if (llvm::all_equal(*zeroPoints))
      uniformZero = zeroPoints->front();
    if (uniformZero)
      zeroPoints.reset();

    linalg::GenericOp op = pc.op;
    OpBuilder b(op);
    Location loc = op.getLoc();
    Builder h{b, loc};
    MLIRContext *ctx = b.getContext();
    Type f32 = b.getF32Type(), i32 = b.getI32Type();
    int64_t blocks = pc.n / lanes;
    std::vector<uint32_t> vnniWords = qc::numerics::nibblesToVnniWords(
        words->data(), pc.n, wordsPerRow, lanes, pc.isSigned);
    auto asChars = [](const auto &v) {
      return ArrayRef<char>(reinterpret_cast<const char *>(v.data()),
                            v.size() * sizeof(v[0]));
    };
    Value weight = blobConstant(
        b, loc, RankedTensorType::get({blocks, wordsPerRow, lanes}, i32),
        "vnni_int4", asChars(vnniWords));
    auto paramType = RankedTensorType::get({blocks, groups, lanes}, f32);
    Value scale =
        blobConstant(b, loc, paramType, "vnni_scales", asChars(*scales));
    Value zeroPoint =
        zeroPoints ? blobConstant(b, loc, paramType, "vnni_zero_points",
                                  asChars(*zeroPoints))
                   : Value();

    Value x = collapseRows(b, loc, pc.x);
    Value init = collapseRows(b, loc, op.getDpsInits()[0]);
    int64_t m = cast<RankedTensorType>(x.getType()).getDimSize(0);
    SmallVector<Value> dynamicRows;
    if (ShapedType::isDynamic(m))
      dynamicRows.push_back(tensor::DimOp::create(b, loc, x, 0));

    // Each row's code sum per group, [M, groups] f32, where a zero point
    // (or the + 8 of signed codes) applies.
    bool correct = zeroPoint || (uniformZero && *uniformZero != 0);
    Value sums;
    if (correct) {
      auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
      Value view = tensor::ExpandShapeOp::create(
          b, loc,
          RankedTensorType::get({m, groups, groupWords * kCodes},
                                b.getI8Type()),
          x, SmallVector<ReassociationIndices>{{0}, {1, 2}},
          SmallVector<OpFoldResult>{
              ShapedType::isDynamic(m) ? OpFoldResult(dynamicRows[0])
                                       : OpFoldResult(b.getIndexAttr(m)),
              b.getIndexAttr(groups), b.getIndexAttr(groupWords * kCodes)});
      auto sumsType = RankedTensorType::get({m, groups}, f32);
      Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
      Value sumsInit =
          linalg::FillOp::create(
              b, loc, zero,
              tensor::EmptyOp::create(b, loc, sumsType, dynamicRows)
                  .getResult())
              .getResult(0);
      sums = linalg::GenericOp::create(
                 b, loc, TypeRange{sumsType}, ValueRange{view},
                 ValueRange{sumsInit},
                 SmallVector<AffineMap>{
                     AffineMap::getMultiDimIdentityMap(3, ctx),
                     AffineMap::get(3, 0, {d(0), d(1)}, ctx)},
                 SmallVector<utils::IteratorType>{
                     utils::IteratorType::parallel,
                     utils::IteratorType::parallel,
                     utils::IteratorType::reduction},
                 [&](OpBuilder &nb, Location l, ValueRange args) {
                   Value v = arith::SIToFPOp::create(nb, l, f32, args[0]);
                   linalg::YieldOp::create(
                       nb, l,
                       arith::AddFOp::create(nb, l, v, args[1]).getResult());
                 })
                 .getResult(0);
    }

    // Registers: rows x 2 unrolled words x (low, high) i32 accumulators,
    // at most half of the 32 zmm / 16 ymm.
    int64_t unroll = groupWords % 2 == 0 ? 2 : 1;
    int64_t registers = lanes >= 16 && vnni ? 32 : 16;
    int64_t rowBlock = rowBlockFor(m, registers / 2 / (2 * unroll));
    int64_t tiles, tileBlocks;
    std::tie(tiles, tileBlocks) =
        parallel && qc::worthThreads(m, pc.n, wordsPerRow * kCodes,
                                     minParallelMacs)
            ? splitUnits(blocks, rowTiles)
            : std::pair<int64_t, int64_t>{1, blocks};

    auto laneF32 = VectorType::get({lanes}, f32);
    auto laneI32 = VectorType::get({lanes}, i32);
    auto quad = VectorType::get({4}, b.getI8Type());
    auto word1 = VectorType::get({1}, i32);
    qc::DotTarget target{dotBits, vnni, /*smallUnsigned=*/true};
    // Loops whose body builds with `b` at the body's start.
    auto loop = [&](Value lb, Value ub, int64_t step, ValueRange inits,
                    function_ref<SmallVector<Value>(Value, ValueRange)> body) {
      return scf::ForOp::create(
                 b, loc, lb, ub, h.index(step), inits,
                 [&](OpBuilder &nb, Location, Value iv, ValueRange iters) {
                   OpBuilder::InsertionGuard guard(b);
                   b.setInsertionPoint(nb.getInsertionBlock(),
                                       nb.getInsertionPoint());
                   scf::YieldOp::create(b, loc, body(iv, iters));
                 })
          .getResults();
    };

    // Weight blocks [nb0 / lanes, + tileBlocks) into `out` ([M, tile]).
    auto body = [&](Value c0, Value out) -> Value {
      Value nb0 = arith::DivUIOp::create(b, loc, c0, h.index(lanes));
      Value mEnd = ShapedType::isDynamic(m)
                       ? tensor::DimOp::create(b, loc, x, 0).getResult()
                       : h.index(m);
      return loop(h.index(0), h.index(tileBlocks), 1, out,
                  [&](Value bi, ValueRange blockIter) {
        Value nb = arith::AddIOp::create(b, loc, nb0, bi);
        Value col = arith::MulIOp::create(b, loc, bi, h.index(lanes));
        return SmallVector<Value>(loop(
            h.index(0), mEnd, rowBlock, blockIter[0],
            [&](Value m0, ValueRange rowIter) {
              SmallVector<Value> rows;
              for (int64_t r = 0; r < rowBlock; ++r)
                rows.push_back(arith::AddIOp::create(b, loc, m0, h.index(r)));
              Value zeroF = arith::ConstantOp::create(
                  b, loc, DenseElementsAttr::get(laneF32, 0.0f));
              SmallVector<Value> accF(rowBlock, zeroF);
              ValueRange totals = loop(
                  h.index(0), h.index(groups), 1, accF,
                  [&](Value g, ValueRange accs) {
                    Value w0 = arith::MulIOp::create(b, loc, g,
                                                     h.index(groupWords));
                    SmallVector<Value> dots(rowBlock * 2 * unroll,
                                            h.splatI32(lanes, 0));
                    ValueRange groupDots = loop(
                        w0,
                        arith::AddIOp::create(b, loc, w0,
                                              h.index(groupWords)),
                        unroll, dots, [&](Value w, ValueRange in) {
                          SmallVector<Value> next(in.begin(), in.end());
                          for (int64_t u = 0; u < unroll; ++u) {
                            Value wu =
                                arith::AddIOp::create(b, loc, w, h.index(u));
                            Value word =
                                h.read(laneI32, weight, {nb, wu, h.index(0)});
                            Value mask = h.splatI32(lanes, 0x0F0F0F0F);
                            Value halves[] = {
                                arith::AndIOp::create(b, loc, word, mask),
                                arith::AndIOp::create(
                                    b, loc,
                                    arith::ShRUIOp::create(
                                        b, loc, word, h.splatI32(lanes, 4)),
                                    mask)};
                            Value k0 = arith::MulIOp::create(
                                b, loc, wu, h.index(kCodes));
                            for (int64_t r = 0; r < rowBlock; ++r)
                              for (int64_t half = 0; half < 2; ++half) {
                                Value k = arith::AddIOp::create(
                                    b, loc, k0, h.index(4 * half));
                                Value codes = vector::BroadcastOp::create(
                                    b, loc, laneI32,
                                    vector::BitCastOp::create(
                                        b, loc, word1,
                                        h.read(quad, x, {rows[r], k})));
                                Value &acc =
                                    next[(r * unroll + u) * 2 + half];
                                acc = qc::buildDot(b, loc, halves[half],
                                                   codes, acc, target);
                              }
                          }
                          return next;
                        });
                    Value groupScale = h.read(laneF32, scale,
                                              {nb, g, h.index(0)});
                    Value negZero;
                    if (zeroPoint)
                      negZero = arith::NegFOp::create(
                          b, loc,
                          h.read(laneF32, zeroPoint, {nb, g, h.index(0)}));
                    else if (correct)
                      negZero = arith::ConstantOp::create(
                          b, loc,
                          DenseElementsAttr::get(laneF32, -*uniformZero));
                    SmallVector<Value> next;
                    for (int64_t r = 0; r < rowBlock; ++r) {
                      Value dot = groupDots[r * 2 * unroll];
                      for (int64_t i = 1; i < 2 * unroll; ++i)
                        dot = arith::AddIOp::create(
                            b, loc, dot, groupDots[r * 2 * unroll + i]);
                      Value sum = arith::SIToFPOp::create(b, loc, laneF32, dot);
                      if (negZero)
                        sum = vector::FMAOp::create(
                            b, loc, negZero,
                            vector::BroadcastOp::create(
                                b, loc, laneF32,
                                tensor::ExtractOp::create(
                                    b, loc, sums, ValueRange{rows[r], g})),
                            sum);
                      next.push_back(vector::FMAOp::create(b, loc, groupScale,
                                                           sum, accs[r]));
                    }
                    return next;
                  });
              Value result = rowIter[0];
              for (int64_t r = 0; r < rowBlock; ++r) {
                Value old = h.read(laneF32, result, {rows[r], col});
                result = vector::TransferWriteOp::create(
                             b, loc,
                             arith::AddFOp::create(b, loc, old, totals[r]),
                             result, ValueRange{rows[r], col},
                             ArrayRef<bool>{true})
                             .getResult();
              }
              return SmallVector<Value>{result};
            }));
      })[0];
    };
    replaceWithRows(b, loc, op,
                    overColumnTiles(b, loc, init, tiles, tileBlocks * lanes,
                                    body));
    return true;
  }

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
    Value x = collapseRows(b, loc, pc.x);
    Value init = collapseRows(b, loc, op.getDpsInits()[0]);
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
    int64_t rowBlock = rowBlockFor(m, 4);
    // Weight rows per thread.
    int64_t tiles, tile;
    std::tie(tiles, tile) =
        parallel && pc.n >= rowTiles * 16 &&
                qc::worthThreads(m, pc.n, pc.wordsPerRow * kCodes,
                                 minParallelMacs)
            ? splitUnits(pc.n, rowTiles)
            : std::pair<int64_t, int64_t>{1, pc.n};

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
                          dotChunk(h, word, xp, rows, c, lanes,
                                   {dotBits, vnni, /*smallUnsigned=*/true},
                                   sums);
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

    replaceWithRows(b, loc, op,
                    overColumnTiles(b, loc, init, tiles, tile, rowsBody));
  }

  void runOnOperation() override {
    std::string error = qc::checkDotOptions("qc-vectorize-packed-contractions", dotBits, vnni);
    if (!error.empty()) {
      getOperation()->emitError(error);
      return signalPassFailure();
    }
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
      if (!(pc.int8 && dotBits > 0 && rewriteVnni(pc)))
        rewrite(pc);
  }
};
} // namespace
