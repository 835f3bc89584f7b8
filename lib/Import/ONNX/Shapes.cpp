//===- Shapes.cpp - ONNX shape and data-movement operators ----------------===//
//
// Shape operators whose shape arguments (Reshape's shape, Squeeze's axes,
// Slice's bounds, ...) must be constants at import; constant chains that
// compute them (Shape -> Gather -> Concat) are folded by ConstantFolding.cpp
// first. Results use the tensor dialect (reshape, expand/collapse_shape,
// extract_slice, concat, pad) and tosa where it has the exact op.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "llvm/Support/InterleavedRange.h"

using namespace mlir;
using namespace mlir::qc;
using namespace mlir::qc::onnx_import;

std::optional<SmallVector<int64_t>>
mlir::qc::onnx_import::getConstantIntValues(Value value) {
  if (!value)
    return std::nullopt;
  auto constant = value.getDefiningOp<arith::ConstantOp>();
  if (!constant)
    return std::nullopt;
  auto dense = dyn_cast<DenseIntElementsAttr>(constant.getValue());
  if (!dense)
    return std::nullopt;
  SmallVector<int64_t> values;
  bool isUnsigned = dense.getElementType().isUnsignedInteger();
  for (const APInt &v : dense.getValues<APInt>())
    values.push_back(isUnsigned ? int64_t(v.getZExtValue()) : v.getSExtValue());
  return values;
}

/// Groups for collapsing `rank` dims where `removed` dims disappear: each
/// removed dim joins the next kept one (or the last kept one at the end).
SmallVector<ReassociationIndices>
mlir::qc::onnx_import::groupsAround(int64_t rank, ArrayRef<bool> removed) {
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices pending;
  for (int64_t d = 0; d < rank; ++d) {
    pending.push_back(d);
    if (!removed[d]) {
      groups.push_back(pending);
      pending.clear();
    }
  }
  if (!pending.empty() && !groups.empty())
    groups.back().append(pending.begin(), pending.end());
  return groups;
}

namespace {

/// Normalises an axis in [-rank, rank) to [0, rank), or fails with a message.
FailureOr<int64_t> normalizeAxis(NodeContext &nc, int64_t axis, int64_t rank,
                                 llvm::StringRef what = "axis") {
  if (axis < -rank || axis >= rank) {
    nc.emitError() << what << " " << axis << " is out of range for rank "
                   << rank;
    return failure();
  }
  return axis < 0 ? axis + rank : axis;
}

/// Reads a constant integer input, or reports that it must be constant.
FailureOr<SmallVector<int64_t>> constantInput(NodeContext &nc, unsigned index,
                                              llvm::StringRef what) {
  std::optional<SmallVector<int64_t>> values =
      getConstantIntValues(nc.hasInput(index) ? nc.inputs[index] : Value());
  if (!values) {
    nc.emitError() << "unsupported run-time " << what << ": it must be a "
                   << "constant (or computed from constants and static "
                      "shapes)";
    return failure();
  }
  return *values;
}

Value indexConstant(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// Size of dimension `d` of `value` as an index value.
Value dimSize(OpBuilder &b, Location loc, Value value, int64_t d) {
  auto type = cast<RankedTensorType>(value.getType());
  if (!type.isDynamicDim(d))
    return indexConstant(b, loc, type.getDimSize(d));
  return tensor::DimOp::create(b, loc, value, d);
}

LogicalResult convertShape(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x))
    return failure();
  auto type = cast<RankedTensorType>(x->getType());
  int64_t rank = type.getRank();
  int64_t start = nc.intAttr("start", 0), end = nc.intAttr("end", rank);
  start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
  end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
  int64_t count = std::max<int64_t>(0, end - start);
  auto resultType = RankedTensorType::get({count}, nc.builder.getI64Type());
  ArrayRef<int64_t> dims = type.getShape().slice(start, count);
  if (!llvm::is_contained(dims, ShapedType::kDynamic)) {
    results.push_back(arith::ConstantOp::create(
        nc.builder, nc.loc, DenseIntElementsAttr::get(resultType, dims)));
    return success();
  }
  SmallVector<Value> elements;
  for (int64_t d = start; d < end; ++d)
    elements.push_back(
        arith::IndexCastOp::create(nc.builder, nc.loc, nc.builder.getI64Type(),
                                   dimSize(nc.builder, nc.loc, *x, d)));
  results.push_back(
      tensor::FromElementsOp::create(nc.builder, nc.loc, resultType, elements));
  return success();
}

