//===- quant-compile.cpp - ONNX model to object file ----------------------===//
//
//   quant-compile model.onnx -o model.o        # model.o + model.h
//   quant-compile model.onnx --emit=shared -o libmodel.so
//
// Every output is written to a temporary file in the output's directory and
// renamed when everything succeeded, so a failed compile leaves nothing.
//
//===----------------------------------------------------------------------===//

#include "qc/Compiler/Compiler.h"
#include "qc/Conversion/Passes.h"
#include "qc/Import/ONNX.h"
#include "qc/InitAll.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <map>

using namespace mlir;
using namespace mlir::qc;
namespace cl = llvm::cl;

static cl::OptionCategory category("quant-compile options");

static cl::opt<std::string> inputPath(cl::Positional,
                                      cl::desc("<model.onnx|model.onnxtxt|"
                                               "module.mlir>"),
                                      cl::cat(category));
static cl::opt<std::string>
    outputPath("o",
               cl::desc("Output file (default: the model's name with "
                        "the extension of --emit)"),
               cl::value_desc("file"), cl::cat(category));
static cl::opt<EmitKind> emitKind(
    "emit", cl::desc("What to write"), cl::init(EmitKind::Object),
    cl::values(clEnumValN(EmitKind::MLIR, "mlir",
                          "the module lowered to the LLVM dialect (.mlir)"),
               clEnumValN(EmitKind::LLVM, "llvm", "optimised LLVM IR (.ll)"),
               clEnumValN(EmitKind::Asm, "asm", "target assembly (.s)"),
               clEnumValN(EmitKind::Object, "obj",
                          "an object file (.o) and its header (.h)"),
               clEnumValN(EmitKind::Shared, "shared",
                          "a shared library (.so, linked with the system C "
                          "compiler driver) and its header (.h)"),
               clEnumValN(EmitKind::PTX, "ptx",
                          "the GPU kernels as PTX (.ptx; --target=cuda with "
                          "one architecture)")),
    cl::cat(category));
static cl::opt<unsigned> optLevel("O", cl::Prefix,
                                  cl::desc("Optimisation level 0-3 "
                                           "(default 2)"),
                                  cl::init(2), cl::cat(category));
static cl::opt<std::string>
    mcpu("mcpu", cl::desc("Target CPU (default: native, the host's)"),
         cl::init("native"), cl::cat(category));
static cl::opt<std::string>
    mtriple("mtriple", cl::desc("Target triple (default: the host's)"),
            cl::cat(category));
static cl::opt<std::string>
    entryName("name",
              cl::desc("Prefix of the exported symbols <name>_run and "
                       "<name>_signature (default: the output file's stem, "
                       "or the model's for -o -, made a C identifier)"),
              cl::cat(category));
static cl::list<std::string> inputShapes(
    "input-shape",
    cl::desc("Fix the shape of a graph input: NAME=D0,D1,... (repeatable)"),
    cl::value_desc("name=dims"), cl::cat(category));

static cl::opt<std::string> target(
    "target",
    cl::desc("Where the model runs: cpu (default, the host CPU) or "
             "cuda[:ARCH,...] (NVIDIA GPUs; default architectures "
             "sm_90a,sm_80: a cubin per architecture when ptxas is found, "
             "and PTX that newer GPUs compile when the model loads)"),
    cl::init("cpu"), cl::cat(category));
static cl::opt<std::string> ptxasPath(
    "ptxas",
    cl::desc("With --target=cuda: the ptxas that turns PTX into cubins "
             "(default: ptxas on PATH, else /usr/local/cuda/bin/ptxas; "
             "'none': PTX only)"),
    cl::value_desc("path"), cl::cat(category));

static cl::opt<int64_t> cudaMmaMinRows(
    "cuda-mma-min-rows",
    cl::desc("With --target=cuda: int4 (W4A16) and W8A8 matmuls with at "
             "least this many rows (tokens) run on the tensor-core kernels, "
             "fewer on the GEMV mapping (default 2 for int4, 9 for W8A8)"),
    cl::value_desc("rows"), cl::cat(category));

static cl::opt<int64_t> cudaMmaColTiles(
    "cuda-mma-col-tiles",
    cl::desc("With --target=cuda: 8-column tiles per block of the int4 "
             "tensor-core kernel, 1 to 16 (default: 2 up to 8 rows, 4 up "
             "to 16, 8 beyond; more read the activations fewer times over "
             "fewer blocks)"),
    cl::value_desc("tiles"), cl::cat(category));
static cl::opt<int64_t> cudaMmaRowTiles(
    "cuda-mma-row-tiles",
    cl::desc("With --target=cuda: 16-row tiles per block of the int4 "
             "tensor-core kernel, at most, 1 to 8 (default 1; more give "
             "fewer blocks, each reading its rows' activations)"),
    cl::value_desc("tiles"), cl::cat(category));
static cl::opt<int64_t> cudaMmaWarps(
    "cuda-mma-warps",
    cl::desc("With --target=cuda: warps per block of the int4 tensor-core "
             "kernel, splitting K, 1 to 32 (default 8; halved while their "
             "partial sums exceed 48 KiB of shared memory)"),
    cl::value_desc("warps"), cl::cat(category));

