//===- SymbolicShapes.cpp - shape arithmetic with dynamic dimensions ------===//
//
// Exporters compute reshape targets from Shape even when dimensions are
// dynamic: Shape(x) -> Gather(0) -> Unsqueeze -> Concat([batch, 12, 64]) ->
// Reshape. Constant folding cannot evaluate such chains, so the importer
// tracks small integer tensors element by element: each element is a constant
// or an SSA `index` value (a tensor.dim). Gather, Unsqueeze, Squeeze, Concat,
// Slice, Cast, Identity and integer Add/Sub/Mul/Div on such tensors yield
// tracked tensors; Reshape and ConstantOfShape read them, so that the known
// entries become static dimensions and the others dynamic sizes.
//
// Every tracked tensor is also materialised (tensor.from_elements), so the IR
// stays valid where another consumer needs the tensor itself; materialised
// tensors nobody uses are erased with the other dead ops.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::qc;
using namespace mlir::qc::onnx_import;

std::optional<SymbolicShape> ShapeTracker::lookup(Value value) const {
  if (!value)
    return std::nullopt;
  auto it = tracked.find(value);
  if (it != tracked.end())
    return it->second;
  auto type = dyn_cast<RankedTensorType>(value.getType());
  std::optional<SmallVector<int64_t>> constants = getConstantIntValues(value);
  if (!type || type.getRank() > 1 || !constants)
    return std::nullopt;
  SymbolicShape shape;
  shape.isScalar = type.getRank() == 0;
  for (int64_t c : *constants)
    shape.elements.push_back({c, Value()});
  return shape;
}

Value ShapeTracker::materialize(OpBuilder &builder, Location loc,
                                const SymbolicShape &shape, Type elementType) {
  SmallVector<Value> elements;
  for (const ShapeElement &e : shape.elements)
    elements.push_back(
        e.constant
            ? arith::ConstantOp::create(
                  builder, loc,
                  builder.getIntegerAttr(elementType, *e.constant))
                  .getResult()
            : arith::IndexCastOp::create(builder, loc, elementType, e.value)
                  .getResult());
  SmallVector<int64_t> dims;
  if (!shape.isScalar)
    dims.push_back(shape.elements.size());
  Value result = tensor::FromElementsOp::create(
      builder, loc, RankedTensorType::get(dims, elementType), elements);
  tracked[result] = shape;
  return result;
}

Value ShapeTracker::asIndex(OpBuilder &builder, Location loc,
                            const ShapeElement &e) {
  return e.constant ? arith::ConstantIndexOp::create(builder, loc, *e.constant)
                          .getResult()
                    : e.value;
}

namespace {

/// Element-wise integer arithmetic on tracked elements (constants fold).
std::optional<ShapeElement> combine(OpBuilder &b, Location loc,
                                    llvm::StringRef op, const ShapeElement &x,
                                    const ShapeElement &y) {
  if (x.constant && y.constant) {
    int64_t a = *x.constant, c = *y.constant;
    if (op == "Add")
      return ShapeElement{a + c, Value()};
    if (op == "Sub")
      return ShapeElement{a - c, Value()};
    if (op == "Mul")
      return ShapeElement{a * c, Value()};
    if (c == 0)
      return std::nullopt;
    return ShapeElement{a / c, Value()};
  }
  Value a = ShapeTracker::asIndex(b, loc, x),
        c = ShapeTracker::asIndex(b, loc, y);
  Value r;
  if (op == "Add")
    r = arith::AddIOp::create(b, loc, a, c);
  else if (op == "Sub")
    r = arith::SubIOp::create(b, loc, a, c);
  else if (op == "Mul")
    r = arith::MulIOp::create(b, loc, a, c);
  else
    r = arith::DivSIOp::create(b, loc, a, c);
  return ShapeElement{std::nullopt, r};
}

bool anyDynamic(ArrayRef<SymbolicShape> shapes) {
  return llvm::any_of(shapes, [](const SymbolicShape &s) {
    return llvm::any_of(s.elements,
                        [](const ShapeElement &e) { return !e.constant; });
  });
}

} // namespace

