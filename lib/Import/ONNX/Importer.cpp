//===- Importer.cpp - ONNX models to qc/tosa IR ---------------------------===//
//
// Loads a ModelProto (binary or textual), checks the model as a whole (opsets,
// operator support, graph connectivity) before building anything, then builds
// one function: graph inputs become arguments, initializers constants, nodes
// ops (in topological order), graph outputs results.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"
#include "TextParser.h"

#include "qc/Dialect/QC/IR/QCDialect.h"
#include "qc/Dialect/QC/IR/QCOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <functional>
#include <map>
#include <queue>

using namespace mlir;
using namespace mlir::qc;
using namespace mlir::qc::onnx_import;

//===----------------------------------------------------------------------===//
// NodeContext
//===----------------------------------------------------------------------===//

InFlightDiagnostic NodeContext::emitError() const {
  return mlir::emitError(loc)
         << "node '" << label << "' (" << node.op_type() << "): ";
}

/// The node's name, or "<OpType>_<index>" when it has none; used in locations
/// and diagnostics.
static std::string nodeLabel(const onnx::NodeProto &node, size_t index) {
  return node.name().empty() ? node.op_type() + "_" + std::to_string(index)
                             : node.name();
}

const onnx::AttributeProto *NodeContext::attr(llvm::StringRef name) const {
  for (const auto &attribute : node.attribute())
    if (attribute.name() == name)
      return &attribute;
  return nullptr;
}

int64_t NodeContext::intAttr(llvm::StringRef name, int64_t defaultValue) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->i() : defaultValue;
}

float NodeContext::floatAttr(llvm::StringRef name, float defaultValue) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->f() : defaultValue;
}

std::string NodeContext::stringAttr(llvm::StringRef name,
                                    llvm::StringRef defaultValue) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->s() : defaultValue.str();
}

FailureOr<Value> NodeContext::input(unsigned i) const {
  if (!hasInput(i)) {
    emitError() << "input " << i << " is required";
    return failure();
  }
  return inputs[i];
}

//===----------------------------------------------------------------------===//
// Converter table
//===----------------------------------------------------------------------===//

const llvm::StringMap<OpConverter> &mlir::qc::onnx_import::getOpConverters() {
  static const llvm::StringMap<OpConverter> table = [] {
    llvm::StringMap<OpConverter> t;
    addElementwiseConverters(t);
    addActivationConverters(t);
    addLinearAlgebraConverters(t);
    addShapeConverters(t);
    addDataMovementConverters(t);
    addNormalizationConverters(t);
    addQuantizationConverters(t);
    addQuantizedMatMulConverters(t);
    addConvolutionConverters(t);
    addResizeConverters(t);
    addDynamicQuantizationConverters(t);
    return t;
  }();
  return table;
}

static std::string converterKey(const onnx::NodeProto &node) {
  llvm::StringRef domain = node.domain();
  if (domain == "ai.onnx")
    domain = "";
  return (domain + "::" + node.op_type()).str();
}

//===----------------------------------------------------------------------===//
// Input shapes
//===----------------------------------------------------------------------===//

std::string mlir::qc::parseInputShapeSpec(
    llvm::StringRef spec, std::pair<std::string, std::vector<int64_t>> &shape) {
  auto [name, dims] = spec.rsplit('=');
  if (name.empty() || !spec.contains('='))
    return "expected NAME=D0,D1,... but got '" + spec.str() + "'";
  shape.first = name.str();
  shape.second.clear();
  if (dims.empty())
    return ""; // a scalar
  SmallVector<llvm::StringRef> parts;
  dims.split(parts, ',');
  for (llvm::StringRef part : parts) {
    int64_t dim;
    if (part.trim().getAsInteger(10, dim) || dim < 0 ||
        dim > (int64_t(1) << 40))
      return "dimension '" + part.str() + "' of input '" + name.str() +
             "' is not a non-negative integer";
    shape.second.push_back(dim);
  }
  return "";
}

//===----------------------------------------------------------------------===//
// GraphImporter
//===----------------------------------------------------------------------===//