static cl::opt<int64_t> cudaWeightPrefetch(
    "cuda-weight-prefetch",
    cl::desc("With --target=cuda: MiB of a GEMV's weights (the start of "
             "each row) that it prefetches into L2 before it waits for the "
             "kernel before it, 0 to 1024 (on sm_90 the dependent launch "
             "lets these reads overlap that kernel; default 0, no "
             "prefetch: not yet measured on a GPU)"),
    cl::value_desc("MiB"), cl::cat(category));

/// The GPU kernels' integer flags: the flag, its range, the field of
/// CompileOptions it sets.
struct CudaIntFlag {
  const char *name;
  cl::opt<int64_t> *value;
  int64_t least, limit;
  int64_t CompileOptions::*field;
};
static const CudaIntFlag cudaIntFlags[] = {
    {"--cuda-mma-col-tiles", &cudaMmaColTiles, 1, 16,
     &CompileOptions::gpuMmaColTiles},
    {"--cuda-mma-row-tiles", &cudaMmaRowTiles, 1, 8,
     &CompileOptions::gpuMmaRowTiles},
    {"--cuda-mma-warps", &cudaMmaWarps, 1, 32, &CompileOptions::gpuMmaWarps},
    {"--cuda-weight-prefetch", &cudaWeightPrefetch, 0, 1024,
     &CompileOptions::gpuWeightPrefetchMiB},
};

static cl::opt<bool> mergeSiblings(
    "merge-siblings",
    cl::desc("Run the matmuls that read the same input with constant "
             "weights (a decoder's q/k/v and gate/up projections) as one "
             "matmul over their stacked weights (qc-merge-siblings; exact). "
             "Default true; =false keeps one matmul (one GPU kernel) each"),
    cl::init(true), cl::cat(category));

static cl::opt<bool> cudaF16Products(
    "cuda-f16-products",
    cl::desc("With --target=cuda: W4A16 products on the GEMV mapping in f16 "
             "pairs (the activations rounded to f16, each 8 codes' products "
             "summed in f16x2; about 1e-3 of the output's range, as the "
             "tensor-core kernel). Default true (on an H100 up to 1.5x "
             "faster than f32 at 28672x8192); =false: f32, exact as on the "
             "CPU"),
    cl::init(true), cl::cat(category));

static cl::opt<bool> parallel(
    "parallel",
    cl::desc("Run matmuls and other large ops on OpenMP threads (default "
             "true; the object "
             "then needs libomp, -lomp; OMP_NUM_THREADS sets the count). "
             "--parallel=false: single-threaded, libm only"),
    cl::init(true), cl::cat(category));

static cl::opt<std::string> weightsFile(
    "weights-file",
    cl::desc("Write constants of at least --weights-threshold bytes to this "
             "file instead of the object; the program loads it with "
             "<name>_load_weights(path), into huge pages (for large models; "
             "with --target=cuda the file stays mapped and the weights are "
             "uploaded from it on first use)"),
    cl::value_desc("file"), cl::cat(category));
static cl::opt<int64_t> weightsThreshold(
    "weights-threshold",
    cl::desc("Smallest constant, in bytes, that --weights-file moves "
             "(default 65536)"),
    cl::init(65536), cl::cat(category));

static cl::opt<bool> bufferCache(
    "buffer-cache",
    cl::desc("Keep intermediate buffers of 4 KiB or more between calls "
             "(default true: no allocation or page faults after the first "
             "call; <name>_release_buffers() frees them). "
             "--buffer-cache=false allocates and frees them on every call"),
    cl::init(true), cl::cat(category));

static cl::list<std::string> constantInputs(
    "constant-input",
    cl::desc("Make a graph input a constant read from an ONNX TensorProto "
             "file: NAME=FILE.pb (repeatable); for shape arguments and "
             "quantization parameters a model takes as inputs"),
    cl::value_desc("name=file"), cl::cat(category));

static cl::opt<std::string> weightFormat(
    "weights",
    cl::desc("Quantize the constant weights of float matmuls (activations stay "
             "float unless --activations): float (default, no quantization), "
             "int8, int4 (symmetric, signed codes), uint8, uint4 "
             "(asymmetric, zero points), fp8 (E4M3FN, scale per channel or "
             "--group), fp8-e5m2 (E5M2, likewise), mxfp4 (E2M1, blocks of "
             "32), nvfp4 (E2M1, blocks of 16); convolutions take the integer "
             "formats and the fp8 ones"),
    cl::value_desc("format"), cl::init("float"), cl::cat(category));
static cl::opt<int64_t> weightGroup(
    "group",
    cl::desc("With --weights: elements per scale along the reduction axis "
             "(default 128; 0: one scale per output channel)"),
    cl::init(128), cl::cat(category));
static cl::opt<std::string> weightMethod(
    "weight-method",
    cl::desc("With --weights: rtn (round to nearest, default), rtn-clip "
             "(per group, the clipped range with the least error) or gptq "
             "(GPTQ with act-order and static groups; needs --calib)"),
    cl::init("rtn"), cl::cat(category));
static cl::opt<std::string> keepFloat(
    "keep-float",
    cl::desc("With --weights: regular expression over ONNX node names "
             "(whole-name match) whose matmuls stay float, e.g. "
             "'lm_head|.*embed.*'"),
    cl::value_desc("regex"), cl::cat(category));

