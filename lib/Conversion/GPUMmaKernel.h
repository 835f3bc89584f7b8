//===- GPUMmaKernel.h - the tensor-core W4A16 kernel ------------*- C++ -*-===//
//
// qc-map-to-gpu's kernel for a packed int4 contraction with several rows:
// mma.sync m16n8k16 on f16 operands, the int4 codes expanded in registers.
//
//===----------------------------------------------------------------------===//

#ifndef QC_LIB_CONVERSION_GPUMMAKERNEL_H
#define QC_LIB_CONVERSION_GPUMMAKERNEL_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::qc {

/// The block's shape: `colTiles` 8-column tiles and up to `rowTiles` 16-row
/// tiles (each warp's accumulators; a block reads all its rows'
/// activations and all its columns' weights), K split over `warps` warps
/// (fewer where their partial sums would not fit 48 KiB of shared memory);
/// 0 for the defaults: by the rows (2 column tiles up to 8 rows, 4 up to
/// 16, 8 beyond), 1 row tile, 8 warps.
struct PackedMmaShape {
  int64_t colTiles = 0, rowTiles = 0, warps = 0;
};

/// Replaces the bufferized packed contraction `op` (float activations times
/// int4 `nibbles` words, marked `qc.packed_contraction` by
/// convert-qc-to-linalg) with a gpu.launch of the tensor-core kernel, at the
/// rewriter's insertion point, when it has at least `minRows` rows (the
/// activation's leading dimensions, static), a reduction that is a multiple
/// of 32, contiguous buffers, parameters that are constant over each run of
/// 32 codes, and an integer zero point (the codes expand to f16 exactly). `init`, if set, is the scalar of a folded fill of the
/// output (else the output's values are added to). Fails, creating
/// nothing, where it does not apply; the caller erases `op` on success.
/// `shape`: the block (PackedMmaShape).
LogicalResult buildPackedMmaKernel(RewriterBase &rewriter, linalg::GenericOp op,
                                   Value init, int64_t minRows,
                                   PackedMmaShape shape = {});

} // namespace mlir::qc

#endif // QC_LIB_CONVERSION_GPUMMAKERNEL_H