namespace {
class GraphImporter {
public:
  GraphImporter(const onnx::ModelProto &model, MLIRContext *ctx,
                const ONNXImportOptions &options, llvm::StringRef path)
      : model(model), graph(model.graph()), ctx(ctx), options(options),
        path(path), modelDir(llvm::sys::path::parent_path(path)), builder(ctx) {
  }

  OwningOpRef<ModuleOp> run();

private:
  LogicalResult checkOpsets();
  LogicalResult checkOperators();
  LogicalResult sortNodes(SmallVectorImpl<size_t> &order);
  FailureOr<RankedTensorType> convertValueType(const onnx::ValueInfoProto &info,
                                               bool isGraphInput);
  Location nodeLoc(const onnx::NodeProto &node, size_t index);
  Location valueLoc(llvm::StringRef name);

  const onnx::ModelProto &model;
  const onnx::GraphProto &graph;
  MLIRContext *ctx;
  const ONNXImportOptions &options;
  std::string path;
  std::string modelDir;
  OpBuilder builder;
  int64_t defaultOpset = 0;
  llvm::StringMap<Value> values;
  ShapeTracker shapes;
};
} // namespace

Location GraphImporter::nodeLoc(const onnx::NodeProto &node, size_t index) {
  return NameLoc::get(StringAttr::get(ctx, nodeLabel(node, index)),
                      FileLineColLoc::get(ctx, path, 0, 0));
}

Location GraphImporter::valueLoc(llvm::StringRef name) {
  return NameLoc::get(StringAttr::get(ctx, name),
                      FileLineColLoc::get(ctx, path, 0, 0));
}

LogicalResult GraphImporter::checkOpsets() {
  Location loc = FileLineColLoc::get(ctx, path, 0, 0);
  bool found = false;
  for (const auto &opset : model.opset_import()) {
    if (opset.domain().empty() || opset.domain() == "ai.onnx") {
      defaultOpset = opset.version();
      found = true;
    }
  }
  if (!found) {
    // Models with only com.microsoft ops still need the default domain for
    // nothing; accept them with the newest default opset.
    defaultOpset = kMaxONNXOpset;
  }
  // Older opsets are accepted operator by operator (checkOperators): an
  // operator whose schema did not change between the model's opset and
  // kMinONNXOpset means the same thing.
  if (defaultOpset < 1 || defaultOpset > kMaxONNXOpset)
    return emitError(loc) << "the model imports opset " << defaultOpset
                          << " of the default ONNX domain; supported opsets "
                             "are "
                          << kMinONNXOpset << " to " << kMaxONNXOpset
                          << " (and older ones for operators unchanged since)";
  return success();
}

/// Lists every unsupported operator at once, with its count and first node.
LogicalResult GraphImporter::checkOperators() {
  const auto &table = getOpConverters();
  struct Unsupported {
    int count = 0;
    std::string firstNode;
  };
  llvm::MapVector<std::string, Unsupported, std::map<std::string, unsigned>>
      unsupported;
  for (auto [index, node] : llvm::enumerate(graph.node())) {
    bool defaultDomain = node.domain().empty() || node.domain() == "ai.onnx";
    std::string key =
        defaultDomain ? node.op_type() : node.domain() + "." + node.op_type();
    if (table.count(converterKey(node))) {
      if (!defaultDomain || defaultOpset >= kMinONNXOpset)
        continue;
      // An old opset: supported when it selects the same schema version as
      // the oldest opset the converters are written for.
      int version = schemaSinceVersion(node.op_type(), defaultOpset);
      int supported = schemaSinceVersion(node.op_type(), kMinONNXOpset);
      if (version >= 0 && version == supported)
        continue;
      key += " at opset " + std::to_string(defaultOpset);
    }
    Unsupported &entry = unsupported[key];
    if (entry.count++ == 0)
      entry.firstNode = nodeLabel(node, index);
  }
  if (unsupported.empty())
    return success();
  InFlightDiagnostic diag = emitError(FileLineColLoc::get(ctx, path, 0, 0))
                            << "unsupported operators: ";
  bool first = true;
  for (auto &[op, entry] : unsupported) {
    diag << (first ? "" : ", ") << op << " (" << entry.count
         << (entry.count == 1 ? " node" : " nodes") << ", first '"
         << entry.firstNode << "')";
    first = false;
  }
  return failure();
}