LogicalResult convertReshape(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x))
    return failure();
  FailureOr<SmallVector<int64_t>> spec = constantInput(nc, 1, "shape");
  if (failed(spec))
    return failure();
  auto type = cast<RankedTensorType>(x->getType());
  bool allowZero = nc.intAttr("allowzero", 0) != 0;
  SmallVector<int64_t> shape;
  int64_t inferred = -1, knownProduct = 1;
  for (auto [i, dim] : llvm::enumerate(*spec)) {
    if (dim == -1) {
      if (inferred >= 0)
        return nc.emitError() << "shape has more than one -1";
      inferred = i;
      shape.push_back(ShapedType::kDynamic);
      continue;
    }
    if (dim == 0 && !allowZero) {
      if (int64_t(i) >= type.getRank())
        return nc.emitError()
               << "shape entry " << i << " is 0 (copy) but the input has rank "
               << type.getRank();
      dim = type.getDimSize(i);
    } else if (dim < 0) {
      return nc.emitError() << "shape entry " << i << " is " << dim;
    }
    shape.push_back(dim);
    if (!ShapedType::isDynamic(dim))
      knownProduct *= dim;
  }
  // Resolve -1 statically when every other size is known.
  if (inferred >= 0 && type.hasStaticShape() &&
      !llvm::is_contained(ArrayRef(shape).drop_front(inferred + 1),
                          ShapedType::kDynamic) &&
      !llvm::is_contained(ArrayRef(shape).take_front(inferred),
                          ShapedType::kDynamic)) {
    if (knownProduct == 0 || type.getNumElements() % knownProduct != 0)
      return nc.emitError() << "cannot reshape " << type << " to ["
                            << llvm::interleaved(*spec) << "]";
    shape[inferred] = type.getNumElements() / knownProduct;
  }
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  if (type.hasStaticShape() && resultType.hasStaticShape() &&
      type.getNumElements() != resultType.getNumElements())
    return nc.emitError() << "cannot reshape " << type << " to " << resultType;

  auto shapeType =
      RankedTensorType::get({int64_t(shape.size())}, nc.builder.getI64Type());
  Value shapeTensor;
  if (resultType.hasStaticShape()) {
    shapeTensor = arith::ConstantOp::create(
        nc.builder, nc.loc, DenseIntElementsAttr::get(shapeType, shape));
  } else {
    // Constants where known, sizes read from the input for copied (0)
    // dimensions, and the quotient total / (product of the others) for -1.
    SmallVector<Value> sizes;
    for (auto [i, dim] : llvm::enumerate(shape)) {
      if (int64_t(i) == inferred && ShapedType::isDynamic(dim))
        sizes.push_back(Value());
      else if (ShapedType::isDynamic(dim))
        sizes.push_back(dimSize(nc.builder, nc.loc, *x, i));
      else
        sizes.push_back(indexConstant(nc.builder, nc.loc, dim));
    }
    if (inferred >= 0 && !sizes[inferred]) {
      Value total = indexConstant(nc.builder, nc.loc, 1);
      for (int64_t d = 0; d < type.getRank(); ++d)
        total = arith::MulIOp::create(nc.builder, nc.loc, total,
                                      dimSize(nc.builder, nc.loc, *x, d));
      Value others = indexConstant(nc.builder, nc.loc, 1);
      for (Value size : sizes)
        if (size)
          others = arith::MulIOp::create(nc.builder, nc.loc, others, size);
      sizes[inferred] =
          arith::DivUIOp::create(nc.builder, nc.loc, total, others);
    }
    SmallVector<Value> sizes64;
    for (Value size : sizes)
      sizes64.push_back(arith::IndexCastOp::create(
          nc.builder, nc.loc, nc.builder.getI64Type(), size));
    shapeTensor =
        tensor::FromElementsOp::create(nc.builder, nc.loc, shapeType, sizes64);
  }
  results.push_back(tensor::ReshapeOp::create(nc.builder, nc.loc, resultType,
                                              *x, shapeTensor));
  return success();
}

