//===- Convolution.cpp - Conv, ConvTranspose, QLinearConv, pools ---------===//
//
// NCHW (and NCW) convolutions and pools onto linalg's named ops, which keep
// ONNX's layout: explicit padding with tensor.pad, then
//   Conv, group 1        -> linalg.conv_{1d_ncw_fcw, 2d_nchw_fchw}
//   Conv, depthwise      -> linalg.depthwise_conv_{1d_ncw_cw, 2d_nchw_chw}
//   Conv, other groups   -> linalg.conv_2d_ngchw_gfchw (1-D with height 1)
//   ConvTranspose        -> zero-stuffed input, flipped weight, Conv above
//   ConvInteger          -> the same ops on i32 (zero points subtracted)
//   QLinearConv          -> ConvInteger's i32 conv, then qc.dequantize ->
//                           qc.quantize of the accumulator
//   MaxPool/AveragePool  -> linalg.pooling_{ncw,nchw}_{max,sum}
// Spatial and channel sizes must be static; the batch may be dynamic.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "qc/Dialect/QC/IR/QCOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/TypeUtilities.h"

#include "llvm/Support/MathExtras.h"

#include <limits>

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

/// Window attributes are bounded so that size arithmetic cannot overflow.
bool inWindowRange(int64_t v, int64_t lo) {
  return v >= lo && v <= (int64_t(1) << 20);
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
    if (!inWindowRange(w.kernel[i], 1) || !inWindowRange(w.strides[i], 1) ||
        !inWindowRange(w.dilations[i], 1) || !inWindowRange(pads[i], 0) ||
        !inWindowRange(pads[i + n], 0)) {
      nc.emitError() << "kernel, stride and dilation must be in [1, 2^20] "
                        "and pads in [0, 2^20]";
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

/// A linalg conv or pooling named op `OpT` (chosen by the tag's type) over
/// `in` and the weight or window `wt`, accumulating into `out`.
template <typename OpT>
Value createWindowOp(NodeContext &nc, OpT, Value in, Value wt, Value out,
                     ArrayRef<NamedAttribute> attrs) {
  return OpT::create(nc.builder, nc.loc, TypeRange{out.getType()},
                     ValueRange{in, wt}, ValueRange{out}, attrs)
      .getResult(0);
}

/// The convolution of `padded` (already padded, [N, C, spatial...]) with
/// `weight` [M, C/group, k...] under the strides and dilations of `w`, whose
/// `output` sizes it produces: linalg's ncw/nchw named ops for group 1 and
/// depthwise, ngchw for other groups (1-D through a unit height).
/// `batchSource` supplies a dynamic batch size. Element types must agree
/// (float or i32).
FailureOr<Value> emitConv(NodeContext &nc, Value batchSource, Value padded,
                          Value weight, int64_t group, const Window &w) {
  auto pTy = cast<RankedTensorType>(padded.getType());
  auto wTy = cast<RankedTensorType>(weight.getType());
  int64_t rank = pTy.getRank(), spatial = rank - 2;
  int64_t channels = pTy.getDimSize(1), filters = wTy.getDimSize(0);
  Type element = pTy.getElementType();
  Attribute zero = isa<FloatType>(element)
                       ? Attribute(nc.builder.getFloatAttr(element, 0.0))
                       : Attribute(nc.builder.getIntegerAttr(element, 0));
  SmallVector<NamedAttribute> attrs = windowAttrs(nc, w);
  Value init = filledOutput(nc, batchSource, filters, w.output, zero);
  auto create = [&](auto opTag, Value in, Value wt, Value out) -> Value {
    return createWindowOp(nc, opTag, in, wt, out, attrs);
  };
  if (group == 1)
    return spatial == 1 ? create(linalg::Conv1DNcwFcwOp(), padded, weight, init)
                        : create(linalg::Conv2DNchwFchwOp(), padded, weight,
                                 init);
  if (group == channels && filters == channels) {
    // Depthwise: the [C, 1, k...] weight without its unit dimension.
    SmallVector<int64_t> dwShape = {channels};
    llvm::append_range(dwShape, wTy.getShape().drop_front(2));
    SmallVector<ReassociationIndices> groups = {{0, 1}};
    for (int64_t d = 2; d < rank; ++d)
      groups.push_back({d});
    Value dw = tensor::CollapseShapeOp::create(
        nc.builder, nc.loc, RankedTensorType::get(dwShape, element), weight,
        groups);
    return spatial == 1
               ? create(linalg::DepthwiseConv1DNcwCwOp(), padded, dw, init)
               : create(linalg::DepthwiseConv2DNchwChwOp(), padded, dw, init);
  }
  if (spatial == 1) {
    // As a 2-D convolution over [N, C, 1, L].
    auto unit = [&](Value v) -> Value {
      auto t = cast<RankedTensorType>(v.getType());
      return tensor::ExpandShapeOp::create(
          nc.builder, nc.loc,
          RankedTensorType::get(
              {t.getDimSize(0), t.getDimSize(1), 1, t.getDimSize(2)}, element),
          v, SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
    };
    Window w2 = w;
    for (SmallVector<int64_t> *v :
         {&w2.kernel, &w2.strides, &w2.dilations, &w2.output})
      v->insert(v->begin(), 1);
    FailureOr<Value> conv2d =
        emitConv(nc, batchSource, unit(padded), unit(weight), group, w2);
    if (failed(conv2d))
      return failure();
    return tensor::CollapseShapeOp::create(
               nc.builder, nc.loc, cast<RankedTensorType>(init.getType()),
               *conv2d, SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}})
        .getResult();
  }
  // [N, C, H, W] -> [N, G, C/G, H, W]; weight [M, C/G, kh, kw] ->
  // [G, M/G, C/G, kh, kw]; result [N, G, M/G, OH, OW] -> [N, M, OH, OW].
  SmallVector<ReassociationIndices> splitDim1 = {{0}, {1, 2}, {3}, {4}};
  SmallVector<int64_t> inShape = {pTy.getDimSize(0), group, channels / group,
                                  pTy.getDimSize(2), pTy.getDimSize(3)};
  Value in = tensor::ExpandShapeOp::create(
      nc.builder, nc.loc, RankedTensorType::get(inShape, element), padded,
      splitDim1);
  SmallVector<int64_t> wShape = {group, filters / group, channels / group,
                                 wTy.getDimSize(2), wTy.getDimSize(3)};
  Value wg = tensor::ExpandShapeOp::create(
      nc.builder, nc.loc, RankedTensorType::get(wShape, element), weight,
      SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}, {4}});
  auto flatTy = cast<RankedTensorType>(init.getType());
  SmallVector<int64_t> outShape = {flatTy.getDimSize(0), group,
                                   filters / group, w.output[0], w.output[1]};
  Value groupedInit = tensor::ExpandShapeOp::create(
      nc.builder, nc.loc, RankedTensorType::get(outShape, element), init,
      splitDim1);
  Value grouped = create(linalg::Conv2DNgchwGfchwOp(), in, wg, groupedInit);
  return tensor::CollapseShapeOp::create(nc.builder, nc.loc, flatTy, grouped,
                                         splitDim1)
      .getResult();
}

