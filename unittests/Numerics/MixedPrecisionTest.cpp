//===- MixedPrecisionTest.cpp - formats, sizes, sensitivity, knapsack -----===//

#include "qc/Numerics/MixedPrecision.h"

#include <gtest/gtest.h>

using namespace mlir::qc::numerics;

namespace {

TEST(MixedPrecision, ParseFormats) {
  Result<WeightFormat> f = parseWeightFormat("int4-g128");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, "int");
  EXPECT_EQ(f->bits, 4);
  EXPECT_TRUE(f->symmetric);
  EXPECT_EQ(f->group, 128);
  f = parseWeightFormat("uint8");
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->symmetric);
  EXPECT_EQ(f->group, 0);
  f = parseWeightFormat("fp8-e5m2-g32");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, "fp8-e5m2");
  EXPECT_EQ(f->group, 32);
  f = parseWeightFormat("nvfp4");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->group, 16);
  for (const char *bad : {"int3", "mxfp4-g32", "float-g8", "int4-g0", "int4-g",
                          "", "int4-gx"})
    EXPECT_FALSE(parseWeightFormat(bad)) << bad;
  for (const char *name : {"int8", "uint4-g32", "fp8", "fp8-e5m2-g128",
                           "mxfp4", "float"})
    EXPECT_EQ(formatName(*parseWeightFormat(name)), name);
  EXPECT_FALSE(parseWeightFormats("int8,int4,int8"));
  Result<std::vector<WeightFormat>> list = parseWeightFormats("int8,int4-g32");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 2u);
}

// Bits by hand: int4-g128 of [256, 2]: 2048 codes·4... = 256·2·4 = 2048, two
// groups × two channels of f32 scales = 128 -> 2176; uint4 adds 4 zero
// points of 4 bits -> 2192; int8 [4, 3] per channel: 96 + 3·32 = 192;
// mxfp4 [64, 1]: 256 + 2 E8M0 scales = 272; nvfp4 [32, 1]: 128 + 2·8 + 32 =
// 176; float [4, 3]: 384.
TEST(MixedPrecision, StorageBits) {
  EXPECT_EQ(weightStorageBits(*parseWeightFormat("int4-g128"), 256, 2), 2176);
  EXPECT_EQ(weightStorageBits(*parseWeightFormat("uint4-g128"), 256, 2), 2192);
  EXPECT_EQ(weightStorageBits(*parseWeightFormat("int8"), 4, 3), 192);
  EXPECT_EQ(weightStorageBits(*parseWeightFormat("mxfp4"), 64, 1), 272);
  EXPECT_EQ(weightStorageBits(*parseWeightFormat("nvfp4"), 32, 1), 176);
  EXPECT_EQ(weightStorageBits(*parseWeightFormat("float"), 4, 3), 384);
  EXPECT_TRUE(formatFits(*parseWeightFormat("int4-g32"), 64));
  EXPECT_FALSE(formatFits(*parseWeightFormat("int4-g32"), 48));
  EXPECT_TRUE(formatFits(*parseWeightFormat("int8"), 7));
}

// ΔW = [0, 0.5]: without a Hessian 0.25; with diag H = [4, 6]: 6/2 · 0.25.
TEST(MixedPrecision, Sensitivity) {
  const float w[2] = {1, 2}, q[2] = {1, 1.5f};
  const double h[2] = {4, 6};
  EXPECT_DOUBLE_EQ(layerSensitivity(w, q, 1, 2, nullptr), 0.25);
  EXPECT_DOUBLE_EQ(layerSensitivity(w, q, 1, 2, h), 0.75);
}