LogicalResult convertFlatten(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x))
    return failure();
  auto type = cast<RankedTensorType>(x->getType());
  int64_t rank = type.getRank();
  int64_t axis = nc.intAttr("axis", 1);
  if (axis < -rank || axis > rank)
    return nc.emitError() << "axis " << axis << " is out of range for rank "
                          << rank;
  if (axis < 0)
    axis += rank;
  auto product = [&](int64_t from, int64_t to) {
    int64_t p = 1;
    for (int64_t d = from; d < to; ++d) {
      if (type.isDynamicDim(d))
        return ShapedType::kDynamic;
      p *= type.getDimSize(d);
    }
    return p;
  };
  auto resultType = RankedTensorType::get(
      {product(0, axis), product(axis, rank)}, type.getElementType());
  // Collapse into one or two groups; an empty side becomes a unit dimension.
  if (axis == 0 || axis == rank) {
    SmallVector<ReassociationIndices> all;
    if (rank > 0) {
      ReassociationIndices group;
      for (int64_t d = 0; d < rank; ++d)
        group.push_back(d);
      all.push_back(group);
    }
    Value flat =
        rank == 1 ? *x
                  : tensor::CollapseShapeOp::create(nc.builder, nc.loc, *x, all)
                        .getResult();
    auto flatType = cast<RankedTensorType>(flat.getType());
    SmallVector<ReassociationIndices> split = {{0, 1}};
    if (flatType.getRank() == 0)
      split.clear();
    results.push_back(tensor::ExpandShapeOp::create(nc.builder, nc.loc,
                                                    resultType, flat, split));
    return success();
  }
  ReassociationIndices head, tail;
  for (int64_t d = 0; d < axis; ++d)
    head.push_back(d);
  for (int64_t d = axis; d < rank; ++d)
    tail.push_back(d);
  results.push_back(tensor::CollapseShapeOp::create(
      nc.builder, nc.loc, resultType, *x,
      SmallVector<ReassociationIndices>{head, tail}));
  return success();
}

LogicalResult convertTranspose(NodeContext &nc,
                               SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x))
    return failure();
  auto type = cast<RankedTensorType>(x->getType());
  int64_t rank = type.getRank();
  SmallVector<int32_t> perm;
  if (const onnx::AttributeProto *a = nc.attr("perm")) {
    for (int64_t p : a->ints())
      perm.push_back(static_cast<int32_t>(p));
  } else {
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(static_cast<int32_t>(d));
  }
  SmallVector<bool> seen(rank, false);
  if (int64_t(perm.size()) != rank)
    return nc.emitError() << "perm has " << perm.size() << " entries for rank "
                          << rank;
  SmallVector<int64_t> shape;
  for (int32_t p : perm) {
    if (p < 0 || p >= rank || seen[p])
      return nc.emitError() << "perm is not a permutation of 0.." << rank - 1;
    seen[p] = true;
    shape.push_back(type.getDimSize(p));
  }
  results.push_back(tosa::TransposeOp::create(
      nc.builder, nc.loc, RankedTensorType::get(shape, type.getElementType()),
      *x, nc.builder.getDenseI32ArrayAttr(perm)));
  return success();
}

LogicalResult convertSqueeze(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x))
    return failure();
  auto type = cast<RankedTensorType>(x->getType());
  int64_t rank = type.getRank();
  SmallVector<bool> removed(rank, false);
  if (nc.hasInput(1)) {
    FailureOr<SmallVector<int64_t>> axes = constantInput(nc, 1, "axes");
    if (failed(axes))
      return failure();
    for (int64_t axis : *axes) {
      FailureOr<int64_t> a = normalizeAxis(nc, axis, rank);
      if (failed(a))
        return failure();
      if (type.getDimSize(*a) != 1)
        return nc.emitError() << "dimension " << *a << " of " << type
                              << " is not 1 and cannot be squeezed";
      removed[*a] = true;
    }
  } else {
    for (int64_t d = 0; d < rank; ++d)
      removed[d] = type.getDimSize(d) == 1;
  }
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d)
    if (!removed[d])
      shape.push_back(type.getDimSize(d));
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  results.push_back(tensor::CollapseShapeOp::create(
      nc.builder, nc.loc, resultType, *x, groupsAround(rank, removed)));
  return success();
}