/// Adds the optional 1-D bias input `index` ([filters], of `element` type)
/// along the channel axis of `result`.
FailureOr<Value> addChannelBias(NodeContext &nc, Value result, unsigned index,
                                int64_t filters) {
  if (!nc.hasInput(index))
    return result;
  auto type = cast<RankedTensorType>(result.getType());
  Value bias = nc.inputs[index];
  auto bTy = cast<RankedTensorType>(bias.getType());
  if (bTy.getRank() != 1 || bTy.getDimSize(0) != filters ||
      bTy.getElementType() != type.getElementType()) {
    nc.emitError() << "expects a bias of shape [" << filters << "] and type "
                   << type.getElementType() << ", but got " << bTy;
    return failure();
  }
  Value b = expandAlongAxis(nc.builder, nc.loc, bias, type.getRank(), 1);
  return tosa::AddOp::create(nc.builder, nc.loc, type, result, b).getResult();
}

/// Checks the weight [M, C/group, k...] of a Conv-like node against its input.
LogicalResult checkConvWeight(NodeContext &nc, RankedTensorType xTy,
                              RankedTensorType wTy, int64_t group,
                              Type element) {
  int64_t channels = xTy.getDimSize(1);
  if (wTy.getRank() != xTy.getRank() || !wTy.hasStaticShape() ||
      wTy.getElementType() != element)
    return nc.emitError() << "expects a static weight of rank "
                          << xTy.getRank() << " and element type " << element
                          << ", but got " << wTy;
  int64_t filters = wTy.getDimSize(0);
  if (group < 1 || channels % group != 0 || filters % group != 0 ||
      wTy.getDimSize(1) != channels / group)
    return nc.emitError() << "weight " << wTy << " does not fit " << xTy
                          << " with group " << group;
  return success();
}

