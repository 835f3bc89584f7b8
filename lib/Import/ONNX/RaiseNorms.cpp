//===- RaiseNorms.cpp - recognise decomposed RMSNorm and LayerNorm --------===//
//
// Exporters write RMSNorm as element-wise ops (before opset 23 there is no
// RMSNormalization):
//
//   Pow(X, 2) | Mul(X, X) -> ReduceMean(axes = [-1], keepdims) -> Add(eps)
//     -> Sqrt -> Div(X, .) | Mul(X, Reciprocal(.)) [-> Mul(., gamma)]
//
// and LayerNorm as ReduceMean -> Sub -> Pow -> ReduceMean -> Add(eps) -> Sqrt
// -> Div [-> Mul(gain)] [-> Add(bias)] (the opset-17 LayerNormalization is
// imported directly).
//
// This file finds such chains on the graph before conversion, where every
// intermediate value has exactly one consumer and is not a graph output, and
// records them so that the importer emits one qc.rms_norm / qc.layer_norm
// (which norm folding and rotation reason about) instead of many ops. The
// numbers are the same either way.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "qc/Dialect/QC/IR/QCOps.h"

#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;
using namespace mlir::qc;
using namespace mlir::qc::onnx_import;

namespace {

struct GraphIndex {
  explicit GraphIndex(const onnx::GraphProto &graph) : graph(graph) {
    for (auto [i, node] : llvm::enumerate(graph.node()))
      for (const std::string &out : node.output())
        producer[out] = i;
    for (const auto &node : graph.node())
      for (const std::string &in : node.input())
        ++uses[in];
    for (const auto &out : graph.output())
      uses[out.name()] += 2; // never fold away a graph output
    for (const auto &init : graph.initializer())
      initializers[init.name()] = &init;
  }

  const onnx::NodeProto *producerOf(llvm::StringRef name) const {
    auto it = producer.find(name);
    return it == producer.end() ? nullptr : &graph.node(it->second);
  }
  std::optional<size_t> indexOf(llvm::StringRef name) const {
    auto it = producer.find(name);
    if (it == producer.end())
      return std::nullopt;
    return it->second;
  }
  bool singleUse(llvm::StringRef name) const {
    auto it = uses.find(name);
    return it != uses.end() && it->second == 1;
  }

  /// The float value of a scalar constant (initializer or Constant node).
  std::optional<double> scalar(llvm::StringRef name) const {
    const onnx::TensorProto *t = nullptr;
    if (auto it = initializers.find(name); it != initializers.end())
      t = it->second;
    else if (const onnx::NodeProto *n = producerOf(name))
      if (n->op_type() == "Constant" && n->domain().empty()) {
        for (const auto &a : n->attribute()) {
          if (a.name() == "value" && a.has_t())
            t = &a.t();
          else if (a.name() == "value_float")
            return a.f();
        }
      }
    if (!t || t->data_type() != onnx::TensorProto::FLOAT)
      return std::nullopt;
    int64_t count = 1;
    for (int64_t d : t->dims())
      count *= d;
    if (count != 1)
      return std::nullopt;
    if (t->float_data_size() == 1)
      return t->float_data(0);
    if (t->raw_data().size() == 4) {
      float v;
      std::memcpy(&v, t->raw_data().data(), 4);
      return v;
    }
    return std::nullopt;
  }

  /// The integer list of a constant (initializer or Constant node).
  std::optional<std::vector<int64_t>> ints(llvm::StringRef name) const {
    const onnx::TensorProto *t = nullptr;
    if (auto it = initializers.find(name); it != initializers.end())
      t = it->second;
    else if (const onnx::NodeProto *n = producerOf(name))
      if (n->op_type() == "Constant")
        for (const auto &a : n->attribute())
          if (a.name() == "value" && a.has_t())
            t = &a.t();
    if (!t || t->data_type() != onnx::TensorProto::INT64)
      return std::nullopt;
    if (t->int64_data_size() > 0)
      return std::vector<int64_t>(t->int64_data().begin(),
                                  t->int64_data().end());
    std::vector<int64_t> values(t->raw_data().size() / 8);
    std::memcpy(values.data(), t->raw_data().data(), values.size() * 8);
    return values;
  }

