//===- Pipelines.cpp - qc-lower-to-llvm -----------------------------------===//
//
// The CPU pipeline, stage by stage (each stage is an ordinary pass, so
// quant-opt can stop anywhere):
//   1. qc -> linalg (convert-qc-to-linalg), tosa -> linalg/arith/tensor;
//   2. vector kernels for the int4 contractions over packed words
//      (qc-pack-weights{nibbles}, qc-vectorize-packed-contractions), cache
//      blocking of the other matmuls (qc-tile-contractions), element-wise
//      fusion;
//   3. one-shot bufferization across function boundaries, results turned into
//      caller-allocated out-params, large constants into a weights file
//      (qc-externalize-weights, with --weights-file), the C entry point
//      (qc-emit-c-interface), buffer deallocation;
//   4. scf.forall -> OpenMP (when parallel), linalg -> loops, then
//      scf/affine/memref/math/arith/func/omp -> LLVM.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/Passes.h"
#include "qc/Dialect/QC/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/TosaToLinalg/TosaToLinalg.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Dialect/Tosa/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace {
/// Stages 0-1, shared by the CPU and CUDA lowerings: from imported IR to
/// linalg on tensors. `packLayout`, when set, packs the int4 matmul weights
/// in that qc-pack-weights layout first.
void addFrontPasses(OpPassManager &pm, StringRef packLayout = "",
                    bool packedInt8Activations = false,
                    bool hadamardKernel = false, bool int8Mma = false,
                    bool f16Products = false, bool mergeSiblings = true) {
  using namespace mlir::qc;
  // 0. Canonical scales (exact): BatchNorm and other constant per-channel
  // factors into the layers' weights; dequantize/quantize around qc.matmul
  // into its operand and result types, so that QDQ graphs contract codes.
  pm.addPass(createFoldScales());
  // Sibling matmuls (q/k/v, gate/up) as one wider matmul: one kernel, one
  // pass over the input (exact).
  if (mergeSiblings)
    pm.addPass(createMergeSiblings());
  if (!packLayout.empty()) {
    PackWeightsOptions pack;
    pack.layout = packLayout.str();
    pm.addPass(createPackWeights(pack));
  }
  // 1. To linalg on tensors.
  ConvertQCToLinalgOptions toLinalg;
  toLinalg.packedInt8Activations = packedInt8Activations;
  toLinalg.hadamardKernel = hadamardKernel;
  toLinalg.int8Mma = int8Mma;
  toLinalg.f16Products = f16Products;
  pm.addPass(createConvertQCToLinalg(toLinalg));
  // uiN carries no information the lowered code needs (the ops that care
  // say unsigned themselves); make it signless so bitcasts fold away.
  pm.addNestedPass<func::FuncOp>(
      tosa::createTosaConvertIntegerTypeToSignless());
  pm.addPass(createCanonicalizerPass());
  // Element-wise arith/math ops applied to whole tensors (the importer's
  // Sqrt, Abs, Neg) become linalg.generics.
  pm.addPass(createConvertElementwiseToLinalgPass());
  // No TOSA profile validation: the importer uses tosa ops as element-wise
  // building blocks on any type (i8 adds, f64 maxima), which the lowering
  // handles.
  tosa::addTosaToLinalgPasses(pm, TosaToLinalgOptions{},
                              TosaToLinalgNamedOptions{}, std::nullopt);
  // The decompositions above can leave tosa.reshape/const behind.
  pm.addPass(createTosaToTensorPass());
  pm.addPass(createTosaToArithPass());
  pm.addPass(createCanonicalizerPass());
  // Vectorisable exp (softmax, sigmoid) instead of a libm call per element.
  QCApproximateMathOptions approximate;
  approximate.ops = {"math.exp"};
  pm.addPass(createQCApproximateMath(approximate));
}
/// One-shot bufferization across functions, then results as caller-owned
/// out-params (the C entry point's outputs), for both lowerings.
void addBufferizationPasses(OpPassManager &pm) {
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.addResultAttribute = true;
  // Not the upstream hoisting of static allocs: it crashes when one buffer
  // is returned twice (Split into empty parts, a value returned as two
  // outputs). It copies each result into its output argument;
  // qc-outputs-in-place then gives most producers the caller's buffer.
  outParams.hoistStaticAllocs = false;
  outParams.modifyPublicFunctions = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
}