LogicalResult convertConv(NodeContext &nc, SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0), weight = nc.input(1);
  if (failed(x) || failed(weight))
    return failure();
  FailureOr<RankedTensorType> xTy = checkNCHW(nc, *x);
  if (failed(xTy))
    return failure();
  auto wTy = cast<RankedTensorType>(weight->getType());
  int64_t group = nc.intAttr("group", 1);
  if (failed(checkConvWeight(nc, *xTy, wTy, group, xTy->getElementType())))
    return failure();
  FailureOr<Window> w = readWindow(nc, xTy->getShape().drop_front(2),
                                   wTy.getShape().drop_front(2));
  if (failed(w))
    return failure();
  if (ArrayRef<int64_t>(w->kernel) != wTy.getShape().drop_front(2))
    return nc.emitError() << "kernel_shape differs from the weight's "
                             "spatial shape";
  Attribute zero = nc.builder.getFloatAttr(xTy->getElementType(), 0.0);
  Value padded = padSpatial(nc, *x, *w, zero);
  FailureOr<Value> conv = emitConv(nc, *x, padded, *weight, group, *w);
  if (failed(conv))
    return failure();
  FailureOr<Value> result = addChannelBias(nc, *conv, 2, wTy.getDimSize(0));
  if (failed(result))
    return failure();
  results.push_back(*result);
  return success();
}

/// The exact int32 convolution of zero-point-shifted int8/uint8 operands:
/// input `xIndex` with zero point `xZpIndex`, weight `wIndex` with zero point
/// `wZpIndex` (scalar or per output channel). Padding is zero after the
/// shift, i.e. the zero point before it, as ONNX defines. Returns the i32
/// result and sets `filters`.
FailureOr<Value> integerConv(NodeContext &nc, unsigned xIndex,
                             unsigned xZpIndex, unsigned wIndex,
                             unsigned wZpIndex, int64_t &filters) {
  FailureOr<Value> x = nc.input(xIndex), weight = nc.input(wIndex);
  if (failed(x) || failed(weight))
    return failure();
  FailureOr<RankedTensorType> xTy = checkNCHW(nc, *x, /*allowInteger=*/true);
  if (failed(xTy))
    return failure();
  auto wTy = cast<RankedTensorType>(weight->getType());
  int64_t group = nc.intAttr("group", 1);
  if (failed(checkConvWeight(nc, *xTy, wTy, group, wTy.getElementType())))
    return failure();
  FailureOr<Window> w = readWindow(nc, xTy->getShape().drop_front(2),
                                   wTy.getShape().drop_front(2));
  if (failed(w))
    return failure();
  FailureOr<Value> x32 = centeredInt32(nc, *x, xZpIndex);
  FailureOr<Value> w32 = centeredInt32(nc, *weight, wZpIndex, /*zpAxis=*/0);
  if (failed(x32) || failed(w32))
    return failure();
  filters = wTy.getDimSize(0);
  Value padded = padSpatial(nc, *x32, *w, nc.builder.getI32IntegerAttr(0));
  return emitConv(nc, *x, padded, *w32, group, *w);
}

LogicalResult convertConvInteger(NodeContext &nc,
                                 SmallVectorImpl<Value> &results) {
  int64_t filters = 0;
  FailureOr<Value> conv = integerConv(nc, 0, 2, 1, 3, filters);
  if (failed(conv))
    return failure();
  results.push_back(*conv);
  return success();
}

