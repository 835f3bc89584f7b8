//===- GPTQTest.cpp - GPTQ weight quantization ----------------------------===//

#include "qc/Numerics/GPTQ.h"
#include "qc/Numerics/Calibration.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

using namespace mlir::qc::numerics;

namespace {

GPTQConfig gptqConfig(int bits, int64_t groupSize, bool actOrder = false,
                      bool staticGroups = false) {
  GPTQConfig config;
  config.weight.spec = IntQuantSpec{bits, true, 1.0f};
  config.weight.groupSize = groupSize;
  config.actOrder = actOrder;
  config.staticGroups = staticGroups;
  return config;
}

std::vector<double> identity(int64_t n) {
  std::vector<double> h(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i)
    h[i * n + i] = 1.0;
  return h;
}

/// Calibration inputs X [samples, k] with strongly correlated columns: a few
/// latent factors mixed into every column, plus a little noise.
std::vector<float> correlatedInputs(int64_t samples, int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  const int64_t factors = 8;
  std::vector<float> mix(factors * k), x(samples * k);
  for (float &v : mix)
    v = normal(rng);
  for (int64_t s = 0; s < samples; ++s) {
    float z[factors];
    for (float &v : z)
      v = normal(rng);
    for (int64_t j = 0; j < k; ++j) {
      float v = 0.05f * normal(rng);
      for (int64_t f = 0; f < factors; ++f)
        v += z[f] * mix[f * k + j];
      x[s * k + j] = v;
    }
  }
  return x;
}

std::vector<float> randomWeight(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> w(rows * cols);
  for (float &v : w)
    v = normal(rng);
  return w;
}

/// ‖X Wᵀ − X Ŵᵀ‖²_F.
double outputError(const std::vector<float> &x, int64_t samples,
                   const std::vector<float> &w, const std::vector<float> &wq,
                   int64_t rows, int64_t cols) {
  double err = 0;
  for (int64_t s = 0; s < samples; ++s)
    for (int64_t r = 0; r < rows; ++r) {
      double d = 0;
      for (int64_t j = 0; j < cols; ++j)
        d += double(x[s * cols + j]) * (w[r * cols + j] - wq[r * cols + j]);
      err += d * d;
    }
  return err;
}

void expectSameQuantization(const QuantizedWeight &a,
                            const QuantizedWeight &b) {
  EXPECT_EQ(a.codes, b.codes);
  EXPECT_EQ(a.scales, b.scales);
  EXPECT_EQ(a.zeroPoints, b.zeroPoints);
  EXPECT_EQ(a.dequantized, b.dequantized);
  EXPECT_EQ(a.groupIndex, b.groupIndex);
}

// W = [0.2, 0.5, 0.9], int3 symmetric (codes -4..3), scale 0.9/3 = 0.3, no
// damping, H = [[1, .9, 0], [.9, 1, 0], [0, 0, 1]].
//   H⁻¹ = [[1, -.9], [-.9, 1]] / 0.19 ⊕ [1]; U = chol(H⁻¹) upper:
//   U00 = √(1/0.19), U01 = (-.9/.19)/U00, U11 = √(1/.19 − .81/.19) = 1.
//   column 0: 0.2/0.3 = 0.67 -> 1 (0.3); e = -0.1/U00;
//             w1 -= e·U01 = 0.5 − 0.1·0.9 = 0.41 (w2 untouched: U02 = 0)
//   column 1: 0.41/0.3 = 1.37 -> 1 (RTN gives 0.5/0.3 = 1.67 -> 2)
//   column 2: 0.9 -> 3.
//   loss = 0.1²·0.19/2 + 0.11²/2 = 0.00095 + 0.00605 = 0.007.
TEST(GPTQ, HandWorkedThreeColumns) {
  const float w[] = {0.2f, 0.5f, 0.9f};
  const std::vector<double> h = {1, 0.9, 0, 0.9, 1, 0, 0, 0, 1};
  GPTQConfig config = gptqConfig(3, 0);
  config.dampPercent = 0.0;
  Result<GPTQResult> q = quantizeWeightGPTQ(w, 1, 3, h.data(), config);
  ASSERT_TRUE(q) << q.error();
  EXPECT_EQ(q->weight.codes, (std::vector<int32_t>{1, 1, 3}));
  EXPECT_FLOAT_EQ(q->weight.scales[0], 0.3f);
  EXPECT_FLOAT_EQ(q->weight.dequantized[1], 0.3f);
  EXPECT_NEAR(q->loss, 0.007, 1e-6);
  EXPECT_EQ(q->columnOrder, (std::vector<int64_t>{0, 1, 2}));

  Result<QuantizedWeight> rtn = quantizeWeightRTN(w, 1, 3, config.weight);
  ASSERT_TRUE(rtn);
  EXPECT_EQ(rtn->codes, (std::vector<int32_t>{1, 2, 3}));
}

TEST(GPTQ, EqualsRTNWhenTheHessianIsTheIdentity) {
  const int64_t rows = 8, cols = 64;
  std::vector<float> w = randomWeight(rows, cols, 5);
  std::vector<double> h = identity(cols);
  std::vector<GPTQConfig> configs = {
      gptqConfig(4, 0), gptqConfig(4, 16), gptqConfig(3, 32, true),
      gptqConfig(4, 16, true, true), gptqConfig(8, 0, true)};
  configs.push_back(gptqConfig(4, 16));
  configs.back().weight.clipSearch = ClipSearchConfig{};
  configs.push_back(gptqConfig(4, 32));
  configs.back().weight.spec.symmetric = false;
  for (const GPTQConfig &config : configs) {
    Result<GPTQResult> q =
        quantizeWeightGPTQ(w.data(), rows, cols, h.data(), config);
    Result<QuantizedWeight> rtn =
        quantizeWeightRTN(w.data(), rows, cols, config.weight);
    ASSERT_TRUE(q && rtn) << q.error() << rtn.error();
    SCOPED_TRACE("bits " + std::to_string(config.weight.spec.bits) + " group " +
                 std::to_string(config.weight.groupSize));
    expectSameQuantization(q->weight, *rtn);
  }
}

TEST(GPTQ, BeatsRTNOnCorrelatedInputs) {
  const int64_t samples = 512, rows = 32, cols = 128;
  std::vector<float> x = correlatedInputs(samples, cols, 21);
  std::vector<float> w = randomWeight(rows, cols, 22);
  HessianAccumulator acc(cols);
  acc.update(x.data(), samples / 2);
  acc.update(x.data() + (samples / 2) * cols, samples - samples / 2);

  for (const GPTQConfig &config :
       {gptqConfig(4, 0), gptqConfig(4, 32), gptqConfig(3, 0, true),
        gptqConfig(4, 32, true, true), gptqConfig(4, 32, true, false)}) {
    Result<GPTQResult> q =
        quantizeWeightGPTQ(w.data(), rows, cols, acc.hessian().data(), config);
    Result<QuantizedWeight> rtn =
        quantizeWeightRTN(w.data(), rows, cols, config.weight);
    ASSERT_TRUE(q && rtn) << q.error() << rtn.error();
    double errGptq =
        outputError(x, samples, w, q->weight.dequantized, rows, cols);
    double errRtn = outputError(x, samples, w, rtn->dequantized, rows, cols);
    EXPECT_LT(errGptq, 0.5 * errRtn)
        << "bits " << config.weight.spec.bits << " group "
        << config.weight.groupSize << " act-order " << config.actOrder;
  }
}

TEST(GPTQ, ResultDoesNotDependOnTheBlockSize) {
  const int64_t samples = 256, rows = 12, cols = 96;
  std::vector<float> x = correlatedInputs(samples, cols, 31);
  std::vector<float> w = randomWeight(rows, cols, 32);
  HessianAccumulator acc(cols);
  acc.update(x.data(), samples);
  for (int64_t groupSize : {int64_t(0), int64_t(32)}) {
    GPTQConfig config = gptqConfig(4, groupSize, true);
    Result<GPTQResult> reference =
        quantizeWeightGPTQ(w.data(), rows, cols, acc.hessian().data(), config);
    ASSERT_TRUE(reference);
    for (int64_t blockSize : {1, 5, 32, 1000}) {
      config.blockSize = blockSize;
      Result<GPTQResult> q = quantizeWeightGPTQ(w.data(), rows, cols,
                                                acc.hessian().data(), config);
      ASSERT_TRUE(q);
      EXPECT_EQ(q->weight.codes, reference->weight.codes)
          << "block " << blockSize << " group " << groupSize;
      EXPECT_NEAR(q->loss, reference->loss, 1e-9 * reference->loss);
    }
  }
}

TEST(GPTQ, ActOrderAndGroupLayout) {
  const int64_t samples = 256, rows = 6, cols = 64, g = 16;
  std::vector<float> x = correlatedInputs(samples, cols, 41);
  for (int64_t s = 0; s < samples; ++s) // make diag(H) distinct and unsorted
    for (int64_t j = 0; j < cols; ++j)
      x[s * cols + j] *= 1.0f + float((j * 7) % cols) / float(cols);
  std::vector<float> w = randomWeight(rows, cols, 42);
  HessianAccumulator acc(cols);
  acc.update(x.data(), samples);
  const std::vector<double> &h = acc.hessian();

  for (bool staticGroups : {true, false}) {
    Result<GPTQResult> q = quantizeWeightGPTQ(
        w.data(), rows, cols, h.data(), gptqConfig(4, g, true, staticGroups));
    ASSERT_TRUE(q) << q.error();
    const std::vector<int64_t> &order = q->columnOrder;
    ASSERT_EQ(order.size(), size_t(cols));
    EXPECT_NE(order[0], 0);
    for (int64_t i = 1; i < cols; ++i)
      EXPECT_GE(h[order[i - 1] * cols + order[i - 1]],
                h[order[i] * cols + order[i]]);
    std::vector<int64_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t j = 0; j < cols; ++j)
      EXPECT_EQ(sorted[j], j);

    const QuantizedWeight &qw = q->weight;
    std::vector<int> groupSizes(cols / g, 0);
    for (int64_t j = 0; j < cols; ++j)
      ++groupSizes[qw.groupIndex[j]];
    // Static groups keep the original column order; otherwise groups follow
    // the quantization order.
    for (int64_t i = 0; i < cols; ++i) {
      if (staticGroups) {
        EXPECT_EQ(qw.groupIndex[i], i / g);
      } else {
        EXPECT_EQ(qw.groupIndex[order[i]], i / g);
      }
    }
    for (int n : groupSizes)
      EXPECT_EQ(n, g);
    // The dequantized weight is what the codes and parameters say.
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < cols; ++j) {
        int64_t p = r * qw.numGroups() + qw.groupIndex[j];
        EXPECT_EQ(qw.dequantized[r * cols + j],
                  float(qw.codes[r * cols + j] - qw.zeroPoints[p]) *
                      qw.scales[p]);
      }
  }
}