/// Orders the nodes so that every value is defined before it is used; reports
/// values nothing defines and cycles.
LogicalResult GraphImporter::sortNodes(SmallVectorImpl<size_t> &order) {
  llvm::StringSet<> available;
  for (const auto &input : graph.input())
    available.insert(input.name());
  for (const auto &init : graph.initializer())
    available.insert(init.name());

  llvm::StringMap<size_t> producer;
  for (auto [index, node] : llvm::enumerate(graph.node()))
    for (const std::string &out : node.output())
      if (!out.empty()) {
        if (available.contains(out) || producer.count(out))
          return emitError(nodeLoc(node, index))
                 << "node '" << nodeLabel(node, index) << "' ("
                 << node.op_type() << "): output '" << out
                 << "' is already defined by another node, a graph input or "
                    "an initializer";
        producer[out] = index;
      }

  size_t n = graph.node_size();
  std::vector<int> pending(n, 0);
  std::vector<std::vector<size_t>> users(n);
  for (auto [index, node] : llvm::enumerate(graph.node())) {
    for (const std::string &in : node.input()) {
      if (in.empty() || available.contains(in))
        continue;
      auto it = producer.find(in);
      if (it == producer.end())
        return emitError(nodeLoc(node, index))
               << "node '" << nodeLabel(node, index) << "' (" << node.op_type()
               << "): input '" << in
               << "' is not produced by any node, graph input or initializer";
      ++pending[index];
      users[it->second].push_back(index);
    }
  }
  // Always take the earliest ready node, so that a graph that is already
  // sorted keeps its order.
  std::priority_queue<size_t, std::vector<size_t>, std::greater<size_t>> ready;
  for (size_t i = 0; i < n; ++i)
    if (pending[i] == 0)
      ready.push(i);
  while (!ready.empty()) {
    size_t i = ready.top();
    ready.pop();
    order.push_back(i);
    for (size_t user : users[i])
      if (--pending[user] == 0)
        ready.push(user);
  }
  if (order.size() != n) {
    for (size_t i = 0; i < n; ++i)
      if (pending[i] > 0)
        return emitError(nodeLoc(graph.node(i), i))
               << "node '" << nodeLabel(graph.node(i), i) << "' ("
               << graph.node(i).op_type()
               << "): the graph has a cycle through this node";
  }
  for (const auto &output : graph.output())
    if (!available.contains(output.name()) && !producer.count(output.name()))
      return emitError(valueLoc(output.name()))
             << "graph output '" << output.name()
             << "' is not produced by any node, graph input or initializer";
  return success();
}