/// QLinearConv: y = quantize(dequantize(conv_i32(x - xz, w - wz) + B)) where
/// the i32 accumulator's scale is x_scale·w_scale[m] (per output channel for
/// per-channel weights). The accumulator is typed !quant.uniform<i32:...> so
/// that the requantization is an ordinary qc.dequantize -> qc.quantize pair
/// (the scale-folding pass turns it into an epilogue).
LogicalResult convertQLinearConv(NodeContext &nc,
                                 SmallVectorImpl<Value> &results) {
  for (unsigned i = 0; i < 8; ++i)
    if (failed(nc.input(i)))
      return failure();
  auto xTy = cast<RankedTensorType>(nc.inputs[0].getType());
  auto wTy = cast<RankedTensorType>(nc.inputs[3].getType());
  FailureOr<quant::QuantizedType> xQ =
      buildQuantizedType(nc, xTy.getElementType(), xTy.getShape(), 1, 2);
  FailureOr<quant::QuantizedType> wQ = buildQuantizedType(
      nc, wTy.getElementType(), wTy.getShape(), 4, 5, /*axis=*/0);
  if (failed(xQ) || failed(wQ))
    return failure();
  auto xUniform = dyn_cast<quant::UniformQuantizedType>(*xQ);
  if (!xUniform)
    return nc.emitError() << "unsupported per-axis input quantization";
  int64_t filters = 0;
  FailureOr<Value> acc = integerConv(nc, 0, 2, 3, 5, filters);
  if (failed(acc))
    return failure();
  FailureOr<Value> biased = addChannelBias(nc, *acc, 8, filters);
  if (failed(biased))
    return failure();
  auto accTy = cast<RankedTensorType>(biased->getType());
  Type yElement = getElementTypeOrSelf(nc.inputs[7].getType());
  FailureOr<quant::QuantizedType> yQ =
      buildQuantizedType(nc, yElement, accTy.getShape(), 6, 7);
  if (failed(yQ))
    return failure();
  Type expressed = xQ->getExpressedType();
  if (wQ->getExpressedType() != expressed ||
      yQ->getExpressedType() != expressed)
    return nc.emitError() << "unsupported mix of scale types";
  Type i32 = nc.builder.getI32Type();
  int64_t lo = std::numeric_limits<int32_t>::min();
  int64_t hi = std::numeric_limits<int32_t>::max();
  quant::QuantizedType accQ;
  if (auto wUniform = dyn_cast<quant::UniformQuantizedType>(*wQ)) {
    accQ = quant::UniformQuantizedType::get(
        quant::QuantizationFlags::Signed, i32, expressed,
        xUniform.getScale() * wUniform.getScale(), 0, lo, hi);
  } else {
    auto wAxis = cast<quant::UniformQuantizedPerAxisType>(*wQ);
    SmallVector<double> scales;
    for (double s : wAxis.getScales())
      scales.push_back(xUniform.getScale() * s);
    accQ = quant::UniformQuantizedPerAxisType::get(
        quant::QuantizationFlags::Signed, i32, expressed, scales,
        SmallVector<int64_t>(scales.size(), 0), /*quantizedDimension=*/1, lo,
        hi);
  }
  Value accView = quant::StorageCastOp::create(
      nc.builder, nc.loc, RankedTensorType::get(accTy.getShape(), accQ),
      *biased);
  Value real = DequantizeOp::create(
      nc.builder, nc.loc, RankedTensorType::get(accTy.getShape(), expressed),
      accView);
  Value y = QuantizeOp::create(nc.builder, nc.loc,
                               RankedTensorType::get(accTy.getShape(), *yQ),
                               real);
  results.push_back(viewAsOnnxInteger(nc, y, yElement));
  return success();
}

