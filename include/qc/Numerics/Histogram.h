//===- Histogram.h - Histogram calibration: percentile, KL, MSE --*- C++
//-*-===//
//
// Plain C++ (no MLIR): a histogram observer and the three range choices
// computed from it.
//
// The histogram is signed and symmetric: 2·B bins of width w = R/B over
// [−R, R], so that the |x| histogram (B bins over [0, R]) is an exact fold of
// it. R starts at the first batch's max |x| and doubles (merging bin pairs,
// which is exact) whenever a later batch exceeds it, so bins are never
// interpolated; the price is that up to half the range may be empty.
// Non-finite values are skipped. The exact observed min / max are kept too,
// and every returned range is clamped to them.
//
//   percentile   |x| threshold below which `p`% of the values lie, or the
//                two-sided range leaving (100 − p)/2 % in each tail (as
//                onnxruntime's percentile calibrator). Bin resolution: the
//                upper edge of the bin where the cumulative count reaches p.
//   entropy      TensorRT's KL-divergence calibration ("8-bit Inference with
//                TensorRT", Migacz, GTC 2017), with MXNet's merge details
//                (_get_optimal_threshold): on the |x| histogram, for every
//                cutoff i = L .. B bins (L = numQuantizedBins, 128 for int8):
//                  P = bins [0, i) with all bins ≥ i added to bin i−1;
//                  Q = bins [0, i) (no outliers) merged into L levels of
//                      ⌊i/L⌋ bins, the last level taking the remainder, then
//                      each level spread evenly over the bins where P ≠ 0;
//                  both smoothed (ε = 1e−4 moved onto zero bins), then
//                  normalised; KL(P‖Q) = Σ p log(p/q).
//                The first i with the smallest KL wins; threshold = i·w.
//   MSE          the clip range minimising the expected squared quantization
//                error, each bin's values taken as uniform within the bin and
//                the error integrated exactly over the quantizer's steps:
//                symmetric over every bin edge k·w, asymmetric over the
//                observed [min(0, min), max(0, max)] shrunk by 1 − j/steps.
//
//===----------------------------------------------------------------------===//

#ifndef QC_NUMERICS_HISTOGRAM_H
#define QC_NUMERICS_HISTOGRAM_H

#include "qc/Numerics/IntQuant.h"

#include <cstdint>
#include <utility>
#include <vector>

namespace mlir::qc::numerics {

/// The cutoff i ∈ [numQuantizedBins, n] (in bins) minimising TensorRT's KL
/// divergence over the |x| histogram `absCounts` (n bins starting at 0), as
/// described in the file comment. Returns n when n < numQuantizedBins or the
/// histogram is empty.
int64_t findEntropyCutoff(const std::vector<double> &absCounts,
                          int64_t numQuantizedBins);

/// The expected total squared error Σ_bins count · E[(x − Q(x))²] of the
/// histogram `counts` (bin b covers [lo + b·width, lo + (b+1)·width), values
/// uniform within it) under Q(x) = (clamp(round(x/scale) + zp) − zp) · scale
/// with codes in `range`.
double expectedQuantError(const std::vector<double> &counts, double lo,
                          double width, AffineParams params, IntRange range);

/// Signed histogram of everything passed to update(); see the file comment.
class HistogramObserver {
public:
  /// `numBins` bins for |x| (B), rounded up to an even number ≥ 2; the
  /// signed histogram has 2·B bins.
  explicit HistogramObserver(int64_t numBins = 2048);

  /// Adds the finite values of `x[0 .. n)`.
  void update(const float *x, int64_t n);

  int64_t numBins() const { return bins; }
  /// R: the histogram covers [−R, R]; 0 until a non-zero value is seen.
  double range() const { return limit; }
  /// w = R / B.
  double binWidth() const { return limit / double(bins); }
  /// Number of values added.
  double totalCount() const;
  /// The exact smallest / largest finite value seen (0 while empty).
  float min() const { return minValue; }
  float max() const { return maxValue; }
  float absMax() const;

  /// 2·B counts; bin b covers [−R + b·w, −R + (b+1)·w).
  const std::vector<double> &signedCounts() const { return counts; }
  /// B counts of |x|; bin k covers [k·w, (k+1)·w).
  std::vector<double> absCounts() const;

  /// The |x| threshold covering `percentile` % of the values (e.g. 99.99).
  float percentileAbsThreshold(double percentile) const;
  /// (lo, hi) leaving (100 − percentile)/2 % of the values in each tail.
  std::pair<float, float> percentileRange(double percentile) const;
  /// TensorRT's entropy threshold for |x| (see the file comment);
  /// numQuantizedBins = 128 for int8.
  float entropyThreshold(int64_t numQuantizedBins = 128) const;
  /// The symmetric threshold t (scale t / range.qmax, zero point 0, codes in
  /// `range`) with the smallest expected squared error.
  float mseSymmetricThreshold(IntRange range) const;
  /// The asymmetric (lo, hi) (asymmetricParams, codes in `range`) with the
  /// smallest expected squared error among the observed range shrunk by
  /// 1 − j/steps, j = 0 .. steps − 1.
  std::pair<float, float> mseAsymmetricRange(IntRange range,
                                             int steps = 100) const;

private:
  /// Places `count` values at `x` (|x| ≤ R).
  void add(double x, double count);
  /// Doubles R, merging pairs of bins on each side of 0.
  void grow();

  int64_t bins;
  double limit = 0.0;
  double pendingZeros = 0.0; ///< zeros seen while R was still 0
  bool seen = false;
  float minValue = 0.0f, maxValue = 0.0f;
  std::vector<double> counts;
};

} // namespace mlir::qc::numerics

#endif // QC_NUMERICS_HISTOGRAM_H
