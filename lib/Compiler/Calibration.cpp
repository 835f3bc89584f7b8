//===- Calibration.cpp - run the float model over calibration inputs ------===//
//
// quant-compile --calib DIR: the float model, with the activation of every
// matmul that weight quantization will rewrite added as an extra output, is
// compiled to a shared library in a temporary directory, loaded with the
// runtime's Model (the same code quant-run uses), and run on each input set;
// the numerics library accumulates the statistics (today: GPTQ's Hessian
// 2XXᵀ/N per matmul). The matmuls are named by a `qc.calib_id` attribute.
//
//===----------------------------------------------------------------------===//

#include "qc/Numerics/Calibration.h"
#include "qc/Compiler/Compiler.h"
#include "qc/Dialect/QC/Transforms/Quantization.h"
#include "qc/Numerics/Histogram.h"
#include "qc/Numerics/QuantParams.h"

#include "Probe.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <set>

using namespace mlir;
using namespace mlir::qc;

namespace {

/// The range an activation is quantized to, from its histogram:
/// minmax: the observed [min, max]; percentile: the central 99.99 %;
/// entropy: ±TensorRT's KL threshold; mse: the range with the least expected
/// squared quantization error for `spec`. Ranges from thresholds are
/// intersected with the observed one (an all-positive input keeps lo >= 0).
std::pair<float, float> activationRange(const numerics::HistogramObserver &h,
                                        const std::string &method,
                                        const numerics::IntQuantSpec &spec,
                                        numerics::IntRange codes) {
  float lo = h.min(), hi = h.max();
  auto clampTo = [&](float t) {
    return std::make_pair(std::max(lo, -t), std::min(hi, t));
  };
  if (method == "percentile")
    return h.percentileRange(99.99);
  if (method == "entropy")
    return clampTo(h.entropyThreshold((codes.qmax - codes.qmin + 1) / 2));
  if (method == "mse")
    return spec.symmetric ? clampTo(h.mseSymmetricThreshold(codes))
                          : h.mseAsymmetricRange(codes);
  return {lo, hi};
}

} // namespace

CalibrationRequest mlir::qc::quantizationNeeds(const CompileOptions &options) {
  CalibrationRequest request;
  if (options.calibDir.empty())
    return request;
  request.hessians =
      (options.weightBits != 0 && options.weightMethod == "gptq") ||
      options.mixedPrecision;
  request.ranges = options.activationBits != 0 && !options.activationPerToken;
  return request;
}

LogicalResult mlir::qc::calibrate(ModuleOp module,
                                  const CompileOptions &options,
                                  const CalibrationRequest &request,
                                  WeightCalibration &calibration) {
  // Name the matmuls weight quantization will rewrite.
  int64_t next = 0;
  std::set<int64_t> matmuls;
  module.walk([&](Operation *op) {
    if (!isQuantizableLayer(op))
      return;
    if (isa<MatMulOp>(op))
      matmuls.insert(next);
    op->setAttr(kCalibIdAttr,
                IntegerAttr::get(IntegerType::get(op->getContext(), 64),
                                 next++));
  });
  if (next == 0)
    return success();

  // The probe: the same model returning each matmul's activation too.
  Probe probe;
  if (failed(probe.build(module, options, "calibration",
                         [](Operation *op) { return op->getOperand(0); })))
    return failure();
  FailureOr<std::vector<std::vector<std::string>>> sets =
      findCalibrationSets(module, options.calibDir, probe.inputNames);
  if (failed(sets))
    return failure();

  bool wantRanges = request.ranges;
  std::map<int64_t, numerics::HessianAccumulator> hessians;
  std::map<int64_t, numerics::HistogramObserver> histograms;
  std::map<int64_t, numerics::ChannelStatsAccumulator> channels;
  for (auto &[id, type] : probe.taps) {
    // GPTQ's Hessian and the channels are over a matmul's reduction axis
    // (the last).
    if (request.hessians && matmuls.count(id))
      hessians.emplace(id,
                       numerics::HessianAccumulator(type.getShape().back()));
    if (request.channelMax && matmuls.count(id))
      channels.emplace(
          id, numerics::ChannelStatsAccumulator(type.getShape().back()));
    if (wantRanges)
      histograms.emplace(id, numerics::HistogramObserver());
  }
  bool progress = llvm::sys::Process::StandardErrIsDisplayed();
  for (size_t s = 0; s < sets->size(); ++s) {
    if (progress)
      llvm::errs() << "\rcalibrating: input set " << (s + 1) << " of "
                   << sets->size();
    std::vector<::quant::Tensor> outputs;
    if (failed(probe.run(module, (*sets)[s], outputs)))
      return failure();
    for (size_t t = 0; t < probe.taps.size(); ++t) {
      const ::quant::Tensor &x = outputs[probe.numOutputs + t];
      int64_t id = probe.taps[t].first;
      const float *data = reinterpret_cast<const float *>(x.bytes.data());
      int64_t rows = x.numElements() / probe.taps[t].second.getShape().back();
      if (hessians.count(id))
        hessians.at(id).update(data, rows);
      if (channels.count(id))
        channels.at(id).update(data, rows);
      if (wantRanges)
        histograms.at(id).update(data, x.numElements());
    }
  }
  if (progress)
    llvm::errs() << "\n";
  for (auto &[id, h] : hessians)
    calibration.hessians[id] = h.hessian();
  if (!channels.empty())
    module.walk([&](Operation *op) {
      auto id = op->getAttrOfType<IntegerAttr>(kCalibIdAttr);
      if (id && channels.count(id.getInt()))
        op->setAttr(kCalibAbsMaxAttr,
                    DenseF32ArrayAttr::get(
                        op->getContext(), channels.at(id.getInt()).absMax()));
    });
  if (!wantRanges)
    return success();
  numerics::IntQuantSpec spec;
  spec.bits = options.activationBits;
  spec.symmetric = options.activationSymmetric;
  numerics::Result<numerics::IntRange> codes = numerics::getIntRange(spec);
  if (!codes)
    return module.emitError("calibration: ") << codes.error();
  std::map<int64_t, std::pair<float, float>> ranges;
  for (auto &[id, h] : histograms)
    ranges[id] = activationRange(h, options.calibMethod, spec, *codes);
  module.walk([&](Operation *op) {
    if (auto id = op->getAttrOfType<IntegerAttr>(kCalibIdAttr)) {
      auto [lo, hi] = ranges.at(id.getInt());
      op->setAttr(kCalibRangeAttr,
                  DenseF32ArrayAttr::get(op->getContext(), {lo, hi}));
    }
  });
  return success();
}
