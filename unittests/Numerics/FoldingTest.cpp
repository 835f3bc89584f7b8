//===- FoldingTest.cpp - per-channel factors through linear layers --------===//

#include "qc/Numerics/Folding.h"

#include <gtest/gtest.h>

using namespace mlir::qc::numerics;

namespace {

// W = [[1, 2], [3, 4], [5, 6]] (k = 3, n = 2), factor [2, -1, 0.5]:
// rows scaled -> [[2, 4], [-3, -4], [2.5, 3]]. Transposed storage [n, k]
// scales columns the same way.
TEST(Folding, ScaleInputChannels) {
  float w[6] = {1, 2, 3, 4, 5, 6};
  const float f[3] = {2, -1, 0.5f};
  scaleInputChannels(w, 3, 2, false, f);
  EXPECT_EQ(std::vector<float>(w, w + 6),
            (std::vector<float>{2, 4, -3, -4, 2.5f, 3}));
  float wt[6] = {1, 3, 5, 2, 4, 6}; // the same W stored [n, k]
  scaleInputChannels(wt, 3, 2, true, f);
  EXPECT_EQ(std::vector<float>(wt, wt + 6),
            (std::vector<float>{2, -3, 2.5f, 4, -4, 3}));
}

// v = [1, 0, -1]: v·W = [1 - 5, 2 - 6] = [-4, -4]; v = [0.5, 1, 0] ->
// [0.5 + 3, 1 + 4] = [3.5, 5].
TEST(Folding, VectorTimesWeight) {
  const float w[6] = {1, 2, 3, 4, 5, 6};
  const float wt[6] = {1, 3, 5, 2, 4, 6};
  const float v[3] = {1, 0, -1}, u[3] = {0.5f, 1, 0};
  EXPECT_EQ(vectorTimesWeight(v, w, 3, 2, false),
            (std::vector<float>{-4, -4}));
  EXPECT_EQ(vectorTimesWeight(u, wt, 3, 2, true),
            (std::vector<float>{3.5f, 5}));
}

} // namespace
