//===- DataMovement.cpp - Concat, Cast, Gather, Slice, Split, Pad ---------===//
//
// Operators that move or convert data without arithmetic: tensor.concat,
// arith casts with ONNX's rounding, Gather as a linalg.generic with
// tensor.extract, Slice and Split as tensor.extract_slice, Pad as tensor.pad.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/Support/InterleavedRange.h"

using namespace mlir;
using namespace mlir::qc;
using namespace mlir::qc::onnx_import;

Value mlir::qc::onnx_import::buildConstantPad(OpBuilder &builder, Location loc,
                                              Value x, ArrayRef<int64_t> low,
                                              ArrayRef<int64_t> high,
                                              Value padValue) {
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> shape(type.getShape());
  for (size_t d = 0; d < shape.size(); ++d)
    if (!ShapedType::isDynamic(shape[d]))
      shape[d] += low[d] + high[d];
  auto pad = tensor::PadOp::create(
      builder, loc, RankedTensorType::get(shape, type.getElementType()), x, low,
      high, ValueRange{}, ValueRange{});
  OpBuilder::InsertionGuard guard(builder);
  SmallVector<Type> argTypes(type.getRank(), builder.getIndexType());
  SmallVector<Location> argLocs(type.getRank(), loc);
  Block *block = builder.createBlock(&pad.getRegion(), {}, argTypes, argLocs);
  builder.setInsertionPointToEnd(block);
  tensor::YieldOp::create(builder, loc, padValue);
  return pad.getResult();
}

namespace {

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

/// tensor.extract_slice, or tensor.empty when the result is statically empty
/// (extract_slice rejects offsets into an empty dimension).
Value sliceOrEmpty(NodeContext &nc, Value x, RankedTensorType resultType,
                   ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes,
                   ArrayRef<OpFoldResult> strides) {
  if (llvm::is_contained(resultType.getShape(), 0)) {
    SmallVector<Value> dynamic;
    for (int64_t d = 0; d < resultType.getRank(); ++d)
      if (resultType.isDynamicDim(d))
        dynamic.push_back(getValueOrCreateConstantIndexOp(nc.builder, nc.loc,
                                                          sizes[d]));
    return tensor::EmptyOp::create(nc.builder, nc.loc, resultType.getShape(),
                                   resultType.getElementType(), dynamic);
  }
  return tensor::ExtractSliceOp::create(nc.builder, nc.loc, resultType, x,
                                        offsets, sizes, strides);
}

/// Slice bound `e` normalised as ONNX does at run time: negative counts from
/// the end (`dim` added), then clamped to [0, dim].
Value sliceBound(NodeContext &nc, const ShapeElement &e, Value dim) {
  OpBuilder &b = nc.builder;
  Location loc = nc.loc;
  Value zero = indexConstant(b, loc, 0);
  Value v;
  if (e.constant) {
    // Out-of-range constants (INT64_MAX for "to the end") clamp to dim.
    int64_t c = std::clamp<int64_t>(*e.constant, -(int64_t(1) << 62),
                                    int64_t(1) << 62);
    v = indexConstant(b, loc, c);
  } else {
    v = ShapeTracker::asIndex(b, loc, e);
  }
  Value negative =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, v, zero);
  v = arith::SelectOp::create(b, loc, negative,
                              arith::AddIOp::create(b, loc, v, dim), v);
  v = arith::MaxSIOp::create(b, loc, v, zero);
  return arith::MinSIOp::create(b, loc, v, dim);
}