FailureOr<RankedTensorType>
GraphImporter::convertValueType(const onnx::ValueInfoProto &info,
                                bool isGraphInput) {
  Location loc = valueLoc(info.name());
  if (!info.type().has_tensor_type())
    return emitError(loc) << "value '" << info.name()
                          << "' has an unsupported non-tensor type (sequence, "
                             "map or optional); only tensors are supported";
  const auto &tensorType = info.type().tensor_type();
  Type element = convertElementType(tensorType.elem_type(), ctx);
  if (!element)
    return emitError(loc) << "value '" << info.name() << "' has unsupported "
                          << dataTypeName(tensorType.elem_type())
                          << " elements";
  SmallVector<int64_t> shape;
  bool hasShape = tensorType.has_shape();
  for (const auto &dim : tensorType.shape().dim()) {
    if (dim.has_dim_value()) {
      if (dim.dim_value() < 0 || dim.dim_value() > (int64_t(1) << 40))
        return emitError(loc)
               << "value '" << info.name() << "' has dimension "
               << dim.dim_value() << ", which is negative or absurdly large";
      shape.push_back(dim.dim_value());
    } else {
      shape.push_back(ShapedType::kDynamic);
    }
  }
  if (isGraphInput) {
    for (const auto &[name, dims] : options.inputShapes) {
      if (name != info.name())
        continue;
      if (hasShape && dims.size() != shape.size())
        return emitError(loc)
               << "--input-shape gives input '" << name << "' rank "
               << dims.size() << ", but the model declares rank "
               << shape.size();
      for (size_t i = 0; i < dims.size(); ++i)
        if (hasShape && !ShapedType::isDynamic(shape[i]) && shape[i] != dims[i])
          return emitError(loc) << "--input-shape gives dimension " << i
                                << " of input '" << name << "' as " << dims[i]
                                << ", but the model fixes it to " << shape[i];
      shape.assign(dims.begin(), dims.end());
      hasShape = true;
    }
  }
  if (!hasShape)
    return emitError(loc) << "value '" << info.name()
                          << "' has no shape; give one with --input-shape "
                          << info.name() << "=D0,D1,...";
  return RankedTensorType::get(shape, element);
}

