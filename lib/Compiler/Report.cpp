//===- Report.cpp - the accuracy report of a quantized model --------------===//
//
// quant-compile --report FILE.md: the float model and the quantized one, each
// with the output of every quantizable matmul as an extra output, are run
// on the calibration sets; the report gives per layer the formats, the
// weight's relative error and the SQNR of the layer's output in the
// quantized model against the float model, and per model output the SQNR
// and, where the output looks like class scores (last dimension >= 2), the
// top-1 agreement. FILE.json carries the same numbers.
//
//===----------------------------------------------------------------------===//

#include "qc/Compiler/Compiler.h"
#include "qc/Dialect/QC/Transforms/Quantization.h"

#include "Probe.h"

#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/IR/TypeUtilities.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <map>

using namespace mlir;
using namespace mlir::qc;

namespace {
/// Σ reference², Σ (actual − reference)², and top-1 agreement counts.
struct Agreement {
  double signal = 0, noise = 0;
  int64_t rows = 0, agree = 0;
  double sqnr() const {
    return noise > 0 ? 10 * std::log10(signal / noise) : INFINITY;
  }
};

void accumulate(Agreement &a, const ::quant::Tensor &reference,
                const ::quant::Tensor &actual, bool top1) {
  int64_t n = reference.numElements();
  if (reference.dtype != "float32" || actual.numElements() != n)
    return;
  auto *r = reinterpret_cast<const float *>(reference.bytes.data());
  auto *q = reinterpret_cast<const float *>(actual.bytes.data());
  for (int64_t i = 0; i < n; ++i) {
    a.signal += double(r[i]) * r[i];
    a.noise += (double(q[i]) - r[i]) * (double(q[i]) - r[i]);
  }
  int64_t last = reference.shape.empty() ? 1 : reference.shape.back();
  if (!top1 || last < 2)
    return;
  for (int64_t row = 0; row < n / last; ++row) {
    const float *rr = r + row * last, *qr = q + row * last;
    a.agree += std::max_element(rr, rr + last) - rr ==
               std::max_element(qr, qr + last) - qr;
    ++a.rows;
  }
}

/// "int4 g128", "int8 per-channel", "uint8 per-tensor", "float" for the
/// operand of a layer: its own type, or for a convolution that of the
/// qc.dequantize it reads.
std::string describe(Value operand) {
  if (auto dq = operand.getDefiningOp<DequantizeOp>())
    operand = dq.getInput();
  if (auto decode = operand.getDefiningOp<DecodeOp>()) {
    Type codeType = getElementTypeOrSelf(decode.getCodes().getType());
    bool fp8 = isa<Float8E4M3FNType, Float8E5M2Type>(codeType);
    int64_t block = 1;
    for (int64_t b : decode.getBlockSizes())
      block = std::max(block, b);
    auto scales = cast<RankedTensorType>(decode.getScales().getType());
    bool perChannel = llvm::count_if(scales.getShape(), [](int64_t d) {
                        return d != 1;
                      }) <= 1;
    if (!fp8)
      return (block == 32   ? std::string("mxfp4")
              : block == 16 ? std::string("nvfp4")
                            : "fp4 e2m1 g" + std::to_string(block));
    return (isa<Float8E5M2Type>(codeType) ? "fp8 e5m2" : "fp8 e4m3") +
           (perChannel ? std::string(" per-channel") : " g" + std::to_string(block));
  }
  if (auto token = operand.getDefiningOp<QuantizePerTokenOp>())
    return "int" + std::to_string(token.getBits()) + " per-token";
  auto element = getElementTypeOrSelf(operand.getType());
  auto q = dyn_cast<mlir::quant::QuantizedType>(element);
  if (!q)
    return "float";
  std::string text = (q.isSigned() ? "int" : "uint") +
                     std::to_string(q.getStorageTypeIntegralWidth());
  if (auto sub = dyn_cast<mlir::quant::UniformQuantizedSubChannelType>(q)) {
    int64_t block = 1;
    for (int64_t b : sub.getBlockSizes())
      block = std::max(block, b);
    return text + " g" + std::to_string(block);
  }
  if (isa<mlir::quant::UniformQuantizedPerAxisType>(q))
    return text + " per-channel";
  return text + " per-tensor";
}

std::string formatDb(double db) {
  if (std::isinf(db))
    return "exact";
  return llvm::formatv("{0:F1}", db).str();
}
} // namespace