LogicalResult convertUnsqueeze(NodeContext &nc,
                               SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  FailureOr<SmallVector<int64_t>> axes = constantInput(nc, 1, "axes");
  if (failed(x) || failed(axes))
    return failure();
  auto type = cast<RankedTensorType>(x->getType());
  int64_t rank = type.getRank() + axes->size();
  SmallVector<bool> added(rank, false);
  for (int64_t axis : *axes) {
    FailureOr<int64_t> a = normalizeAxis(nc, axis, rank);
    if (failed(a))
      return failure();
    if (added[*a])
      return nc.emitError() << "axis " << axis << " is repeated";
    added[*a] = true;
  }
  SmallVector<int64_t> shape;
  int64_t next = 0;
  for (int64_t d = 0; d < rank; ++d)
    shape.push_back(added[d] ? 1 : type.getDimSize(next++));
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  results.push_back(tensor::ExpandShapeOp::create(
      nc.builder, nc.loc, resultType, *x, groupsAround(rank, added)));
  return success();
}

LogicalResult convertConcat(NodeContext &nc, SmallVectorImpl<Value> &results) {
  if (nc.inputs.empty())
    return nc.emitError() << "expects at least one input";
  SmallVector<Value> inputs;
  for (unsigned i = 0; i < nc.inputs.size(); ++i) {
    FailureOr<Value> v = nc.input(i);
    if (failed(v))
      return failure();
    inputs.push_back(*v);
  }
  auto first = cast<RankedTensorType>(inputs[0].getType());
  FailureOr<int64_t> axis =
      normalizeAxis(nc, nc.intAttr("axis", 0), first.getRank());
  if (failed(axis))
    return failure();
  for (Value v : inputs) {
    auto t = cast<RankedTensorType>(v.getType());
    if (t.getRank() != first.getRank() ||
        t.getElementType() != first.getElementType())
      return nc.emitError()
             << "inputs " << first << " and " << t << " cannot be concatenated";
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (d != *axis && !t.isDynamicDim(d) && !first.isDynamicDim(d) &&
          t.getDimSize(d) != first.getDimSize(d))
        return nc.emitError() << "inputs " << first << " and " << t
                              << " differ in dimension " << d;
  }
  if (inputs.size() == 1) {
    results.push_back(inputs[0]);
    return success();
  }
  results.push_back(
      tensor::ConcatOp::create(nc.builder, nc.loc, *axis, inputs));
  return success();
}

/// Cast with ONNX's semantics: float to integer truncates toward zero (arith
/// fptosi, unlike tosa.cast which rounds), to bool means "not zero".
LogicalResult convertCast(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x))
    return failure();
  auto type = cast<RankedTensorType>(x->getType());
  int32_t to = static_cast<int32_t>(nc.intAttr("to", 0));
  Type target = convertElementType(to, nc.builder.getContext());
  if (!target)
    return nc.emitError() << "unsupported element type in cast to "
                          << dataTypeName(to);
  Type source = type.getElementType();
  auto resultType = RankedTensorType::get(type.getShape(), target);
  if (source == target) {
    results.push_back(*x);
    return success();
  }
  auto isSignless = [](Type t) {
    return isa<IntegerType>(t) && cast<IntegerType>(t).isSignless();
  };
  if (!(isa<FloatType>(source) || isSignless(source)) ||
      !(isa<FloatType>(target) || isSignless(target)))
    return nc.emitError() << "unsupported element type in cast from " << source
                          << " to " << target;
  results.push_back(buildBroadcastGeneric(
      nc.builder, nc.loc, {*x}, resultType,
      [&](OpBuilder &b, Location l, ValueRange args) -> Value {
        Value v = args[0];
        if (target.isInteger(1)) {
          Value zero = arith::ConstantOp::create(b, l, b.getZeroAttr(source));
          if (isa<FloatType>(source))
            return arith::CmpFOp::create(b, l, arith::CmpFPredicate::UNE, v,
                                         zero);
          return arith::CmpIOp::create(b, l, arith::CmpIPredicate::ne, v, zero);
        }
        if (isa<FloatType>(source) && isa<FloatType>(target))
          return source.getIntOrFloatBitWidth() < target.getIntOrFloatBitWidth()
                     ? arith::ExtFOp::create(b, l, target, v).getResult()
                     : arith::TruncFOp::create(b, l, target, v).getResult();
        if (isa<FloatType>(source))
          return arith::FPToSIOp::create(b, l, target, v);
        // Booleans are unsigned 0/1; other integers are signed.
        if (isa<FloatType>(target))
          return source.isInteger(1)
                     ? arith::UIToFPOp::create(b, l, target, v).getResult()
                     : arith::SIToFPOp::create(b, l, target, v).getResult();
        unsigned from = source.getIntOrFloatBitWidth();
        unsigned toWidth = target.getIntOrFloatBitWidth();
        if (from < toWidth)
          return source.isInteger(1)
                     ? arith::ExtUIOp::create(b, l, target, v).getResult()
                     : arith::ExtSIOp::create(b, l, target, v).getResult();
        return arith::TruncIOp::create(b, l, target, v);
      }));
  return success();
}