TEST(GPTQ, DeadColumnsAreZeroed) {
  const int64_t samples = 64, rows = 4, cols = 16;
  std::vector<float> x = correlatedInputs(samples, cols, 51);
  for (int64_t s = 0; s < samples; ++s)
    x[s * cols + 5] = 0.0f;
  std::vector<float> w = randomWeight(rows, cols, 52);
  HessianAccumulator acc(cols);
  acc.update(x.data(), samples);
  ASSERT_EQ(acc.hessian()[5 * cols + 5], 0.0);
  GPTQConfig config = gptqConfig(4, 0, true);
  config.weight.spec.symmetric = false;
  Result<GPTQResult> q =
      quantizeWeightGPTQ(w.data(), rows, cols, acc.hessian().data(), config);
  ASSERT_TRUE(q) << q.error();
  for (int64_t r = 0; r < rows; ++r) {
    EXPECT_EQ(q->weight.dequantized[r * cols + 5], 0.0f);
    EXPECT_EQ(q->weight.codes[r * cols + 5], q->weight.zeroPoints[r]);
  }
}

TEST(GPTQ, Errors) {
  const float w[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  // Rank-one H with no damping is singular.
  const std::vector<double> h = {1, 1, 1, 1, 1, 1, 1, 1,
                                 1, 1, 1, 1, 1, 1, 1, 1};
  GPTQConfig config = gptqConfig(4, 0);
  config.dampPercent = 0.0;
  Result<GPTQResult> q = quantizeWeightGPTQ(w, 2, 4, h.data(), config);
  ASSERT_FALSE(q);
  EXPECT_NE(q.error().find("not positive definite"), std::string::npos)
      << q.error();
  config.dampPercent = 0.01;
  EXPECT_TRUE(quantizeWeightGPTQ(w, 2, 4, h.data(), config));

  EXPECT_FALSE(quantizeWeightGPTQ(w, 2, 4, h.data(), gptqConfig(4, 3)));
  config.blockSize = 0;
  EXPECT_FALSE(quantizeWeightGPTQ(w, 2, 4, h.data(), config));
  config.blockSize = 128;
  config.dampPercent = -1.0;
  EXPECT_FALSE(quantizeWeightGPTQ(w, 2, 4, h.data(), config));
}

} // namespace
