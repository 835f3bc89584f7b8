//===- Convolution.cpp - Conv, MaxPool, AveragePool, GlobalAveragePool ----===//
//
// NCHW (and NCW) convolutions and pools onto linalg's named ops, which keep
// ONNX's layout: explicit padding with tensor.pad, then
//   Conv, group 1        -> linalg.conv_{1d_ncw_fcw, 2d_nchw_fchw}
//   Conv, depthwise      -> linalg.depthwise_conv_{1d_ncw_cw, 2d_nchw_chw}
//   Conv, other groups   -> linalg.conv_2d_ngchw_gfchw (2-D)
//   MaxPool/AveragePool  -> linalg.pooling_{ncw,nchw}_{max,sum}
// Spatial and channel sizes must be static; the batch may be dynamic.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"

using namespace mlir;
using namespace mlir::qc;
using namespace mlir::qc::onnx_import;

namespace {

/// Window geometry of a conv or pool node over `spatial` dimensions.
struct Window {
  SmallVector<int64_t> kernel, strides, dilations, padBegin, padEnd, output;
};

std::optional<SmallVector<int64_t>> intsAttr(NodeContext &nc,
                                             llvm::StringRef name) {
  const onnx::AttributeProto *a = nc.attr(name);
  if (!a)
    return std::nullopt;
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

/// Reads kernel_shape/strides/dilations/pads/auto_pad and computes the output
/// sizes for input spatial sizes `inSizes` (all static).
FailureOr<Window> readWindow(NodeContext &nc, ArrayRef<int64_t> inSizes,
                             ArrayRef<int64_t> kernelFromWeight) {
  size_t n = inSizes.size();
  Window w;
  w.kernel = intsAttr(nc, "kernel_shape")
                 .value_or(SmallVector<int64_t>(kernelFromWeight.begin(),
                                                kernelFromWeight.end()));
  w.strides = intsAttr(nc, "strides").value_or(SmallVector<int64_t>(n, 1));
  w.dilations = intsAttr(nc, "dilations").value_or(SmallVector<int64_t>(n, 1));
  SmallVector<int64_t> pads =
      intsAttr(nc, "pads").value_or(SmallVector<int64_t>(2 * n, 0));
  if (w.kernel.size() != n || w.strides.size() != n ||
      w.dilations.size() != n || pads.size() != 2 * n) {
    nc.emitError() << "kernel_shape, strides, dilations and pads do not match "
                   << n << " spatial dimensions";
    return failure();
  }
  for (size_t i = 0; i < n; ++i)
    if (w.kernel[i] < 1 || w.strides[i] < 1 || w.dilations[i] < 1 ||
        pads[i] < 0 || pads[i + n] < 0) {
      nc.emitError() << "kernel, stride and dilation must be positive and "
                        "pads non-negative";
      return failure();
    }
  std::string autoPad = nc.stringAttr("auto_pad", "NOTSET");
  if (nc.intAttr("ceil_mode", 0) != 0) {
    nc.emitError() << "unsupported ceil_mode 1";
    return failure();
  }
  for (size_t i = 0; i < n; ++i) {
    int64_t extent = (w.kernel[i] - 1) * w.dilations[i] + 1;
    int64_t begin = pads[i], end = pads[i + n];
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      int64_t out = (inSizes[i] + w.strides[i] - 1) / w.strides[i];
      int64_t total =
          std::max<int64_t>(0, (out - 1) * w.strides[i] + extent - inSizes[i]);
      begin = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      end = total - begin;
    } else if (autoPad == "VALID") {
      begin = end = 0;
    } else if (autoPad != "NOTSET") {
      nc.emitError() << "unknown auto_pad '" << autoPad << "'";
      return failure();
    }
    int64_t padded = inSizes[i] + begin + end;
    if (padded < extent) {
      nc.emitError() << "the window (" << extent
                     << ") is larger than the padded input (" << padded << ")";
      return failure();
    }
    w.padBegin.push_back(begin);
    w.padEnd.push_back(end);
    w.output.push_back((padded - extent) / w.strides[i] + 1);
  }
  return w;
}

Value padSpatial(NodeContext &nc, Value x, const Window &w, Attribute value) {
  if (llvm::all_of(w.padBegin, [](int64_t p) { return p == 0; }) &&
      llvm::all_of(w.padEnd, [](int64_t p) { return p == 0; }))
    return x;
  SmallVector<int64_t> low = {0, 0}, high = {0, 0};
  llvm::append_range(low, w.padBegin);
  llvm::append_range(high, w.padEnd);
  Value v =
      arith::ConstantOp::create(nc.builder, nc.loc, cast<TypedAttr>(value));
  return buildConstantPad(nc.builder, nc.loc, x, low, high, v);
}

/// An output tensor [N, C, spatial...] filled with `value` (of its type).
Value filledOutput(NodeContext &nc, Value input, int64_t channels,
                   ArrayRef<int64_t> spatial, Attribute value) {
  auto inTy = cast<RankedTensorType>(input.getType());
  SmallVector<int64_t> shape = {inTy.getDimSize(0), channels};
  llvm::append_range(shape, spatial);
  SmallVector<Value> dynamic;
  if (inTy.isDynamicDim(0))
    dynamic.push_back(tensor::DimOp::create(nc.builder, nc.loc, input, 0));
  Value empty = tensor::EmptyOp::create(
      nc.builder, nc.loc, shape, cast<TypedAttr>(value).getType(), dynamic);
  Value fill =
      arith::ConstantOp::create(nc.builder, nc.loc, cast<TypedAttr>(value));
  return linalg::FillOp::create(nc.builder, nc.loc, fill, empty).getResult(0);
}

SmallVector<NamedAttribute> windowAttrs(NodeContext &nc, const Window &w) {
  auto attr = [&](ArrayRef<int64_t> v) {
    return DenseIntElementsAttr::get(
        RankedTensorType::get({int64_t(v.size())}, nc.builder.getI64Type()), v);
  };
  return {nc.builder.getNamedAttr("strides", attr(w.strides)),
          nc.builder.getNamedAttr("dilations", attr(w.dilations))};
}

/// Checks an NC + spatial input with static C and spatial sizes (float
/// unless `allowInteger`).
FailureOr<RankedTensorType> checkNCHW(NodeContext &nc, Value x,
                                      bool allowInteger = false) {
  auto type = cast<RankedTensorType>(x.getType());
  if (type.getRank() != 3 && type.getRank() != 4) {
    nc.emitError() << "unsupported input rank " << type.getRank()
                   << " (1-D and 2-D, NCW and NCHW, are supported)";
    return failure();
  }
  if (!isa<FloatType>(type.getElementType()) && !allowInteger) {
    nc.emitError() << "unsupported element type in " << type;
    return failure();
  }
  for (int64_t d = 1; d < type.getRank(); ++d)
    if (type.isDynamicDim(d)) {
      nc.emitError() << "unsupported dynamic channel or spatial dimension in "
                     << type;
      return failure();
    }
  return type;
}

LogicalResult convertConv(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0), weight = nc.input(1);
  if (failed(x) || failed(weight))
    return failure();
  FailureOr<RankedTensorType> xTy = checkNCHW(nc, *x);
  if (failed(xTy))
    return failure();
  auto wTy = cast<RankedTensorType>(weight->getType());
  int64_t rank = xTy->getRank(), spatial = rank - 2;
  int64_t channels = xTy->getDimSize(1), group = nc.intAttr("group", 1);
  if (wTy.getRank() != rank || !wTy.hasStaticShape() ||
      wTy.getElementType() != xTy->getElementType())
    return nc.emitError() << "expects a static weight of rank " << rank
                          << " and the input's element type, but got " << wTy;
  int64_t filters = wTy.getDimSize(0);
  if (group < 1 || channels % group != 0 || filters % group != 0 ||
      wTy.getDimSize(1) != channels / group)
    return nc.emitError() << "weight " << wTy << " does not fit " << *xTy
                          << " with group " << group;
  FailureOr<Window> w = readWindow(nc, xTy->getShape().drop_front(2),
                                   wTy.getShape().drop_front(2));
  if (failed(w))
    return failure();
  if (ArrayRef<int64_t>(w->kernel) != wTy.getShape().drop_front(2))
    return nc.emitError() << "kernel_shape differs from the weight's "
                             "spatial shape";
  Type element = xTy->getElementType();
  Attribute zero = nc.builder.getFloatAttr(element, 0.0);
  Value padded = padSpatial(nc, *x, *w, zero);
  SmallVector<NamedAttribute> attrs = windowAttrs(nc, *w);
  Value result;
  if (group == 1) {
    Value init = filledOutput(nc, *x, filters, w->output, zero);
    Operation *conv =
        spatial == 1 ? linalg::Conv1DNcwFcwOp::create(
                           nc.builder, nc.loc, TypeRange{init.getType()},
                           ValueRange{padded, *weight}, ValueRange{init}, attrs)
                           .getOperation()
                     : linalg::Conv2DNchwFchwOp::create(
                           nc.builder, nc.loc, TypeRange{init.getType()},
                           ValueRange{padded, *weight}, ValueRange{init}, attrs)
                           .getOperation();
    result = conv->getResult(0);
  } else if (group == channels && filters == channels) {
    // Depthwise: the [C, 1, k...] weight without its unit dimension.
    SmallVector<int64_t> dwShape = {channels};
    llvm::append_range(dwShape, wTy.getShape().drop_front(2));
    SmallVector<ReassociationIndices> groups = {{0, 1}};
    for (int64_t d = 2; d < rank; ++d)
      groups.push_back({d});
    Value dw = tensor::CollapseShapeOp::create(
        nc.builder, nc.loc, RankedTensorType::get(dwShape, element), *weight,
        groups);
    Value init = filledOutput(nc, *x, filters, w->output, zero);
    Operation *conv = spatial == 1
                          ? linalg::DepthwiseConv1DNcwCwOp::create(
                                nc.builder, nc.loc, TypeRange{init.getType()},
                                ValueRange{padded, dw}, ValueRange{init}, attrs)
                                .getOperation()
                          : linalg::DepthwiseConv2DNchwChwOp::create(
                                nc.builder, nc.loc, TypeRange{init.getType()},
                                ValueRange{padded, dw}, ValueRange{init}, attrs)
                                .getOperation();
    result = conv->getResult(0);
  } else {
    if (spatial != 2)
      return nc.emitError()
             << "unsupported grouped 1-D convolution (group " << group << ")";
    // [N, C, H, W] -> [N, G, C/G, H, W]; weight [M, C/G, kh, kw] ->
    // [G, M/G, C/G, kh, kw]; result [N, G, M/G, OH, OW] -> [N, M, OH, OW].
    auto paddedTy = cast<RankedTensorType>(padded.getType());
    SmallVector<int64_t> inShape = {paddedTy.getDimSize(0), group,
                                    channels / group, paddedTy.getDimSize(2),
                                    paddedTy.getDimSize(3)};
    Value in = tensor::ExpandShapeOp::create(
        nc.builder, nc.loc, RankedTensorType::get(inShape, element), padded,
        SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}});
    SmallVector<int64_t> wShape = {group, filters / group, channels / group,
                                   wTy.getDimSize(2), wTy.getDimSize(3)};
    Value wg = tensor::ExpandShapeOp::create(
        nc.builder, nc.loc, RankedTensorType::get(wShape, element), *weight,
        SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}, {4}});
    Value flatInit = filledOutput(nc, *x, filters, w->output, zero);
    auto flatTy = cast<RankedTensorType>(flatInit.getType());
    SmallVector<int64_t> outShape = {flatTy.getDimSize(0), group,
                                     filters / group, w->output[0],
                                     w->output[1]};
    SmallVector<ReassociationIndices> outGroups = {{0}, {1, 2}, {3}, {4}};
    Value init = tensor::ExpandShapeOp::create(
        nc.builder, nc.loc, RankedTensorType::get(outShape, element), flatInit,
        outGroups);
    Value grouped = linalg::Conv2DNgchwGfchwOp::create(
                        nc.builder, nc.loc, TypeRange{init.getType()},
                        ValueRange{in, wg}, ValueRange{init}, attrs)
                        .getResult(0);
    result = tensor::CollapseShapeOp::create(nc.builder, nc.loc, flatTy,
                                             grouped, outGroups);
  }
  if (nc.hasInput(2)) {
    Value bias = nc.inputs[2];
    auto bTy = cast<RankedTensorType>(bias.getType());
    if (bTy.getRank() != 1 || bTy.getDimSize(0) != filters ||
        bTy.getElementType() != element)
      return nc.emitError()
             << "expects a bias of shape [" << filters << "], but got " << bTy;
    Value b = expandAlongAxis(nc.builder, nc.loc, bias, rank, 1);
    result =
        tosa::AddOp::create(nc.builder, nc.loc, result.getType(), result, b);
  }
  results.push_back(result);
  return success();
}