/// Gather along `axis` with run-time indices: a linalg.generic whose body
/// reads the data with tensor.extract; negative indices count from the end.
LogicalResult convertGather(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> data = nc.input(0), indices = nc.input(1);
  if (failed(data) || failed(indices))
    return failure();
  auto dataTy = cast<RankedTensorType>(data->getType());
  auto idxTy = cast<RankedTensorType>(indices->getType());
  if (!isa<IntegerType>(idxTy.getElementType()) ||
      idxTy.getElementType().isInteger(1))
    return nc.emitError() << "expects integer indices, but got " << idxTy;
  if (dataTy.getRank() == 0)
    return nc.emitError() << "expects data of rank >= 1";
  FailureOr<int64_t> axis =
      normalizeAxis(nc, nc.intAttr("axis", 0), dataTy.getRank());
  if (failed(axis))
    return failure();
  int64_t q = idxTy.getRank();
  SmallVector<int64_t> shape(dataTy.getShape().take_front(*axis));
  llvm::append_range(shape, idxTy.getShape());
  llvm::append_range(shape, dataTy.getShape().drop_front(*axis + 1));
  auto resultType = RankedTensorType::get(shape, dataTy.getElementType());
  int64_t rank = shape.size();
  MLIRContext *ctx = nc.builder.getContext();

  SmallVector<Value> dynamicSizes;
  for (int64_t d = 0; d < rank; ++d) {
    if (!resultType.isDynamicDim(d))
      continue;
    if (d < *axis)
      dynamicSizes.push_back(dimSize(nc.builder, nc.loc, *data, d));
    else if (d < *axis + q)
      dynamicSizes.push_back(dimSize(nc.builder, nc.loc, *indices, d - *axis));
    else
      dynamicSizes.push_back(dimSize(nc.builder, nc.loc, *data, d - q + 1));
  }
  Value init = tensor::EmptyOp::create(nc.builder, nc.loc, shape,
                                       dataTy.getElementType(), dynamicSizes);
  SmallVector<AffineExpr> idxExprs;
  for (int64_t d = *axis; d < *axis + q; ++d)
    idxExprs.push_back(getAffineDimExpr(d, ctx));
  SmallVector<AffineMap> maps = {AffineMap::get(rank, 0, idxExprs, ctx),
                                 AffineMap::getMultiDimIdentityMap(rank, ctx)};
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  Value axisSize = dimSize(nc.builder, nc.loc, *data, *axis);
  auto generic = linalg::GenericOp::create(
      nc.builder, nc.loc, TypeRange{resultType}, ValueRange{*indices},
      ValueRange{init}, maps, iterators,
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value index =
            arith::IndexCastOp::create(b, l, b.getIndexType(), args[0]);
        Value zero = arith::ConstantIndexOp::create(b, l, 0);
        Value negative =
            arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, index, zero);
        Value wrapped = arith::AddIOp::create(b, l, index, axisSize);
        index = arith::SelectOp::create(b, l, negative, wrapped, index);
        SmallVector<Value> coords;
        for (int64_t d = 0; d < *axis; ++d)
          coords.push_back(linalg::IndexOp::create(b, l, d));
        coords.push_back(index);
        for (int64_t d = *axis + q; d < rank; ++d)
          coords.push_back(linalg::IndexOp::create(b, l, d));
        Value element = tensor::ExtractOp::create(b, l, *data, coords);
        linalg::YieldOp::create(b, l, element);
      });
  results.push_back(generic.getResult(0));
  return success();
}

