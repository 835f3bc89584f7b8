//===- RaiseNorms.cpp - recognise decomposed RMSNorm in ONNX graphs -------===//
//
// Exporters write RMSNorm as element-wise ops (before opset 23 there is no
// RMSNormalization):
//
//   Pow(X, 2) | Mul(X, X) -> ReduceMean(axes = [-1], keepdims) -> Add(eps)
//     -> Sqrt -> Div(X, .) | Mul(X, Reciprocal(.)) [-> Mul(., gamma)]
//
// This file finds such chains on the graph before conversion, where every
// intermediate value has exactly one consumer and is not a graph output, and
// records them so that the importer emits one qc.rms_norm (which norm folding
// and rotation reason about) instead of eight ops. The result is
// x / sqrt(mean(x²) + eps) · gamma either way.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

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
  if (root.empty() || !g.singleUse(root))
    return false;
  const onnx::NodeProto *sqrt = g.producerOf(root);
  if (!isOp(sqrt, "Sqrt") || !g.singleUse(sqrt->input(0)))
    return false;
  const onnx::NodeProto *add = g.producerOf(sqrt->input(0));
  if (!isOp(add, "Add") || add->input_size() != 2)
    return false;
  std::optional<double> eps;
  std::string meanName;
  for (int side = 0; side < 2 && !eps; ++side)
    if ((eps = g.scalar(add->input(side))))
      meanName = add->input(1 - side);
  if (!eps || !(*eps > 0) || !g.singleUse(meanName))
    return false;
  const onnx::NodeProto *mean = g.producerOf(meanName);
  if (!isOp(mean, "ReduceMean") || intAttrOr(*mean, "keepdims", 1) != 1 ||
      !g.singleUse(mean->input(0)))
    return false;
  std::optional<std::vector<int64_t>> axes = intsAttr(*mean, "axes");
  if (mean->input_size() > 1)
    axes = g.ints(mean->input(1));
  // Only the last axis, written -1: a single middle axis is not what
  // qc.rms_norm (trailing dimensions) computes, and the rank is not known yet.
  if (!axes || axes->size() != 1 || (*axes)[0] != -1)
    return false;
  const onnx::NodeProto *square = g.producerOf(mean->input(0));
  bool squares = (isOp(square, "Pow") && square->input_size() == 2 &&
                  square->input(0) == x && g.scalar(square->input(1)) == 2.0) ||
                 (isOp(square, "Mul") && square->input_size() == 2 &&
                  square->input(0) == x && square->input(1) == x);
  if (!squares)
    return false;
  fusion.input = x;
  fusion.epsilon = *eps;
  fusion.axis = (*axes)[0];
  chain.append({*g.indexOf(mean->input(0)), *g.indexOf(meanName),
                *g.indexOf(sqrt->input(0)), *g.indexOf(root), lastIndex});
  return true;
}

} // namespace

llvm::DenseMap<size_t, NormFusion>
mlir::qc::onnx_import::findNormFusions(const onnx::GraphProto &graph,
                                       llvm::DenseSet<size_t> &fusedAway) {
  GraphIndex g(graph);
  llvm::DenseMap<size_t, NormFusion> fusions;
  // Try the largest chains first (the gain Mul), so that a norm is matched
  // once, with its gain.
  for (int pass = 0; pass < 2; ++pass)
    for (size_t i = 0; i < size_t(graph.node_size()); ++i) {
      if (fusions.count(i) || fusedAway.count(i))
        continue;
      NormFusion fusion;
      SmallVector<size_t> chain;
      if (!matchRMSNorm(g, i, fusion, chain) ||
          (pass == 0 && fusion.gain.empty()))
        continue;
      if (llvm::any_of(chain, [&](size_t c) {
            return fusedAway.count(c) || fusions.count(c);
          }))
        continue;
      for (size_t c : chain)
        if (c != i)
          fusedAway.insert(c);
      fusions[i] = fusion;
    }
  return fusions;
}
