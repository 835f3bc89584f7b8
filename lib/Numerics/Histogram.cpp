//===- Histogram.cpp - Histogram calibration: percentile, KL, MSE ---------===//

#include "qc/Numerics/Histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace mlir::qc::numerics {

namespace {

/// MXNet's _smooth_distribution: moves ε onto every zero entry, taking it
/// evenly from the non-zero ones, so that KL stays finite. Returns false when
/// the distribution is all zero or an entry would become non-positive.
bool smoothDistribution(std::vector<double> &p) {
  constexpr double eps = 1e-4;
  int64_t zeros = 0;
  for (double v : p)
    zeros += v == 0.0;
  const int64_t nonZeros = static_cast<int64_t>(p.size()) - zeros;
  if (nonZeros == 0)
    return false;
  const double eps1 = eps * double(zeros) / double(nonZeros);
  for (double &v : p) {
    v = v == 0.0 ? eps : v - eps1;
    if (v <= 0.0)
      return false;
  }
  return true;
}

/// KL(p‖q) after normalising both; p and q are positive (smoothed).
double klDivergence(const std::vector<double> &p,
                    const std::vector<double> &q) {
  double sumP = 0, sumQ = 0;
  for (size_t k = 0; k < p.size(); ++k) {
    sumP += p[k];
    sumQ += q[k];
  }
  double kl = 0.0;
  for (size_t k = 0; k < p.size(); ++k) {
    double pk = p[k] / sumP, qk = q[k] / sumQ;
    kl += pk * std::log(pk / qk);
  }
  return kl;
}

} // namespace

int64_t findEntropyCutoff(const std::vector<double> &absCounts,
                          int64_t numQuantizedBins) {
  const int64_t n = static_cast<int64_t>(absCounts.size());
  if (numQuantizedBins < 1 || n < numQuantizedBins)
    return n;
  // suffix[i] = Σ_{k ≥ i} counts[k]: the outliers of cutoff i.
  std::vector<double> suffix(static_cast<size_t>(n + 1), 0.0);
  for (int64_t k = n - 1; k >= 0; --k)
    suffix[k] = suffix[k + 1] + absCounts[k];
  if (suffix[0] == 0.0)
    return n;

  double bestKl = std::numeric_limits<double>::infinity();
  int64_t bestCutoff = n;
  std::vector<double> p, q;
  for (int64_t i = numQuantizedBins; i <= n; ++i) {
    p.assign(absCounts.begin(), absCounts.begin() + i);
    p[i - 1] += suffix[i];
    q.assign(static_cast<size_t>(i), 0.0);
    const int64_t merged = i / numQuantizedBins;
    for (int64_t level = 0; level < numQuantizedBins; ++level) {
      const int64_t start = level * merged;
      const int64_t end = level == numQuantizedBins - 1 ? i : start + merged;
      double sum = 0.0;
      int64_t nonZeros = 0;
      for (int64_t k = start; k < end; ++k) {
        sum += absCounts[k];
        nonZeros += p[k] != 0.0;
      }
      if (nonZeros == 0)
        continue;
      for (int64_t k = start; k < end; ++k)
        if (p[k] != 0.0)
          q[k] = sum / double(nonZeros);
    }
    if (!smoothDistribution(p) || !smoothDistribution(q))
      continue;
    double kl = klDivergence(p, q);
    if (kl < bestKl) {
      bestKl = kl;
      bestCutoff = i;
    }
  }
  return bestCutoff;
}

double expectedQuantError(const std::vector<double> &counts, double lo,
                          double width, AffineParams params, IntRange range) {
  const double s = params.scale;
  const double z = params.zeroPoint;
  const double inf = std::numeric_limits<double>::infinity();
  auto codeOf = [&](double x) {
    return static_cast<int64_t>(std::clamp(
        roundHalfToEven(x / s) + z, double(range.qmin), double(range.qmax)));
  };
  double total = 0.0;
  for (size_t b = 0; b < counts.size(); ++b) {
    if (counts[b] == 0.0)
      continue;
    const double a = lo + double(b) * width, e = a + width;
    // ∫_a^e (x − Q(x))² dx, one rounding interval of Q at a time.
    double integral = 0.0;
    for (int64_t k = codeOf(a), kEnd = codeOf(e); k <= kEnd; ++k) {
      const double lower = k == range.qmin ? -inf : (double(k) - z - 0.5) * s;
      const double upper = k == range.qmax ? inf : (double(k) - z + 0.5) * s;
      const double u = std::max(a, lower), v = std::min(e, upper);
      if (v <= u)
        continue;
      const double level = (double(k) - z) * s;
      const double du = u - level, dv = v - level;
      integral += (dv * dv * dv - du * du * du) / 3.0;
    }
    total += counts[b] * integral / width;
  }
  return total;
}

HistogramObserver::HistogramObserver(int64_t numBins)
    : bins(std::max<int64_t>(2, numBins + (numBins & 1))),
      counts(static_cast<size_t>(2 * bins), 0.0) {}

void HistogramObserver::add(double x, double count) {
  const double w = binWidth();
  int64_t b = static_cast<int64_t>(std::floor(x / w)) + bins;
  b = std::clamp<int64_t>(b, 0, 2 * bins - 1);
  counts[b] += count;
}