static cl::opt<std::string> activationFormat(
    "activations",
    cl::desc("Quantize the inputs of the weight-quantized layers: float "
             "(default), int8, int4 (symmetric), uint8, uint4 (zero point). "
             "Statically, per tensor, from calibration ranges (needs "
             "--weights and --calib), or with --per-token dynamically (the "
             "layers of --weights, or those the model quantizes itself, e.g. "
             "MatMulNBits); int8 weights and activations compute in int8 x "
             "int8 -> int32 (W8A8), int4 weights with int8 activations in "
             "int8 x int8 -> int32 per group (W4A8)"),
    cl::value_desc("format"), cl::init("float"), cl::cat(category));
static cl::opt<bool> rotate(
    "rotate",
    cl::desc("QuaRot before quantizing: fold the norms' gains into the next "
             "linear layers (qc-fold-norms), rotate the residual stream with "
             "a randomised Hadamard matrix fused into the weights and insert "
             "online Hadamards before the other linear layers (qc-rotate); "
             "the float function is unchanged"),
    cl::init(false), cl::cat(category));
static cl::opt<std::string> smooth(
    "smooth", cl::ValueOptional,
    cl::desc("SmoothQuant before quantizing (qc-smooth): measure each "
             "matmul input's per-channel max |x| on --calib, then move "
             "s = max|x|^alpha / max|w|^(1-alpha) from the activations into "
             "the weights (alpha default 0.5); the float function is "
             "unchanged. --smooth=0.85 sets alpha"),
    cl::value_desc("alpha"), cl::cat(category));
static cl::opt<bool> mixedPrecision(
    "mixed-precision",
    cl::desc("Choose each layer's weight format (qc-assign-precision) from "
             "--candidates, minimising the summed sensitivity (the layers' "
             "expected output error, weighted by --calib statistics when "
             "given) under --avg-bits, --size-budget or --latency-budget; "
             "--layer-format and "
             "--keep-float fix layers. --weights is then not needed"),
    cl::init(false), cl::cat(category));
static cl::opt<double> avgBits(
    "avg-bits",
    cl::desc("With --mixed-precision: the budget in average bits per weight, "
             "scales and zero points included (int4-g128 is 4.25)"),
    cl::init(0), cl::cat(category));
static cl::opt<int64_t> sizeBudget(
    "size-budget",
    cl::desc("With --mixed-precision: the budget in bytes of all layers' "
             "weights and parameters"),
    cl::init(0), cl::value_desc("bytes"), cl::cat(category));
static cl::opt<double> latencyBudget(
    "latency-budget",
    cl::desc("With --mixed-precision: the budget in microseconds per call, "
             "summed over the layers, from the cost model of our CPU kernels "
             "(one core; bench/kernel_costs.py measures it)"),
    cl::init(0), cl::value_desc("us"), cl::cat(category));
static cl::opt<std::string> candidates(
    "candidates",
    cl::desc("With --mixed-precision: the formats to choose from, "
             "comma-separated (default int8,int4-g32,int4-g128,int4; also "
             "uint8, uint4, fp8, fp8-e5m2, -g<N> on any, mxfp4, nvfp4, "
             "float)"),
    cl::init("int8,int4-g32,int4-g128,int4"), cl::cat(category));
static cl::list<std::string> layerFormats(
    "layer-format",
    cl::desc("With --mixed-precision: fix the format of the layers whose "
             "ONNX node name matches REGEX (whole name), e.g. "
             "'lm_head=int8' (repeatable; the first match wins)"),
    cl::value_desc("regex=format"), cl::cat(category));
static cl::opt<std::string> recipe(
    "recipe",
    cl::desc("A named set of the options above; options given explicitly "
             "win. w4a4-quarot: --rotate --weights=int4 --group=0 "
             "--weight-method=gptq --activations=int4 --per-token (needs "
             "--calib); w8a8-smoothquant: --smooth=0.5 --weights=int8 "
             "--group=0 --activations=int8 (needs --calib); w4a16-gptq: "
             "--weights=int4 --group=128 --weight-method=gptq (needs "
             "--calib); w4a16-rtn: --weights=int4 --group=128. "
             "--print-pipeline shows the passes a recipe runs"),
    cl::value_desc("name"), cl::cat(category));
static cl::opt<bool> printPipeline(
    "print-pipeline",
    cl::desc("Print the stages the options run (calibration passes and the "
             "quant-opt pass pipelines of quantization and lowering), one "
             "per line, and exit without compiling; the model is optional"),
    cl::init(false), cl::cat(category));
static cl::opt<uint64_t> rotateSeed(
    "rotate-seed",
    cl::desc("With --rotate: seed of the random signs (or of the random "
             "orthogonal matrix)"),
    cl::init(0), cl::cat(category));
static cl::opt<std::string> rotation(
    "rotation",
    cl::desc("With --rotate: the residual rotation, hadamard (randomised "
             "Hadamard, default) or random-orthogonal (a seeded Haar-random "
             "orthogonal matrix; O(n^3) to build, a minute at hidden size "
             "4096); the online transforms are Hadamards either way"),
    cl::init("hadamard"), cl::value_desc("kind"), cl::cat(category));
static cl::opt<bool> perToken(
    "per-token",
    cl::desc("With --activations=int8|int4: quantize the inputs of the "
             "weight-quantized matmuls dynamically, one symmetric scale per "
             "token (row) computed at run time, instead of from calibration "
             "(W8A8 per-token, W4A8, W4A4); convolutions keep float inputs"),
    cl::init(false), cl::cat(category));
