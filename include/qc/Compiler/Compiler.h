//===- Compiler.h - from an imported module to code -------------*- C++ -*-===//
//
// The library behind quant-compile: the model's signature (for the header and
// the embedded signature string), the lowering to the LLVM dialect, and code
// emission through LLVM's TargetMachine, all in-process.
//
//===----------------------------------------------------------------------===//

#ifndef QC_COMPILER_COMPILER_H
#define QC_COMPILER_COMPILER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace mlir::qc {

struct WeightCalibration;

/// What quant-compile writes.
enum class EmitKind { MLIR, LLVM, Asm, Object, Shared, PTX };

struct CompileOptions {
  /// Prefix of every exported symbol (<name>_run, <name>_signature).
  std::string name = "model";
  EmitKind emit = EmitKind::Object;
  unsigned optLevel = 2;
  /// Target CPU; "native" is the host's.
  std::string cpu = "native";
  /// Target triple; empty is the host's.
  std::string triple;
  /// OpenMP threads for the matmuls (the object then needs libomp).
  bool parallel = true;
  /// GPU architectures for --target=cuda (e.g. sm_90a, sm_80); empty: the
  /// model runs on the host CPU.
  std::vector<std::string> gpuChips;
  /// ptxas for cubins next to the PTX (--target=cuda); empty: PTX only.
  std::string ptxas;
  /// CUDA's libdevice.10.bc, linked into kernels that call math functions.
  std::string libdevice;
  /// Packed int4 and W8A8 contractions with at least this many rows run on
  /// the tensor-core kernels (--target=cuda); fewer rows take the GEMV
  /// mapping. 0: qc-map-to-gpu's defaults (packed-mma-min-rows for int4,
  /// mma-min-rows for W8A8).
  int64_t gpuMmaMinRows = 0;
  /// The int4 tensor-core kernel's 8-column tiles, 16-row tiles (at most)
  /// and warps per block (0: qc-map-to-gpu's defaults).
  int64_t gpuMmaColTiles = 0, gpuMmaRowTiles = 0, gpuMmaWarps = 0;
  /// MiB of a GEMV's weights prefetched into L2 before it waits for the
  /// kernel before it (-1: qc-map-to-gpu's default; 0: none).
  int64_t gpuWeightPrefetchMiB = -1;
  /// W4A16 products of the GEMV in f16 pairs (the default: faster on an
  /// H100); false: in f32, exact as on the CPU.
  bool gpuF16Products = true;
  /// Matmuls that read one input with constant weights run as one
  /// (qc-merge-siblings).
  bool mergeSiblings = true;
  bool isCuda() const { return !gpuChips.empty(); }
  /// Large constants go to this file instead of the object (see
  /// qc-externalize-weights); empty: all in the object.
  std::string weightsFile;
  int64_t weightsThreshold = 65536;
  /// Keep intermediate buffers between calls (qc-cache-buffers).
  bool cacheBuffers = true;
  /// Weight-only quantization of the float matmuls (qc-quantize-weights):
  /// bits 0 keeps them float, else 4 or 8.
  int64_t weightBits = 0;
  /// "fp8", "fp8-e5m2", "mxfp4" or "nvfp4" for small-float weights (weightBits is then
  /// 8 or 4); empty for integer weights.
  std::string weightFloatFormat;
  bool weightSymmetric = true;
  /// Elements per scale along K; 0: per output channel.
  int64_t weightGroup = 128;
  /// rtn or rtn-clip.
  std::string weightMethod = "rtn";
  /// Node names (whole-name regular expression) left in float.
  std::string keepFloat;
  /// Static per-tensor quantization of the quantized matmuls' inputs
  /// (qc-quantize-activations): bits 0 keeps them float, else 4 or 8.
  int64_t activationBits = 0;
  bool activationSymmetric = true;
  /// Dynamic per-token activation quantization instead of static ranges.
  bool activationPerToken = false;
  /// QuaRot before quantization: qc-fold-norms, then qc-rotate with this
  /// seed (online Hadamards included).
  bool rotate = false;
  uint64_t rotateSeed = 0;
  /// qc-rotate's `rotation`: "hadamard" or "random-orthogonal".
  std::string rotation = "hadamard";
  /// SmoothQuant before quantizing (qc-smooth with this alpha, from the
  /// per-channel activation maxima of a first calibration pass; needs
  /// calibDir).
  bool smooth = false;
  double smoothAlpha = 0.5;
  /// Mixed precision (qc-assign-precision): per matmul, a weight format from
  /// `precisionCandidates` under the budget (avgBits > 0: bits per weight,
  /// scales included; sizeBudget > 0: bytes; else latencyBudget µs of
  /// modelled kernel time), with `precisionOverrides`
  /// ("regex=format;...") fixed. The weight options above (method, keep-float)
  /// still apply; bits/group/format come from each layer's choice.
  bool mixedPrecision = false;
  std::string precisionCandidates = "int8,int4-g32,int4-g128,int4";
  double avgBits = 0;
  int64_t sizeBudget = 0;
  double latencyBudget = 0;
  std::string precisionOverrides;
  /// How calibration turns an activation histogram into a range: minmax,
  /// percentile (99.99 %), entropy (KL) or mse.
  std::string calibMethod = "minmax";
  /// Directory of calibration input sets (see calibrate); empty: none.
  std::string calibDir;
  /// Free each weight's original bytes once it is packed (peak memory of
  /// large models); off for the probes that compile clones of a module.
  bool releasePackedSources = true;
  /// Accuracy report: Markdown and JSON paths; empty: none.
  std::string reportPath;
  std::string reportJsonPath;
};

