//===- Passes.h - lowering passes from qc to LLVM ---------------*- C++ -*-===//

#ifndef QC_CONVERSION_PASSES_H
#define QC_CONVERSION_PASSES_H

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace mlir::qc {

#define GEN_PASS_DECL
#include "qc/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "qc/Conversion/Passes.h.inc"

/// Options of the whole CPU lowering.
struct LowerToLLVMOptions {
  /// Prefix of the C entry point (<name>_run).
  std::string entryName = "model";
  /// Tile and vectorize contractions and element-wise ops (off: plain loops,
  /// for debugging the lowering).
  bool vectorize = true;
  /// Run the matmuls' column tiles on OpenMP threads (the object then needs
  /// libomp); false gives single-threaded code without that dependency.
  bool parallel = true;
  /// Width of the target's vector registers (512 with AVX-512, 256 with
  /// AVX2); sizes the matmul register blocks. 0: no register blocking.
  int64_t vectorBits = 256;
  /// Widest int8 dot product of the target (512: AVX-512 VNNI, 256:
  /// AVX-VNNI or AVX2; 0: none): the W4A8 and int8 kernels of
  /// qc-vectorize-packed-contractions and qc-vectorize-int8-contractions.
  int64_t dotBits = 0;
  /// The dot product is vpdpbusd (VNNI); false: AVX2 without VNNI (the
  /// kernels emulate it exactly).
  bool vnni = true;
  /// Release the original bytes of packed weights (qc-tile-contractions
  /// release-packed-sources); only when no clone of the module needs them.
  bool releasePackedSources = false;
  /// When not empty, constants of at least `weightsThreshold` bytes go to
  /// this file, mapped by <name>_load_weights (qc-externalize-weights).
  std::string weightsFile;
  int64_t weightsThreshold = 65536;
  /// Keep intermediate buffers between calls (qc-cache-buffers); false
  /// allocates and frees them on every call.
  bool cacheBuffers = true;
  /// Matmuls that read one input with constant weights run as one
  /// (qc-merge-siblings).
  bool mergeSiblings = true;
};

/// Adds the passes from imported IR (qc, tosa, linalg, tensor on tensors) down
/// to the LLVM dialect, with the C entry point.
void buildLowerToLLVMPipeline(OpPassManager &pm,
                              const LowerToLLVMOptions &options);

/// qc-externalize-weights{cuda}: the attribute of a weight's placeholder
/// global (its offset in the weights file), which qc-device-globals turns
/// into the runtime's device copy.
inline constexpr char kWeightsOffsetAttr[] = "qc.weights_offset";

/// qc-map-to-gpu: the comment (inline PTX) that marks where a kernel that
/// prefetches its weights waits for the kernel before it; on sm_90,
/// qc-gpu-dependent-launch puts `griddepcontrol.wait` there instead of at
/// the kernel's entry.
inline constexpr char kDependentWaitMarker[] = "// qc.dependent_wait";

/// Whether one warp's partial sums of the int4 tensor-core kernel's block
/// of `colTiles` 8-column by `rowTiles` 16-row tiles fit its shared memory
/// (qc-map-to-gpu gives a larger block's product to the GEMV mapping).
bool packedMmaBlockFits(int64_t colTiles, int64_t rowTiles);

/// Options of the CUDA lowering (--target=cuda).
struct LowerToCUDAOptions {
  std::string entryName = "model";
  /// GPU architectures to build for, e.g. {"sm_90a", "sm_80"}: one PTX
  /// (and, with ptxas, one cubin) per chip in the model's fat binary.
  SmallVector<std::string> chips = {"sm_90a", "sm_80"};
  /// ptxas to turn each PTX into a cubin; empty: PTX only (the driver
  /// compiles it when the model is loaded).
  std::string ptxas;
  /// CUDA's libdevice bitcode (math functions: __nv_expf, ...), linked into
  /// the kernels; empty: the NVVM target's own search (CUDA_HOME).
  std::string libdevice;
  /// Optimisation level of the device code (NVPTX backend and ptxas).
  unsigned optLevel = 3;
  /// Threads per block of the generic element-wise mapping.
  int64_t blockSize = 256;
  /// qc-map-to-gpu's mma-min-rows (int8) and packed-mma-min-rows (int4).
  int64_t mmaMinRows = QCMapToGPUOptions().mmaMinRows;
  int64_t packedMmaMinRows = QCMapToGPUOptions().packedMmaMinRows;
  /// Its block shape (qc-map-to-gpu packed-mma-col-tiles, packed-mma-warps).
  int64_t packedMmaColTiles = QCMapToGPUOptions().packedMmaColTiles;
  int64_t packedMmaRowTiles = QCMapToGPUOptions().packedMmaRowTiles;
  int64_t packedMmaWarps = QCMapToGPUOptions().packedMmaWarps;
  /// qc-map-to-gpu weight-prefetch-mib: the GEMVs' weights prefetched into
  /// L2 before the wait for the kernel before them (0: none).
  int64_t weightPrefetchMiB = QCMapToGPUOptions().weightPrefetchMiB;
  /// Float activations times int4 words in f16 pairs (convert-qc-to-linalg
  /// f16-products, the default: with 8 rows per warp up to 1.5x faster on
  /// an H100, docs/gpu.md); false: the exact f32 body of the CPU.
  bool f16Products = true;
  /// Matmuls that read one input with constant weights run as one kernel
  /// (qc-merge-siblings).
  bool mergeSiblings = true;
  /// When not empty, constants of at least `weightsThreshold` bytes go to
  /// this file (qc-externalize-weights{cuda}), uploaded from it on first use.
  std::string weightsFile;
  int64_t weightsThreshold = 65536;
  /// Stop after the device code is PTX (before qc-gpu-fat-binary), for
  /// --emit=ptx.
  bool stopAtPTX = false;
};

/// The CUDA lowering: the same front as the CPU pipeline, then
/// bufferization, qc-map-to-gpu, kernel outlining, NVVM, the host side
/// through gpu-to-llvm with quant's runtime (runtime/cuda), and the device
/// code as PTX/cubin in a fat binary embedded in the module.
void buildLowerToCUDAPipeline(OpPassManager &pm,
                              const LowerToCUDAOptions &options);

/// Registers `qc-lower-to-llvm` and `qc-lower-to-cuda` for quant-opt.
void registerLowerToLLVMPipeline();

} // namespace mlir::qc

#endif // QC_CONVERSION_PASSES_H