static cl::opt<std::string> calibMethod(
    "calib-method",
    cl::desc("How activation ranges come from calibration: minmax (default), "
             "percentile (the central 99.99%), entropy (KL threshold), mse "
             "(least expected squared error)"),
    cl::init("minmax"), cl::cat(category));
static cl::opt<std::string> reportPath(
    "report",
    cl::desc("Write an accuracy report (Markdown, and FILE.json beside it): "
             "per quantized layer its formats, weight error and output SQNR "
             "against the float model, per model output SQNR and top-1 "
             "agreement, measured on the --calib sets"),
    cl::value_desc("file.md"), cl::cat(category));
static cl::opt<std::string> calibDir(
    "calib",
    cl::desc("Directory of calibration inputs the float model is run on "
             "(for --weight-method=gptq, --activations and --report): ONNX's "
             "test_data_set_*/input_<i>.pb "
             "layout, one subdirectory per set with <input name>.npy or .pb, "
             "or those files directly in DIR (one set)"),
    cl::value_desc("dir"), cl::cat(category));

static const char *extensionFor(EmitKind kind) {
  switch (kind) {
  case EmitKind::MLIR:
    return ".mlir";
  case EmitKind::LLVM:
    return ".ll";
  case EmitKind::Asm:
    return ".s";
  case EmitKind::Object:
    return ".o";
  case EmitKind::Shared:
    return ".so";
  case EmitKind::PTX:
    return ".ptx";
  }
  return ".o";
}

/// A C identifier from a file stem: "libmy-model" -> "my_model".
static std::string identifierFrom(llvm::StringRef stem) {
  stem.consume_front("lib");
  std::string id;
  for (char c : stem)
    id.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  if (id.empty() || std::isdigit(static_cast<unsigned char>(id[0])))
    id = "model_" + id;
  return id;
}

static bool isIdentifier(llvm::StringRef name) {
  return !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
         llvm::all_of(name, [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
         });
}

/// A temporary file next to `path`, kept under that name by commit().
class PendingFile {
public:
  static std::unique_ptr<PendingFile> create(llvm::StringRef path) {
    llvm::SmallString<256> model(path);
    model += ".tmp-%%%%%%";
    llvm::Expected<llvm::sys::fs::TempFile> temp =
        llvm::sys::fs::TempFile::create(model);
    if (!temp) {
      llvm::errs() << "quant-compile: cannot create a file next to '" << path
                   << "': " << llvm::toString(temp.takeError()) << "\n";
      return nullptr;
    }
    return std::unique_ptr<PendingFile>(
        new PendingFile(path.str(), std::move(*temp)));
  }
  llvm::StringRef tempPath() const { return temp->TmpName; }
  int fd() const { return temp->FD; }
  bool commit() {
    if (llvm::Error err = temp->keep(path)) {
      llvm::errs() << "quant-compile: cannot write '" << path
                   << "': " << llvm::toString(std::move(err)) << "\n";
      return false;
    }
    temp.reset();
    return true;
  }
  ~PendingFile() {
    if (temp)
      llvm::consumeError(temp->discard());
  }

private:
  PendingFile(std::string path, llvm::sys::fs::TempFile temp)
      : path(std::move(path)), temp(std::move(temp)) {}
  std::string path;
  std::optional<llvm::sys::fs::TempFile> temp;
};

/// Sets the options of `--recipe name` that were not given explicitly;
/// false for an unknown name.
static bool applyRecipe(llvm::StringRef name) {
  auto set = [](auto &option, auto value) {
    if (option.getNumOccurrences() == 0)
      option.setValue(value);
  };
  if (name == "w4a4-quarot") {
    set(rotate, true);
    set(weightFormat, std::string("int4"));
    set(weightGroup, int64_t(0));
    set(weightMethod, std::string("gptq"));
    set(activationFormat, std::string("int4"));
    set(perToken, true);
  } else if (name == "w8a8-smoothquant") {
    set(smooth, std::string("0.5"));
    set(weightFormat, std::string("int8"));
    set(weightGroup, int64_t(0));
    set(activationFormat, std::string("int8"));
  } else if (name == "w4a16-gptq") {
    set(weightFormat, std::string("int4"));
    set(weightGroup, int64_t(128));
    set(weightMethod, std::string("gptq"));
  } else if (name == "w4a16-rtn") {
    set(weightFormat, std::string("int4"));
    set(weightGroup, int64_t(128));
  } else {
    return false;
  }
  return true;
}

