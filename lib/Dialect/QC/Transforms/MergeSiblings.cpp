//===- MergeSiblings.cpp - matmuls of one input as one wider matmul -------===//
//
// See the pass description in include/qc/Dialect/QC/Transforms/Passes.td.
// Invariant: x·[W1; W2]ᵀ = [x·W1ᵀ, x·W2ᵀ], column for column the same
// products and sums, so each slice of the merged result is the sibling's
// result.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/Passes.h"
#include "qc/Dialect/QC/Transforms/Quantization.h"

#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectResourceBlobManager.h"

namespace mlir::qc {
#define GEN_PASS_DEF_MERGESIBLINGS
#include "qc/Dialect/QC/Transforms/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

namespace {

/// A matmul the pass can merge: `lhs · W (+ bias)` with W a constant
/// [k, n], or [n, k] with transpose_rhs (f32, or integer codes under a
/// quantized type whose parameters can be cut along n), a constant f32
/// bias or none, and a float result.
struct Sibling {
  mutable MatMulOp op;
  int64_t n = 0, k = 0;
  unsigned axis = 0; ///< the weight's n axis: 0 with transpose_rhs, else 1
  Attribute values;          ///< the weight's (or its codes') constant
  quant::QuantizedType type; ///< null for a float weight
  Attribute bias;            ///< the bias constant, or null
};

std::optional<Sibling> asSibling(MatMulOp op) {
  auto resultType = dyn_cast<RankedTensorType>(op.getType());
  auto rhsType = dyn_cast<RankedTensorType>(op.getRhs().getType());
  if (!resultType ||
      !isa<FloatType>(resultType.getElementType()) || !rhsType ||
      !rhsType.hasStaticShape() || rhsType.getRank() != 2 ||
      resultType.getRank() < 1)
    return std::nullopt;
  Sibling s;
  s.op = op;
  s.axis = op.getTransposeRhs() ? 0 : 1;
  s.n = rhsType.getDimSize(s.axis);
  s.k = rhsType.getDimSize(1 - s.axis);
  if (resultType.getDimSize(resultType.getRank() - 1) != s.n)
    return std::nullopt;
  Value stored = op.getRhs();
  if (auto q = dyn_cast<quant::QuantizedType>(rhsType.getElementType())) {
    auto cast = stored.getDefiningOp<quant::StorageCastOp>();
    if (!cast || q.getStorageTypeIntegralWidth() > 8)
      return std::nullopt;
    // Parameters that one slice of rows can keep: one for all, per row, or
    // per group of a row.
    if (auto axis = dyn_cast<quant::UniformQuantizedPerAxisType>(q)) {
      if (axis.getQuantizedDimension() != int32_t(s.axis))
        return std::nullopt;
    } else if (auto sub = dyn_cast<quant::UniformQuantizedSubChannelType>(q)) {
      ArrayRef<int32_t> dims = sub.getQuantizedDimensions();
      ArrayRef<int64_t> blocks = sub.getBlockSizes();
      if (dims.size() != 2 || dims[0] != 0 || dims[1] != 1 ||
          blocks[s.axis] != 1)
        return std::nullopt;
    } else if (!isa<quant::UniformQuantizedType>(q)) {
      return std::nullopt;
    }
    s.type = q;
    stored = cast.getInput();
  } else if (!rhsType.getElementType().isF32()) {
    return std::nullopt;
  }
  auto constant = stored.getDefiningOp<arith::ConstantOp>();
  if (!constant)
    return std::nullopt;
  s.values = constant.getValue();
  if (Value bias = op.getBias()) {
    auto biasConstant = bias.getDefiningOp<arith::ConstantOp>();
    auto biasType = dyn_cast<RankedTensorType>(bias.getType());
    if (!biasConstant || !biasType || !biasType.getElementType().isF32())
      return std::nullopt;
    s.bias = biasConstant.getValue();
  }
  return s;
}

/// The discardable attributes of `op` that say how to compute it: all but
/// the records of calibration and quantization (a layer's qc.calib_id and
/// qc.weight_error), which the merged op does not keep.
DictionaryAttr computeAttrs(Operation *op) {
  SmallVector<NamedAttribute> kept;
  for (NamedAttribute a : op->getDiscardableAttrs())
    if (a.getName() != kCalibIdAttr && a.getName() != kWeightErrorAttr)
      kept.push_back(a);
  return DictionaryAttr::get(op->getContext(), kept);
}

/// Whether `a` and `b` can be rows of one weight: the same reduction, the
/// same kind of weight and parameters (for one parameter for all, the same
/// one), both with a bias or neither, and the same result element type.
bool compatible(const Sibling &a, const Sibling &b) {
  auto aType = cast<RankedTensorType>(a.op.getType());
  auto bType = cast<RankedTensorType>(b.op.getType());
  if (a.k != b.k || a.axis != b.axis || bool(a.type) != bool(b.type) ||
      bool(a.bias) != bool(b.bias) ||
      aType.getElementType() != bType.getElementType() ||
      aType.getRank() != bType.getRank() ||
      aType.getShape().drop_back() != bType.getShape().drop_back() ||
      computeAttrs(a.op) != computeAttrs(b.op))
    return false;
  if (!a.type)
    return true;
  quant::QuantizedType p = a.type, q = b.type;
  if (p.getFlags() != q.getFlags() || p.getStorageType() != q.getStorageType() ||
      p.getExpressedType() != q.getExpressedType() ||
      p.getStorageTypeMin() != q.getStorageTypeMin() ||
      p.getStorageTypeMax() != q.getStorageTypeMax() ||
      p.getTypeID() != q.getTypeID())
    return false;
  if (isa<quant::UniformQuantizedType>(p))
    return p == q;
  if (auto sub = dyn_cast<quant::UniformQuantizedSubChannelType>(p)) {
    auto other = cast<quant::UniformQuantizedSubChannelType>(q);
    return sub.getBlockSizes() == other.getBlockSizes() &&
           sub.getScales().getElementType() ==
               other.getScales().getElementType() &&
           sub.getZeroPoints().getElementType() ==
               other.getZeroPoints().getElementType();
  }
  return true;
}

/// The 2-D row-major arrays `parts` ([rows_i, cols] for axis 0, [rows,
/// cols_i] for axis 1) concatenated along `axis`.
template <typename T>
std::vector<T> concatAlong(ArrayRef<std::vector<T>> parts,
                      ArrayRef<int64_t> extents, unsigned axis) {
  std::vector<T> out;
  for (const std::vector<T> &p : parts)
    out.insert(out.end(), p.begin(), p.end());
  if (axis == 0 || parts.size() < 2)
    return out;
  // Row r of the result: row r of each part in turn.
  int64_t rows = extents[0] ? int64_t(parts[0].size()) / extents[0] : 0;
  size_t at = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (auto [p, cols] : llvm::zip(parts, extents))
      for (int64_t c = 0; c < cols; ++c)
        out[at++] = p[r * cols + c];
  return out;
}

/// `attrs` (dense 2-D elements of one type) concatenated along `axis`.
DenseElementsAttr stack(ArrayRef<DenseElementsAttr> attrs, unsigned axis) {
  auto first = cast<ShapedType>(attrs.front().getType());
  SmallVector<int64_t> shape(first.getShape()), extents;
  shape[axis] = 0;
  for (DenseElementsAttr a : attrs) {
    extents.push_back(cast<ShapedType>(a.getType()).getDimSize(axis));
    shape[axis] += extents.back();
  }
  auto type = RankedTensorType::get(shape, first.getElementType());
  if (isa<FloatType>(first.getElementType())) {
    SmallVector<std::vector<APFloat>> parts;
    for (DenseElementsAttr a : attrs)
      parts.emplace_back(a.getValues<APFloat>().begin(),
                         a.getValues<APFloat>().end());
    return DenseElementsAttr::get(type, concatAlong<APFloat>(parts, extents, axis));
  }
  SmallVector<std::vector<APInt>> parts;
  for (DenseElementsAttr a : attrs)
    parts.emplace_back(a.getValues<APInt>().begin(),
                       a.getValues<APInt>().end());
  return DenseElementsAttr::get(type, concatAlong<APInt>(parts, extents, axis));
}

/// The quantized type of the stacked weight.
quant::QuantizedType stackTypes(ArrayRef<Sibling> group) {
  quant::QuantizedType first = group.front().type;
  if (isa<quant::UniformQuantizedType>(first))
    return first;
  if (auto axis = dyn_cast<quant::UniformQuantizedPerAxisType>(first)) {
    SmallVector<double> scales;
    SmallVector<int64_t> zeroPoints;
    for (const Sibling &s : group) {
      auto t = cast<quant::UniformQuantizedPerAxisType>(s.type);
      llvm::append_range(scales, t.getScales());
      llvm::append_range(zeroPoints, t.getZeroPoints());
    }
    return quant::UniformQuantizedPerAxisType::get(
        axis.getFlags(), axis.getStorageType(), axis.getExpressedType(),
        scales, zeroPoints, group.front().axis, axis.getStorageTypeMin(),
        axis.getStorageTypeMax());
  }
  auto sub = cast<quant::UniformQuantizedSubChannelType>(first);
  SmallVector<DenseElementsAttr> scales, zeroPoints;
  for (const Sibling &s : group) {
    auto t = cast<quant::UniformQuantizedSubChannelType>(s.type);
    scales.push_back(t.getScales());
    zeroPoints.push_back(t.getZeroPoints());
  }
  return quant::UniformQuantizedSubChannelType::get(
      sub.getFlags(), sub.getStorageType(), sub.getExpressedType(),
      stack(scales, group.front().axis), stack(zeroPoints, group.front().axis),
      sub.getQuantizedDimensions(),
      sub.getBlockSizes(), sub.getStorageTypeMin(), sub.getStorageTypeMax());
}

/// A slice of the merged result is strided (its rows lie `Σn` apart), and
/// `tensor.reshape` needs a contiguous source, so bufferization would copy
/// it. The usual reader of a q/k/v projection, the split into heads
/// (ONNX Reshape [..., n] -> [..., h, d]), only splits the last dimension:
/// as `tensor.expand_shape` it stays a view of the merged result.
void splitHeadsInPlace(Value slice) {
  auto sliceType = cast<RankedTensorType>(slice.getType());
  int64_t rank = sliceType.getRank();
  for (Operation *user : llvm::make_early_inc_range(slice.getUsers())) {
    auto reshape = dyn_cast<tensor::ReshapeOp>(user);
    if (!reshape || reshape.getSource() != slice || !sliceType.hasStaticShape())
      continue;
    auto resultType = cast<RankedTensorType>(reshape.getType());
    ArrayRef<int64_t> shape = resultType.getShape();
    if (!resultType.hasStaticShape() || resultType.getRank() < rank ||
        shape.take_front(rank - 1) != sliceType.getShape().drop_back())
      continue;
    int64_t inner = 1;
    for (int64_t d : shape.drop_front(rank - 1))
      inner *= d;
    if (inner != sliceType.getShape().back())
      continue;
    SmallVector<ReassociationIndices> groups;
    for (int64_t d = 0; d + 1 < rank; ++d)
      groups.push_back({d});
    groups.emplace_back();
    for (int64_t d = rank - 1; d < resultType.getRank(); ++d)
      groups.back().push_back(d);
    OpBuilder b(reshape);
    Value expanded = tensor::ExpandShapeOp::create(b, reshape.getLoc(),
                                                   resultType, slice, groups);
    reshape.getResult().replaceAllUsesWith(expanded);
    reshape->erase();
  }
}

struct MergeSiblingsPass : public qc::impl::MergeSiblingsBase<MergeSiblingsPass> {
  using MergeSiblingsBase::MergeSiblingsBase;

