//===- GPUHadamardKernel.h - qc.hadamard in one GPU kernel ------*- C++ -*-===//
//
// The online Hadamard transform on the GPU: convert-qc-to-linalg
// {hadamard-kernel} lowers a qc.hadamard this kernel takes to one generic
// marked `qc.hadamard`, and qc-map-to-gpu replaces that generic with one
// launch (a block per transformed vector: the K×K factor in registers, the
// butterfly stages in shared memory).
//
//===----------------------------------------------------------------------===//

#ifndef QC_LIB_CONVERSION_GPUHADAMARDKERNEL_H
#define QC_LIB_CONVERSION_GPUHADAMARDKERNEL_H

#include "qc/Numerics/Hadamard.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::qc {

/// The marker of the one-generic form: {size, stride} of the transform.
constexpr llvm::StringLiteral kHadamardMarker = "qc.hadamard";
/// The power-of-two part's largest size: one row of it in shared memory
/// (32 KiB of f32).
constexpr int64_t kHadamardKernelMaxPowerOfTwo = 8192;
/// The largest K×K factor, applied unrolled in registers.
constexpr int64_t kHadamardKernelMaxFactor = 64;

/// Whether the kernel takes a transform of `size` (= K·2^m).
inline bool hadamardKernelTakes(int64_t size) {
  std::optional<numerics::HadamardSize> split =
      numerics::factorHadamardSize(size);
  return split && split->factor <= kHadamardKernelMaxFactor &&
         (int64_t(1) << split->log2PowerOfTwo) <= kHadamardKernelMaxPowerOfTwo;
}

/// Replaces the bufferized generic `op` marked `qc.hadamard` (its input the
/// activation viewed as [..., n / (size·stride), size, stride], contiguous)
/// with a gpu.launch of the transform at the rewriter's insertion point.
/// Fails, changing nothing, when `op` is not of that form.
LogicalResult buildHadamardKernel(RewriterBase &rewriter, linalg::GenericOp op);

} // namespace mlir::qc

#endif // QC_LIB_CONVERSION_GPUHADAMARDKERNEL_H
