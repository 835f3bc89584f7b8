//===- GPURowKernel.h - a run of row-wise ops in one GPU kernel -*- C++ -*-===//
//
// qc-map-to-gpu's kernel for a run of generics over the same rows: each
// either element-wise over [rows, n] or a reduction of its rows (over its
// innermost loop, n long). A norm (sum of squares, then the scaled row), a
// softmax (row maximum, exponentials, their sum) and the element-wise work
// before them (a residual add, a scale) are such runs: one block per row
// runs every op in turn (a barrier per reduction), where the generic
// mapping makes a launch per op, a warp or one block of the grid reducing
// a whole row alone.
//
//===----------------------------------------------------------------------===//

#ifndef QC_LIB_CONVERSION_GPUROWKERNEL_H
#define QC_LIB_CONVERSION_GPUROWKERNEL_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"

#include <optional>

namespace mlir::qc {

/// Rows and row length of a generic the kernel can run: static loops, one
/// output, all loops parallel but possibly the innermost, a reduction
/// whose body the kernel can split (a sum, maximum or minimum in 32 bits);
/// no `qc.` marker (those have kernels of their own).
struct RowShape {
  int64_t rows = 0;
  int64_t length = 0;
  bool reduction = false;
};
std::optional<RowShape> rowShape(linalg::GenericOp op);

/// The buffer under `v`'s views (all of them: subviews too).
Value bufferRoot(Value v);

/// The shortest row the kernel takes (a warp per block).
constexpr int64_t kRowKernelMinLength = 32;
/// The longest: a row of 32 K elements is 128 iterations of a 256-thread
/// block, beyond which one block per row leaves the GPU idle.
constexpr int64_t kRowKernelMaxLength = 32768;

/// Replaces `ops` (bufferized, consecutive at the top level but for
/// allocations, views and the folded fills, all of the same RowShape
/// rows and length, at least one a reduction) with one gpu.launch at the
/// position of the last: a block per row; each op's values of the row
/// computed by the block's threads (element j by thread j mod the block
/// size), a reduction combined across the block and its result kept for
/// the later ops. `inits[i]`, when set, is the value a folded fill gave the
/// output of reduction `ops[i]`. Fails, changing nothing, when a buffer one
/// op writes is read or written by another in a way that would need another
/// thread's value: an element-wise result must be read back at the same
/// element of the row (same address), a reduction's at its row, through
/// views that keep the addresses (identity layouts, expand/collapse_shape).
LogicalResult buildRowKernel(RewriterBase &rewriter,
                             ArrayRef<linalg::GenericOp> ops,
                             ArrayRef<Value> inits);

} // namespace mlir::qc

#endif // QC_LIB_CONVERSION_GPUROWKERNEL_H
