//===- Compiler.cpp - from an imported module to code ---------------------===//

#include "qc/Compiler/Compiler.h"
#include "qc/Conversion/Passes.h"
#include "qc/Dialect/QC/Transforms/Passes.h"
#include "qc/Dialect/QC/Transforms/Quantization.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/TargetParser/Triple.h"

using namespace mlir;
using namespace mlir::qc;

namespace {

/// ONNX's name and size of an element type the C ABI carries.
std::optional<std::pair<std::string, unsigned>> describeElement(Type type) {
  if (type.isF32())
    return std::make_pair(std::string("float32"), 4u);
  if (type.isF16())
    return std::make_pair(std::string("float16"), 2u);
  if (type.isBF16())
    return std::make_pair(std::string("bfloat16"), 2u);
  if (type.isF64())
    return std::make_pair(std::string("float64"), 8u);
  if (auto i = dyn_cast<IntegerType>(type)) {
    unsigned w = i.getWidth();
    if (w == 1)
      return std::make_pair(std::string("bool"), 1u);
    if (w != 8 && w != 16 && w != 32 && w != 64)
      return std::nullopt;
    return std::make_pair((i.isUnsigned() ? "uint" : "int") + std::to_string(w),
                          w / 8);
  }
  return std::nullopt;
}

FailureOr<TensorSignature> describeTensor(Operation *where, Type type,
                                          DictionaryAttr attrs,
                                          llvm::StringRef fallbackName) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor)
    return where->emitError("unsupported non-tensor entry type ") << type;
  auto element = describeElement(tensor.getElementType());
  if (!element)
    return where->emitError("unsupported element type at the C interface: ")
           << tensor;
  TensorSignature sig;
  sig.name = fallbackName.str();
  if (attrs)
    if (auto name = attrs.getAs<StringAttr>("onnx.name"))
      sig.name = name.str();
  sig.dtype = element->first;
  sig.elementBytes = element->second;
  for (int64_t d : tensor.getShape())
    sig.shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
  return sig;
}

std::string shapeString(const std::vector<int64_t> &shape) {
  if (shape.empty())
    return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += "x";
    s += shape[i] < 0 ? "?" : std::to_string(shape[i]);
  }
  return s;
}

} // namespace

FailureOr<ModelSignature> mlir::qc::getModelSignature(ModuleOp module) {
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (!main)
    return module.emitError("the module has no func.func @main");
  ModelSignature signature;
  FunctionType type = main.getFunctionType();
  for (unsigned i = 0; i < type.getNumInputs(); ++i) {
    FailureOr<TensorSignature> t =
        describeTensor(main, type.getInput(i), main.getArgAttrDict(i),
                       "input" + std::to_string(i));
    if (failed(t))
      return failure();
    signature.inputs.push_back(*t);
  }
  for (unsigned i = 0; i < type.getNumResults(); ++i) {
    FailureOr<TensorSignature> t =
        describeTensor(main, type.getResult(i), main.getResultAttrDict(i),
                       "output" + std::to_string(i));
    if (failed(t))
      return failure();
    for (int64_t d : t->shape)
      if (d < 0)
        return main.emitError("unsupported dynamic dimension in output '")
               << t->name << "' (" << type.getResult(i)
               << "): outputs are allocated by the caller, so their shapes "
                  "must be static; fix the inputs' shapes with --input-shape";
    signature.outputs.push_back(*t);
  }
  return signature;
}

std::string mlir::qc::encodeSignature(const ModelSignature &signature) {
  std::string s;
  auto add = [&](const char *kind, const TensorSignature &t) {
    if (!s.empty())
      s += ";";
    s += std::string(kind) + " " + t.name + " " + t.dtype + " " +
         shapeString(t.shape);
  };
  for (const TensorSignature &t : signature.inputs)
    add("in", t);
  for (const TensorSignature &t : signature.outputs)
    add("out", t);
  return s;
}

