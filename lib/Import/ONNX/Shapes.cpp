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
  // Unsigned integers and booleans zero-extend (true is 1, not -1).
  bool isUnsigned = dense.getElementType().isUnsignedInteger() ||
                    dense.getElementType().isInteger(1);
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

/// Normalises an axis in [-rank, rank) to [0, rank), or fails with a message.
FailureOr<int64_t> mlir::qc::onnx_import::normalizeAxis(NodeContext &nc,
                                                        int64_t axis,
                                                        int64_t rank,
                                                        llvm::StringRef what) {
  if (axis < -rank || axis >= rank) {
    nc.emitError() << what << " " << axis << " is out of range for rank "
                   << rank;
    return failure();
  }
  return axis < 0 ? axis + rank : axis;
}

/// Reads a constant integer input, or reports that it must be constant.
FailureOr<SmallVector<int64_t>>
mlir::qc::onnx_import::constantInput(NodeContext &nc, unsigned index,
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

Value mlir::qc::onnx_import::indexConstant(OpBuilder &b, Location loc,
                                           int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// Size of dimension `d` of `value` as an index value.
Value mlir::qc::onnx_import::dimSize(OpBuilder &b, Location loc, Value value,
                                     int64_t d) {
  auto type = cast<RankedTensorType>(value.getType());
  if (!type.isDynamicDim(d))
    return indexConstant(b, loc, type.getDimSize(d));
  return tensor::DimOp::create(b, loc, value, d);
}

Value mlir::qc::onnx_import::expandAlongAxis(OpBuilder &builder, Location loc,
                                             Value param, int64_t rank,
                                             int64_t axis) {
  auto type = cast<RankedTensorType>(param.getType());
  SmallVector<int64_t> shape(rank, 1);
  shape[axis] = type.getDimSize(0);
  ReassociationIndices all;
  for (int64_t d = 0; d < rank; ++d)
    all.push_back(d);
  return tensor::ExpandShapeOp::create(
      builder, loc, RankedTensorType::get(shape, type.getElementType()), param,
      SmallVector<ReassociationIndices>{all});
}

namespace {

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
  ArrayRef<int64_t> dims = type.getShape().slice(start, count);
  if (!llvm::is_contained(dims, ShapedType::kDynamic)) {
    auto resultType = RankedTensorType::get({count}, nc.builder.getI64Type());
    results.push_back(arith::ConstantOp::create(
        nc.builder, nc.loc, DenseIntElementsAttr::get(resultType, dims)));
    return success();
  }
  // Dynamic dimensions: tracked, so that shape arithmetic on the result keeps
  // knowing which entries are constant (SymbolicShapes.cpp).
  SymbolicShape shape;
  for (int64_t d = start; d < end; ++d) {
    if (type.isDynamicDim(d))
      shape.elements.push_back(
          {std::nullopt, tensor::DimOp::create(nc.builder, nc.loc, *x, d)});
    else
      shape.elements.push_back({type.getDimSize(d), Value()});
  }
  results.push_back(nc.shapes.materialize(nc.builder, nc.loc, shape,
                                          nc.builder.getI64Type()));
  return success();
}

LogicalResult convertReshape(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x) || failed(nc.input(1)))
    return failure();
  // The target: constants, or elements tracked through shape arithmetic
  // (dynamic entries are sizes computed at run time).
  std::optional<SymbolicShape> spec = nc.shapes.lookup(nc.inputs[1]);
  if (!spec || spec->isScalar)
    return nc.emitError() << "unsupported run-time shape: it must be a "
                             "constant (or computed from constants and "
                             "tensor shapes)";
  auto type = cast<RankedTensorType>(x->getType());
  bool allowZero = nc.intAttr("allowzero", 0) != 0;
  SmallVector<int64_t> shape;
  SmallVector<Value> sizes; // index values; null for the inferred entry
  int64_t inferred = -1, knownProduct = 1;
  bool othersStatic = true;
  for (auto [i, element] : llvm::enumerate(spec->elements)) {
    if (!element.constant) {
      shape.push_back(ShapedType::kDynamic);
      sizes.push_back(element.value);
      othersStatic = false;
      continue;
    }
    int64_t dim = *element.constant;
    if (dim == -1) {
      if (inferred >= 0)
        return nc.emitError() << "shape has more than one -1";
      inferred = i;
      shape.push_back(ShapedType::kDynamic);
      sizes.push_back(Value());
      continue;
    }
    if (dim == 0 && !allowZero) {
      if (int64_t(i) >= type.getRank())
        return nc.emitError()
               << "shape entry " << i << " is 0 (copy) but the input has rank "
               << type.getRank();
      dim = type.getDimSize(i);
      sizes.push_back(dimSize(nc.builder, nc.loc, *x, i));
    } else if (dim < 0) {
      return nc.emitError() << "shape entry " << i << " is " << dim;
    } else {
      sizes.push_back(indexConstant(nc.builder, nc.loc, dim));
    }
    shape.push_back(dim);
    if (ShapedType::isDynamic(dim))
      othersStatic = false;
    else
      knownProduct *= dim;
  }
  // Resolve -1 statically when the input and every other size are known.
  if (inferred >= 0 && type.hasStaticShape() && othersStatic) {
    if (knownProduct == 0 || type.getNumElements() % knownProduct != 0) {
      SmallVector<int64_t> values;
      for (const ShapeElement &e : spec->elements)
        values.push_back(*e.constant);
      return nc.emitError() << "cannot reshape " << type << " to ["
                            << llvm::interleaved(values) << "]";
    }
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
    // The inferred entry is total / (product of the others) at run time.
    if (inferred >= 0 && ShapedType::isDynamic(shape[inferred])) {
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
    } else if (inferred >= 0) {
      sizes[inferred] = indexConstant(nc.builder, nc.loc, shape[inferred]);
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

/// Expand. The target shape is a constant or a tracked shape tensor; a target
/// element unknown at import gives a dynamic size: the target where the input
/// has 1, else max(input size, target) (they are equal or one is 1).
LogicalResult convertExpand(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x) || failed(nc.input(1)))
    return failure();
  std::optional<SymbolicShape> target = nc.shapes.lookup(nc.inputs[1]);
  if (!target || target->isScalar)
    return nc.emitError() << "unsupported run-time shape: it must be a 1-D "
                             "constant or computed from shapes";
  auto type = cast<RankedTensorType>(x->getType());
  int64_t rank = std::max<int64_t>(type.getRank(), target->elements.size());
  int64_t xOffset = rank - type.getRank();
  int64_t tOffset = rank - int64_t(target->elements.size());
  SmallVector<int64_t> shape;
  SmallVector<Value> sizes;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t xd = d >= xOffset ? type.getDimSize(d - xOffset) : 1;
    if (d < tOffset) {
      shape.push_back(xd);
      if (ShapedType::isDynamic(xd))
        sizes.push_back(dimSize(nc.builder, nc.loc, *x, d - xOffset));
      continue;
    }
    const ShapeElement &t = target->elements[d - tOffset];
    if (t.constant) {
      int64_t td = *t.constant;
      if (td < 0 || (td != 1 && xd != 1 && !ShapedType::isDynamic(xd) &&
                     td != xd))
        return nc.emitError() << type << " does not broadcast to target size "
                              << td << " in dimension " << d;
      shape.push_back(td == 1 ? xd : td);
      if (td == 1 && ShapedType::isDynamic(xd))
        sizes.push_back(dimSize(nc.builder, nc.loc, *x, d - xOffset));
      continue;
    }
    if (xd != 1 && !ShapedType::isDynamic(xd)) {
      shape.push_back(xd); // the target must be 1 or xd
      continue;
    }
    shape.push_back(ShapedType::kDynamic);
    Value tv = ShapeTracker::asIndex(nc.builder, nc.loc, t);
    if (ShapedType::isDynamic(xd))
      tv = arith::MaxSIOp::create(
          nc.builder, nc.loc, dimSize(nc.builder, nc.loc, *x, d - xOffset),
          tv);
    sizes.push_back(tv);
  }
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  results.push_back(buildBroadcastGeneric(
      nc.builder, nc.loc, {*x}, resultType,
      [](OpBuilder &, Location, ValueRange args) { return args[0]; }, sizes));
  return success();
}