  const onnx::GraphProto &graph;
  llvm::StringMap<size_t> producer;
  llvm::StringMap<int> uses;
  llvm::StringMap<const onnx::TensorProto *> initializers;
};

bool isOp(const onnx::NodeProto *n, llvm::StringRef op) {
  return n && n->op_type() == op &&
         (n->domain().empty() || n->domain() == "ai.onnx");
}

/// Reads an int attribute list.
std::optional<std::vector<int64_t>> intsAttr(const onnx::NodeProto &n,
                                             llvm::StringRef name) {
  for (const auto &a : n.attribute())
    if (a.name() == name)
      return std::vector<int64_t>(a.ints().begin(), a.ints().end());
  return std::nullopt;
}

int64_t intAttrOr(const onnx::NodeProto &n, llvm::StringRef name, int64_t def) {
  for (const auto &a : n.attribute())
    if (a.name() == name)
      return a.i();
  return def;
}

/// Matches Sqrt(Add(M, eps)) at `root` with a positive constant eps and single
/// uses along the way: returns eps and M, and appends the Sqrt and Add nodes.
std::optional<std::pair<double, std::string>>
matchSqrtPlusEps(const GraphIndex &g, llvm::StringRef root,
                 SmallVectorImpl<size_t> &chain) {
  if (!g.singleUse(root))
    return std::nullopt;
  const onnx::NodeProto *sqrt = g.producerOf(root);
  if (!isOp(sqrt, "Sqrt") || !g.singleUse(sqrt->input(0)))
    return std::nullopt;
  const onnx::NodeProto *add = g.producerOf(sqrt->input(0));
  if (!isOp(add, "Add") || add->input_size() != 2)
    return std::nullopt;
  for (int side = 0; side < 2; ++side) {
    std::optional<double> eps = g.scalar(add->input(side));
    if (!eps)
      continue;
    const std::string &mean = add->input(1 - side);
    if (!(*eps > 0) || !g.singleUse(mean))
      return std::nullopt;
    chain.append({*g.indexOf(sqrt->input(0)), *g.indexOf(root)});
    return std::make_pair(*eps, mean);
  }
  return std::nullopt;
}

/// ReduceMean over axes [-1] with keepdims; returns its input or "".
std::string meanOverLastAxis(const GraphIndex &g, const onnx::NodeProto *mean) {
  if (!isOp(mean, "ReduceMean") || intAttrOr(*mean, "keepdims", 1) != 1)
    return "";
  std::optional<std::vector<int64_t>> axes = intsAttr(*mean, "axes");
  if (mean->input_size() > 1)
    axes = g.ints(mean->input(1));
  // Only the last axis, written -1: a single middle axis is not what the qc
  // norms (trailing dimensions) compute, and the rank is not known yet.
  if (!axes || axes->size() != 1 || (*axes)[0] != -1)
    return "";
  return mean->input(0);
}

/// Tries to match the chain ending at `last` (a Div, Mul(X, Reciprocal) or the
/// gain Mul). Fills `fusion` and the chain's node indices.
bool matchRMSNorm(const GraphIndex &g, size_t lastIndex, NormFusion &fusion,
                  SmallVectorImpl<size_t> &chain) {
  const onnx::NodeProto *last = &g.graph.node(lastIndex);
  const onnx::NodeProto *norm = last;
  std::string gain;
  // An optional trailing Mul(normed, gamma) (either operand order).
  if (isOp(last, "Mul") && last->input_size() == 2) {
    for (int side = 0; side < 2; ++side) {
      const onnx::NodeProto *inner = g.producerOf(last->input(side));
      if ((isOp(inner, "Div") || isOp(inner, "Mul")) &&
          g.singleUse(last->input(side))) {
        NormFusion innerFusion;
        SmallVector<size_t> innerChain;
        if (matchRMSNorm(g, *g.indexOf(last->input(side)), innerFusion,
                         innerChain) &&
            innerFusion.gain.empty()) {
          fusion = innerFusion;
          fusion.gain = last->input(1 - side);
          chain = innerChain;
          chain.push_back(lastIndex);
          return true;
        }
      }
    }
  }
  // x / sqrt(...) or x * reciprocal(sqrt(...))
  std::string x, root;
  if (isOp(norm, "Div") && norm->input_size() == 2) {
    x = norm->input(0);
    root = norm->input(1);
  } else if (isOp(norm, "Mul") && norm->input_size() == 2) {
    for (int side = 0; side < 2 && root.empty(); ++side) {
      const onnx::NodeProto *recip = g.producerOf(norm->input(side));
      if (isOp(recip, "Reciprocal") && g.singleUse(norm->input(side))) {
        x = norm->input(1 - side);
        root = recip->input(0);
        chain.push_back(*g.indexOf(norm->input(side)));
      }
    }
  }
  if (root.empty())
    return false;
  std::optional<std::pair<double, std::string>> eps =
      matchSqrtPlusEps(g, root, chain);
  if (!eps)
    return false;
  const std::string &meanName = eps->second;
  std::string squared = meanOverLastAxis(g, g.producerOf(meanName));
  if (squared.empty() || !g.singleUse(squared))
    return false;
  const onnx::NodeProto *square = g.producerOf(squared);
  bool squares = (isOp(square, "Pow") && square->input_size() == 2 &&
                  square->input(0) == x && g.scalar(square->input(1)) == 2.0) ||
                 (isOp(square, "Mul") && square->input_size() == 2 &&
                  square->input(0) == x && square->input(1) == x);
  if (!squares)
    return false;
  fusion.input = x;
  fusion.epsilon = eps->first;
  chain.append({*g.indexOf(squared), *g.indexOf(meanName), lastIndex});
  return true;
}

/// Uses of `name` as a node input, counting repeats (Mul(d, d) uses d twice).
int useCount(const GraphIndex &g, llvm::StringRef name) {
  auto it = g.uses.find(name);
  return it == g.uses.end() ? 0 : it->second;
}

/// The core of a decomposed LayerNorm, ending at the Div:
///   mean = ReduceMean(X); d = Sub(X, mean); var = ReduceMean(Pow(d, 2) |
///   Mul(d, d)); Div(d, Sqrt(Add(var, eps)))
bool matchLayerNormCore(const GraphIndex &g, size_t divIndex,
                        NormFusion &fusion, SmallVectorImpl<size_t> &chain) {
  const onnx::NodeProto *div = &g.graph.node(divIndex);
  if (!isOp(div, "Div") || div->input_size() != 2)
    return false;
  const std::string &d = div->input(0);
  std::optional<std::pair<double, std::string>> eps =
      matchSqrtPlusEps(g, div->input(1), chain);
  if (!eps)
    return false;
  const std::string &varName = eps->second;
  std::string sqName = meanOverLastAxis(g, g.producerOf(varName));
  if (sqName.empty() || !g.singleUse(sqName))
    return false;
  const onnx::NodeProto *sq = g.producerOf(sqName);
  bool isPow = isOp(sq, "Pow") && sq->input_size() == 2 && sq->input(0) == d &&
               g.scalar(sq->input(1)) == 2.0;
  bool isMul = isOp(sq, "Mul") && sq->input_size() == 2 && sq->input(0) == d &&
               sq->input(1) == d;
  // d feeds the square and the division, nothing else.
  if (!(isPow || isMul) || useCount(g, d) != (isPow ? 2 : 3))
    return false;
  const onnx::NodeProto *sub = g.producerOf(d);
  if (!isOp(sub, "Sub") || sub->input_size() != 2 ||
      !g.singleUse(sub->input(1)))
    return false;
  const std::string &x = sub->input(0);
  if (meanOverLastAxis(g, g.producerOf(sub->input(1))) != x)
    return false;
  fusion.kind = NormFusion::Kind::Layer;
  fusion.input = x;
  fusion.epsilon = eps->first;
  chain.append({*g.indexOf(sub->input(1)), *g.indexOf(d), *g.indexOf(sqName),
                *g.indexOf(varName), divIndex});
  return true;
}

/// A LayerNorm core, optionally followed by Mul(gain) and then Add(bias).
bool matchLayerNorm(const GraphIndex &g, size_t lastIndex, NormFusion &fusion,
                    SmallVectorImpl<size_t> &chain) {
  const onnx::NodeProto *last = &g.graph.node(lastIndex);
  auto inner = [&](llvm::StringRef op, std::string &other, size_t &innerIndex) {
    if (!isOp(last, op) || last->input_size() != 2)
      return false;
    for (int side = 0; side < 2; ++side)
      if (g.producerOf(last->input(side)) && g.singleUse(last->input(side))) {
        innerIndex = *g.indexOf(last->input(side));
        other = last->input(1 - side);
        NormFusion probe;
        SmallVector<size_t> probeChain;
        if (matchLayerNorm(g, innerIndex, probe, probeChain))
          return true;
      }
    return false;
  };
  std::string other;
  size_t innerIndex = 0;
  if (isOp(last, "Add") && inner("Add", other, innerIndex)) {
    if (!matchLayerNorm(g, innerIndex, fusion, chain) || !fusion.bias.empty())
      return false;
    fusion.bias = other;
    chain.push_back(lastIndex);
    return true;
  }
  if (isOp(last, "Mul") && inner("Mul", other, innerIndex)) {
    if (!matchLayerNorm(g, innerIndex, fusion, chain) || !fusion.gain.empty() ||
        !fusion.bias.empty())
      return false;
    fusion.gain = other;
    chain.push_back(lastIndex);
    return true;
  }
  return matchLayerNormCore(g, lastIndex, fusion, chain);
}

} // namespace