std::string mlir::qc::renderHeader(const ModelSignature &signature,
                                   const CompileOptions &options,
                                   llvm::StringRef source,
                                   bool hasWeightsFile) {
  std::string upper = llvm::StringRef(options.name).upper();
  std::string out;
  llvm::raw_string_ostream os(out);
  os << "/* " << options.name << ".h: generated by quant-compile from "
     << llvm::sys::path::filename(source) << ". Do not edit.\n"
     << " *\n"
     << " * int32_t " << options.name
     << "_run(inputs, shapes, outputs) runs the model: inputs[i] and\n"
     << " * outputs[i] point to dense row-major tensors of the types below;\n"
     << " * the caller allocates the outputs. shapes may be NULL unless an\n"
     << " * input has a dynamic dimension (-1 below); then shapes[i] points "
        "to\n"
     << " * input i's dimensions. Returns QUANT_OK, QUANT_ERR_NULL or\n"
     << " * QUANT_ERR_SHAPE" << (options.isCuda() ? " or QUANT_ERR_CUDA" : "")
     << ". Reentrant: calls may run concurrently.\n"
     << (options.isCuda()
             ? " * Runs on a CUDA GPU: inputs and outputs may be host or "
               "device pointers.\n"
               " * Link the object with libquant_cuda.a -ldl -lpthread "
               "(quant_cuda.h);\n"
               " * the CUDA driver is opened at run time.\n"
         : options.parallel
             ? " * Link the object with -lm -lomp; OMP_NUM_THREADS sets the "
               "threads per call.\n"
             : " * Link the object with -lm (single-threaded code).\n")
     << " * Reference: docs/abi.md.\n"
     << " *\n";
  auto describe = [&](const char *kind, size_t i, const TensorSignature &t) {
    os << " *   " << kind << " " << i << " \"" << t.name << "\": " << t.dtype
       << " [";
    for (size_t d = 0; d < t.shape.size(); ++d)
      os << (d ? ", " : "") << t.shape[d];
    os << "]\n";
  };
  os << " * Inputs:\n";
  for (size_t i = 0; i < signature.inputs.size(); ++i)
    describe("input", i, signature.inputs[i]);
  os << " * Outputs:\n";
  for (size_t i = 0; i < signature.outputs.size(); ++i)
    describe("output", i, signature.outputs[i]);
  os << " */\n"
     << "#ifndef QUANT_MODEL_" << upper << "_H\n"
     << "#define QUANT_MODEL_" << upper << "_H\n\n"
     << "#include <stdint.h>\n\n"
     << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
     << "#ifndef QUANT_OK\n"
     << "#define QUANT_OK 0        /* success */\n"
     << "#define QUANT_ERR_NULL 1  /* a required pointer was NULL */\n"
     << "#define QUANT_ERR_SHAPE 2 /* a dimension in shapes does not match */\n"
     << "#endif\n"
     << "#ifndef QUANT_ERR_WEIGHTS\n"
     << "#define QUANT_ERR_WEIGHTS 3 /* the weights file is missing or wrong "
        "*/\n"
     << "#endif\n"
     << (options.isCuda()
             ? "#ifndef QUANT_ERR_CUDA\n"
               "#define QUANT_ERR_CUDA 4 /* a CUDA call failed: "
               "quant_cuda_last_error() says why */\n"
               "#endif\n"
               "const char *quant_cuda_last_error(void);\n"
             : "")
     << "\n"
     << "#define " << upper << "_NUM_INPUTS " << signature.inputs.size() << "\n"
     << "#define " << upper << "_NUM_OUTPUTS " << signature.outputs.size()
     << "\n\n";
  auto macros = [&](const char *kind, size_t i, const TensorSignature &t) {
    std::string prefix = upper + "_" + kind + "_" + std::to_string(i);
    os << "#define " << prefix << "_RANK " << t.shape.size() << "\n";
    os << "#define " << prefix << "_SHAPE {";
    for (size_t d = 0; d < t.shape.size(); ++d)
      os << (d ? ", " : "") << t.shape[d];
    os << "}\n";
    bool isStatic = llvm::all_of(t.shape, [](int64_t d) { return d >= 0; });
    if (isStatic) {
      int64_t n = 1;
      for (int64_t d : t.shape)
        n *= d;
      os << "#define " << prefix << "_ELEMENTS " << n << "\n";
      os << "#define " << prefix << "_BYTES " << n * t.elementBytes << "\n";
    }
  };
  for (size_t i = 0; i < signature.inputs.size(); ++i)
    macros("INPUT", i, signature.inputs[i]);
  for (size_t i = 0; i < signature.outputs.size(); ++i)
    macros("OUTPUT", i, signature.outputs[i]);
  os << "\nint32_t " << options.name
     << "_run(void *const *inputs, const int64_t *const *shapes,\n"
     << "        void *const *outputs);\n\n"
     << (hasWeightsFile
             ? "/* Maps the weights file written by quant-compile "
               "--weights-file; call once\n   before " +
                   options.name +
                   "_run, which returns QUANT_ERR_WEIGHTS "
                   "until then. */\nint32_t " +
                   options.name + "_load_weights(const char *path);\n\n"
             : std::string())
     << (options.isCuda()
             ? std::string()
             : "/* Frees the intermediate buffers the model keeps between "
               "calls (quant-compile\n   --buffer-cache, the default); the "
               "next call allocates them again. */\nvoid " +
                   options.name + "_release_buffers(void);\n\n")
     << "/* \"in NAME DTYPE DIMS;...;out NAME DTYPE DIMS\" (DIMS like 2x?x4). "
        "*/\n"
     << "extern const char " << options.name << "_signature[];\n\n"
     << "#ifdef __cplusplus\n}\n#endif\n\n"
     << "#endif /* QUANT_MODEL_" << upper << "_H */\n";
  return out;
}