/// One input or output of the compiled entry point.
struct TensorSignature {
  std::string name;
  /// ONNX's name of the element type: float32, float16, bfloat16, float64,
  /// int8 ... int64, uint8 ... uint64, bool.
  std::string dtype;
  /// -1 for a dynamic dimension.
  std::vector<int64_t> shape;
  /// Bytes per element.
  unsigned elementBytes = 0;
};

struct ModelSignature {
  std::vector<TensorSignature> inputs, outputs;
};

/// Reads the signature of func.func @main (tensor arguments and results with
/// `onnx.name` attributes). Fails with a diagnostic for element types the C
/// ABI does not carry.
FailureOr<ModelSignature> getModelSignature(ModuleOp module);

/// The signature as one line, embedded in the object as <name>_signature:
///   "in X float32 2x4;out Y float32 2x3" (dynamic dims are "?").
std::string encodeSignature(const ModelSignature &signature);

/// The C header declaring the entry point and describing each tensor.
std::string renderHeader(const ModelSignature &signature,
                         const CompileOptions &options, llvm::StringRef source,
                         bool hasWeightsFile);

/// Runs qc-lower-to-llvm on `module` and adds the <name>_signature global.
LogicalResult lowerToLLVMDialect(ModuleOp module,
                                 const ModelSignature &signature,
                                 const CompileOptions &options);

/// Translates an LLVM-dialect module to LLVM IR, optimises it at
/// options.optLevel for the target, and writes LLVM IR text, assembly or an
/// object file (Shared writes the object; linking is the caller's).
/// Runs the quantization passes the options ask for (rotation, smoothing,
/// mixed precision, weights, activations), with the calibration passes they
/// need, and writes the accuracy report when there is a report path.
/// Nothing to do for a float compile. With `pipeline` set, runs nothing and
/// prints the stages instead, one per line: `calibrate(...)` for a
/// calibration pass, else the textual pass pipeline that stage runs.
LogicalResult quantizeModel(ModuleOp module, const CompileOptions &options,
                            llvm::raw_ostream *pipeline = nullptr);

/// Prints the lowering pipeline buildLowerToLLVMPipeline builds for
/// `options` (what --print-pipeline shows after the quantization stages).
void printLoweringPipeline(MLIRContext *context,
                           const CompileOptions &options,
                           llvm::raw_ostream &os);

/// What one calibration pass measures, per layer it names.
struct CalibrationRequest {
  /// GPTQ's Hessian 2XᵀX/N of each matmul's input, into `calibration`.
  bool hessians = false;
  /// The input range (by options.calibMethod, for options.activationBits)
  /// into the layer's `qc.calib_range`.
  bool ranges = false;
  /// max |X_j| per input channel into the matmul's `qc.calib_absmax`.
  bool channelMax = false;
  bool any() const { return hessians || ranges || channelMax; }
};

/// The statistics `options` need in the calibration pass before the
/// quantization passes (after smoothing, when there is smoothing).
CalibrationRequest quantizationNeeds(const CompileOptions &options);

/// Runs the float model over the input sets in `options.calibDir` (ONNX's
/// test_data_set_*/input_<i>.pb, or one directory per set with <input
/// name>.npy/.pb, or the directory itself as one set). Every layer that
/// qc-quantize-weights would rewrite gets a `qc.calib_id`; `request` says
/// what is measured for it.
LogicalResult calibrate(ModuleOp module, const CompileOptions &options,
                        const CalibrationRequest &request,
                        WeightCalibration &calibration);

/// Writes options.reportPath (Markdown) and options.reportJsonPath: per
/// quantized
/// layer of `quantModule` (matmuls marked `qc.calib_id`) the formats, the
/// weight error and the SQNR of its output against `floatModule`'s, and per
/// model output the SQNR and top-1 agreement, over the calibration sets.
LogicalResult writeAccuracyReport(ModuleOp floatModule, ModuleOp quantModule,
                                  const CompileOptions &options);

LogicalResult emitCode(ModuleOp module, const CompileOptions &options,
                       llvm::raw_pwrite_stream &os);

/// Writes the PTX of a module lowered with --emit=ptx (one chip).
LogicalResult emitPTX(ModuleOp module, llvm::raw_ostream &os);

/// Links `object` into a shared library at `output` with the system C
/// compiler driver (cc, gcc or clang on PATH), with libm and, when
/// `parallel`, libomp; for a CUDA model (options.isCuda()) with quant's CUDA
/// runtime (libquant_cuda.a beside quant-compile) instead. Fails with `error`
/// set.
LogicalResult linkShared(llvm::StringRef object, llvm::StringRef output,
                         const CompileOptions &options, std::string &error);

/// The CUDA runtime archive linked into --target=cuda shared libraries:
/// lib/libquant_cuda.a next to the bin/ directory of the running tool.
std::string cudaRuntimeArchive();

} // namespace mlir::qc

#endif // QC_COMPILER_COMPILER_H