/// ConstantOfShape: a constant for a shape known at import, else
/// tensor.empty + linalg.fill with the tracked sizes.
LogicalResult convertConstantOfShape(NodeContext &nc,
                                     SmallVectorImpl<Value> &results) {
  if (failed(nc.input(0)))
    return failure();
  std::optional<SymbolicShape> shape = nc.shapes.lookup(nc.inputs[0]);
  if (!shape || shape->isScalar)
    return nc.emitError() << "unsupported run-time shape: it must be a 1-D "
                             "constant or computed from shapes";
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
  SmallVector<int64_t> dims;
  SmallVector<Value> dynamic;
  for (const ShapeElement &e : shape->elements) {
    if (e.constant && *e.constant < 0)
      return nc.emitError() << "shape has negative entry " << *e.constant;
    dims.push_back(e.constant ? *e.constant : ShapedType::kDynamic);
    if (!e.constant)
      dynamic.push_back(ShapeTracker::asIndex(nc.builder, nc.loc, e));
  }
  Type element = cast<TypedAttr>(value).getType();
  auto type = RankedTensorType::get(dims, element);
  if (dynamic.empty()) {
    results.push_back(arith::ConstantOp::create(
        nc.builder, nc.loc, DenseElementsAttr::get(type, value)));
    return success();
  }
  Value empty =
      tensor::EmptyOp::create(nc.builder, nc.loc, dims, element, dynamic);
  Value fill =
      arith::ConstantOp::create(nc.builder, nc.loc, cast<TypedAttr>(value));
  results.push_back(
      linalg::FillOp::create(nc.builder, nc.loc, fill, empty).getResult(0));
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
  table["::Expand"] = convertExpand;
  table["::ConstantOfShape"] = convertConstantOfShape;
  table["::Range"] = convertRange;
}