namespace {
/// The TargetMachine for --mtriple/--mcpu (native: the host CPU and all its
/// features) at the requested optimisation level; null with `error` set.
std::unique_ptr<llvm::TargetMachine>
createTargetMachine(const mlir::qc::CompileOptions &options,
                    std::string &error) {
  llvm::InitializeAllTargetInfos();
  llvm::InitializeAllTargets();
  llvm::InitializeAllTargetMCs();
  llvm::InitializeAllAsmPrinters();
  // Inline assembly in kernels (the x86 vpdpbusd of the W4A8 kernels).
  llvm::InitializeAllAsmParsers();

  llvm::Triple triple(options.triple.empty()
                          ? llvm::sys::getDefaultTargetTriple()
                          : options.triple);
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target) {
    error = "unknown target triple '" + triple.str() + "': " + error;
    return nullptr;
  }
  std::string cpu = options.cpu;
  std::string features;
  if (cpu == "native") {
    cpu = llvm::sys::getHostCPUName().str();
    llvm::SubtargetFeatures f;
    for (auto &[feature, enabled] : llvm::sys::getHostCPUFeatures())
      f.AddFeature(feature, enabled);
    features = f.getString();
  }
  llvm::CodeGenOptLevel level =
      options.optLevel == 0   ? llvm::CodeGenOptLevel::None
      : options.optLevel == 1 ? llvm::CodeGenOptLevel::Less
      : options.optLevel == 2 ? llvm::CodeGenOptLevel::Default
                              : llvm::CodeGenOptLevel::Aggressive;
  std::unique_ptr<llvm::TargetMachine> machine(
      target->createTargetMachine(triple, cpu, features, llvm::TargetOptions(),
                                  llvm::Reloc::PIC_, std::nullopt, level));
  if (!machine)
    error = "cannot create a target machine for " + triple.str() + " / " + cpu;
  return machine;
}

/// The width of the target's vector registers, which sizes the matmul
/// register blocks: 512 with AVX-512, 256 with AVX2, else 128.
int64_t vectorBits(const llvm::TargetMachine &machine) {
  const llvm::MCSubtargetInfo *info = machine.getMCSubtargetInfo();
  if (!machine.getTargetTriple().isX86())
    return 128;
  if (info->checkFeatures("+avx512f"))
    return 512;
  if (info->checkFeatures("+avx2"))
    return 256;
  return 128;
}

/// The widest int8 dot product of the target: 512 with AVX-512 VNNI and
/// 512-bit vectors, 256 with AVX-VNNI, AVX-512 VNNI on 256-bit vectors, or
/// AVX2 without VNNI (emulated: `hasVnni` says which), else 0.
int64_t dotBits(const llvm::TargetMachine &machine) {
  const llvm::MCSubtargetInfo *info = machine.getMCSubtargetInfo();
  if (!machine.getTargetTriple().isX86())
    return 0;
  bool avx512 = info->checkFeatures("+avx512vnni,+avx512vl");
  if (avx512 && vectorBits(machine) >= 512)
    return 512;
  if (avx512 || info->checkFeatures("+avxvnni") ||
      info->checkFeatures("+avx2"))
    return 256;
  return 0;
}

/// Whether the target's int8 dot product is vpdpbusd.
bool hasVnni(const llvm::TargetMachine &machine) {
  const llvm::MCSubtargetInfo *info = machine.getMCSubtargetInfo();
  return machine.getTargetTriple().isX86() &&
         (info->checkFeatures("+avx512vnni,+avx512vl") ||
          info->checkFeatures("+avxvnni"));
}
} // namespace