bool mlir::qc::onnx_import::tryTrackShapeNode(NodeContext &nc,
                                              ShapeTracker &tracker,
                                              SmallVectorImpl<Value> &results) {
  if (!nc.node.domain().empty() && nc.node.domain() != "ai.onnx")
    return false;
  if (nc.node.output_size() != 1 || nc.inputs.empty())
    return false;
  SmallVector<SymbolicShape> in;
  for (Value v : nc.inputs) {
    std::optional<SymbolicShape> s = tracker.lookup(v);
    if (!s)
      return false;
    in.push_back(*s);
  }
  // Fully constant inputs are ConstantFolding.cpp's business.
  if (!anyDynamic(in))
    return false;
  Type elementType = getElementTypeOrSelf(nc.inputs[0].getType());
  if (!isa<IntegerType>(elementType) || elementType.isInteger(1))
    return false;
  llvm::StringRef op = nc.node.op_type();
  std::optional<SymbolicShape> out;
  auto wholeIndex = [&](int64_t idx, int64_t n) -> std::optional<int64_t> {
    if (idx < -n || idx >= n)
      return std::nullopt;
    return idx < 0 ? idx + n : idx;
  };

  if (op == "Identity") {
    out = in[0];
  } else if (op == "Cast") {
    Type target =
        convertElementType(nc.intAttr("to", 0), nc.builder.getContext());
    if (!target || !isa<IntegerType>(target) || target.isInteger(1))
      return false;
    out = in[0];
    elementType = target;
  } else if (op == "Gather" && in.size() == 2 && !in[0].isScalar &&
             nc.intAttr("axis", 0) == 0 &&
             llvm::all_of(in[1].elements,
                          [](const ShapeElement &e) { return e.constant; })) {
    SymbolicShape s;
    s.isScalar = in[1].isScalar;
    int64_t n = in[0].elements.size();
    for (const ShapeElement &idx : in[1].elements) {
      std::optional<int64_t> i = wholeIndex(*idx.constant, n);
      if (!i)
        return false;
      s.elements.push_back(in[0].elements[*i]);
    }
    out = s;
  } else if (op == "Unsqueeze" && in.size() == 2 && in[0].isScalar) {
    out = in[0];
    out->isScalar = false;
  } else if (op == "Squeeze" && !in[0].isScalar && in[0].elements.size() == 1) {
    out = in[0];
    out->isScalar = true;
  } else if (op == "Concat" && nc.intAttr("axis", 0) == 0 &&
             llvm::none_of(in,
                           [](const SymbolicShape &s) { return s.isScalar; })) {
    SymbolicShape s;
    for (const SymbolicShape &part : in)
      llvm::append_range(s.elements, part.elements);
    out = s;
  } else if (op == "Slice" && in.size() >= 3 && !in[0].isScalar &&
             in[1].elements.size() == 1 && in[2].elements.size() == 1 &&
             in[1].elements[0].constant && in[2].elements[0].constant &&
             (in.size() < 5 || (in[4].elements.size() == 1 &&
                                in[4].elements[0].constant == 1))) {
    int64_t n = in[0].elements.size();
    int64_t start = *in[1].elements[0].constant,
            end = *in[2].elements[0].constant;
    if (start < 0)
      start += n;
    if (end < 0)
      end += n;
    start = std::clamp<int64_t>(start, 0, n);
    end = std::clamp<int64_t>(end, 0, n);
    SymbolicShape s;
    for (int64_t i = start; i < end; ++i)
      s.elements.push_back(in[0].elements[i]);
    out = s;
  } else if ((op == "Add" || op == "Sub" || op == "Mul" || op == "Div") &&
             in.size() == 2) {
    size_t n = std::max(in[0].elements.size(), in[1].elements.size());
    auto at = [&](const SymbolicShape &s, size_t i) -> const ShapeElement & {
      return s.elements.size() == 1 ? s.elements[0] : s.elements[i];
    };
    if ((in[0].elements.size() != n && in[0].elements.size() != 1) ||
        (in[1].elements.size() != n && in[1].elements.size() != 1))
      return false;
    SymbolicShape s;
    s.isScalar = in[0].isScalar && in[1].isScalar;
    for (size_t i = 0; i < n; ++i) {
      std::optional<ShapeElement> e =
          combine(nc.builder, nc.loc, op, at(in[0], i), at(in[1], i));
      if (!e)
        return false;
      s.elements.push_back(*e);
    }
    out = s;
  }
  if (!out)
    return false;
  results.push_back(tracker.materialize(nc.builder, nc.loc, *out, elementType));
  return true;
}