/// --target and --ptxas into `options` (gpuChips, ptxas, and a portable
/// host CPU for GPU models); prints the error and fails on a bad value.
static LogicalResult parseTarget(CompileOptions &options) {
  llvm::StringRef value = target;
  if (value == "cpu") {
    if (options.emit == EmitKind::PTX) {
      llvm::errs() << "quant-compile: --emit=ptx needs --target=cuda\n";
      return failure();
    }
    if (!ptxasPath.empty()) {
      llvm::errs() << "quant-compile: --ptxas applies to --target=cuda\n";
      return failure();
    }
    if (cudaMmaMinRows.getNumOccurrences()) {
      llvm::errs()
          << "quant-compile: --cuda-mma-min-rows applies to --target=cuda\n";
      return failure();
    }
    for (const CudaIntFlag &flag : cudaIntFlags)
      if (flag.value->getNumOccurrences()) {
        llvm::errs() << "quant-compile: " << flag.name
                     << " applies to --target=cuda\n";
        return failure();
      }
    if (cudaF16Products.getNumOccurrences()) {
      llvm::errs()
          << "quant-compile: --cuda-f16-products applies to --target=cuda\n";
      return failure();
    }
    return success();
  }
  if (!value.consume_front("cuda")) {
    llvm::errs() << "quant-compile: --target: unknown target '" << target
                 << "' (cpu, cuda, cuda:sm_90a, cuda:sm_80, ...)\n";
    return failure();
  }
  if (value.empty()) {
    options.gpuChips = {"sm_90a", "sm_80"};
  } else if (!value.consume_front(":") || value.empty()) {
    llvm::errs() << "quant-compile: --target: expected cuda or "
                    "cuda:ARCH[,ARCH...], got '"
                 << target << "'\n";
    return failure();
  } else {
    llvm::SmallVector<llvm::StringRef> chips;
    value.split(chips, ',');
    for (llvm::StringRef chip : chips) {
      llvm::StringRef digits = chip;
      unsigned arch = 0;
      bool ok = digits.consume_front("sm_");
      digits.consume_back("a");
      ok = ok && !digits.getAsInteger(10, arch) && arch >= 70 && arch < 1000;
      if (!ok) {
        llvm::errs() << "quant-compile: --target: '" << chip
                     << "' is not a GPU architecture of sm_70 or later (like "
                        "sm_80 or sm_90a)\n";
        return failure();
      }
      options.gpuChips.push_back(chip.str());
    }
  }
  if (cudaMmaMinRows.getNumOccurrences()) {
    if (cudaMmaMinRows < 1) {
      llvm::errs() << "quant-compile: --cuda-mma-min-rows must be at least 1, "
                      "got "
                   << cudaMmaMinRows << "\n";
      return failure();
    }
    options.gpuMmaMinRows = cudaMmaMinRows;
  }
  for (const CudaIntFlag &flag : cudaIntFlags) {
    if (!flag.value->getNumOccurrences())
      continue;
    int64_t value = *flag.value;
    if (value < flag.least || value > flag.limit) {
      llvm::errs() << "quant-compile: " << flag.name << " must be "
                   << flag.least << " to " << flag.limit << ", got " << value
                   << "\n";
      return failure();
    }
    options.*flag.field = value;
  }
  // A block whose one warp's partial sums do not fit the kernel's shared
  // memory would silently take the GEMV mapping.
  if (options.gpuMmaColTiles > 0 && options.gpuMmaRowTiles > 0 &&
      !qc::packedMmaBlockFits(options.gpuMmaColTiles,
                              options.gpuMmaRowTiles)) {
    llvm::errs() << "quant-compile: --cuda-mma-col-tiles="
                 << options.gpuMmaColTiles << " with --cuda-mma-row-tiles="
                 << options.gpuMmaRowTiles
                 << " is too large a block: one warp's partial sums would "
                    "not fit the kernel's shared memory\n";
    return failure();
  }
  options.gpuF16Products = cudaF16Products;
  if (options.emit == EmitKind::PTX && options.gpuChips.size() != 1) {
    llvm::errs() << "quant-compile: --emit=ptx writes one architecture's PTX; "
                    "name it (--target=cuda:sm_90a)\n";
    return failure();
  }
  // ptxas: explicit, on PATH, or the CUDA toolkit's; PTX only without.
  if (ptxasPath == "none") {
    options.ptxas.clear();
  } else if (!ptxasPath.empty()) {
    if (!llvm::sys::fs::can_execute(ptxasPath)) {
      llvm::errs() << "quant-compile: --ptxas: cannot execute '" << ptxasPath
                   << "'\n";
      return failure();
    }
    options.ptxas = ptxasPath;
  } else if (llvm::ErrorOr<std::string> found =
                 llvm::sys::findProgramByName("ptxas")) {
    options.ptxas = *found;
  } else if (llvm::sys::fs::can_execute("/usr/local/cuda/bin/ptxas")) {
    options.ptxas = "/usr/local/cuda/bin/ptxas";
  }
  // libdevice (CUDA's math functions): beside ptxas's toolkit, else under
  // CUDA_HOME or /usr/local/cuda. Without it, kernels that need a math
  // function are refused when the PTX is made.
  llvm::SmallVector<std::string> roots;
  if (!options.ptxas.empty())
    roots.push_back(llvm::sys::path::parent_path(
                        llvm::sys::path::parent_path(options.ptxas))
                        .str());
  if (const char *home = std::getenv("CUDA_HOME"))
    roots.push_back(home);
  roots.push_back("/usr/local/cuda");
  for (const std::string &root : roots) {
    llvm::SmallString<256> path(root);
    llvm::sys::path::append(path, "nvvm", "libdevice", "libdevice.10.bc");
    if (llvm::sys::fs::exists(path)) {
      options.libdevice = path.str().str();
      break;
    }
  }
  // The host side only launches kernels: code for any x86-64, so the
  // object runs on the GPU machine whatever its CPU.
  if (options.cpu == "native")
    options.cpu = "x86-64";
  return success();
}