LogicalResult mlir::qc::quantizeModel(ModuleOp module,
                                      const CompileOptions &options,
                                      llvm::raw_ostream *pipeline) {
  bool quantize = options.weightBits != 0 || options.activationBits != 0 ||
                  options.mixedPrecision;
  if (!quantize && !options.rotate && !options.smooth)
    return success();
  if (options.smooth && options.calibDir.empty())
    return module.emitError("smoothing needs calibration inputs (the "
                            "per-channel activation maxima)");
  MLIRContext *context = module.getContext();
  // One stage: runs the passes `build` adds, or prints them.
  auto runPasses = [&](llvm::function_ref<void(PassManager &)> build) {
    PassManager pm(context, ModuleOp::getOperationName());
    if (failed(applyPassManagerCLOptions(pm)))
      return failure();
    build(pm);
    if (!pipeline)
      return pm.run(module);
    pm.printAsTextualPipeline(*pipeline);
    *pipeline << "\n";
    return success();
  };
  WeightCalibration calibration;
  auto runCalibration = [&](const CalibrationRequest &request) {
    if (!pipeline)
      return calibrate(module, options, request, calibration);
    SmallVector<std::string> what;
    if (request.channelMax)
      what.push_back("channel-absmax");
    if (request.ranges)
      what.push_back("ranges=" + options.calibMethod);
    if (request.hessians)
      what.push_back("hessians");
    *pipeline << "calibrate{" << llvm::join(what, " ") << "}\n";
    return success();
  };

  // BatchNorm and constant scales go into the weights before anything
  // measures or quantizes them (exact; the lowering runs it again).
  if (failed(runPasses([&](PassManager &pm) { pm.addPass(createFoldScales()); })))
    return failure();
  // Rotation and smoothing come before the calibration of the quantization
  // passes: the statistics must be those of the transformed activations.
  if (options.rotate &&
      failed(runPasses([&](PassManager &pm) {
        pm.addPass(createFoldNorms());
        RotateOptions rotateOptions;
        rotateOptions.seed = options.rotateSeed;
        rotateOptions.rotation = options.rotation;
        pm.addPass(createRotate(rotateOptions));
      })))
    return failure();
  if (options.smooth) {
    CalibrationRequest maxima;
    maxima.channelMax = true;
    if (failed(runCalibration(maxima)) ||
        failed(runPasses([&](PassManager &pm) {
          SmoothOptions smoothOptions;
          smoothOptions.alpha = options.smoothAlpha;
          pm.addPass(createSmooth(smoothOptions));
        })))
      return failure();
  }
  if (!quantize)
    return success();
  // Calibration names the layers for the report even when the passes need
  // no statistics.
  CalibrationRequest needs = quantizationNeeds(options);
  if (!options.calibDir.empty() &&
      (needs.any() || !options.reportPath.empty()) &&
      failed(runCalibration(needs)))
    return failure();
  OwningOpRef<ModuleOp> floatModel;
  if (!options.reportPath.empty() && !pipeline)
    floatModel = module.clone();
  if (failed(runPasses([&](PassManager &pm) {
        if (options.mixedPrecision) {
          AssignPrecisionOptions precision;
          precision.candidates = options.precisionCandidates;
          precision.avgBits = options.avgBits;
          precision.sizeBudget = options.sizeBudget;
          precision.latencyBudget = options.latencyBudget;
          precision.overrides = options.precisionOverrides;
          precision.keepFloat = options.keepFloat;
          pm.addPass(createAssignPrecisionPass(precision, &calibration));
        }
        if (options.weightBits != 0 || options.mixedPrecision) {
          QuantizeWeightsOptions weights;
          weights.bits = options.weightBits ? options.weightBits : 8;
          weights.format = options.weightFloatFormat.empty()
                               ? std::string("int")
                               : options.weightFloatFormat;
          weights.symmetric = options.weightSymmetric;
          weights.group = options.weightGroup;
          weights.method = options.weightMethod;
          weights.keepFloat = options.keepFloat;
          pm.addPass(createQuantizeWeightsPass(weights, &calibration));
        }
        if (options.activationBits != 0) {
          QuantizeActivationsOptions activations;
          activations.bits = options.activationBits;
          activations.symmetric = options.activationSymmetric;
          activations.perToken = options.activationPerToken;
          activations.keepFloat = options.keepFloat;
          pm.addPass(createQuantizeActivations(activations));
        }
      })))
    return failure();
  if (floatModel && failed(writeAccuracyReport(*floatModel, module, options)))
    return failure();
  return success();
}

