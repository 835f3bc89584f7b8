//===- AssignPrecision.cpp - mixed precision: a weight format per layer ---===//
//
// See the pass description in include/qc/Dialect/QC/Transforms/Passes.td.
// The pass measures each candidate format on each layer (quantize by RTN,
// numerics::layerSensitivity), solves the multiple-choice knapsack
// (numerics::solveMultipleChoiceKnapsack) and records the choice as
// `qc.weight_format` for qc-quantize-weights. It changes no weight itself.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/Passes.h"
#include "qc/Dialect/QC/Transforms/Quantization.h"
#include "qc/Numerics/MixedPrecision.h"
#include "qc/Numerics/WeightQuantizer.h"

#include <cmath>

namespace mlir::qc {
#define GEN_PASS_DEF_ASSIGNPRECISION
#include "qc/Dialect/QC/Transforms/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

namespace {

/// dequant(quant(W)) of `rows` [n, k] by round to nearest in `format`.
numerics::Result<std::vector<float>>
roundTrip(const std::vector<float> &rows, int64_t n, int64_t k,
          const numerics::WeightFormat &format) {
  using R = numerics::Result<std::vector<float>>;
  if (format.kind == "float")
    return rows;
  if (format.kind == "int") {
    numerics::WeightQuantConfig config;
    config.spec.bits = format.bits;
    config.spec.symmetric = format.symmetric;
    config.groupSize = format.group;
    auto q = numerics::quantizeWeightRTN(rows.data(), n, k, config);
    if (!q)
      return R::failure(q.error());
    return q->dequantized;
  }
  numerics::FloatWeightFormat kind = numerics::floatWeightFormat(format.kind);
  auto q = numerics::quantizeWeightFloat(rows.data(), n, k, kind, format.group);
  if (!q)
    return R::failure(q.error());
  return q->dequantized;
}

/// Whether qc-quantize-weights can put `format` on `layer`: matmuls take
/// every format whose group divides K; convolutions one scale per filter in
/// an integer or fp8 format.
bool applies(Operation *layer, const numerics::WeightFormat &format,
             int64_t k) {
  if (!numerics::formatFits(format, k))
    return false;
  if (isa<MatMulOp>(layer))
    return true;
  return format.kind == "float" ||
         (format.group == 0 && format.kind != "mxfp4" && format.kind != "nvfp4");
}

struct AssignPrecisionPass
    : public qc::impl::AssignPrecisionBase<AssignPrecisionPass> {
  using AssignPrecisionBase::AssignPrecisionBase;
  const WeightCalibration *calibration = nullptr;

  void runOnOperation() override {
    Operation *root = getOperation();
    auto fail = [&](const Twine &message) {
      root->emitError() << "qc-assign-precision: " << message;
      signalPassFailure();
    };
    numerics::Result<std::vector<numerics::WeightFormat>> formats =
        numerics::parseWeightFormats(candidates);
    if (!formats)
      return fail("candidates: " + formats.error());
    if ((avgBits > 0) + (sizeBudget > 0) + (latencyBudget > 0) != 1)
      return fail("give exactly one budget: avg-bits (bits per weight, "
                  "scales included), size-budget (bytes) or latency-budget "
                  "(microseconds)");
    bool byLatency = latencyBudget > 0;
    numerics::KernelCostModel costModel = numerics::defaultCpuCostModel();
    // Overrides: "regex=format;...", the first match wins.
    SmallVector<std::pair<llvm::Regex, numerics::WeightFormat>> fixed;
    SmallVector<StringRef> entries;
    StringRef(overrides).split(entries, ';', -1, /*KeepEmpty=*/false);
    for (StringRef entry : entries) {
      auto [pattern, name] = entry.rsplit('=');
      numerics::Result<numerics::WeightFormat> f =
          numerics::parseWeightFormat(name.trim().str());
      llvm::Regex regex(("^(" + pattern.trim() + ")$").str());
      std::string error;
      if (!entry.contains('=') || !f)
        return fail("override '" + entry + "': expected REGEX=FORMAT" +
                    (f ? std::string() : ": " + f.error()));
      if (!regex.isValid(error))
        return fail("override '" + entry + "': " + error);
      fixed.emplace_back(std::move(regex), *f);
    }
    KeepFloat keep;
    if (failed(keep.init(root, "qc-assign-precision", keepFloat)))
      return signalPassFailure();

    // Per layer, the formats it may take and what each costs.
    struct Layer {
      Operation *op;
      SmallVector<numerics::WeightFormat> formats;
    };
    SmallVector<Layer> layers;
    std::vector<std::vector<numerics::KnapsackChoice>> choices;
    // Per layer and choice, the storage bits and the modelled latency (ns);
    // the knapsack's size is whichever the budget counts.
    std::vector<std::vector<std::pair<int64_t, double>>> measures;
    int64_t weights = 0;
    WalkResult walk = root->walk([&](Operation *op) {
      if (!isQuantizableLayer(op))
        return WalkResult::advance();
      int64_t n, k;
      std::optional<std::vector<float>> rows = readWeightRows(op, n, k);
      if (!rows)
        return WalkResult::advance();
      Layer layer{op, {}};
      std::string name = getNodeName(op->getLoc());
      numerics::WeightFormat floatFormat = *numerics::parseWeightFormat("float");
      if (keep.matches(op)) {
        layer.formats.push_back(floatFormat);
      } else if (auto it = llvm::find_if(
                     fixed, [&](auto &o) { return o.first.match(name); });
                 it != fixed.end()) {
        if (!applies(op, it->second, k)) {
          op->emitError() << "qc-assign-precision: override format '"
                          << numerics::formatName(it->second)
                          << "' does not apply to node '" << name
                          << "' (K = " << k << ")";
          return WalkResult::interrupt();
        }
        layer.formats.push_back(it->second);
      } else {
        for (const numerics::WeightFormat &f : *formats)
          if (applies(op, f, k))
            layer.formats.push_back(f);
        if (layer.formats.empty()) {
          op->emitError() << "qc-assign-precision: no candidate format "
                             "applies to node '"
                          << name << "' (K = " << k
                          << "); add one whose group divides K, or float";
          return WalkResult::interrupt();
        }
      }
      const double *diag = hessianDiagonal(op, k);
      // The layer's output energy, against which its error is measured.
      std::vector<float> zeros(rows->size(), 0.0f);
      double energy =
          numerics::layerSensitivity(rows->data(), zeros.data(), n, k, diag);
      if (!(energy > 0))
        energy = 1;
      std::vector<numerics::KnapsackChoice> options;
      std::vector<std::pair<int64_t, double>> measure;
      int64_t m = rowsPerCall(op);
      for (const numerics::WeightFormat &f : layer.formats) {
        numerics::Result<std::vector<float>> q = roundTrip(*rows, n, k, f);
        if (!q) {
          op->emitError() << "qc-assign-precision: node '" << name << "' in "
                          << numerics::formatName(f) << ": " << q.error();
          return WalkResult::interrupt();
        }
        int64_t bits = numerics::weightStorageBits(f, k, n);
        double ns = numerics::layerLatencyNs(f, m, n, k, costModel);
        measure.push_back({bits, ns});
        options.push_back({numerics::layerSensitivity(rows->data(), q->data(),
                                                      n, k, diag) /
                               energy,
                           byLatency ? int64_t(std::ceil(ns)) : bits});
      }
      weights += n * k;
      measures.push_back(std::move(measure));
      choices.push_back(std::move(options));
      layers.push_back(std::move(layer));
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();
    if (layers.empty())
      return;
    int64_t budget = byLatency    ? int64_t(double(latencyBudget) * 1000.0)
                     : avgBits > 0 ? int64_t(double(avgBits) * double(weights))
                                   : int64_t(sizeBudget) * 8;
    numerics::Result<numerics::KnapsackSolution> solution =
        numerics::solveMultipleChoiceKnapsack(choices, budget);
    if (!solution)
      return fail(solution.error());
    MLIRContext *ctx = &getContext();
    Builder b(ctx);
    int64_t totalBits = 0;
    double totalNs = 0;
    for (size_t l = 0; l < layers.size(); ++l) {
      int64_t i = solution->choice[l];
      totalBits += measures[l][i].first;
      totalNs += measures[l][i].second;
      layers[l].op->setAttr(
          kWeightFormatAttr,
          b.getStringAttr(numerics::formatName(layers[l].formats[i])));
      layers[l].op->setAttr(kSensitivityAttr,
                            b.getF64FloatAttr(choices[l][i].cost));
    }
    root->setAttr(
        kPrecisionAttr,
        b.getDictionaryAttr({
            b.getNamedAttr("objective", b.getF64FloatAttr(solution->cost)),
            b.getNamedAttr("bits", b.getI64IntegerAttr(totalBits)),
            b.getNamedAttr("latency_us", b.getF64FloatAttr(totalNs / 1000)),
            b.getNamedAttr(byLatency ? "budget_us" : "budget_bits",
                           byLatency
                               ? Attribute(b.getF64FloatAttr(latencyBudget))
                               : Attribute(b.getI64IntegerAttr(budget))),
            b.getNamedAttr("weights", b.getI64IntegerAttr(weights)),
            b.getNamedAttr("exact", b.getBoolAttr(solution->exact)),
            b.getNamedAttr("hessian", b.getBoolAttr(!diagonals.empty())),
        }));
  }

  /// The rows of activations one call multiplies by the layer's weight (m
  /// of the latency model): the lhs's elements over its last dimension for
  /// a matmul, the output positions (batch × spatial) for a convolution;
  /// dynamic dimensions count 1.
  static int64_t rowsPerCall(Operation *op) {
    auto type = cast<RankedTensorType>(
        isa<MatMulOp>(op) ? op->getOperand(0).getType()
                          : op->getResult(0).getType());
    int64_t rows = 1;
    for (int64_t d = 0; d < type.getRank(); ++d) {
      bool skip = isa<MatMulOp>(op) ? d == type.getRank() - 1 : d == 1;
      if (!skip && !type.isDynamicDim(d))
        rows *= type.getDimSize(d);
    }
    return rows;
  }

  /// The diagonal of the layer's calibrated Hessian (k values), or null.
  const double *hessianDiagonal(Operation *op, int64_t k) {
    const std::vector<double> *hessian =
        calibration ? calibration->findHessian(op, k) : nullptr;
    if (!hessian)
      return nullptr;
    std::vector<double> &diag = diagonals[op];
    diag.resize(k);
    for (int64_t i = 0; i < k; ++i)
      diag[i] = (*hessian)[i * k + i];
    return diag.data();
  }
  llvm::DenseMap<Operation *, std::vector<double>> diagonals;
};
} // namespace

std::unique_ptr<Pass>
mlir::qc::createAssignPrecisionPass(const AssignPrecisionOptions &options,
                                    const WeightCalibration *calibration) {
  auto pass = std::make_unique<AssignPrecisionPass>(options);
  pass->calibration = calibration;
  return pass;
}