LogicalResult mlir::qc::writeAccuracyReport(ModuleOp floatModule,
                                            ModuleOp quantModule,
                                            const CompileOptions &options) {
  auto output = [](Operation *op) { return op->getResult(0); };
  Probe reference, quantized;
  if (failed(reference.build(floatModule, options, "report", output)) ||
      failed(quantized.build(quantModule, options, "report", output)))
    return failure();
  FailureOr<std::vector<std::vector<std::string>>> sets =
      findCalibrationSets(floatModule, options.calibDir, reference.inputNames);
  if (failed(sets))
    return failure();
  std::vector<Agreement> outputs(reference.numOutputs);
  std::map<int64_t, Agreement> layers;
  for (const std::vector<std::string> &set : *sets) {
    std::vector<::quant::Tensor> r, q;
    if (failed(reference.run(floatModule, set, r)) ||
        failed(quantized.run(quantModule, set, q)))
      return failure();
    for (size_t i = 0; i < reference.numOutputs; ++i)
      accumulate(outputs[i], r[i], q[i], /*top1=*/true);
    for (size_t t = 0; t < reference.taps.size(); ++t)
      accumulate(layers[reference.taps[t].first], r[reference.numOutputs + t],
                 q[quantized.numOutputs + t],
                 /*top1=*/false);
  }

  // Names and formats from the quantized module.
  struct Layer {
    std::string node, weights, activations;
    double weightError = -1;
    /// From qc-assign-precision: the chosen format's sensitivity.
    double sensitivity = -1;
  };
  std::map<int64_t, Layer> info;
  quantModule.walk([&](Operation *op) {
    auto id = op->getAttrOfType<IntegerAttr>(kCalibIdAttr);
    if (!id)
      return;
    Layer &l = info[id.getInt()];
    l.node = getNodeName(op->getLoc());
    l.weights = describe(op->getOperand(1));
    l.activations = describe(op->getOperand(0));
    if (auto e = op->getAttrOfType<FloatAttr>(kWeightErrorAttr))
      l.weightError = e.getValueAsDouble();
    if (auto e = op->getAttrOfType<FloatAttr>(kSensitivityAttr))
      l.sensitivity = e.getValueAsDouble();
  });
  auto precision = quantModule->getAttrOfType<DictionaryAttr>(kPrecisionAttr);
  FailureOr<ModelSignature> signature = getModelSignature(floatModule);
  if (failed(signature))
    return failure();

  std::string settings =
      "weights " +
      (options.mixedPrecision
           ? "mixed precision (" + options.precisionCandidates + "; " +
                 options.weightMethod + ")"
       : options.weightBits
           ? (options.weightFloatFormat.empty()
                  ? (options.weightSymmetric ? "int" : "uint") +
                        std::to_string(options.weightBits)
                  : options.weightFloatFormat) +
                 (options.weightGroup && options.weightFloatFormat != "mxfp4" && options.weightFloatFormat != "nvfp4"
                      ? " g" + std::to_string(options.weightGroup)
                      : std::string(" per-channel")) +
                 " (" + options.weightMethod + ")"
           : std::string("float")) +
      ", activations " +
      (options.activationBits ? (options.activationSymmetric ? "int" : "uint") +
                                    std::to_string(options.activationBits) +
                                    (options.activationPerToken
                                         ? std::string(" per-token (dynamic)")
                                         : " per-tensor (" +
                                               options.calibMethod + ")")
                              : std::string("float")) +
      "; " + std::to_string(sets->size()) + " calibration sets from " +
      options.calibDir;

  std::string md;
  llvm::raw_string_ostream os(md);
  os << "# Quantization report\n\n"
     << settings << ".\n\n"
     << "SQNR: 10·log10(Σ float² / Σ (quantized − float)²) over the "
        "calibration sets, in dB (higher is better; every 6 dB is about one "
        "bit). Layer SQNRs are measured inside the whole quantized model, so "
        "they include the error of the layers before.\n\n"
     ;
  llvm::json::Object jsonPrecision;
  if (precision) {
    auto number = [&](llvm::StringRef key) {
      if (auto f = precision.getAs<FloatAttr>(key))
        return f.getValueAsDouble();
      if (auto i = precision.getAs<IntegerAttr>(key))
        return double(i.getInt());
      return 0.0;
    };
    auto flag = [&](llvm::StringRef key) {
      auto b = precision.getAs<BoolAttr>(key);
      return b && b.getValue();
    };
    double weights = number("weights");
    os << "## Mixed precision\n\nqc-assign-precision chose each layer's "
          "weight format minimising Σ sensitivity (the layer's output "
       << "noise-to-signal ratio, "
       << (flag("hessian") ? "weighted by the calibration Hessians' diagonals"
                           : "unweighted: no calibration Hessians")
       << ") under the budget: ";
    if (precision.get("budget_us"))
      os << llvm::formatv("{0:F1}", number("latency_us"))
         << " µs modelled time of a budget of "
         << llvm::formatv("{0:F1}", number("budget_us")) << " µs ("
         << llvm::formatv("{0:F3}", number("bits") / weights)
         << " bits per weight)";
    else
      os << llvm::formatv("{0:F3}", number("bits") / weights)
         << " bits per weight of a budget of "
         << llvm::formatv("{0:F3}", number("budget_bits") / weights) << " ("
         << int64_t(number("bits") / 8) << " bytes; modelled time "
         << llvm::formatv("{0:F1}", number("latency_us")) << " µs)";
    os << ", objective "
       << llvm::formatv("{0:E3}", number("objective")) << ", "
       << (flag("exact") ? "exact" : "on a coarsened budget") << ".\n\n";
    jsonPrecision = llvm::json::Object{
        {"objective", number("objective")},
        {"bits_per_weight", number("bits") / weights},
        {"budget_bits_per_weight", number("budget_bits") / weights},
        {"latency_us", number("latency_us")},
        {"budget_us", number("budget_us")},
        {"exact", flag("exact")}};
  }
  os << "## Model outputs\n\n| output | SQNR (dB) | top-1 agreement |\n"
     << "|---|---|---|\n";
  llvm::json::Array jsonOutputs, jsonLayers;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Agreement &a = outputs[i];
    std::string name = signature->outputs[i].name;
    std::string top1 = "—";
    if (a.rows > 0)
      top1 =
          llvm::formatv("{0:F2}% ({1} rows)", 100.0 * a.agree / a.rows, a.rows)
              .str();
    os << "| " << name << " | " << formatDb(a.sqnr()) << " | " << top1
       << " |\n";
    llvm::json::Object o{{"name", name}, {"sqnr_db", a.sqnr()}};
    if (a.rows > 0)
      o["top1_agreement"] = double(a.agree) / a.rows;
    jsonOutputs.push_back(std::move(o));
  }
  os << "\n## Layers (model order)\n\n| node | weights | activations | "
        "weight error (relative L2) | output SQNR (dB) |"
     << (precision ? " sensitivity |\n|---|---|---|---|---|---|\n"
                   : "\n|---|---|---|---|---|\n");
  for (auto &[id, l] : info) {
    const Agreement &a = layers[id];
    std::string err = l.weightError >= 0
                          ? llvm::formatv("{0:F4}", l.weightError).str()
                          : std::string("—");
    os << "| " << (l.node.empty() ? "#" + std::to_string(id) : l.node) << " | "
       << l.weights << " | " << l.activations << " | " << err << " | "
       << formatDb(a.sqnr()) << " |";
    if (precision)
      os << " "
         << (l.sensitivity >= 0 ? llvm::formatv("{0:E3}", l.sensitivity).str()
                                : std::string("—"))
         << " |";
    os << "\n";
    llvm::json::Object o{{"node", l.node},
                         {"weights", l.weights},
                         {"activations", l.activations},
                         {"output_sqnr_db", a.sqnr()}};
    if (l.weightError >= 0)
      o["weight_error"] = l.weightError;
    if (l.sensitivity >= 0)
      o["sensitivity"] = l.sensitivity;
    jsonLayers.push_back(std::move(o));
  }

  auto write = [&](const std::string &path, const std::string &text) {
    std::error_code ec;
    llvm::raw_fd_ostream file(path, ec);
    if (ec)
      return failure();
    file << text;
    return success();
  };
  const std::string &jsonPath = options.reportJsonPath;
  std::string json;
  llvm::raw_string_ostream js(json);
  js << llvm::formatv("{0:2}", llvm::json::Value(llvm::json::Object{
                                   {"settings", settings},
                                   {"mixed_precision",
                                    precision ? llvm::json::Value(
                                                    std::move(jsonPrecision))
                                              : llvm::json::Value(nullptr)},
                                   {"outputs", std::move(jsonOutputs)},
                                   {"layers", std::move(jsonLayers)}}));
  js << "\n";
  if (failed(write(options.reportPath, md)) || failed(write(jsonPath, json)))
    return floatModule.emitError("cannot write the report to '")
           << options.reportPath << "'";
  return success();
}
