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

#include "Model.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::qc;

namespace {
bool isFile(const std::string &path) {
  return llvm::sys::fs::is_regular_file(path);
}

/// The input files of each calibration set in `dir`, in input order:
/// DIR/test_data_set_*/input_<i>.pb (ONNX's layout), else one subdirectory
/// per set holding <input name>.npy or .pb, else DIR itself as one such set.
FailureOr<std::vector<std::vector<std::string>>>
findCalibrationSets(ModuleOp module, const std::string &dir,
                    const std::vector<std::string> &inputNames) {
  if (!llvm::sys::fs::is_directory(dir))
    return module.emitError("--calib: '") << dir << "' is not a directory";
  std::vector<std::string> subdirs;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec))
    if (llvm::sys::fs::is_directory(it->path()))
      subdirs.push_back(it->path());
  std::sort(subdirs.begin(), subdirs.end());
  if (subdirs.empty())
    subdirs.push_back(dir);
  std::vector<std::vector<std::string>> sets;
  for (const std::string &set : subdirs) {
    bool onnxLayout =
        llvm::sys::path::filename(set).starts_with("test_data_set_");
    std::vector<std::string> files;
    for (size_t i = 0; i < inputNames.size(); ++i) {
      std::string found;
      if (onnxLayout) {
        std::string f = set + "/input_" + std::to_string(i) + ".pb";
        if (isFile(f))
          found = f;
      } else {
        for (const char *ext : {".npy", ".pb"}) {
          std::string f = set + "/" + inputNames[i] + ext;
          if (found.empty() && isFile(f))
            found = f;
        }
      }
      if (found.empty())
        return module.emitError("--calib: set '")
               << set << "' has no file for input " << i << " '"
               << inputNames[i] << "' (expected "
               << (onnxLayout ? "input_" + std::to_string(i) + ".pb"
                              : inputNames[i] + ".npy or .pb")
               << ")";
      files.push_back(found);
    }
    sets.push_back(std::move(files));
  }
  return sets;
}

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

/// Removes a directory tree when it goes out of scope.
struct TempDir {
  llvm::SmallString<128> path;
  ~TempDir() {
    if (!path.empty())
      (void)llvm::sys::fs::remove_directories(path);
  }
};
} // namespace