namespace {
/// The options of qc-lower-to-llvm for a compile, or failure (with `error`)
/// when the target machine cannot be created.
FailureOr<LowerToLLVMOptions> loweringOptions(const CompileOptions &options,
                                              std::string &error) {
  LowerToLLVMOptions lowering;
  lowering.entryName = options.name;
  lowering.parallel = options.parallel;
  lowering.weightsFile = options.weightsFile;
  lowering.weightsThreshold = options.weightsThreshold;
  lowering.cacheBuffers = options.cacheBuffers;
  lowering.mergeSiblings = options.mergeSiblings;
  lowering.releasePackedSources = options.releasePackedSources;
  std::unique_ptr<llvm::TargetMachine> machine =
      createTargetMachine(options, error);
  if (!machine)
    return failure();
  lowering.vectorBits = vectorBits(*machine);
  lowering.dotBits = dotBits(*machine);
  lowering.vnni = hasVnni(*machine);
  return lowering;
}

LowerToCUDAOptions cudaLoweringOptions(const CompileOptions &options) {
  LowerToCUDAOptions lowering;
  lowering.entryName = options.name;
  lowering.chips.assign(options.gpuChips.begin(), options.gpuChips.end());
  lowering.ptxas = options.ptxas;
  lowering.libdevice = options.libdevice;
  if (options.gpuMmaMinRows > 0) {
    lowering.mmaMinRows = options.gpuMmaMinRows;
    lowering.packedMmaMinRows = options.gpuMmaMinRows;
  }
  if (options.gpuMmaColTiles > 0)
    lowering.packedMmaColTiles = options.gpuMmaColTiles;
  if (options.gpuMmaRowTiles > 0)
    lowering.packedMmaRowTiles = options.gpuMmaRowTiles;
  if (options.gpuMmaWarps > 0)
    lowering.packedMmaWarps = options.gpuMmaWarps;
  if (options.gpuWeightPrefetchMiB >= 0)
    lowering.weightPrefetchMiB = options.gpuWeightPrefetchMiB;
  lowering.f16Products = options.gpuF16Products;
  lowering.mergeSiblings = options.mergeSiblings;
  lowering.weightsFile = options.weightsFile;
  lowering.weightsThreshold = options.weightsThreshold;
  lowering.optLevel = std::max(options.optLevel, 1u);
  lowering.stopAtPTX = options.emit == EmitKind::PTX;
  return lowering;
}
} // namespace

void mlir::qc::printLoweringPipeline(MLIRContext *context,
                                     const CompileOptions &options,
                                     llvm::raw_ostream &os) {
  std::string error;
  PassManager pm(context, ModuleOp::getOperationName());
  if (options.isCuda()) {
    buildLowerToCUDAPipeline(pm, cudaLoweringOptions(options));
  } else {
    FailureOr<LowerToLLVMOptions> lowering = loweringOptions(options, error);
    if (failed(lowering)) {
      os << "(no lowering: " << error << ")\n";
      return;
    }
    buildLowerToLLVMPipeline(pm, *lowering);
  }
  pm.printAsTextualPipeline(os);
  os << "\n";
}

LogicalResult mlir::qc::lowerToLLVMDialect(ModuleOp module,
                                           const ModelSignature &signature,
                                           const CompileOptions &options) {
  PassManager pm(module.getContext());
  if (failed(applyPassManagerCLOptions(pm)))
    return failure();
  std::string error;
  if (options.isCuda()) {
    buildLowerToCUDAPipeline(pm, cudaLoweringOptions(options));
  } else {
    FailureOr<LowerToLLVMOptions> lowering = loweringOptions(options, error);
    if (failed(lowering))
      return module.emitError(error);
    buildLowerToLLVMPipeline(pm, *lowering);
  }
  if (failed(pm.run(module)))
    return failure();
  // The signature string, so that a loader can check what it feeds.
  OpBuilder b(module.getBodyRegion());
  std::string text = encodeSignature(signature);
  text.push_back('\0');
  auto type = LLVM::LLVMArrayType::get(b.getI8Type(), text.size());
  LLVM::GlobalOp::create(b, module.getLoc(), type, /*isConstant=*/true,
                         LLVM::Linkage::External, options.name + "_signature",
                         b.getStringAttr(text));
  return success();
}