void HistogramObserver::grow() {
  std::vector<double> merged(counts.size(), 0.0);
  for (int64_t m = 0; m < bins / 2; ++m) {
    merged[bins + m] = counts[bins + 2 * m] + counts[bins + 2 * m + 1];
    merged[bins - 1 - m] = counts[bins - 1 - 2 * m] + counts[bins - 2 - 2 * m];
  }
  counts.swap(merged);
  limit *= 2.0;
}

void HistogramObserver::update(const float *x, int64_t n) {
  double amax = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i]))
      continue;
    minValue = seen ? std::min(minValue, x[i]) : x[i];
    maxValue = seen ? std::max(maxValue, x[i]) : x[i];
    seen = true;
    amax = std::max(amax, std::fabs(double(x[i])));
  }
  if (amax > 0.0) {
    if (limit == 0.0) {
      limit = amax;
      if (pendingZeros > 0.0)
        add(0.0, pendingZeros);
      pendingZeros = 0.0;
    }
    while (amax > limit)
      grow();
  }
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i]))
      continue;
    if (limit == 0.0)
      pendingZeros += 1.0;
    else
      add(x[i], 1.0);
  }
}

double HistogramObserver::totalCount() const {
  double total = pendingZeros;
  for (double c : counts)
    total += c;
  return total;
}

float HistogramObserver::absMax() const {
  return std::max(std::fabs(minValue), std::fabs(maxValue));
}

std::vector<double> HistogramObserver::absCounts() const {
  std::vector<double> folded(static_cast<size_t>(bins), 0.0);
  for (int64_t k = 0; k < bins; ++k)
    folded[k] = counts[bins + k] + counts[bins - 1 - k];
  folded[0] += pendingZeros;
  return folded;
}

float HistogramObserver::percentileAbsThreshold(double percentile) const {
  const double total = totalCount();
  if (limit == 0.0 || total == 0.0)
    return 0.0f;
  const std::vector<double> folded = absCounts();
  const double target = percentile / 100.0 * total;
  double cumulative = 0.0;
  int64_t k = 0;
  for (; k < bins - 1; ++k) {
    cumulative += folded[k];
    if (cumulative >= target)
      break;
  }
  return std::min(static_cast<float>((k + 1) * binWidth()), absMax());
}

std::pair<float, float>
HistogramObserver::percentileRange(double percentile) const {
  const double total = totalCount();
  if (limit == 0.0 || total == 0.0)
    return {0.0f, 0.0f};
  const double tail = (100.0 - percentile) / 200.0 * total;
  const int64_t n = 2 * bins;
  int64_t first = 0, last = n - 1;
  for (double cumulative = 0.0; first < n - 1; ++first)
    if ((cumulative += counts[first]) > tail)
      break;
  for (double cumulative = 0.0; last > 0; --last)
    if ((cumulative += counts[last]) > tail)
      break;
  const double w = binWidth();
  float lo = static_cast<float>(-limit + double(first) * w);
  float hi = static_cast<float>(-limit + double(last + 1) * w);
  return {std::max(lo, minValue), std::min(hi, maxValue)};
}

float HistogramObserver::entropyThreshold(int64_t numQuantizedBins) const {
  if (limit == 0.0)
    return 0.0f;
  int64_t cutoff = findEntropyCutoff(absCounts(), numQuantizedBins);
  return std::min(static_cast<float>(double(cutoff) * binWidth()), absMax());
}

float HistogramObserver::mseSymmetricThreshold(IntRange range) const {
  const float amax = absMax();
  if (limit == 0.0 || amax == 0.0f)
    return 0.0f;
  const double w = binWidth();
  const int64_t candidates =
      std::min<int64_t>(bins, static_cast<int64_t>(std::ceil(amax / w)));
  float best = amax;
  double bestErr = std::numeric_limits<double>::infinity();
  for (int64_t k = 1; k <= candidates; ++k) {
    float t = std::min(static_cast<float>(double(k) * w), amax);
    double err =
        expectedQuantError(counts, -limit, w, symmetricParams(t, range), range);
    if (err < bestErr) {
      bestErr = err;
      best = t;
    }
  }
  return best;
}

std::pair<float, float> HistogramObserver::mseAsymmetricRange(IntRange range,
                                                              int steps) const {
  const float lo = std::min(minValue, 0.0f), hi = std::max(maxValue, 0.0f);
  if (limit == 0.0 || steps < 1)
    return {lo, hi};
  std::pair<float, float> best{lo, hi};
  double bestErr = std::numeric_limits<double>::infinity();
  for (int j = 0; j < steps; ++j) {
    const float shrink = static_cast<float>(1.0 - double(j) / steps);
    const float candLo = shrink * lo, candHi = shrink * hi;
    double err =
        expectedQuantError(counts, -limit, binWidth(),
                           asymmetricParams(candLo, candHi, range), range);
    if (err < bestErr) {
      bestErr = err;
      best = {candLo, candHi};
    }
  }
  return best;
}

} // namespace mlir::qc::numerics
