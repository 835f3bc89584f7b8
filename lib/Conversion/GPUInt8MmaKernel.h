//===- GPUInt8MmaKernel.h - the tensor-core W8A8 kernel ---------*- C++ -*-===//
//
// qc-map-to-gpu's kernel for an int8 contraction: mma.sync m16n8k32 on s8
// operands staged in shared memory, the scales' epilogue fused into its
// stores.
//
//===----------------------------------------------------------------------===//

#ifndef QC_LIB_CONVERSION_GPUINT8MMAKERNEL_H
#define QC_LIB_CONVERSION_GPUINT8MMAKERNEL_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::qc {

/// Replaces the bufferized int8 contraction `op` (convert-qc-to-linalg's
/// `int8-mma` form: signed i8 codes [M, K] times a signed i8 weight [N, K]
/// into i32 [M, N], marked `qc.int8_contraction`) with a gpu.launch of the
/// tensor-core kernel at the rewriter's insertion point, when it has at
/// least `minRows` rows, K a multiple of 16 and contiguous static buffers.
/// `init`, if set, is the scalar of a folded fill of the output (else the
/// output's values are added to). When the i32 result is read only by an
/// element-wise generic that comes next (the scales' epilogue), the
/// kernel's stores run that generic's body instead and `fused` is set to
/// it: the caller erases it with `op`. Fails, creating nothing, where it
/// does not apply.
LogicalResult buildInt8MmaKernel(RewriterBase &rewriter, linalg::GenericOp op,
                                 Value init, int64_t minRows,
                                 linalg::GenericOp &fused);

} // namespace mlir::qc

#endif // QC_LIB_CONVERSION_GPUINT8MMAKERNEL_H
