//===- MixedPrecision.h - per-layer weight formats under a budget -*- C++ -*-===//
//
// Plain C++ (no MLIR). What qc-assign-precision computes (REFERENCES: Mixed
// precision): the weight formats by name, the bits each costs, a layer's
// sensitivity to a format, and the exact solution of the multiple-choice
// knapsack that picks one format per layer.
//
//===----------------------------------------------------------------------===//

#ifndef QC_NUMERICS_MIXEDPRECISION_H
#define QC_NUMERICS_MIXEDPRECISION_H

#include "qc/Numerics/Result.h"
#include "qc/Numerics/WeightQuantizer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::qc::numerics {

/// A weight format by name:
///   float                         the f32 weight, untouched
///   int8 | int4 | uint8 | uint4   integer codes (u: asymmetric, zero
///                                 points), one scale per output channel,
///   ...-g<N>                      or per N elements along K (int4-g128)
///   fp8 | fp8-e5m2 [-g<N>]        E4M3FN / E5M2 codes with f32 scales
///   mxfp4 | nvfp4                 E2M1 blocks of 32 / 16
struct WeightFormat {
  /// "float", "int", "fp8", "fp8-e5m2", "mxfp4" or "nvfp4".
  std::string kind = "int";
  int64_t bits = 8;
  bool symmetric = true;
  /// Elements per scale along K; 0: per output channel.
  int64_t group = 0;
};

/// The small-float format of a `kind` other than "int" and "float" (fp8,
/// fp8-e5m2, mxfp4, nvfp4).
FloatWeightFormat floatWeightFormat(const std::string &kind);

/// Parses a format name; the error says what is accepted.
Result<WeightFormat> parseWeightFormat(const std::string &name);

/// The canonical name (parseWeightFormat(formatName(f)) == f).
std::string formatName(const WeightFormat &format);

/// Parses a comma-separated list of format names (no duplicates).
Result<std::vector<WeightFormat>> parseWeightFormats(const std::string &list);

/// Whether `format` applies to a weight of `k` input channels: a group must
/// divide k (mxfp4 / nvfp4 blocks of 32 / 16 too).
bool formatFits(const WeightFormat &format, int64_t k);

/// The bits a [k, n] weight takes in `format`, parameters included: codes
/// k·n·bits; per scale 32 bits (f32) for int and fp8, 8 (E8M0 / E4M3) for
/// mxfp4 / nvfp4 (+ nvfp4's one 32-bit tensor scale); per zero point `bits`
/// bits for the asymmetric int formats; float 32·k·n.
int64_t weightStorageBits(const WeightFormat &format, int64_t k, int64_t n);

/// A layer's sensitivity to a quantized weight: the expected increase of its
/// output's squared error per row of activations X on calibration data,
///   E‖X·ΔWᵀ‖² ≈ Σ_i (H_ii / 2) · Σ_j ΔW[j, i]²
/// with H = 2XᵀX/N (GPTQ's Hessian, `hessianDiag` its k diagonal entries)
/// and the errors of different input channels taken as uncorrelated (what
/// makes this O(n·k) instead of O(n·k²)). ΔW = W − dequant(quant(W)), both
/// [n, k] row-major. Without calibration data (`hessianDiag` null), H/2 = I:
/// the squared weight error ‖ΔW‖². With `dequantized` all zeros it is the
/// layer's output energy E‖X·Wᵀ‖², by which qc-assign-precision divides.
double layerSensitivity(const float *w, const float *dequantized, int64_t n,
                        int64_t k, const double *hessianDiag);

/// The cost of our own CPU matmul kernel for one family of weight formats:
/// a layer takes max(bytes · nsPerByte, m·n·k / macsPerNs) ns on one core,
/// bytes being what the kernel reads (kernelWeightBytes).
struct FormatCost {
  double nsPerByte = 0;
  double macsPerNs = 0;
};

/// Per family: float weights; int8 per channel; int formats with groups
/// (the grouped integer contraction); int4 per channel; decoded small
/// floats (fp8, fp8-e5m2, mxfp4, nvfp4).
struct KernelCostModel {
  FormatCost floating, int8, grouped, int4, decoded;
};

/// The figures of `bench/kernel_costs.py` on the 2-core AVX-512 machine
/// this project is developed on (docs/transforms.md: K = N = 4096, M = 1 and
/// 32, one core).
KernelCostModel defaultCpuCostModel();

/// The bytes our CPU kernel reads for a [k, n] weight in `format`: 4 per
/// float weight, 1 per code of at most 8 bits (int4 and fp4 codes are one
/// per byte until the kernels read packed layouts), plus 4 per f32 scale
/// (1 per E8M0 / E4M3 block scale) and 1 per zero point.
int64_t kernelWeightBytes(const WeightFormat &format, int64_t k, int64_t n);

/// The modelled time in ns of an [m, k] x [k, n] matmul with weights in
/// `format` (see FormatCost).
double layerLatencyNs(const WeightFormat &format, int64_t m, int64_t n,
                      int64_t k, const KernelCostModel &model);

/// One option of one layer in the knapsack.
struct KnapsackChoice {
  /// What choosing it adds to the objective (a sensitivity).
  double cost = 0;
  /// What it takes of the budget (bits).
  int64_t size = 0;
};

struct KnapsackSolution {
  /// The chosen index per layer.
  std::vector<int64_t> choice;
  double cost = 0;
  int64_t size = 0;
  /// True when the dynamic program ran over the sizes themselves (divided
  /// by their greatest common divisor), so the solution is optimal; false
  /// when the budget was too fine for `maxCells` and sizes were rounded up
  /// to a coarser unit (the solution then fits the budget and is optimal
  /// for the rounded sizes).
  bool exact = true;
};

/// Minimises Σ cost subject to Σ size <= budget, one choice per layer
/// (the multiple-choice knapsack), by dynamic programming over the budget
/// in units of the greatest common divisor of the sizes above each layer's
/// smallest. `maxCells` bounds layers × budget units (memory of the choice
/// table, one byte each). Fails when a layer has no choice, a layer has
/// more than 255, or even the smallest choices exceed the budget.
Result<KnapsackSolution>
solveMultipleChoiceKnapsack(const std::vector<std::vector<KnapsackChoice>> &layers,
                            int64_t budget, int64_t maxCells = 200000000);

} // namespace mlir::qc::numerics

#endif // QC_NUMERICS_MIXEDPRECISION_H