llvm::DenseMap<size_t, NormFusion>
mlir::qc::onnx_import::findNormFusions(const onnx::GraphProto &graph,
                                       llvm::DenseSet<size_t> &fusedAway) {
  GraphIndex g(graph);
  struct Candidate {
    size_t last;
    NormFusion fusion;
    SmallVector<size_t> chain;
  };
  SmallVector<Candidate> candidates;
  for (size_t i = 0; i < size_t(graph.node_size()); ++i) {
    Candidate c{i, {}, {}};
    if (matchLayerNorm(g, i, c.fusion, c.chain) ||
        (c = Candidate{i, {}, {}}, matchRMSNorm(g, i, c.fusion, c.chain)))
      candidates.push_back(std::move(c));
  }
  // The longest chains first, so that a norm is taken with its gain and bias
  // rather than as the bare core they would also match.
  llvm::stable_sort(candidates, [](const Candidate &a, const Candidate &b) {
    return a.chain.size() > b.chain.size();
  });
  llvm::DenseMap<size_t, NormFusion> fusions;
  llvm::DenseSet<size_t> taken;
  for (Candidate &c : candidates) {
    if (llvm::any_of(c.chain, [&](size_t n) { return taken.count(n); }))
      continue;
    for (size_t n : c.chain) {
      taken.insert(n);
      if (n != c.last)
        fusedAway.insert(n);
    }
    fusions[c.last] = c.fusion;
  }
  return fusions;
}

