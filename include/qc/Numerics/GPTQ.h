//===- GPTQ.h - GPTQ weight quantization -------------------------*- C++
//-*-===//
//
// Plain C++ (no MLIR): GPTQ (Frantar et al., "GPTQ: Accurate Post-Training
// Quantization for Generative Pre-trained Transformers", ICLR 2023; reference
// code IST-DASLab/gptq, `fasterquant`), as REFERENCES: GPTQ states it. For a
// weight W [N, K] (y = x Wᵀ) and H = 2XXᵀ/n from calibration inputs
// (HessianAccumulator in Calibration.h):
//
//   1. dead columns (H_jj = 0): H_jj = 1 and W[:, j] = 0;
//   2. per-channel parameters, or static groups' parameters (original column
//      order), from this W;
//   3. act-order: permute columns of W and rows/columns of H by descending
//      diag(H) (stable, so ties keep their order);
//   4. H += λI with λ = dampPercent · mean(diag H); U = chol(H⁻¹) upper;
//   5. for each column i in blocks of `blockSize`:
//        (non-static groups: parameters of columns [i, i+g) when i % g == 0)
//        q = Q(w_i); e = (w_i − q) / U_ii
//        W[:, i+1 : block end] −= e · U[i, i+1 : block end]
//      and after each block, W[:, rest] −= E · U[block, rest];
//   6. undo the permutation.
//
// GPTQ is invariant to scaling H, so whether n counts tokens or sequences does
// not matter. Computation is in double; each row of W is independent given H,
// so rows are processed in tiles that stay in cache.
//
// Two deliberate differences from the reference code, neither of which
// REFERENCES prescribes:
//   - Non-static group parameters are computed from the weights with every
//     earlier column's error already applied. The reference reads a copy that
//     misses the updates from earlier columns of the same 128-column block
//     when a group starts mid-block (group size < 128); for group size 128
//     the two agree. (The block size is rounded to a multiple of the group
//     size, or up to it, so that a group never straddles a block.)
//   - Per-channel parameters are computed after dead columns are zeroed (the
//     reference computes them before), so a dead column cannot widen a range.
//
//===----------------------------------------------------------------------===//

#ifndef QC_NUMERICS_GPTQ_H
#define QC_NUMERICS_GPTQ_H

#include "qc/Numerics/Result.h"
#include "qc/Numerics/WeightQuantizer.h"

#include <cstdint>
#include <vector>

namespace mlir::qc::numerics {

/// GPTQ options; the defaults are the reference's.
struct GPTQConfig {
  /// Format, group size and optional clip search for the parameters.
  WeightQuantConfig weight;
  /// Columns per lazy-update block.
  int64_t blockSize = 128;
  /// λ = dampPercent · mean(diag H). 0 is allowed (H must then be positive
  /// definite by itself).
  double dampPercent = 0.01;
  /// Quantize columns in order of descending diag(H).
  bool actOrder = false;
  /// With groups: fix every group's parameters up front in the original
  /// column order, so that inference needs no permutation (groupIndex is
  /// then j / groupSize).
  bool staticGroups = false;
};

/// What GPTQ returns besides the quantized weight.
struct GPTQResult {
  /// Codes, parameters and dequantized weight, all in the original column
  /// order. With act-order and non-static groups, group g holds the columns
  /// whose position in `columnOrder` is in [g·groupSize, (g+1)·groupSize),
  /// and groupIndex maps each original column to its group.
  QuantizedWeight weight;
  /// The order in which columns were quantized (identity without act-order).
  std::vector<int64_t> columnOrder;
  /// Σ (w − q)² / (2 U_ii²) over all entries: the reference's "error".
  double loss = 0.0;
};

/// Runs GPTQ on W [rows, cols] (row-major) with the cols×cols Hessian
/// `hessian` (row-major, symmetric). Fails for an invalid configuration
/// (validateWeightQuantConfig, a block size < 1, a negative damping) or when
/// the damped Hessian is not positive definite.
Result<GPTQResult> quantizeWeightGPTQ(const float *w, int64_t rows,
                                      int64_t cols, const double *hessian,
                                      const GPTQConfig &config);

} // namespace mlir::qc::numerics

#endif // QC_NUMERICS_GPTQ_H