static int compile(MLIRContext &context) {
  if (!recipe.empty() && !applyRecipe(recipe)) {
    llvm::errs() << "quant-compile: --recipe=" << recipe
                 << " is not a recipe (w4a4-quarot, w8a8-smoothquant, "
                    "w4a16-gptq, w4a16-rtn)\n";
    return 1;
  }
  if (inputPath.empty() && !printPipeline) {
    llvm::errs() << "quant-compile: no input model (quant-compile "
                    "model.onnx -o model.o; --help lists the options)\n";
    return 1;
  }
  // --print-pipeline shows the calibration stages of a compile with --calib
  // even when none is given.
  std::string calibration = calibDir;
  if (printPipeline && calibration.empty())
    calibration = "<--calib DIR>";
  CompileOptions options;
  options.emit = emitKind;
  if (optLevel > 3) {
    llvm::errs() << "quant-compile: -O" << optLevel
                 << " is not a level (0 to 3)\n";
    return 1;
  }
  options.optLevel = optLevel;
  options.cpu = mcpu;
  options.triple = mtriple;
  options.parallel = parallel;
  options.cacheBuffers = bufferCache;
  options.mergeSiblings = mergeSiblings;
  if (failed(parseTarget(options)))
    return 1;
  static const std::map<std::string, std::pair<int64_t, bool>> formats = {
      {"float", {0, true}},
      {"int8", {8, true}},
      {"int4", {4, true}},
      {"uint8", {8, false}},
      {"uint4", {4, false}},
      {"fp8", {8, true}},
      {"fp8-e5m2", {8, true}},
      {"mxfp4", {4, true}},
      {"nvfp4", {4, true}}};
  auto format = formats.find(weightFormat);
  if (format == formats.end()) {
    llvm::errs() << "quant-compile: --weights=" << weightFormat
                 << " is not a format (float, int8, int4, uint8, uint4, fp8, "
                    "fp8-e5m2, mxfp4, nvfp4)\n";
    return 1;
  }
  options.weightBits = format->second.first;
  if (weightFormat == "fp8" || weightFormat == "fp8-e5m2" ||
      weightFormat == "mxfp4" || weightFormat == "nvfp4")
    options.weightFloatFormat = weightFormat;
  options.weightSymmetric = format->second.second;
  if (weightGroup < 0) {
    llvm::errs() << "quant-compile: --group must be >= 0, got " << weightGroup
                 << "\n";
    return 1;
  }
  options.weightGroup = weightGroup;
  if (weightMethod != "rtn" && weightMethod != "rtn-clip" &&
      weightMethod != "gptq") {
    llvm::errs() << "quant-compile: --weight-method=" << weightMethod
                 << " is not a method (rtn, rtn-clip, gptq)\n";
    return 1;
  }
  if (!options.weightFloatFormat.empty() && weightMethod != "rtn") {
    llvm::errs() << "quant-compile: --weight-method=" << weightMethod
                 << " applies to the integer formats; --weights="
                 << weightFormat << " rounds to nearest\n";
    return 1;
  }
  if (weightMethod == "gptq" && calibration.empty()) {
    llvm::errs() << "quant-compile: --weight-method=gptq needs calibration "
                    "inputs: --calib DIR\n";
    return 1;
  }
  static const std::map<std::string, std::pair<int64_t, bool>> actFormats = {
      {"float", {0, true}}, {"int8", {8, true}}, {"uint8", {8, false}},
      {"int4", {4, true}},  {"uint4", {4, false}}};
  auto act = actFormats.find(activationFormat);
  if (act == actFormats.end()) {
    llvm::errs() << "quant-compile: --activations=" << activationFormat
                 << " is not a format (float, int8, int4, uint8, uint4)\n";
    return 1;
  }
  options.activationBits = act->second.first;
  options.activationSymmetric = act->second.second;
  options.activationPerToken = perToken;
  options.rotate = rotate;
  options.rotateSeed = rotateSeed;
  options.rotation = rotation;
  if (rotation != "hadamard" && rotation != "random-orthogonal") {
    llvm::errs() << "quant-compile: --rotation=" << rotation
                 << " is not hadamard or random-orthogonal\n";
    return 1;
  }
  if (rotation.getNumOccurrences() && !rotate) {
    llvm::errs() << "quant-compile: --rotation applies with --rotate\n";
    return 1;
  }
  if (smooth.getNumOccurrences() || !smooth.empty()) {
    options.smooth = true;
    if (!smooth.empty()) {
      double alpha;
      if (llvm::StringRef(smooth).getAsDouble(alpha) || !(alpha >= 0.0) ||
          alpha > 1.0) {
        llvm::errs() << "quant-compile: --smooth=" << smooth
                     << " is not an alpha in [0, 1]\n";
        return 1;
      }
      options.smoothAlpha = alpha;
    }
    if (calibration.empty()) {
      llvm::errs() << "quant-compile: --smooth needs calibration inputs "
                      "(--calib DIR): the activations' per-channel maxima\n";
      return 1;
    }
  }
  if (perToken && (options.activationBits == 0 ||
                   !options.activationSymmetric)) {
    llvm::errs() << "quant-compile: --per-token needs symmetric quantized "
                    "activations: --activations=int8 or int4\n";
    return 1;
  }
  // Per token needs no calibration, and applies to every matmul whose
  // weight is quantized: by --weights, or in the model itself (MatMulNBits).
  if (options.activationBits != 0 && !perToken &&
      ((options.weightBits == 0 && !mixedPrecision) || calibration.empty())) {
    llvm::errs() << "quant-compile: --activations=" << activationFormat
                 << " needs --weights (the layers it applies to) and --calib "
                    "DIR (their input ranges; or --per-token)\n";
    return 1;
  }
  if (calibMethod != "minmax" && calibMethod != "percentile" &&
      calibMethod != "entropy" && calibMethod != "mse") {
    llvm::errs() << "quant-compile: --calib-method=" << calibMethod
                 << " is not a method (minmax, percentile, entropy, mse)\n";
    return 1;
  }
  options.calibMethod = calibMethod;
  if (mixedPrecision) {
    options.mixedPrecision = true;
    if ((avgBits > 0) + (sizeBudget > 0) + (latencyBudget > 0) != 1) {
      llvm::errs() << "quant-compile: --mixed-precision needs one budget: "
                      "--avg-bits, --size-budget or --latency-budget\n";
      return 1;
    }
    options.avgBits = avgBits;
    options.sizeBudget = sizeBudget;
    options.latencyBudget = latencyBudget;
    options.precisionCandidates = candidates;
    std::string overrides;
    for (const std::string &spec : layerFormats) {
      if (spec.find('=') == std::string::npos) {
        llvm::errs() << "quant-compile: --layer-format expects REGEX=FORMAT, "
                        "got '"
                     << spec << "'\n";
        return 1;
      }
      overrides += (overrides.empty() ? "" : ";") + spec;
    }
    options.precisionOverrides = overrides;
  } else if (avgBits.getNumOccurrences() || sizeBudget.getNumOccurrences() ||
             latencyBudget.getNumOccurrences() ||
             candidates.getNumOccurrences() || !layerFormats.empty()) {
    llvm::errs() << "quant-compile: --avg-bits, --size-budget, "
                    "--latency-budget, --candidates and --layer-format apply "
                    "with --mixed-precision\n";
    return 1;
  }
  if (!calibDir.empty() && options.weightBits == 0 && !options.smooth &&
      !options.mixedPrecision) {
    llvm::errs() << "quant-compile: --calib without --weights, --smooth or "
                    "--mixed-precision: nothing to calibrate\n";
    return 1;
  }
  options.calibDir = calibration;
  if (!reportPath.empty() &&
      (calibDir.empty() ||
       (options.weightBits == 0 && options.activationBits == 0 &&
        !mixedPrecision))) {
    llvm::errs() << "quant-compile: --report needs quantization (--weights) "
                    "and data to measure it on (--calib DIR)\n";
    return 1;
  }
  // The report, like every output, is written to temporary files renamed
  // when the whole compile succeeded.
  std::unique_ptr<PendingFile> report, reportJson;
  if (!reportPath.empty()) {
    std::string json = reportPath;
    if (llvm::StringRef(json).ends_with(".md"))
      json.resize(json.size() - 3);
    json += ".json";
    report = PendingFile::create(reportPath);
    reportJson = PendingFile::create(json);
    if (!report || !reportJson)
      return 1;
    options.reportPath = report->tempPath().str();
    options.reportJsonPath = reportJson->tempPath().str();
  }
  options.weightMethod = weightMethod;
  options.keepFloat = keepFloat;
  if (printPipeline) {
    // The stages need no model: an empty module stands in.
    OwningOpRef<ModuleOp> empty = ModuleOp::create(UnknownLoc::get(&context));
    llvm::outs() << "# quantization\n";
    if (failed(quantizeModel(*empty, options, &llvm::outs())))
      return 1;
    llvm::outs() << "# lowering\n";
    printLoweringPipeline(&context, options, llvm::outs());
    return 0;
  }
  std::string output = outputPath;
  if (output.empty()) {
    llvm::SmallString<256> p(llvm::sys::path::filename(inputPath));
    llvm::sys::path::replace_extension(p, extensionFor(options.emit));
    output = p.str().str();
  }
  if (output == "-" &&
      (options.emit == EmitKind::Object || options.emit == EmitKind::Shared)) {
    llvm::errs() << "quant-compile: --emit=obj and --emit=shared need an "
                    "output file (-o)\n";
    return 1;
  }
  // The default name comes from the output file (or, for stdout, the model).
  llvm::StringRef nameSource =
      output == "-" ? llvm::StringRef(inputPath) : llvm::StringRef(output);
  options.name = entryName.empty()
                     ? identifierFrom(llvm::sys::path::stem(nameSource))
                     : entryName.getValue();
  if (!isIdentifier(options.name)) {
    llvm::errs() << "quant-compile: --name '" << options.name
                 << "' is not a C identifier\n";
    return 1;
  }

  // Import (or parse) the model.
  OwningOpRef<ModuleOp> module;
  if (llvm::StringRef(inputPath).ends_with(".mlir")) {
    if (!inputShapes.empty() || !constantInputs.empty()) {
      llvm::errs() << "quant-compile: --input-shape and --constant-input "
                      "apply to ONNX models, not to .mlir input\n";
      return 1;
    }
    module = parseSourceFile<ModuleOp>(inputPath, &context);
  } else {
    ONNXImportOptions importOptions;
    for (const std::string &spec : inputShapes) {
      std::pair<std::string, std::vector<int64_t>> shape;
      std::string error = parseInputShapeSpec(spec, shape);
      if (!error.empty()) {
        llvm::errs() << "quant-compile: --input-shape: " << error << "\n";
        return 1;
      }
      importOptions.inputShapes.push_back(std::move(shape));
    }
    for (const std::string &spec : constantInputs) {
      size_t eq = spec.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
        llvm::errs() << "quant-compile: --constant-input expects NAME=FILE, "
                        "got '"
                     << spec << "'\n";
        return 1;
      }
      importOptions.constantInputs.push_back(
          {spec.substr(0, eq), spec.substr(eq + 1)});
    }
    module = importONNXFile(inputPath, &context, importOptions);
  }
  if (!module)
    return 1;

  FailureOr<ModelSignature> signature = getModelSignature(*module);
  if (failed(signature))
    return 1;
  std::unique_ptr<PendingFile> weights;
  if (!weightsFile.empty()) {
    if (weightsThreshold < 1) {
      llvm::errs() << "quant-compile: --weights-threshold must be positive\n";
      return 1;
    }
    weights = PendingFile::create(weightsFile);
    if (!weights)
      return 1;
    options.weightsFile = weights->tempPath().str();
    options.weightsThreshold = weightsThreshold;
  }
  if (failed(quantizeModel(*module, options)) ||
      failed(lowerToLLVMDialect(*module, *signature, options)))
    return 1;
  bool hasWeightsFile = (*module)->hasAttr("qc.weights_base");
  if (weights && !hasWeightsFile) {
    llvm::errs() << "quant-compile: note: no constant of at least "
                 << weightsThreshold
                 << " bytes; everything stays in the object and no weights "
                    "file is written\n";
    weights.reset();
  }

  auto commitReport = [&] {
    return (!report || report->commit()) &&
           (!reportJson || reportJson->commit());
  };
  if (output == "-") {
    if (options.emit == EmitKind::MLIR) {
      module->print(llvm::outs());
      return commitReport() ? 0 : 1;
    }
    if (options.emit == EmitKind::PTX
            ? failed(emitPTX(*module, llvm::outs()))
            : failed(emitCode(*module, options, llvm::outs())))
      return 1;
    return commitReport() ? 0 : 1;
  }

  std::unique_ptr<PendingFile> file = PendingFile::create(output);
  if (!file)
    return 1;
  std::unique_ptr<PendingFile> objectForLink;
  {
    bool shared = options.emit == EmitKind::Shared;
    if (shared) {
      objectForLink = PendingFile::create(output + ".o");
      if (!objectForLink)
        return 1;
    }
    llvm::raw_fd_ostream os(shared ? objectForLink->fd() : file->fd(),
                            /*shouldClose=*/false);
    if (options.emit == EmitKind::MLIR)
      module->print(os);
    else if (options.emit == EmitKind::PTX) {
      if (failed(emitPTX(*module, os)))
        return 1;
    } else if (failed(emitCode(*module, options, os)))
      return 1;
    os.flush();
    if (os.has_error()) {
      llvm::errs() << "quant-compile: writing failed: " << os.error().message()
                   << "\n";
      os.clear_error();
      return 1;
    }
  }
  if (objectForLink) {
    std::string error;
    if (failed(linkShared(objectForLink->tempPath(), file->tempPath(),
                          options, error))) {
      llvm::errs() << "quant-compile: " << error << "\n";
      return 1;
    }
  }

  // The header, for objects and shared libraries.
  std::unique_ptr<PendingFile> header;
  if (options.emit == EmitKind::Object || options.emit == EmitKind::Shared) {
    llvm::SmallString<256> headerPath(output);
    llvm::sys::path::replace_extension(headerPath, ".h");
    header = PendingFile::create(headerPath);
    if (!header)
      return 1;
    llvm::raw_fd_ostream os(header->fd(), /*shouldClose=*/false);
    os << renderHeader(*signature, options, inputPath, hasWeightsFile);
    os.flush();
    if (os.has_error()) {
      os.clear_error();
      llvm::errs() << "quant-compile: writing the header failed\n";
      return 1;
    }
  }
  if (!file->commit() || (header && !header->commit()) ||
      (weights && !weights->commit()) || !commitReport())
    return 1;
  return 0;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // MLIR's debugging options (--mlir-print-ir-after-all, ...) work here too;
  // --help-hidden lists them.
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerAsmPrinterCLOptions();
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "quant-compile: compile an ONNX model (or a qc/linalg module) for the "
      "host CPU or an NVIDIA GPU\n\n"
      "  quant-compile model.onnx -o model.o   writes model.o and model.h\n"
      "  quant-compile model.onnx --emit=shared -o libmodel.so\n"
      "  quant-compile model.onnx --target=cuda -o model.o\n\n"
      "The object exports <name>_run (the C entry point, docs/abi.md) and\n"
      "<name>_signature; link it with -lm -lomp (-lm alone with\n"
      "--parallel=false); a --target=cuda object with libquant_cuda.a -ldl\n"
      "-lpthread (docs/gpu.md).\n");
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerQuantDialects(registry);
  // --target=cuda: the kernels (gpu-module-to-binary) and the host code
  // (gpu.binary, gpu.launch_func) are translated to LLVM IR.
  registerAllToLLVMIRTranslations(registry);
  registerONNXImportDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // Diagnostics name the node; a dump of the op would bury that.
  context.printOpOnDiagnostic(false);
  // Diagnostics go to stderr as "file:line:col: error: ...".
  SourceMgrDiagnosticHandler handler(*new llvm::SourceMgr(), &context,
                                     llvm::errs());
  return compile(context);
}