LogicalResult mlir::qc::calibrate(ModuleOp module,
                                  const CompileOptions &options,
                                  WeightCalibration &calibration) {
  // Name the matmuls weight quantization will rewrite.
  int64_t next = 0;
  module.walk([&](MatMulOp op) {
    if (hasQuantizableWeight(op))
      op->setAttr(
          kCalibIdAttr,
          IntegerAttr::get(IntegerType::get(op.getContext(), 64), next++));
  });
  if (next == 0)
    return success();

  // The probe: the same model returning each matmul's activation too.
  OwningOpRef<ModuleOp> probe(module.clone());
  auto main = probe->lookupSymbol<func::FuncOp>("main");
  if (!main)
    return module.emitError("the module has no func.func @main");
  auto ret = cast<func::ReturnOp>(main.getBody().back().getTerminator());
  SmallVector<Value> results(ret.getOperands());
  SmallVector<Type> resultTypes(main.getFunctionType().getResults());
  SmallVector<DictionaryAttr> resultAttrs;
  for (unsigned i = 0; i < resultTypes.size(); ++i)
    resultAttrs.push_back(main.getResultAttrDict(i)
                              ? main.getResultAttrDict(i)
                              : DictionaryAttr::get(probe->getContext()));
  std::vector<std::pair<int64_t, int64_t>> taps; // (calib id, K)
  WalkResult walk = probe->walk([&](MatMulOp op) {
    auto id = op->getAttrOfType<IntegerAttr>(kCalibIdAttr);
    if (!id)
      return WalkResult::advance();
    auto type = cast<RankedTensorType>(op.getLhs().getType());
    if (!type.hasStaticShape()) {
      op.emitError("calibration needs static activation shapes; this "
                   "matmul's input is ")
          << type << " (fix the inputs' shapes with --input-shape)";
      return WalkResult::interrupt();
    }
    taps.push_back({id.getInt(), type.getShape().back()});
    results.push_back(op.getLhs());
    resultTypes.push_back(type);
    resultAttrs.push_back(DictionaryAttr::get(
        probe->getContext(),
        {NamedAttribute(
            StringAttr::get(probe->getContext(), "onnx.name"),
            StringAttr::get(probe->getContext(),
                            "__calib_" + std::to_string(id.getInt())))}));
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  ret->setOperands(results);
  main.setType(FunctionType::get(
      probe->getContext(), main.getFunctionType().getInputs(), resultTypes));
  main.setAllResultAttrs(resultAttrs);

  FailureOr<ModelSignature> signature = getModelSignature(*probe);
  if (failed(signature))
    return failure();
  std::vector<std::string> inputNames;
  for (const TensorSignature &t : signature->inputs)
    inputNames.push_back(t.name);
  FailureOr<std::vector<std::vector<std::string>>> sets =
      findCalibrationSets(module, options.calibDir, inputNames);
  if (failed(sets))
    return failure();

  TempDir temp;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueDirectory("quant-calib", temp.path))
    return module.emitError("calibration: cannot create a temporary "
                            "directory: ")
           << ec.message();
  CompileOptions probeOptions = options;
  probeOptions.name = "calib";
  probeOptions.emit = EmitKind::Object;
  probeOptions.weightBits = 0;
  probeOptions.activationBits = 0;
  probeOptions.calibDir.clear();
  probeOptions.weightsFile = (temp.path + "/calib.weights").str();
  std::string object = (temp.path + "/calib.o").str();
  std::string library = (temp.path + "/libcalib.so").str();
  if (failed(lowerToLLVMDialect(*probe, *signature, probeOptions)))
    return failure();
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(object, ec);
    if (ec)
      return module.emitError("calibration: cannot write ")
             << object << ": " << ec.message();
    if (failed(emitCode(*probe, probeOptions, os)))
      return failure();
  }
  std::string error;
  if (failed(linkShared(object, library, options.parallel, error)))
    return module.emitError("calibration: ") << error;
  ::quant::Model model;
  if (!model.load(library, "calib",
                  (*probe)->hasAttr("qc.weights_base")
                      ? probeOptions.weightsFile
                      : std::string(),
                  error))
    return module.emitError("calibration: ") << error;

  bool wantHessians = options.weightMethod == "gptq";
  bool wantRanges = options.activationBits != 0;
  std::map<int64_t, numerics::HessianAccumulator> hessians;
  std::map<int64_t, numerics::HistogramObserver> histograms;
  for (auto [id, k] : taps) {
    if (wantHessians)
      hessians.emplace(id, numerics::HessianAccumulator(k));
    if (wantRanges)
      histograms.emplace(id, numerics::HistogramObserver());
  }
  size_t firstTap = signature->outputs.size() - taps.size();
  bool progress = llvm::sys::Process::StandardErrIsDisplayed();
  for (size_t s = 0; s < sets->size(); ++s) {
    if (progress)
      llvm::errs() << "\rcalibrating: input set " << (s + 1) << " of "
                   << sets->size();
    std::vector<::quant::Tensor> inputs(inputNames.size());
    for (size_t i = 0; i < inputs.size(); ++i)
      if (!::quant::readTensorFile((*sets)[s][i], inputs[i], error))
        return module.emitError("--calib: ") << error;
    std::vector<::quant::Tensor> outputs;
    if (!model.run(inputs, outputs, error))
      return module.emitError("--calib: set '")
             << (*sets)[s].front() << "': " << error;
    for (size_t t = 0; t < taps.size(); ++t) {
      const ::quant::Tensor &x = outputs[firstTap + t];
      int64_t k = taps[t].second;
      const float *data = reinterpret_cast<const float *>(x.bytes.data());
      if (wantHessians)
        hessians.at(taps[t].first).update(data, x.numElements() / k);
      if (wantRanges)
        histograms.at(taps[t].first).update(data, x.numElements());
    }
  }
  if (progress)
    llvm::errs() << "\n";
  for (auto &[id, h] : hessians)
    calibration.hessians[id] = h.hessian();
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
  module.walk([&](MatMulOp op) {
    if (auto id = op->getAttrOfType<IntegerAttr>(kCalibIdAttr)) {
      auto [lo, hi] = ranges.at(id.getInt());
      op->setAttr(kCalibRangeAttr,
                  DenseF32ArrayAttr::get(op.getContext(), {lo, hi}));
    }
  });
  return success();
}