  void runOnOperation() override {
    // The candidates of each lhs, in order of appearance.
    llvm::MapVector<Value, SmallVector<Sibling>> byInput;
    getOperation()->walk([&](MatMulOp op) {
      if (std::optional<Sibling> s = asSibling(op))
        byInput[op.getLhs()].push_back(*s);
    });
    for (auto &[lhs, candidates] : byInput) {
      // Greedy groups: each candidate joins the first group of its block
      // it is compatible with.
      SmallVector<SmallVector<Sibling>> groups;
      for (const Sibling &s : candidates) {
        auto it = llvm::find_if(groups, [&](const SmallVector<Sibling> &g) {
          return g.front().op->getBlock() == s.op->getBlock() &&
                 compatible(g.front(), s);
        });
        if (it == groups.end())
          groups.push_back({s});
        else
          it->push_back(s);
      }
      for (SmallVector<Sibling> &group : groups)
        if (group.size() >= 2)
          merge(group);
    }
  }

  void merge(SmallVector<Sibling> &group) {
    llvm::sort(group, [](const Sibling &a, const Sibling &b) {
      return a.op->isBeforeInBlock(b.op);
    });
    MatMulOp first = group.front().op;
    OpBuilder b(first);
    SmallVector<Location> locs;
    for (const Sibling &s : group)
      locs.push_back(s.op.getLoc());
    Location loc = b.getFusedLoc(locs);
    unsigned axis = group.front().axis;
    int64_t k = group.front().k, n = 0;
    SmallVector<int64_t> extents;
    for (const Sibling &s : group) {
      n += s.n;
      extents.push_back(s.n);
    }
    SmallVector<int64_t> shape2d =
        axis == 0 ? SmallVector<int64_t>{n, k} : SmallVector<int64_t>{k, n};
    std::string key = "merged_" + getNodeName(first.getLoc());

    // Everything is read before anything is built: a constant the pass
    // cannot read (an attribute kind readF32/readIntegerCodes do not know)
    // leaves the group as it is.
    SmallVector<std::vector<float>> floats;
    SmallVector<std::vector<int8_t>> codes;
    std::vector<float> biases;
    for (const Sibling &s : group) {
      if (!s.type) {
        std::optional<std::vector<float>> data = readF32(s.values);
        if (!data)
          return;
        floats.push_back(std::move(*data));
      } else {
        // Sign-extended bit patterns, as dense storage keeps sub-byte
        // integers whatever the quantized type's signedness.
        std::optional<std::vector<int32_t>> data =
            readIntegerCodes(s.values, /*isSigned=*/true);
        if (!data)
          return;
        codes.emplace_back(data->begin(), data->end());
      }
      if (s.bias) {
        std::optional<std::vector<float>> data = readF32(s.bias);
        if (!data)
          return;
        llvm::append_range(biases, *data);
      }
    }

    // The stacked weight: the siblings' columns of the product in order.
    Value weight;
    if (!group.front().type) {
      weight = createF32Constant(b, loc, shape2d,
                                 concatAlong<float>(floats, extents, axis), key);
    } else {
      quant::QuantizedType type = stackTypes(group);
      auto storage = cast<IntegerType>(type.getStorageType());
      Value stored = createIntegerCodesConstant(
          b, loc, shape2d, storage, concatAlong<int8_t>(codes, extents, axis),
          key);
      weight = quant::StorageCastOp::create(
          b, loc, RankedTensorType::get(shape2d, type), stored);
    }
    Value bias;
    if (group.front().bias)
      bias = createF32Constant(b, loc, {n}, biases, key + "_bias");
    auto firstType = cast<RankedTensorType>(first.getType());
    SmallVector<int64_t> shape(firstType.getShape());
    shape.back() = n;
    auto merged = MatMulOp::create(
        b, loc, RankedTensorType::get(shape, firstType.getElementType()),
        first.getLhs(), weight, bias,
        axis == 0 ? b.getUnitAttr() : UnitAttr());
    merged->setDiscardableAttrs(computeAttrs(first));

    // Each sibling's columns (created before any sibling is erased: the
    // first one is the builder's insertion point).
    b.setInsertionPointAfter(merged);
    int64_t rank = firstType.getRank(), offset = 0;
    for (const Sibling &s : group) {
      SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)),
          sizes = tensor::getMixedSizes(b, s.op.getLoc(), merged),
          strides(rank, b.getIndexAttr(1));
      offsets.back() = b.getIndexAttr(offset);
      sizes.back() = b.getIndexAttr(s.n);
      Value slice = tensor::ExtractSliceOp::create(
          b, s.op.getLoc(), cast<RankedTensorType>(s.op.getType()), merged,
          offsets, sizes, strides);
      s.op.getResult().replaceAllUsesWith(slice);
      splitHeadsInPlace(slice);
      offset += s.n;
    }
    for (const Sibling &s : group)
      s.op->erase();
  }
};

} // namespace