/// ConvTranspose as the direct convolution it equals: the input with
/// stride-1 zeros inserted between its elements (tensor.insert_slice with
/// strides into a zero tensor), padded by extent-1-pad on each side (plus
/// output_padding at the end), convolved with stride 1 by the weight
/// [C, M/g, k...] regrouped to [M, C/g, k...] and flipped spatially.
LogicalResult convertConvTranspose(NodeContext &nc,
                                   SmallVectorImpl<Value> &results) {
  FailureOr<Value> x = nc.input(0), weight = nc.input(1);
  if (failed(x) || failed(weight))
    return failure();
  FailureOr<RankedTensorType> xTy = checkNCHW(nc, *x);
  if (failed(xTy))
    return failure();
  auto wTy = cast<RankedTensorType>(weight->getType());
  Type element = xTy->getElementType();
  int64_t rank = xTy->getRank(), n = rank - 2;
  int64_t channels = xTy->getDimSize(1), group = nc.intAttr("group", 1);
  if (wTy.getRank() != rank || !wTy.hasStaticShape() ||
      wTy.getElementType() != element)
    return nc.emitError() << "expects a static weight of rank " << rank
                          << " and element type " << element << ", but got "
                          << wTy;
  if (group < 1 || channels % group != 0 || wTy.getDimSize(0) != channels)
    return nc.emitError() << "weight " << wTy << " does not fit " << *xTy
                          << " with group " << group;
  int64_t filters = wTy.getDimSize(1) * group;
  ArrayRef<int64_t> inSizes = xTy->getShape().drop_front(2);
  ArrayRef<int64_t> kernel = wTy.getShape().drop_front(2);
  SmallVector<int64_t> strides =
      intsAttr(nc, "strides").value_or(SmallVector<int64_t>(n, 1));
  SmallVector<int64_t> dilations =
      intsAttr(nc, "dilations").value_or(SmallVector<int64_t>(n, 1));
  SmallVector<int64_t> pads =
      intsAttr(nc, "pads").value_or(SmallVector<int64_t>(2 * n, 0));
  SmallVector<int64_t> outPad =
      intsAttr(nc, "output_padding").value_or(SmallVector<int64_t>(n, 0));
  std::optional<SmallVector<int64_t>> outShape = intsAttr(nc, "output_shape");
  if (std::optional<SmallVector<int64_t>> k = intsAttr(nc, "kernel_shape"))
    if (ArrayRef<int64_t>(*k) != kernel)
      return nc.emitError() << "kernel_shape differs from the weight's "
                               "spatial shape";
  if (strides.size() != size_t(n) || dilations.size() != size_t(n) ||
      pads.size() != size_t(2 * n) || outPad.size() != size_t(n) ||
      (outShape && outShape->size() != size_t(n) &&
       outShape->size() != size_t(rank)))
    return nc.emitError() << "strides, dilations, pads, output_padding and "
                             "output_shape do not match "
                          << n << " spatial dimensions";
  if (outShape && outShape->size() == size_t(rank))
    outShape->erase(outShape->begin(), outShape->begin() + 2);
  std::string autoPad = nc.stringAttr("auto_pad", "NOTSET");
  if (autoPad != "NOTSET" && autoPad != "VALID" && autoPad != "SAME_UPPER" &&
      autoPad != "SAME_LOWER")
    return nc.emitError() << "unknown auto_pad '" << autoPad << "'";

  Window w;
  SmallVector<int64_t> low = {0, 0}, high = {0, 0}, dilatedShape;
  dilatedShape = {xTy->getDimSize(0), channels};
  for (int64_t i = 0; i < n; ++i) {
    if (!inWindowRange(strides[i], 1) || !inWindowRange(dilations[i], 1) ||
        !inWindowRange(pads[i], 0) || !inWindowRange(pads[i + n], 0) ||
        outPad[i] < 0 || outPad[i] >= std::max(strides[i], dilations[i]) ||
        (outShape && !inWindowRange((*outShape)[i], 1)))
      return nc.emitError() << "strides and dilations must be in [1, 2^20], "
                               "pads and output_shape in [0, 2^20] and "
                               "output_padding smaller than the stride or "
                               "dilation";
    int64_t extent = (kernel[i] - 1) * dilations[i] + 1;
    int64_t full = strides[i] * (inSizes[i] - 1) + outPad[i] + extent;
    int64_t begin = pads[i], end = pads[i + n];
    if (outShape || autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      int64_t target = outShape ? (*outShape)[i] : inSizes[i] * strides[i];
      // As ONNX's reference computes it (floor division): a target larger
      // than the full result makes the end padding negative, i.e. extra
      // output rows of the bias alone.
      int64_t total = full - target;
      int64_t half = llvm::divideFloorSigned(total, 2);
      begin = autoPad == "SAME_UPPER" ? half : total - half;
      end = total - begin;
    } else if (autoPad == "VALID") {
      begin = end = 0;
    }
    int64_t out = full - begin - end;
    int64_t lo = extent - 1 - begin, hi = extent - 1 - end + outPad[i];
    if (out < 1 || out > (int64_t(1) << 40) || lo < 0 || hi < 0)
      return nc.emitError() << "unsupported pads " << begin << ", " << end
                            << " for a kernel extent of " << extent
                            << " (each must be at most the extent minus one "
                               "and leave a positive output size)";
    low.push_back(lo);
    high.push_back(hi);
    dilatedShape.push_back((inSizes[i] - 1) * strides[i] + 1 + lo + hi);
    w.kernel.push_back(kernel[i]);
    w.strides.push_back(1);
    w.dilations.push_back(dilations[i]);
    w.padBegin.push_back(0);
    w.padEnd.push_back(0);
    w.output.push_back(out);
  }

  // The zero-stuffed, padded input.
  Attribute zero = nc.builder.getFloatAttr(element, 0.0);
  Value stuffed = filledOutput(nc, *x, channels,
                               ArrayRef<int64_t>(dilatedShape).drop_front(2),
                               zero);
  SmallVector<OpFoldResult> offsets, sizes, steps;
  for (int64_t d = 0; d < rank; ++d) {
    offsets.push_back(nc.builder.getIndexAttr(low[d]));
    sizes.push_back(xTy->isDynamicDim(d)
                        ? OpFoldResult(dimSize(nc.builder, nc.loc, *x, d))
                        : OpFoldResult(nc.builder.getIndexAttr(
                              xTy->getDimSize(d))));
    steps.push_back(nc.builder.getIndexAttr(d < 2 ? 1 : strides[d - 2]));
  }
  stuffed = tensor::InsertSliceOp::create(nc.builder, nc.loc, *x, stuffed,
                                          offsets, sizes, steps);

  // [C, M/g, k...] -> [g, C/g, M/g, k...] -> [g, M/g, C/g, k...]
  // -> [M, C/g, k...], then flipped along each spatial axis.
  Value wt = *weight;
  if (wTy.getDimSize(1) != 1 || channels / group != 1 || group != 1) {
    SmallVector<int64_t> split = {group, channels / group, wTy.getDimSize(1)};
    llvm::append_range(split, kernel);
    SmallVector<ReassociationIndices> splitGroups = {{0, 1}, {2}};
    for (int64_t d = 2; d < rank; ++d)
      splitGroups.push_back({d + 1});
    Value expanded = tensor::ExpandShapeOp::create(
        nc.builder, nc.loc, RankedTensorType::get(split, element), wt,
        splitGroups);
    SmallVector<int32_t> perm = {0, 2, 1};
    SmallVector<int64_t> permuted = {group, wTy.getDimSize(1),
                                     channels / group};
    for (int64_t d = 0; d < n; ++d) {
      perm.push_back(int32_t(3 + d));
      permuted.push_back(kernel[d]);
    }
    Value transposed = tosa::TransposeOp::create(
        nc.builder, nc.loc, RankedTensorType::get(permuted, element), expanded,
        nc.builder.getDenseI32ArrayAttr(perm));
    SmallVector<int64_t> regrouped = {filters, channels / group};
    llvm::append_range(regrouped, kernel);
    wt = tensor::CollapseShapeOp::create(
        nc.builder, nc.loc, RankedTensorType::get(regrouped, element),
        transposed, splitGroups);
  }
  for (int64_t d = 2; d < rank; ++d)
    if (wTy.getDimSize(d) > 1)
      wt = tosa::ReverseOp::create(nc.builder, nc.loc, wt.getType(), wt,
                                   nc.builder.getI32IntegerAttr(d));
  FailureOr<Value> conv = emitConv(nc, *x, stuffed, wt, group, w);
  if (failed(conv))
    return failure();
  FailureOr<Value> result = addChannelBias(nc, *conv, 2, filters);
  if (failed(result))
    return failure();
  results.push_back(*result);
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
  Value result;
  if (kMax)
    result = oneD ? createWindowOp(nc, linalg::PoolingNcwMaxOp(), padded,
                                   window, init, attrs)
                  : createWindowOp(nc, linalg::PoolingNchwMaxOp(), padded,
                                   window, init, attrs);
  else
    result = oneD ? createWindowOp(nc, linalg::PoolingNcwSumOp(), padded,
                                   window, init, attrs)
                  : createWindowOp(nc, linalg::PoolingNchwSumOp(), padded,
                                   window, init, attrs);
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
  table["::QLinearConv"] = convertQLinearConv;
  table["::ConvTranspose"] = convertConvTranspose;
  table["::MaxPool"] = convertPool<true>;
  table["::AveragePool"] = convertPool<false>;
  table["::GlobalAveragePool"] = convertGlobalAveragePool;
}
