//===- ConstantFolding.cpp - evaluate integer shape arithmetic at import
//---===//
//
// Exporters compute shapes at run time: Shape -> Gather -> Unsqueeze -> Concat
// -> Reshape. Once Shape of a static tensor is a constant, the rest of such a
// chain has only constant inputs and is evaluated here, so that Reshape,
// Slice, Expand, ... see constant shape arguments. Only small integer and bool
// tensors are folded; float computation is left to the compiler.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mlir::qc;
using namespace mlir::qc::onnx_import;

namespace {

/// Tensors larger than this are not folded.
constexpr int64_t kMaxFoldElements = 4096;

struct IntTensor {
  SmallVector<int64_t> shape;
  SmallVector<int64_t> values;
  Type elementType; // signless iN or i1

  int64_t size() const { return values.size(); }
};

std::optional<IntTensor> asIntTensor(Value value) {
  auto type =
      value ? dyn_cast<RankedTensorType>(value.getType()) : RankedTensorType();
  auto element =
      type ? dyn_cast<IntegerType>(type.getElementType()) : IntegerType();
  if (!element || !element.isSignless() || element.getWidth() > 64 ||
      !type.hasStaticShape() || type.getNumElements() > kMaxFoldElements)
    return std::nullopt;
  std::optional<SmallVector<int64_t>> values = getConstantIntValues(value);
  if (!values)
    return std::nullopt;
  return IntTensor{SmallVector<int64_t>(type.getShape()), std::move(*values),
                   element};
}

Value materialize(NodeContext &nc, const IntTensor &t) {
  auto type = RankedTensorType::get(t.shape, t.elementType);
  unsigned width = t.elementType.getIntOrFloatBitWidth();
  SmallVector<APInt> values;
  for (int64_t v : t.values)
    values.push_back(APInt(width, uint64_t(v), /*isSigned=*/width > 1,
                           /*implicitTrunc=*/true));
  return arith::ConstantOp::create(nc.builder, nc.loc,
                                   DenseIntElementsAttr::get(type, values));
}

SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t d = int64_t(shape.size()) - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * shape[d + 1];
  return strides;
}

/// Element of `t` at the broadcast position `index` of a result of rank
/// `rank` (numpy rules; dims of size 1 repeat).
int64_t broadcastAt(const IntTensor &t, ArrayRef<int64_t> index) {
  SmallVector<int64_t> strides = stridesOf(t.shape);
  int64_t offset = 0, extra = index.size() - t.shape.size();
  for (size_t d = 0; d < t.shape.size(); ++d)
    offset += (t.shape[d] == 1 ? 0 : index[d + extra]) * strides[d];
  return t.values[offset];
}

/// Applies `fn` element-wise over broadcast operands.
std::optional<IntTensor>
mapBroadcast(ArrayRef<IntTensor> operands, Type resultElement,
             function_ref<std::optional<int64_t>(ArrayRef<int64_t>)> fn) {
  SmallVector<int64_t> shape;
  for (const IntTensor &t : operands) {
    FailureOr<SmallVector<int64_t>> s = broadcastShapes(shape, t.shape);
    if (failed(s))
      return std::nullopt;
    shape = *s;
  }
  IntTensor result{shape, {}, resultElement};
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  SmallVector<int64_t> strides = stridesOf(shape), index(shape.size());
  SmallVector<int64_t> args(operands.size());
  for (int64_t i = 0; i < count; ++i) {
    for (size_t d = 0; d < shape.size(); ++d)
      index[d] = (i / strides[d]) % shape[d];
    for (size_t k = 0; k < operands.size(); ++k)
      args[k] = broadcastAt(operands[k], index);
    std::optional<int64_t> v = fn(args);
    if (!v)
      return std::nullopt;
    result.values.push_back(*v);
  }
  return result;
}

std::optional<int64_t> normalize(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return std::nullopt;
  return axis < 0 ? axis + rank : axis;
}