/// Multiplies (or adds) `param` onto `value` with numpy broadcasting.
static Value applyParam(OpBuilder &builder, Location loc, Value value,
                        Value param, bool multiply) {
  auto type = cast<RankedTensorType>(value.getType());
  auto paramType = cast<RankedTensorType>(param.getType());
  FailureOr<SmallVector<int64_t>> shape =
      broadcastShapes(type.getShape(), paramType.getShape());
  if (failed(shape) || paramType.getElementType() != type.getElementType()) {
    emitError(loc) << "norm parameter " << paramType
                   << " does not broadcast to " << type;
    return {};
  }
  auto resultType = RankedTensorType::get(*shape, type.getElementType());
  Value lhs = expandToRank(builder, loc, value, shape->size());
  Value rhs = expandToRank(builder, loc, param, shape->size());
  if (!multiply)
    return tosa::AddOp::create(builder, loc, resultType, lhs, rhs);
  return createTosaMul(builder, loc, resultType, lhs, rhs);
}

Value mlir::qc::onnx_import::buildNorm(OpBuilder &builder, Location loc,
                                       const NormFusion &fusion, Value x,
                                       Value gain, Value bias) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  if (!isa<FloatType>(type.getElementType()) || rank == 0) {
    emitError(loc) << "normalisation pattern over " << type
                   << " is not supported";
    return {};
  }
  auto normType = RankedTensorType::get(type.getShape().take_back(1),
                                        type.getElementType());
  // Parameters of exactly the normalised shape go into the op; otherwise
  // both are applied afterwards, in the pattern's order (gain, then bias).
  bool fits = (!gain || gain.getType() == normType) &&
              (!bias || bias.getType() == normType);
  FloatAttr epsilon =
      builder.getF32FloatAttr(static_cast<float>(fusion.epsilon));
  IntegerAttr axis = builder.getI64IntegerAttr(-1);
  Value result;
  if (fusion.kind == NormFusion::Kind::RMS) {
    bool gainFits = !gain || gain.getType() == normType;
    result = RMSNormOp::create(builder, loc, type, x, gainFits ? gain : Value(),
                               epsilon, axis);
    if (!gainFits)
      result = applyParam(builder, loc, result, gain, /*multiply=*/true);
    return result;
  }
  result = LayerNormOp::create(builder, loc, type, x, fits ? gain : Value(),
                               fits ? bias : Value(), epsilon, axis);
  if (!fits && gain)
    result = applyParam(builder, loc, result, gain, /*multiply=*/true);
  if (!fits && bias && result)
    result = applyParam(builder, loc, result, bias, /*multiply=*/false);
  return result;
}