OwningOpRef<ModuleOp> GraphImporter::run() {
  if (failed(checkOpsets()) || failed(checkOperators()))
    return {};
  for (const auto &[name, dims] : options.inputShapes) {
    bool known = llvm::any_of(
        graph.input(), [&](const auto &input) { return input.name() == name; });
    if (!known) {
      emitError(FileLineColLoc::get(ctx, path, 0, 0))
          << "--input-shape names '" << name
          << "', which is not an input of the graph";
      return {};
    }
  }
  llvm::StringMap<std::string> constantInputs;
  for (const auto &[name, file] : options.constantInputs) {
    bool known = llvm::any_of(
        graph.input(), [&](const auto &input) { return input.name() == name; });
    if (!known) {
      emitError(FileLineColLoc::get(ctx, path, 0, 0))
          << "--constant-input names '" << name
          << "', which is not an input of the graph";
      return {};
    }
    constantInputs[name] = file;
  }
  SmallVector<size_t> order;
  if (failed(sortNodes(order)))
    return {};

  Location moduleLoc = FileLineColLoc::get(ctx, path, 0, 0);
  OwningOpRef<ModuleOp> module = ModuleOp::create(moduleLoc);
  builder.setInsertionPointToEnd(module->getBody());

  // Graph inputs that are also initializers are constants with a default.
  llvm::StringSet<> initializers;
  for (const auto &init : graph.initializer())
    initializers.insert(init.name());
  SmallVector<const onnx::ValueInfoProto *> args;
  SmallVector<Type> argTypes;
  SmallVector<std::pair<const onnx::ValueInfoProto *, RankedTensorType>>
      boundInputs;
  for (const auto &input : graph.input()) {
    if (initializers.contains(input.name()))
      continue;
    FailureOr<RankedTensorType> type = convertValueType(input, true);
    if (succeeded(type) && constantInputs.count(input.name())) {
      boundInputs.push_back({&input, *type});
      continue;
    }
    if (failed(type))
      return {};
    args.push_back(&input);
    argTypes.push_back(*type);
  }

  auto func = func::FuncOp::create(builder, moduleLoc, options.functionName,
                                   builder.getFunctionType(argTypes, {}));
  Block *body = func.addEntryBlock();
  for (auto [arg, info] : llvm::zip(body->getArguments(), args)) {
    values[info->name()] = arg;
    func.setArgAttr(arg.getArgNumber(), "onnx.name",
                    builder.getStringAttr(info->name()));
    // Symbolic dimension names of dynamic dimensions, so that the compiled
    // entry point can check that inputs sharing a name get the same size.
    auto type = cast<RankedTensorType>(arg.getType());
    const auto &dims = info->type().tensor_type().shape().dim();
    if (dims.size() != type.getRank())
      continue;
    SmallVector<Attribute> names;
    bool any = false;
    for (int64_t d = 0; d < type.getRank(); ++d) {
      std::string name = type.isDynamicDim(d) ? dims[d].dim_param() : "";
      any |= !name.empty();
      names.push_back(builder.getStringAttr(name));
    }
    if (any)
      func.setArgAttr(arg.getArgNumber(), "onnx.dim_params",
                      builder.getArrayAttr(names));
  }
  builder.setInsertionPointToStart(body);

  for (const auto &init : graph.initializer()) {
    Location loc = valueLoc(init.name());
    ElementsAttr attr = convertTensor(init, loc, modelDir);
    if (!attr)
      return {};
    values[init.name()] =
        arith::ConstantOp::create(builder, loc, cast<TypedAttr>(attr));
  }

  for (const auto &[info, type] : boundInputs) {
    Location loc = valueLoc(info->name());
    const std::string &file = constantInputs[info->name()];
    auto buffer = llvm::MemoryBuffer::getFile(file);
    onnx::TensorProto tensor;
    if (!buffer || !tensor.ParseFromArray((*buffer)->getBufferStart(),
                                          (*buffer)->getBufferSize())) {
      emitError(loc) << "--constant-input: cannot read an ONNX TensorProto "
                        "from '"
                     << file << "'";
      return {};
    }
    ElementsAttr attr = convertTensor(tensor, loc, modelDir);
    if (!attr)
      return {};
    auto attrType = cast<RankedTensorType>(attr.getType());
    bool fits = attrType.getElementType() == type.getElementType() &&
                attrType.getRank() == type.getRank();
    for (int64_t d = 0; fits && d < type.getRank(); ++d)
      fits = type.isDynamicDim(d) || type.getDimSize(d) == attrType.getDimSize(d);
    if (!fits) {
      emitError(loc) << "--constant-input: '" << file << "' holds " << attrType
                     << ", but input '" << info->name() << "' is " << type;
      return {};
    }
    values[info->name()] =
        arith::ConstantOp::create(builder, loc, cast<TypedAttr>(attr));
  }

  llvm::DenseSet<size_t> fusedAway;
  llvm::DenseMap<size_t, NormFusion> normFusions =
      findNormFusions(graph, fusedAway);

  for (size_t index : order) {
    if (fusedAway.count(index))
      continue;
    const onnx::NodeProto *node = &graph.node(index);
    if (auto it = normFusions.find(index); it != normFusions.end()) {
      Location loc = nodeLoc(*node, index);
      const NormFusion &fusion = it->second;
      auto lookup = [&](const std::string &name) {
        return name.empty() ? Value() : values.lookup(name);
      };
      Value result =
          buildNorm(builder, loc, fusion, values.lookup(fusion.input),
                    lookup(fusion.gain), lookup(fusion.bias));
      if (!result)
        return {};
      values[node->output(0)] = result;
      continue;
    }
    Location loc = nodeLoc(*node, index);
    NodeContext nc{
        *node, nodeLabel(*node, index), loc, {}, defaultOpset, builder, shapes};
    for (const std::string &in : node->input())
      nc.inputs.push_back(in.empty() ? Value() : values.lookup(in));
    SmallVector<Value> results;
    if (!tryFoldConstantNode(nc, results) &&
        !tryTrackShapeNode(nc, shapes, results) &&
        failed(getOpConverters().lookup(converterKey(*node))(nc, results)))
      return {};
    if (results.size() < size_t(node->output_size())) {
      nc.emitError() << "produces " << node->output_size()
                     << " outputs but the importer built " << results.size();
      return {};
    }
    for (auto [name, value] : llvm::zip(node->output(), results))
      if (!name.empty())
        values[name] = value;
  }

  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  for (const auto &output : graph.output()) {
    Value value = values.lookup(output.name());
    auto inferred = cast<RankedTensorType>(value.getType());
    // A declared shape must agree with the inferred one.
    if (output.type().tensor_type().has_shape()) {
      const auto &dims = output.type().tensor_type().shape().dim();
      bool contradicts = dims.size() != inferred.getRank();
      for (int i = 0; !contradicts && i < dims.size(); ++i)
        contradicts = dims[i].has_dim_value() && !inferred.isDynamicDim(i) &&
                      dims[i].dim_value() != inferred.getDimSize(i);
      if (contradicts) {
        emitError(valueLoc(output.name()))
            << "graph output '" << output.name() << "' is declared with "
            << dims.size() << " dimensions that contradict the inferred type "
            << inferred;
        return {};
      }
    }
    results.push_back(value);
    resultTypes.push_back(inferred);
  }
  func::ReturnOp::create(builder, moduleLoc, results);
  func.setType(builder.getFunctionType(argTypes, resultTypes));
  for (auto [i, output] : llvm::enumerate(graph.output()))
    func.setResultAttr(i, "onnx.name", builder.getStringAttr(output.name()));

  // Constants that only fed folded shape computations, and casts that a
  // QuantizeLinear -> DequantizeLinear pair no longer needs, are dead now.
  // Ops with side effects (qc.observe) are never trivially dead.
  SmallVector<Operation *> ops;
  func.walk([&](Operation *op) { ops.push_back(op); });
  for (Operation *op : llvm::reverse(ops))
    if (op != func && isOpTriviallyDead(op))
      op->erase();

  if (failed(verify(*module)))
    return {};
  return module;
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

/// True when `bytes` starts, after blank lines and `#` comments, with the '<'
/// of a textual model header. Binary ModelProtos start with a field tag
/// (0x08 for ir_version), so the two cannot be confused; this lets a split
/// chunk of an .onnxtxt test file (whose name no longer ends in .onnxtxt) be
/// recognised.
static bool looksLikeONNXText(llvm::StringRef bytes) {
  while (true) {
    bytes = bytes.ltrim();
    if (!bytes.starts_with("#"))
      break;
    bytes = bytes.drop_until([](char c) { return c == '\n'; });
  }
  return bytes.starts_with("<");
}

OwningOpRef<ModuleOp> mlir::qc::importONNX(const llvm::MemoryBuffer &buffer,
                                           MLIRContext *context,
                                           const ONNXImportOptions &options) {
  llvm::StringRef path = buffer.getBufferIdentifier();
  Location loc = FileLineColLoc::get(context, path, 0, 0);
  DialectRegistry registry;
  registerONNXImportDialects(registry);
  context->appendDialectRegistry(registry);
  context->loadAllAvailableDialects();

  onnx::ModelProto model;
  if (path.ends_with(".onnxtxt") || looksLikeONNXText(buffer.getBuffer())) {
    std::string text = buffer.getBuffer().str();
    std::string error;
    if (!parseONNXText(text, model, error)) {
      emitError(loc) << "cannot parse ONNX text: " << error;
      return {};
    }
  } else {
    llvm::StringRef bytes = buffer.getBuffer();
    if (bytes.size() > size_t(INT32_MAX) ||
        !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      emitError(loc) << "not a valid ONNX model: the protobuf cannot be "
                        "parsed (truncated or not an ONNX file?)";
      return {};
    }
  }
  if (!model.has_graph() || model.ir_version() <= 0) {
    emitError(loc) << "not a valid ONNX model: "
                   << (model.has_graph() ? "no ir_version" : "no graph");
    return {};
  }
  return GraphImporter(model, context, options, path).run();
}

OwningOpRef<ModuleOp>
mlir::qc::importONNXFile(llvm::StringRef path, MLIRContext *context,
                         const ONNXImportOptions &options) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer) {
    emitError(UnknownLoc::get(context))
        << "cannot open '" << path << "': " << buffer.getError().message();
    return {};
  }
  return importONNX(**buffer, context, options);
}

void mlir::qc::registerONNXImportDialects(DialectRegistry &registry) {
  registry.insert<QCDialect, quant::QuantDialect, func::FuncDialect,
                  arith::ArithDialect, tensor::TensorDialect, tosa::TosaDialect,
                  linalg::LinalgDialect, math::MathDialect>();
}
