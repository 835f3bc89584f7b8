//===- Probe.cpp - a model with extra outputs, compiled and loaded --------===//

#include "Probe.h"

#include "qc/Dialect/QC/Transforms/Quantization.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::qc;

namespace {
bool isFile(const std::string &path) {
  return llvm::sys::fs::is_regular_file(path);
}
} // namespace

FailureOr<std::vector<std::vector<std::string>>>
mlir::qc::findCalibrationSets(ModuleOp module, const std::string &dir,
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

Probe::~Probe() {
  if (!dir.empty())
    (void)llvm::sys::fs::remove_directories(dir);
}

LogicalResult Probe::build(ModuleOp module, const CompileOptions &options,
                           llvm::StringRef purpose,
                           llvm::function_ref<Value(Operation *)> tapOf) {
  OwningOpRef<ModuleOp> probe(module.clone());
  MLIRContext *ctx = probe->getContext();
  auto main = probe->lookupSymbol<func::FuncOp>("main");
  if (!main)
    return module.emitError("the module has no func.func @main");
  auto ret = cast<func::ReturnOp>(main.getBody().back().getTerminator());
  SmallVector<Value> results(ret.getOperands());
  SmallVector<Type> resultTypes(main.getFunctionType().getResults());
  numOutputs = resultTypes.size();
  SmallVector<DictionaryAttr> resultAttrs;
  for (unsigned i = 0; i < resultTypes.size(); ++i)
    resultAttrs.push_back(main.getResultAttrDict(i) ? main.getResultAttrDict(i)
                                                    : DictionaryAttr::get(ctx));
  WalkResult walk = probe->walk([&](Operation *op) {
    auto id = op->getAttrOfType<IntegerAttr>(kCalibIdAttr);
    if (!id)
      return WalkResult::advance();
    Value tap = tapOf(op);
    auto type = cast<RankedTensorType>(tap.getType());
    if (!type.hasStaticShape() || !type.getElementType().isF32()) {
      op->emitError() << purpose << " needs static f32 shapes; this layer's "
                     << "value is " << type
                     << " (fix the inputs' shapes with --input-shape)";
      return WalkResult::interrupt();
    }
    taps.push_back({id.getInt(), type});
    results.push_back(tap);
    resultTypes.push_back(type);
    resultAttrs.push_back(DictionaryAttr::get(
        ctx,
        {NamedAttribute(
            StringAttr::get(ctx, "onnx.name"),
            StringAttr::get(ctx, "__tap_" + std::to_string(id.getInt())))}));
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  ret->setOperands(results);
  main.setType(
      FunctionType::get(ctx, main.getFunctionType().getInputs(), resultTypes));
  main.setAllResultAttrs(resultAttrs);

  FailureOr<ModelSignature> signature = getModelSignature(*probe);
  if (failed(signature))
    return failure();
  for (const TensorSignature &t : signature->inputs)
    inputNames.push_back(t.name);

  if (std::error_code ec =
          llvm::sys::fs::createUniqueDirectory("quant-" + purpose.str(), dir))
    return module.emitError() << purpose << ": cannot create a temporary "
                              << "directory: " << ec.message();
  CompileOptions probeOptions = options;
  probeOptions.name = "probe";
  probeOptions.emit = EmitKind::Object;
  // Calibration runs on the host CPU whatever the target.
  probeOptions.gpuChips.clear();
  // `module` still needs its weights after the probe is compiled.
  probeOptions.releasePackedSources = false;
  probeOptions.weightsFile = (dir + "/probe.weights").str();
  std::string object = (dir + "/probe.o").str();
  std::string library = (dir + "/libprobe.so").str();
  if (failed(lowerToLLVMDialect(*probe, *signature, probeOptions)))
    return failure();
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(object, ec);
    if (ec)
      return module.emitError()
             << purpose << ": cannot write " << object << ": " << ec.message();
    if (failed(emitCode(*probe, probeOptions, os)))
      return failure();
  }
  std::string error;
  if (failed(linkShared(object, library, probeOptions, error)))
    return module.emitError() << purpose << ": " << error;
  if (!model.load(library, "probe",
                  (*probe)->hasAttr("qc.weights_base")
                      ? probeOptions.weightsFile
                      : std::string(),
                  error))
    return module.emitError() << purpose << ": " << error;
  return success();
}

LogicalResult Probe::run(ModuleOp module, const std::vector<std::string> &files,
                         std::vector<::quant::Tensor> &outputs) {
  std::string error;
  std::vector<::quant::Tensor> inputs(files.size());
  for (size_t i = 0; i < files.size(); ++i)
    if (!::quant::readTensorFile(files[i], inputs[i], error))
      return module.emitError("--calib: ") << error;
  if (!model.run(inputs, outputs, error))
    return module.emitError("--calib: set '")
           << files.front() << "': " << error;
  return success();
}