// Three layers (cost, bits): A (10, 4) | (1, 8); B (6, 4) | (2, 8);
// C (5, 4) | (0, 16). Upgrades cost A +4 bits for -9, B +4 for -4, C +12
// for -5. Budget 24 (12 spare): A and B, cost 1 + 2 + 5 = 8, 20 bits.
// Budget 28: A and C, 1 + 6 + 0 = 7 (A and B is 8). Budget 32: all, 3.
TEST(MixedPrecision, KnapsackExact) {
  std::vector<std::vector<KnapsackChoice>> layers = {
      {{10, 4}, {1, 8}}, {{6, 4}, {2, 8}}, {{5, 4}, {0, 16}}};
  Result<KnapsackSolution> s = solveMultipleChoiceKnapsack(layers, 24);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->choice, (std::vector<int64_t>{1, 1, 0}));
  EXPECT_DOUBLE_EQ(s->cost, 8);
  EXPECT_EQ(s->size, 20);
  EXPECT_TRUE(s->exact);
  s = solveMultipleChoiceKnapsack(layers, 28);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->choice, (std::vector<int64_t>{1, 0, 1}));
  EXPECT_DOUBLE_EQ(s->cost, 7);
  s = solveMultipleChoiceKnapsack(layers, 32);
  ASSERT_TRUE(s);
  EXPECT_DOUBLE_EQ(s->cost, 3);
  EXPECT_EQ(s->size, 32);
  EXPECT_FALSE(solveMultipleChoiceKnapsack(layers, 11));
  EXPECT_FALSE(solveMultipleChoiceKnapsack({{}}, 100));
}

// A table of one unit per layer (maxCells 3): the 12 spare bits become one
// unit of 12, every upgrade costs one unit, so only the best single upgrade
// (A, -9) fits: cost 1 + 6 + 5 = 12, marked inexact, within budget.
TEST(MixedPrecision, KnapsackCoarse) {
  std::vector<std::vector<KnapsackChoice>> layers = {
      {{10, 4}, {1, 8}}, {{6, 4}, {2, 8}}, {{5, 4}, {0, 16}}};
  Result<KnapsackSolution> s = solveMultipleChoiceKnapsack(layers, 24, 3);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->exact);
  EXPECT_EQ(s->choice, (std::vector<int64_t>{1, 0, 0}));
  EXPECT_DOUBLE_EQ(s->cost, 12);
  EXPECT_LE(s->size, 24);
}

// Bytes our kernels read for k = 256, n = 4: float 4096; int8 per channel
// 1024 + 4·4 = 1040; uint4 g128 1024 + 4·8 + 8 zero points = 1064; mxfp4
// 1024 + 32 block scales = 1056.
TEST(MixedPrecision, KernelWeightBytes) {
  auto bytes = [](const char *name) {
    return kernelWeightBytes(*parseWeightFormat(name), 256, 4);
  };
  EXPECT_EQ(bytes("float"), 4096);
  EXPECT_EQ(bytes("int8"), 1040);
  EXPECT_EQ(bytes("uint4-g128"), 1064);
  EXPECT_EQ(bytes("mxfp4"), 1056);
}

// With a model of ns/byte = 1, MACs/ns = 2 for int8 and ns/byte = 0.5,
// MACs/ns = 4 for groups: m = 1, k = 256, n = 4 is memory-bound (int8:
// 1040 ns > 1024 MACs / 2; uint4-g128: 1064·0.5 = 532 > 1024 / 4), m = 64
// compute-bound (int8: 65536 / 2 = 32768 ns; uint4-g128: 65536 / 4).
TEST(MixedPrecision, LayerLatency) {
  KernelCostModel model;
  model.int8 = {1.0, 2.0};
  model.grouped = {0.5, 4.0};
  WeightFormat int8 = *parseWeightFormat("int8");
  WeightFormat g128 = *parseWeightFormat("uint4-g128");
  EXPECT_DOUBLE_EQ(layerLatencyNs(int8, 1, 4, 256, model), 1040.0);
  EXPECT_DOUBLE_EQ(layerLatencyNs(int8, 64, 4, 256, model), 32768.0);
  EXPECT_DOUBLE_EQ(layerLatencyNs(g128, 1, 4, 256, model), 532.0);
  EXPECT_DOUBLE_EQ(layerLatencyNs(g128, 64, 4, 256, model), 16384.0);
}

} // namespace