std::optional<IntTensor>
foldGather(const IntTensor &data, const IntTensor &indices, int64_t axisAttr) {
  std::optional<int64_t> axis = normalize(axisAttr, data.shape.size());
  if (!axis)
    return std::nullopt;
  int64_t outer = 1, inner = 1, n = data.shape[*axis];
  for (int64_t d = 0; d < *axis; ++d)
    outer *= data.shape[d];
  for (size_t d = *axis + 1; d < data.shape.size(); ++d)
    inner *= data.shape[d];
  IntTensor result;
  result.elementType = data.elementType;
  result.shape.assign(data.shape.begin(), data.shape.begin() + *axis);
  llvm::append_range(result.shape, indices.shape);
  result.shape.append(data.shape.begin() + *axis + 1, data.shape.end());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t idx : indices.values) {
      if (idx < -n || idx >= n)
        return std::nullopt; // out of range: leave it to the real converter
      if (idx < 0)
        idx += n;
      for (int64_t i = 0; i < inner; ++i)
        result.values.push_back(data.values[(o * n + idx) * inner + i]);
    }
  return result;
}

std::optional<IntTensor> foldSlice(const IntTensor &x, ArrayRef<int64_t> starts,
                                   ArrayRef<int64_t> ends,
                                   ArrayRef<int64_t> axes,
                                   ArrayRef<int64_t> steps) {
  int64_t rank = x.shape.size();
  SmallVector<int64_t> begin(rank, 0), step(rank, 1), count(x.shape);
  for (size_t i = 0; i < starts.size(); ++i) {
    std::optional<int64_t> axis = normalize(axes[i], rank);
    if (!axis || steps[i] == 0)
      return std::nullopt;
    int64_t dim = x.shape[*axis], s = starts[i], e = ends[i], st = steps[i];
    if (s < 0)
      s += dim;
    if (e < 0)
      e += dim;
    if (st > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      count[*axis] = e > s ? (e - s + st - 1) / st : 0;
    } else {
      s = std::clamp<int64_t>(s, -1, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      count[*axis] = s > e ? (s - e - st - 1) / -st : 0;
    }
    begin[*axis] = s;
    step[*axis] = st;
  }
  IntTensor result{count, {}, x.elementType};
  SmallVector<int64_t> inStrides = stridesOf(x.shape),
                       outStrides = stridesOf(count);
  int64_t total = 1;
  for (int64_t c : count)
    total *= c;
  for (int64_t i = 0; i < total; ++i) {
    int64_t offset = 0;
    for (int64_t d = 0; d < rank; ++d)
      offset += (begin[d] + ((i / outStrides[d]) % count[d]) * step[d]) *
                inStrides[d];
    result.values.push_back(x.values[offset]);
  }
  return result;
}

/// Evaluates the node when it is one of the folded kinds.
std::optional<SmallVector<IntTensor>> evaluate(NodeContext &nc,
                                               ArrayRef<IntTensor> in) {
  llvm::StringRef op = nc.node.op_type();
  Type i1 = nc.builder.getI1Type();
  auto one =
      [](std::optional<IntTensor> t) -> std::optional<SmallVector<IntTensor>> {
    if (!t)
      return std::nullopt;
    return SmallVector<IntTensor>{*t};
  };
  auto binary = [&](auto fn, Type element) {
    return one(mapBroadcast(
        in, element, [&](ArrayRef<int64_t> a) { return fn(a[0], a[1]); }));
  };
  if (op == "Identity" && in.size() == 1)
    return SmallVector<IntTensor>{in[0]};
  if (in.size() == 2 && in[0].elementType == in[1].elementType) {
    Type t = in[0].elementType;
    if (op == "Add")
      return binary(
          [](int64_t a, int64_t b) -> std::optional<int64_t> { return a + b; },
          t);
    if (op == "Sub")
      return binary(
          [](int64_t a, int64_t b) -> std::optional<int64_t> { return a - b; },
          t);
    if (op == "Mul")
      return binary(
          [](int64_t a, int64_t b) -> std::optional<int64_t> { return a * b; },
          t);
    if (op == "Div")
      return binary(
          [](int64_t a, int64_t b) -> std::optional<int64_t> {
            if (b == 0)
              return std::nullopt;
            return a / b; // ONNX integer Div truncates, as C++ does
          },
          t);
    if (op == "Equal")
      return binary(
          [](int64_t a, int64_t b) -> std::optional<int64_t> { return a == b; },
          i1);
    if (op == "Less")
      return binary(
          [](int64_t a, int64_t b) -> std::optional<int64_t> { return a < b; },
          i1);
    if (op == "Greater")
      return binary(
          [](int64_t a, int64_t b) -> std::optional<int64_t> { return a > b; },
          i1);
    if (op == "Max")
      return binary(
          [](int64_t a, int64_t b) -> std::optional<int64_t> {
            return std::max(a, b);
          },
          t);
    if (op == "Min")
      return binary(
          [](int64_t a, int64_t b) -> std::optional<int64_t> {
            return std::min(a, b);
          },
          t);
  }
  if (op == "Where" && in.size() == 3 && in[0].elementType.isInteger(1) &&
      in[1].elementType == in[2].elementType)
    return one(mapBroadcast(in, in[1].elementType, [](ArrayRef<int64_t> a) {
      return std::optional<int64_t>(a[0] ? a[1] : a[2]);
    }));
  if (op == "Not" && in.size() == 1 && in[0].elementType.isInteger(1))
    return one(mapBroadcast(in, in[0].elementType, [](ArrayRef<int64_t> a) {
      return std::optional<int64_t>(!a[0]);
    }));
  if (op == "Cast" && in.size() == 1) {
    Type target =
        convertElementType(nc.intAttr("to", 0), nc.builder.getContext());
    auto integer = dyn_cast_or_null<IntegerType>(target);
    if (!integer || !integer.isSignless())
      return std::nullopt;
    IntTensor t = in[0];
    t.elementType = integer;
    unsigned width = integer.getWidth();
    for (int64_t &v : t.values)
      v = width == 1 ? (v != 0)
                     : APInt(64, uint64_t(v)).trunc(width).getSExtValue();
    return SmallVector<IntTensor>{t};
  }
  if (op == "Gather" && in.size() == 2)
    return one(foldGather(in[0], in[1], nc.intAttr("axis", 0)));
  if (op == "Concat" && !in.empty()) {
    std::optional<int64_t> axis =
        normalize(nc.intAttr("axis", 0), in[0].shape.size());
    if (!axis)
      return std::nullopt;
    IntTensor result{in[0].shape, {}, in[0].elementType};
    result.shape[*axis] = 0;
    int64_t outer = 1;
    for (int64_t d = 0; d < *axis; ++d)
      outer *= in[0].shape[d];
    for (const IntTensor &t : in) {
      if (t.shape.size() != in[0].shape.size() ||
          t.elementType != in[0].elementType)
        return std::nullopt;
      result.shape[*axis] += t.shape[*axis];
    }
    for (int64_t o = 0; o < outer; ++o)
      for (const IntTensor &t : in) {
        int64_t chunk = t.size() / std::max<int64_t>(outer, 1);
        result.values.append(t.values.begin() + o * chunk,
                             t.values.begin() + (o + 1) * chunk);
      }
    return SmallVector<IntTensor>{result};
  }
  if ((op == "Unsqueeze" || op == "Squeeze") && in.size() == 2) {
    IntTensor t = in[0];
    int64_t rank = t.shape.size();
    if (op == "Unsqueeze") {
      int64_t newRank = rank + in[1].size();
      SmallVector<bool> added(newRank, false);
      for (int64_t a : in[1].values) {
        std::optional<int64_t> axis = normalize(a, newRank);
        if (!axis || added[*axis])
          return std::nullopt;
        added[*axis] = true;
      }
      SmallVector<int64_t> shape;
      for (int64_t d = 0, next = 0; d < newRank; ++d)
        shape.push_back(added[d] ? 1 : t.shape[next++]);
      t.shape = shape;
    } else {
      SmallVector<bool> removed(rank, false);
      for (int64_t a : in[1].values) {
        std::optional<int64_t> axis = normalize(a, rank);
        if (!axis || t.shape[*axis] != 1)
          return std::nullopt;
        removed[*axis] = true;
      }
      SmallVector<int64_t> shape;
      for (int64_t d = 0; d < rank; ++d)
        if (!removed[d])
          shape.push_back(t.shape[d]);
      t.shape = shape;
    }
    return SmallVector<IntTensor>{t};
  }
  if (op == "Reshape" && in.size() == 2) {
    IntTensor t = in[0];
    SmallVector<int64_t> shape;
    int64_t inferred = -1, known = 1;
    for (auto [i, entry] : llvm::enumerate(in[1].values)) {
      int64_t d = entry;
      if (d == 0 && nc.intAttr("allowzero", 0) == 0) {
        if (int64_t(i) >= int64_t(t.shape.size()))
          return std::nullopt;
        d = t.shape[i];
      }
      if (d == -1) {
        if (inferred >= 0)
          return std::nullopt;
        inferred = i;
        shape.push_back(1);
        continue;
      }
      if (d < 0)
        return std::nullopt;
      shape.push_back(d);
      known *= d;
    }
    if (inferred >= 0) {
      if (known == 0 || t.size() % known)
        return std::nullopt;
      shape[inferred] = t.size() / known;
      known *= shape[inferred];
    }
    if (known != t.size())
      return std::nullopt;
    t.shape = shape;
    return SmallVector<IntTensor>{t};
  }
  if (op == "Slice" && in.size() >= 3) {
    SmallVector<int64_t> axes, steps;
    for (size_t i = 0; i < in[1].values.size(); ++i)
      axes.push_back(i);
    steps.assign(in[1].values.size(), 1);
    if (in.size() > 3)
      axes = in[3].values;
    if (in.size() > 4)
      steps = in[4].values;
    if (in[2].size() != in[1].size() || int64_t(axes.size()) != in[1].size() ||
        int64_t(steps.size()) != in[1].size())
      return std::nullopt;
    return one(foldSlice(in[0], in[1].values, in[2].values, axes, steps));
  }
  if (op == "Range" && in.size() == 3 && in[0].size() == 1 &&
      in[1].size() == 1 && in[2].size() == 1 && in[2].values[0] != 0) {
    int64_t start = in[0].values[0], limit = in[1].values[0],
            delta = in[2].values[0];
    int64_t count = std::max<int64_t>(
        0, (limit - start + delta + (delta > 0 ? -1 : 1)) / delta);
    if (count > kMaxFoldElements)
      return std::nullopt;
    IntTensor t{{count}, {}, in[0].elementType};
    for (int64_t i = 0; i < count; ++i)
      t.values.push_back(start + i * delta);
    return SmallVector<IntTensor>{t};
  }
  return std::nullopt;
}

} // namespace

bool mlir::qc::onnx_import::tryFoldConstantNode(
    NodeContext &nc, SmallVectorImpl<Value> &results) {
  if (!nc.node.domain().empty() && nc.node.domain() != "ai.onnx")
    return false;
  SmallVector<IntTensor> inputs;
  for (Value v : nc.inputs) {
    if (!v) // omitted optional inputs: only trailing ones are handled above
      return false;
    std::optional<IntTensor> t = asIntTensor(v);
    if (!t)
      return false;
    inputs.push_back(*t);
  }
  if (inputs.empty())
    return false;
  std::optional<SmallVector<IntTensor>> folded = evaluate(nc, inputs);
  if (!folded || folded->size() != size_t(nc.node.output_size()))
    return false;
  for (const IntTensor &t : *folded)
    results.push_back(materialize(nc, t));
  return true;
}