LogicalResult mlir::qc::emitCode(ModuleOp module, const CompileOptions &options,
                                 llvm::raw_pwrite_stream &os) {
  MLIRContext *ctx = module.getContext();
  DialectRegistry registry;
  // Builtin, LLVM, OpenMP and, for --target=cuda, gpu.binary and
  // gpu.launch_func.
  registerAllToLLVMIRTranslations(registry);
  ctx->appendDialectRegistry(registry);

  std::string error;
  std::unique_ptr<llvm::TargetMachine> machine =
      createTargetMachine(options, error);
  if (!machine)
    return module.emitError(error);
  const llvm::Triple &triple = machine->getTargetTriple();

  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext, "quant_model");
  if (!llvmModule)
    return module.emitError("translation to LLVM IR failed");
  llvmModule->setTargetTriple(triple);
  llvmModule->setDataLayout(machine->createDataLayout());
  // Only <name>_* is exported: helpers that upstream lowerings add with
  // external linkage (the deallocation pipeline's dealloc_helper) would
  // clash between two models linked into one program.
  std::string exported = options.name + "_";
  for (llvm::GlobalValue &value : llvmModule->global_values())
    if (!value.isDeclaration() && value.hasExternalLinkage() &&
        !StringRef(value.getName()).starts_with(exported))
      value.setLinkage(llvm::GlobalValue::InternalLinkage);
  auto optimize = makeOptimizingTransformer(options.optLevel, 0, machine.get());
  if (llvm::Error err = optimize(llvmModule.get()))
    return module.emitError("LLVM optimisation failed: ")
           << llvm::toString(std::move(err));

  if (options.emit == EmitKind::LLVM) {
    llvmModule->print(os, nullptr);
    return success();
  }
  llvm::legacy::PassManager codegen;
  llvm::CodeGenFileType fileType = options.emit == EmitKind::Asm
                                       ? llvm::CodeGenFileType::AssemblyFile
                                       : llvm::CodeGenFileType::ObjectFile;
  if (machine->addPassesToEmitFile(codegen, os, nullptr, fileType))
    return module.emitError("the target cannot emit this file type");
  codegen.run(*llvmModule);
  return success();
}

LogicalResult mlir::qc::emitPTX(ModuleOp module, llvm::raw_ostream &os) {
  bool any = false;
  WalkResult result = module.walk([&](gpu::BinaryOp binary) {
    for (Attribute attr : binary.getObjects()) {
      auto object = cast<gpu::ObjectAttr>(attr);
      if (object.getFormat() != gpu::CompilationTarget::Assembly) {
        binary.emitError("expected PTX objects");
        return WalkResult::interrupt();
      }
      os << object.getObject().getValue();
      any = true;
    }
    return WalkResult::advance();
  });
  if (result.wasInterrupted())
    return failure();
  if (!any)
    os << "// no GPU kernels\n";
  return success();
}

std::string mlir::qc::cudaRuntimeArchive() {
  std::string self = llvm::sys::fs::getMainExecutable(
      nullptr, reinterpret_cast<void *>(&mlir::qc::cudaRuntimeArchive));
  llvm::SmallString<256> path(llvm::sys::path::parent_path(
      llvm::sys::path::parent_path(self)));
  llvm::sys::path::append(path, "lib", "libquant_cuda.a");
  return path.str().str();
}

LogicalResult mlir::qc::linkShared(llvm::StringRef object,
                                   llvm::StringRef output,
                                   const CompileOptions &options,
                                   std::string &error) {
  bool parallel = options.parallel && !options.isCuda();
  std::string runtime;
  if (options.isCuda()) {
    runtime = cudaRuntimeArchive();
    if (!llvm::sys::fs::exists(runtime)) {
      error = "the CUDA runtime " + runtime +
              " is missing (build the quant_cuda target)";
      return failure();
    }
  }
  llvm::ErrorOr<std::string> driver = llvm::sys::findProgramByName("cc");
  for (const char *alternative : {"gcc", "clang"})
    if (!driver)
      driver = llvm::sys::findProgramByName(alternative);
  if (!driver) {
    error = "--emit=shared needs a C compiler driver (cc, gcc or clang) on "
            "PATH to link; none was found";
    return failure();
  }
  llvm::SmallVector<llvm::StringRef> args = {*driver, "-shared", "-o",
                                             output,  object,    "-lm"};
  if (parallel)
    args.push_back("-lomp");
  if (!runtime.empty()) {
    args.push_back(runtime);
    args.push_back("-ldl");
    args.push_back("-lpthread");
  }
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(*driver, args, std::nullopt, {}, 0, 0,
                                     &message);
  if (rc != 0) {
    error = "linking the shared library with " + *driver + " failed" +
            (message.empty() ? " (exit code " + std::to_string(rc) + ")"
                             : ": " + message);
    return failure();
  }
  return success();
}