LogicalResult convertSlice(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  FailureOr<SmallVector<int64_t>> starts = constantInput(nc, 1, "starts");
  FailureOr<SmallVector<int64_t>> ends = constantInput(nc, 2, "ends");
  if (failed(x) || failed(starts) || failed(ends))
    return failure();
  auto type = cast<RankedTensorType>(x->getType());
  int64_t rank = type.getRank();
  SmallVector<int64_t> axes, steps;
  if (nc.hasInput(3)) {
    FailureOr<SmallVector<int64_t>> a = constantInput(nc, 3, "axes");
    if (failed(a))
      return failure();
    axes = *a;
  } else {
    for (int64_t i = 0; i < int64_t(starts->size()); ++i)
      axes.push_back(i);
  }
  if (nc.hasInput(4)) {
    FailureOr<SmallVector<int64_t>> s = constantInput(nc, 4, "steps");
    if (failed(s))
      return failure();
    steps = *s;
  } else {
    steps.assign(starts->size(), 1);
  }
  if (ends->size() != starts->size() || axes.size() != starts->size() ||
      steps.size() != starts->size())
    return nc.emitError() << "starts, ends, axes and steps differ in length";

  SmallVector<OpFoldResult> offsets, sizes, strides;
  SmallVector<int64_t> shape(type.getShape());
  for (int64_t d = 0; d < rank; ++d) {
    offsets.push_back(nc.builder.getIndexAttr(0));
    strides.push_back(nc.builder.getIndexAttr(1));
    sizes.push_back(type.isDynamicDim(d)
                        ? OpFoldResult(dimSize(nc.builder, nc.loc, *x, d))
                        : nc.builder.getIndexAttr(type.getDimSize(d)));
  }
  for (size_t i = 0; i < axes.size(); ++i) {
    FailureOr<int64_t> axis = normalizeAxis(nc, axes[i], rank);
    if (failed(axis))
      return failure();
    int64_t step = steps[i];
    if (step <= 0)
      return nc.emitError() << "unsupported step " << step
                            << " (only positive steps are supported)";
    int64_t dim = type.getDimSize(*axis);
    int64_t start = (*starts)[i], end = (*ends)[i];
    if (ShapedType::isDynamic(dim)) {
      // Only "from a non-negative start to the end" is expressible without
      // knowing the size.
      if (start < 0 || end < (int64_t(1) << 31) || step != 1)
        return nc.emitError() << "unsupported slice [" << start << ", " << end
                              << ") of dynamic dimension " << *axis;
      offsets[*axis] = nc.builder.getIndexAttr(start);
      Value size = arith::SubIOp::create(
          nc.builder, nc.loc, dimSize(nc.builder, nc.loc, *x, *axis),
          indexConstant(nc.builder, nc.loc, start));
      sizes[*axis] = size;
      continue;
    }
    if (start < 0)
      start += dim;
    if (end < 0)
      end += dim;
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    int64_t count = end > start ? (end - start + step - 1) / step : 0;
    offsets[*axis] = nc.builder.getIndexAttr(start);
    sizes[*axis] = nc.builder.getIndexAttr(count);
    strides[*axis] = nc.builder.getIndexAttr(step);
    shape[*axis] = count;
  }
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  results.push_back(tensor::ExtractSliceOp::create(
      nc.builder, nc.loc, resultType, *x, offsets, sizes, strides));
  return success();
}