/// ConvInteger: the exact int32 convolution of zero-point-shifted int8/uint8
/// operands (group 1). Padding is zero after the shift, i.e. the zero point
/// before it, as ONNX defines.
LogicalResult convertConvInteger(NodeContext &nc,
                                 SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0), weight = nc.input(1);
  if (failed(x) || failed(weight))
    return failure();
  FailureOr<RankedTensorType> xTy = checkNCHW(nc, *x, /*allowInteger=*/true);
  if (failed(xTy))
    return failure();
  auto wTy = cast<RankedTensorType>(weight->getType());
  int64_t rank = xTy->getRank();
  if (nc.intAttr("group", 1) != 1)
    return nc.emitError() << "unsupported group " << nc.intAttr("group", 1)
                          << " (ConvInteger supports group 1)";
  if (wTy.getRank() != rank || !wTy.hasStaticShape() ||
      wTy.getDimSize(1) != xTy->getDimSize(1))
    return nc.emitError() << "weight " << wTy << " does not fit " << *xTy;
  FailureOr<Window> w = readWindow(nc, xTy->getShape().drop_front(2),
                                   wTy.getShape().drop_front(2));
  if (failed(w))
    return failure();
  FailureOr<Value> x32 = centeredInt32(nc, *x, 2);
  FailureOr<Value> w32 = centeredInt32(nc, *weight, 3);
  if (failed(x32) || failed(w32))
    return failure();
  Attribute zero = nc.builder.getI32IntegerAttr(0);
  Value padded = padSpatial(nc, *x32, *w, zero);
  Value init = filledOutput(nc, *x, wTy.getDimSize(0), w->output, zero);
  SmallVector<NamedAttribute> attrs = windowAttrs(nc, *w);
  Operation *conv = rank == 3
                        ? linalg::Conv1DNcwFcwOp::create(
                              nc.builder, nc.loc, TypeRange{init.getType()},
                              ValueRange{padded, *w32}, ValueRange{init}, attrs)
                              .getOperation()
                        : linalg::Conv2DNchwFchwOp::create(
                              nc.builder, nc.loc, TypeRange{init.getType()},
                              ValueRange{padded, *w32}, ValueRange{init}, attrs)
                              .getOperation();
  results.push_back(conv->getResult(0));
  return success();
}