/// Slice. Bounds are constants or tracked shape values (Shape -> Gather
/// chains, e.g. a sequence length); axes and steps are constants. A bound
/// that is not known at import, or a dynamic dimension, gives a dynamic
/// result size computed as ONNX defines (negative from the end, clamped).
LogicalResult convertSlice(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x) || failed(nc.input(1)) || failed(nc.input(2)))
    return failure();
  std::optional<SymbolicShape> starts = nc.shapes.lookup(nc.inputs[1]);
  std::optional<SymbolicShape> ends = nc.shapes.lookup(nc.inputs[2]);
  if (!starts || !ends)
    return nc.emitError() << "unsupported run-time " << (starts ? "ends" : "starts")
                          << ": it must be a constant or computed from shapes";
  auto type = cast<RankedTensorType>(x->getType());
  int64_t rank = type.getRank();
  size_t count = starts->elements.size();
  SmallVector<int64_t> axes, steps;
  if (nc.hasInput(3)) {
    FailureOr<SmallVector<int64_t>> a = constantInput(nc, 3, "axes");
    if (failed(a))
      return failure();
    axes = *a;
  } else {
    for (int64_t i = 0; i < int64_t(count); ++i)
      axes.push_back(i);
  }
  if (nc.hasInput(4)) {
    FailureOr<SmallVector<int64_t>> st = constantInput(nc, 4, "steps");
    if (failed(st))
      return failure();
    steps = *st;
  } else {
    steps.assign(count, 1);
  }
  if (ends->elements.size() != count || axes.size() != count ||
      steps.size() != count)
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
  SmallVector<bool> seen(rank, false);
  for (size_t i = 0; i < count; ++i) {
    FailureOr<int64_t> axis = normalizeAxis(nc, axes[i], rank);
    if (failed(axis))
      return failure();
    if (seen[*axis])
      return nc.emitError() << "axes repeats axis " << *axis;
    seen[*axis] = true;
    int64_t step = steps[i];
    if (step <= 0)
      return nc.emitError() << "unsupported step " << step
                            << " (only positive steps are supported)";
    strides[*axis] = nc.builder.getIndexAttr(step);
    int64_t dim = type.getDimSize(*axis);
    const ShapeElement &startE = starts->elements[i];
    const ShapeElement &endE = ends->elements[i];
    if (!ShapedType::isDynamic(dim) && startE.constant && endE.constant) {
      int64_t start = *startE.constant, end = *endE.constant;
      if (start < 0)
        start += dim;
      if (end < 0)
        end += dim;
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      int64_t n = end > start ? (end - start + step - 1) / step : 0;
      // An empty slice starts at 0 (an offset equal to the size is out of
      // bounds for tensor.extract_slice).
      offsets[*axis] = nc.builder.getIndexAttr(n == 0 ? 0 : start);
      sizes[*axis] = nc.builder.getIndexAttr(n);
      shape[*axis] = n;
      continue;
    }
    // Run-time bounds: size = max(0, ceil((end - start) / step)).
    Value dimV = dimSize(nc.builder, nc.loc, *x, *axis);
    Value start = sliceBound(nc, startE, dimV);
    Value end = sliceBound(nc, endE, dimV);
    Value span = arith::SubIOp::create(nc.builder, nc.loc, end, start);
    span = arith::MaxSIOp::create(nc.builder, nc.loc, span,
                                  indexConstant(nc.builder, nc.loc, 0));
    Value n = arith::CeilDivSIOp::create(
        nc.builder, nc.loc, span, indexConstant(nc.builder, nc.loc, step));
    offsets[*axis] = start;
    sizes[*axis] = n;
    shape[*axis] = ShapedType::kDynamic;
  }
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  results.push_back(sliceOrEmpty(nc, *x, resultType, offsets, sizes, strides));
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
      offsets.push_back(
          nc.builder.getIndexAttr(d == *axis && size > 0 ? offset : 0));
      strides.push_back(nc.builder.getIndexAttr(1));
      extents.push_back(
          d == *axis ? OpFoldResult(nc.builder.getIndexAttr(size))
          : type.isDynamicDim(d)
              ? OpFoldResult(dimSize(nc.builder, nc.loc, *x, d))
              : OpFoldResult(nc.builder.getIndexAttr(type.getDimSize(d))));
    }
    results.push_back(sliceOrEmpty(
        nc, *x, RankedTensorType::get(shape, type.getElementType()), offsets,
        extents, strides));
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
  SmallVector<int64_t> low(rank, 0), high(rank, 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    low[axes[i]] = (*pads)[i];
    high[axes[i]] = (*pads)[i + axes.size()];
    if (low[axes[i]] < 0 || high[axes[i]] < 0)
      return nc.emitError() << "unsupported negative padding";
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
  results.push_back(
      buildConstantPad(nc.builder, nc.loc, *x, low, high, padValue));
  return success();
}

} // namespace

void mlir::qc::onnx_import::addDataMovementConverters(
    llvm::StringMap<OpConverter> &table) {
  table["::Concat"] = convertConcat;
  table["::Cast"] = convertCast;
  table["::Gather"] = convertGather;
  table["::Slice"] = convertSlice;
  table["::Split"] = convertSplit;
  table["::Pad"] = convertPad;
}