LogicalResult convertExpand(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  FailureOr<SmallVector<int64_t>> target = constantInput(nc, 1, "shape");
  if (failed(x) || failed(target))
    return failure();
  auto type = cast<RankedTensorType>(x->getType());
  FailureOr<SmallVector<int64_t>> shape =
      broadcastShapes(type.getShape(), *target);
  if (failed(shape))
    return nc.emitError() << type << " does not broadcast to ["
                          << llvm::interleaved(*target) << "]";
  auto resultType = RankedTensorType::get(*shape, type.getElementType());
  results.push_back(buildBroadcastGeneric(
      nc.builder, nc.loc, {*x}, resultType,
      [](OpBuilder &, Location, ValueRange args) { return args[0]; }));
  return success();
}

LogicalResult convertConstantOfShape(NodeContext &nc,
                                     SmallVectorImpl<Value> &results) {
  FailureOr<SmallVector<int64_t>> shape = constantInput(nc, 0, "shape");
  if (failed(shape))
    return failure();
  for (int64_t d : *shape)
    if (d < 0)
      return nc.emitError() << "shape has negative entry " << d;
  MLIRContext *ctx = nc.builder.getContext();
  Attribute value = FloatAttr::get(Float32Type::get(ctx), 0.0);
  if (const onnx::AttributeProto *a = nc.attr("value")) {
    ElementsAttr attr = convertTensor(a->t(), nc.loc, "");
    if (!attr)
      return failure();
    if (attr.getNumElements() != 1)
      return nc.emitError() << "value must hold one element";
    value = *attr.getValues<Attribute>().begin();
  }
  auto type = RankedTensorType::get(*shape, cast<TypedAttr>(value).getType());
  results.push_back(arith::ConstantOp::create(
      nc.builder, nc.loc, DenseElementsAttr::get(type, value)));
  return success();
}

LogicalResult convertSplit(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x))
    return failure();
  auto type = cast<RankedTensorType>(x->getType());
  FailureOr<int64_t> axis =
      normalizeAxis(nc, nc.intAttr("axis", 0), type.getRank());
  if (failed(axis))
    return failure();
  int64_t dim = type.getDimSize(*axis);
  if (ShapedType::isDynamic(dim))
    return nc.emitError() << "unsupported split of dynamic dimension " << *axis;
  int64_t outputs = nc.node.output_size();
  SmallVector<int64_t> sizes;
  if (nc.hasInput(1)) {
    FailureOr<SmallVector<int64_t>> split = constantInput(nc, 1, "split");
    if (failed(split))
      return failure();
    sizes = *split;
  } else {
    int64_t parts = nc.intAttr("num_outputs", outputs);
    if (parts <= 0)
      return nc.emitError() << "num_outputs must be positive";
    int64_t chunk = (dim + parts - 1) / parts;
    for (int64_t i = 0, left = dim; i < parts; ++i, left -= chunk)
      sizes.push_back(std::max<int64_t>(0, std::min(chunk, left)));
  }
  int64_t total = 0;
  for (int64_t s : sizes)
    total += s;
  if (int64_t(sizes.size()) != outputs || total != dim ||
      llvm::any_of(sizes, [](int64_t s) { return s < 0; }))
    return nc.emitError() << "split sizes [" << llvm::interleaved(sizes)
                          << "] do not cover dimension " << *axis << " of "
                          << type << " with " << outputs << " outputs";
  int64_t offset = 0;
  for (int64_t size : sizes) {
    SmallVector<OpFoldResult> offsets, extents, strides;
    SmallVector<int64_t> shape(type.getShape());
    shape[*axis] = size;
    for (int64_t d = 0; d < type.getRank(); ++d) {
      offsets.push_back(nc.builder.getIndexAttr(d == *axis ? offset : 0));
      strides.push_back(nc.builder.getIndexAttr(1));
      extents.push_back(
          d == *axis ? OpFoldResult(nc.builder.getIndexAttr(size))
          : type.isDynamicDim(d)
              ? OpFoldResult(dimSize(nc.builder, nc.loc, *x, d))
              : OpFoldResult(nc.builder.getIndexAttr(type.getDimSize(d))));
    }
    results.push_back(tensor::ExtractSliceOp::create(
        nc.builder, nc.loc, RankedTensorType::get(shape, type.getElementType()),
        *x, offsets, extents, strides));
    offset += size;
  }
  return success();
}