template <bool kMax>
LogicalResult convertPool(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x))
    return failure();
  if (nc.node.output_size() > 1 && !nc.node.output(1).empty())
    return nc.emitError() << "unsupported Indices output";
  FailureOr<RankedTensorType> xTy = checkNCHW(nc, *x);
  if (failed(xTy))
    return failure();
  if (!nc.attr("kernel_shape"))
    return nc.emitError() << "kernel_shape is required";
  FailureOr<Window> w = readWindow(nc, xTy->getShape().drop_front(2), {});
  if (failed(w))
    return failure();
  Type element = xTy->getElementType();
  auto floatType = cast<FloatType>(element);
  bool anyPad = llvm::any_of(w->padBegin, [](int64_t p) { return p > 0; }) ||
                llvm::any_of(w->padEnd, [](int64_t p) { return p > 0; });
  if (!kMax && anyPad && nc.intAttr("count_include_pad", 0) == 0)
    return nc.emitError() << "unsupported count_include_pad 0 with padding";
  Attribute padValue =
      kMax ? nc.builder.getFloatAttr(
                 element, APFloat::getInf(floatType.getFloatSemantics(), true))
           : nc.builder.getFloatAttr(element, 0.0);
  Value padded = padSpatial(nc, *x, *w, padValue);
  Value init = filledOutput(nc, *x, xTy->getDimSize(1), w->output, padValue);
  Value window =
      tensor::EmptyOp::create(nc.builder, nc.loc, w->kernel, element);
  SmallVector<NamedAttribute> attrs = windowAttrs(nc, *w);
  bool oneD = xTy->getRank() == 3;
  Operation *pool;
  if (kMax)
    pool = oneD ? linalg::PoolingNcwMaxOp::create(
                      nc.builder, nc.loc, TypeRange{init.getType()},
                      ValueRange{padded, window}, ValueRange{init}, attrs)
                      .getOperation()
                : linalg::PoolingNchwMaxOp::create(
                      nc.builder, nc.loc, TypeRange{init.getType()},
                      ValueRange{padded, window}, ValueRange{init}, attrs)
                      .getOperation();
  else
    pool = oneD ? linalg::PoolingNcwSumOp::create(
                      nc.builder, nc.loc, TypeRange{init.getType()},
                      ValueRange{padded, window}, ValueRange{init}, attrs)
                      .getOperation()
                : linalg::PoolingNchwSumOp::create(
                      nc.builder, nc.loc, TypeRange{init.getType()},
                      ValueRange{padded, window}, ValueRange{init}, attrs)
                      .getOperation();
  Value result = pool->getResult(0);
  if (!kMax) {
    int64_t count = 1;
    for (int64_t k : w->kernel)
      count *= k;
    result = divideByCount(nc.builder, nc.loc, result, count);
  }
  results.push_back(result);
  return success();
}

LogicalResult convertGlobalAveragePool(NodeContext &nc,
                                       SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0);
  if (failed(x))
    return failure();
  FailureOr<RankedTensorType> xTy = checkNCHW(nc, *x);
  if (failed(xTy))
    return failure();
  Value value = *x;
  SmallVector<int64_t> shape(xTy->getShape());
  int64_t count = 1;
  for (int64_t d = 2; d < xTy->getRank(); ++d) {
    count *= shape[d];
    shape[d] = 1;
    value = tosa::ReduceSumOp::create(
        nc.builder, nc.loc, RankedTensorType::get(shape, xTy->getElementType()),
        value, nc.builder.getI32IntegerAttr(d));
  }
  results.push_back(divideByCount(nc.builder, nc.loc, value, count));
  return success();
}

} // namespace

void mlir::qc::onnx_import::addConvolutionConverters(
    llvm::StringMap<OpConverter> &table) {
  table["::Conv"] = convertConv;
  table["::ConvInteger"] = convertConvInteger;
  table["::MaxPool"] = convertPool<true>;
  table["::AveragePool"] = convertPool<false>;
  table["::GlobalAveragePool"] = convertGlobalAveragePool;
}