/// With a weights file: qc-externalize-weights (for GPU kernels with
/// `cuda`); nothing otherwise.
void addExternalizeWeights(OpPassManager &pm, StringRef entryName,
                           StringRef file, int64_t threshold, bool cuda) {
  if (file.empty())
    return;
  qc::QCExternalizeWeightsOptions weights;
  weights.entryName = entryName.str();
  weights.file = file.str();
  weights.threshold = threshold;
  weights.cuda = cuda;
  pm.addPass(qc::createQCExternalizeWeights(weights));
}

} // namespace

void mlir::qc::buildLowerToLLVMPipeline(OpPassManager &pm,
                                        const LowerToLLVMOptions &options) {
  // int4 weights of float-activation matmuls two codes per byte, read by
  // vector kernels that expand the nibbles in registers (a GEMV then
  // streams half the bytes of one code per byte).
  // With vpdpbusd, the int4 weights of W4A8 (per-token int8 activations)
  // too.
  addFrontPasses(pm, options.vectorize ? "nibbles" : "",
                 options.vectorize && options.dotBits > 0,
                 /*hadamardKernel=*/false, /*int8Mma=*/false,
                 /*f16Products=*/false, options.mergeSiblings);
  // 2. The packed kernels, cache blocking of the matmuls, fusion.
  if (options.vectorize) {
    QCVectorizePackedContractionsOptions packed;
    packed.lanes = std::max<int64_t>(4, options.vectorBits / 32);
    packed.parallel = options.parallel;
    packed.dotBits = options.dotBits;
    packed.vnni = options.vnni;
    pm.addPass(createQCVectorizePackedContractions(packed));
    // 8-bit integer matmuls (MatMulInteger) with vpdpbusd.
    QCVectorizeInt8ContractionsOptions int8;
    int8.parallel = options.parallel;
    int8.dotBits = options.dotBits;
    int8.vnni = options.vnni;
    pm.addPass(createQCVectorizeInt8Contractions(int8));
  }
  if (options.vectorize) {
    QCTileContractionsOptions tiling;
    tiling.parallel = options.parallel;
    tiling.releasePackedSources = options.releasePackedSources;
    // Register blocks: 16 accumulator registers (of 32 zmm with AVX-512,
    // leaving room for the loaded weights and broadcasts); 8 of the 16 ymm
    // otherwise.
    tiling.registerM = options.vectorBits > 0 ? 4 : 0;
    tiling.registerN = options.vectorBits >= 512 ? 64
                       : options.vectorBits > 0  ? 2 * options.vectorBits / 32
                                                 : 0;
    pm.addPass(createQCTileContractions(tiling));
  }
  pm.addPass(createLinalgElementwiseOpFusionPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Threads for the large ops that are not contractions (or are small
  // batched ones, like attention's), after fusion so each fused op is one
  // parallel region.
  if (options.parallel)
    pm.addPass(createQCParallelizeLoops());
  // 3. Buffers and the entry point.
  addBufferizationPasses(pm);
  // Outputs computed in the caller's buffers (for a decoder, no second pass
  // over its key/value cache).
  pm.addNestedPass<func::FuncOp>(createQCOutputsInPlace());
  addExternalizeWeights(pm, options.entryName, options.weightsFile,
                        options.weightsThreshold, /*cuda=*/false);
  QCEmitCInterfaceOptions entry;
  entry.entryName = options.entryName;
  pm.addPass(createQCEmitCInterface(entry));
  bufferization::BufferDeallocationPipelineOptions dealloc;
  bufferization::buildBufferDeallocationPipeline(pm, dealloc);
  // Intermediates stay allocated between calls (freed and faulted in again
  // on every call otherwise: a decoder's token paid more for that than for
  // its matmuls).
  QCCacheBuffersOptions cache;
  cache.entryName = options.entryName;
  cache.minBytes = options.cacheBuffers ? 4096 : -1;
  pm.addPass(createQCCacheBuffers(cache));
  // 4. Threads (scf.forall -> scf.parallel -> OpenMP), loops and LLVM.
  if (options.parallel) {
    pm.addPass(createForallToParallelLoopPass());
    pm.addPass(createConvertSCFToOpenMPPass());
  }
  pm.addPass(createQCLowerMemRefCopy());
  // The register blocks' vector.contracts (unit reduction dimension) become
  // element-wise multiply-adds; n-D transfers are unrolled to 1-D loads.
  pm.addNestedPass<func::FuncOp>(createConvertVectorToSCFPass(
      VectorTransferToSCFOptions().enableFullUnroll()));
  pm.addPass(createConvertLinalgToLoopsPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  // Before scf-to-cf: the OpenMP lowering wraps loop bodies in
  // memref.alloca_scope, whose region must still be one block here.
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createSCFToControlFlowPass());
  ConvertVectorToLLVMPassOptions vectorToLLVM;
  vectorToLLVM.vectorContractLowering =
      vector::VectorContractLowering::ParallelArith;
  pm.addPass(createConvertVectorToLLVMPass(vectorToLLVM));
  pm.addPass(createConvertMathToLLVMPass());
  // Padding values of the vector transfers.
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  if (options.parallel)
    pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void mlir::qc::buildLowerToCUDAPipeline(OpPassManager &pm,
                                        const LowerToCUDAOptions &options) {
  // int4 weights two codes per byte: the contraction reads the packed words
  // (a GEMV then moves half the bytes of one code per byte).
  // qc.hadamard as one generic that qc-map-to-gpu gives a kernel of its own;
  // W8A8 as the int8 tensor-core kernel's contraction.
  // W4A16's activations as f16 in the float-times-int4 products, if asked.
  addFrontPasses(pm, "nibbles", /*packedInt8Activations=*/false,
                 /*hadamardKernel=*/true, /*int8Mma=*/true,
                 options.f16Products, options.mergeSiblings);
  // (Keeping the packed contractions' markers for qc-map-to-gpu.)
  pm.addPass(createQCFuseElementwise());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Buffers and the entry point, as for the CPU (no deallocation pipeline:
  // qc-map-to-gpu frees each device buffer after its last use).
  addBufferizationPasses(pm);
  // Outputs computed in the output buffers (device memory: the entry point
  // stages host outputs before the call), not copied there at the end: a
  // decoder's present key/value cache is one copy less per layer.
  pm.addNestedPass<func::FuncOp>(createQCOutputsInPlace());
  pm.addPass(createCanonicalizerPass());
  // Large constants into a file mapped at load time; the kernels read
  // device copies uploaded from it.
  addExternalizeWeights(pm, options.entryName, options.weightsFile,
                        options.weightsThreshold, /*cuda=*/true);
  QCEmitCInterfaceOptions entry;
  entry.entryName = options.entryName;
  entry.cuda = true;
  pm.addPass(createQCEmitCInterface(entry));
  // The GPU mapping and the kernels.
  QCMapToGPUOptions mapping;
  mapping.blockSize = options.blockSize;
  mapping.mmaMinRows = options.mmaMinRows;
  mapping.packedMmaMinRows = options.packedMmaMinRows;
  mapping.packedMmaColTiles = options.packedMmaColTiles;
  mapping.packedMmaRowTiles = options.packedMmaRowTiles;
  mapping.packedMmaWarps = options.packedMmaWarps;
  mapping.weightPrefetchMiB = options.weightPrefetchMiB;
  pm.addNestedPass<func::FuncOp>(createQCMapToGPU(mapping));
  pm.addNestedPass<func::FuncOp>(createConvertParallelLoopToGpuPass());
  // Folds the loop-bound arithmetic of the mapping, so that outlining sinks
  // constants into the kernels rather than passing arguments. (Not before
  // the conversion: canonicalization merges the nested block/thread loops
  // and drops their mapping.)
  pm.addPass(createCanonicalizerPass());
  // Constants (shift amounts, indices, neutral elements) into the kernels
  // rather than kernel parameters, so that the kernels fold them.
  pm.addPass(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  QCMergeKernelModulesOptions merge;
  merge.moduleName = options.entryName + "_kernels";
  pm.addPass(createQCMergeKernelModules(merge));
  pm.addPass(createLowerAffinePass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  for (const std::string &chip : options.chips) {
    GpuNVVMAttachTargetOptions target;
    target.chip = chip;
    target.optLevel = options.optLevel;
    if (!options.libdevice.empty())
      target.linkLibs.push_back(options.libdevice);
    pm.addPass(createGpuNVVMAttachTarget(target));
  }
  // Device side.
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  OpPassManager &device = pm.nest<gpu::GPUModuleOp>();
  // The tensor-core kernel's nvgpu.mma.sync, then the rest.
  device.addPass(createConvertNVGPUToNVVMPass());
  device.addPass(createConvertGpuOpsToNVVMOps());
  device.addPass(createCanonicalizerPass());
  device.addPass(createCSEPass());
  device.addPass(createReconcileUnrealizedCastsPass());
  // Host side: one stream per call (gpu-async-region), the mgpu* calls of
  // quant's runtime, then the usual LLVM lowering.
  pm.addNestedPass<func::FuncOp>(createGpuAsyncRegionPass());
  pm.addPass(createGpuToLLVMConversionPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  QCDeviceGlobalsOptions globals;
  globals.function = "__" + options.entryName + "_main";
  pm.addPass(createQCDeviceGlobals(globals));
  pm.addPass(createCanonicalizerPass());
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = "isa";
  pm.addPass(createGpuModuleToBinaryPass(binary));
  // Hopper: each kernel's launch overlaps the end of the one before it.
  pm.addPass(createQCGPUDependentLaunch());
  if (options.stopAtPTX)
    return;
  QCGPUFatBinaryOptions fat;
  fat.ptxas = options.ptxas;
  pm.addPass(createQCGPUFatBinary(fat));
}

namespace {
struct PipelineOptions : public PassPipelineOptions<PipelineOptions> {
  Option<std::string> name{*this, "name",
                           llvm::cl::desc("Prefix of the C entry point"),
                           llvm::cl::init("model")};
  Option<bool> parallel{*this, "parallel",
                        llvm::cl::desc("OpenMP threads for the matmuls"),
                        llvm::cl::init(true)};
  Option<int64_t> vectorBits{
      *this, "vector-bits",
      llvm::cl::desc("Width of the target's vector registers in bits, for "
                     "the matmul register blocks (0: no register blocking)"),
      llvm::cl::init(256)};
  Option<int64_t> dotBits{
      *this, "dot-bits",
      llvm::cl::desc("Widest int8 dot product of the target in bits (512, "
                     "256; 0: none), for the W4A8 and int8 kernels"),
      llvm::cl::init(0)};
  Option<bool> vnni{
      *this, "vnni",
      llvm::cl::desc("The dot product is vpdpbusd (false: AVX2 without VNNI, "
                     "emulated exactly; dot-bits must be 256)"),
      llvm::cl::init(true)};
};
} // namespace

namespace {
struct CUDAPipelineOptions : public PassPipelineOptions<CUDAPipelineOptions> {
  Option<std::string> name{*this, "name",
                           llvm::cl::desc("Prefix of the C entry point"),
                           llvm::cl::init("model")};
  ListOption<std::string> chips{
      *this, "chips",
      llvm::cl::desc("GPU architectures (default: sm_90a,sm_80)")};
  Option<std::string> ptxas{
      *this, "ptxas",
      llvm::cl::desc("ptxas for cubins (default: none, PTX only)"),
      llvm::cl::init("")};
  Option<std::string> libdevice{
      *this, "libdevice",
      llvm::cl::desc("CUDA's libdevice.10.bc (default: found from CUDA_HOME)"),
      llvm::cl::init("")};
  Option<bool> stopAtPTX{*this, "stop-at-ptx",
                         llvm::cl::desc("Leave the gpu.binary objects as PTX"),
                         llvm::cl::init(false)};
};
} // namespace

void mlir::qc::registerLowerToLLVMPipeline() {
  PassPipelineRegistration<CUDAPipelineOptions>(
      "qc-lower-to-cuda",
      "The CUDA lowering: qc/tosa/linalg on tensors to GPU kernels (NVVM, "
      "PTX/cubin in a gpu.binary) and host code in the LLVM dialect with "
      "the C entry point <name>_run",
      [](OpPassManager &pm, const CUDAPipelineOptions &opts) {
        LowerToCUDAOptions options;
        options.entryName = opts.name;
        if (!opts.chips.empty())
          options.chips.assign(opts.chips.begin(), opts.chips.end());
        options.ptxas = opts.ptxas;
        options.libdevice = opts.libdevice;
        options.stopAtPTX = opts.stopAtPTX;
        buildLowerToCUDAPipeline(pm, options);
      });
  PassPipelineRegistration<PipelineOptions>(
      "qc-lower-to-llvm",
      "The CPU lowering: qc/tosa/linalg on tensors to the LLVM dialect with "
      "the C entry point <name>_run",
      [](OpPassManager &pm, const PipelineOptions &opts) {
        LowerToLLVMOptions options;
        options.entryName = opts.name;
        options.parallel = opts.parallel;
        options.vectorBits = opts.vectorBits;
        options.dotBits = opts.dotBits;
        options.vnni = opts.vnni;
        buildLowerToLLVMPipeline(pm, options);
      });
}