LogicalResult convertPad(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  FailureOr<SmallVector<int64_t>> pads = constantInput(nc, 1, "pads");
  if (failed(x) || failed(pads))
    return failure();
  std::string mode = nc.stringAttr("mode", "constant");
  if (mode != "constant")
    return nc.emitError() << "unsupported mode '" << mode
                          << "' (only 'constant' is supported)";
  auto type = cast<RankedTensorType>(x->getType());
  int64_t rank = type.getRank();
  SmallVector<int64_t> axes;
  if (nc.hasInput(3)) {
    FailureOr<SmallVector<int64_t>> a = constantInput(nc, 3, "axes");
    if (failed(a))
      return failure();
    for (int64_t axis : *a) {
      FailureOr<int64_t> n = normalizeAxis(nc, axis, rank);
      if (failed(n))
        return failure();
      axes.push_back(*n);
    }
  } else {
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  }
  if (pads->size() != 2 * axes.size())
    return nc.emitError() << "pads has " << pads->size() << " entries for "
                          << axes.size() << " axes";
  SmallVector<int64_t> low(rank, 0), high(rank, 0), shape(type.getShape());
  for (size_t i = 0; i < axes.size(); ++i) {
    low[axes[i]] = (*pads)[i];
    high[axes[i]] = (*pads)[i + axes.size()];
    if (low[axes[i]] < 0 || high[axes[i]] < 0)
      return nc.emitError() << "unsupported negative padding";
    if (!type.isDynamicDim(axes[i]))
      shape[axes[i]] += low[axes[i]] + high[axes[i]];
  }
  Type element = type.getElementType();
  Value padValue;
  if (nc.hasInput(2)) {
    auto constant = nc.inputs[2].getDefiningOp<arith::ConstantOp>();
    auto dense = constant ? dyn_cast<DenseElementsAttr>(constant.getValue())
                          : DenseElementsAttr();
    if (!dense || dense.getNumElements() != 1)
      return nc.emitError() << "constant_value must be a constant scalar";
    padValue = arith::ConstantOp::create(
        nc.builder, nc.loc,
        cast<TypedAttr>(*dense.getValues<Attribute>().begin()));
  } else {
    padValue = arith::ConstantOp::create(nc.builder, nc.loc,
                                         nc.builder.getZeroAttr(element));
  }
  auto resultType = RankedTensorType::get(shape, element);
  auto pad = tensor::PadOp::create(nc.builder, nc.loc, resultType, *x, low,
                                   high, ValueRange{}, ValueRange{});
  {
    OpBuilder::InsertionGuard guard(nc.builder);
    SmallVector<Type> argTypes(rank, nc.builder.getIndexType());
    SmallVector<Location> argLocs(rank, nc.loc);
    Block *block =
        nc.builder.createBlock(&pad.getRegion(), {}, argTypes, argLocs);
    nc.builder.setInsertionPointToEnd(block);
    tensor::YieldOp::create(nc.builder, nc.loc, padValue);
  }
  results.push_back(pad.getResult());
  return success();
}

/// Range with integer constant bounds is evaluated by ConstantFolding.cpp
/// before this converter runs; anything else is not supported yet.
LogicalResult convertRange(NodeContext &nc, SmallVectorImpl<Value> &) {
  return nc.emitError() << "unsupported Range: start, limit and delta must be "
                           "integer constants";
}

} // namespace

void mlir::qc::onnx_import::addShapeConverters(
    llvm::StringMap<OpConverter> &table) {
  table["::Shape"] = convertShape;
  table["::Reshape"] = convertReshape;
  table["::Flatten"] = convertFlatten;
  table["::Transpose"] = convertTranspose;
  table["::Squeeze"] = convertSqueeze;
  table["::Unsqueeze"] = convertUnsqueeze;
  table["::Concat"] = convertConcat;
  table["::Cast"] = convertCast;
  table["::Gather"] = convertGather;
  table["::Slice"] = convertSlice;
  table["::Expand"] = convertExpand;
  table["::ConstantOfShape"] = convertConstantOfShape;
  table["::Split"] = convertSplit;
  table["::Pad"] = convertPad;
  table["::Range"] = convertRange;
}
