//===- MatMulShapeTest.cpp - qc.matmul shape inference --------------------===//

#include "qc/Dialect/QC/IR/QCOps.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::qc;

namespace {
constexpr int64_t kDyn = ShapedType::kDynamic;

SmallVector<int64_t> infer(ArrayRef<int64_t> lhs, ArrayRef<int64_t> rhs,
                           bool transposeRhs = false) {
  FailureOr<SmallVector<int64_t>> shape =
      inferMatMulShape(lhs, rhs, transposeRhs);
  EXPECT_TRUE(succeeded(shape));
  return succeeded(shape) ? *shape : SmallVector<int64_t>{-42};
}

std::string inferError(ArrayRef<int64_t> lhs, ArrayRef<int64_t> rhs,
                       bool transposeRhs = false) {
  std::string error;
  EXPECT_TRUE(failed(inferMatMulShape(lhs, rhs, transposeRhs, &error)));
  return error;
}

TEST(MatMulShape, Matrices) {
  EXPECT_EQ(infer({2, 3}, {3, 4}), (SmallVector<int64_t>{2, 4}));
  EXPECT_EQ(infer({2, 3}, {4, 3}, true), (SmallVector<int64_t>{2, 4}));
}

TEST(MatMulShape, NumpyBatchBroadcasting) {
  // The example of numpy.matmul's documentation, with a stretched 1.
  EXPECT_EQ(infer({2, 1, 3, 5}, {4, 5, 6}), (SmallVector<int64_t>{2, 4, 3, 6}));
  EXPECT_EQ(infer({7, 3, 5}, {5, 6}), (SmallVector<int64_t>{7, 3, 6}));
  EXPECT_EQ(infer({3, 5}, {7, 5, 6}), (SmallVector<int64_t>{7, 3, 6}));
}

TEST(MatMulShape, VectorOperandsDropTheirUnitDimension) {
  EXPECT_EQ(infer({5}, {5, 6}), (SmallVector<int64_t>{6}));
  EXPECT_EQ(infer({6, 5}, {5}), (SmallVector<int64_t>{6}));
  EXPECT_EQ(infer({6, 5}, {5}, true), (SmallVector<int64_t>{6}));
  EXPECT_EQ(infer({5}, {5}), (SmallVector<int64_t>{}));
  EXPECT_EQ(infer({2, 3, 5}, {5}), (SmallVector<int64_t>{2, 3}));
}

TEST(MatMulShape, DynamicDimensions) {
  EXPECT_EQ(infer({kDyn, 5}, {5, 6}), (SmallVector<int64_t>{kDyn, 6}));
  EXPECT_EQ(infer({2, kDyn}, {5, 6}), (SmallVector<int64_t>{2, 6}));
  // A dynamic batch dimension takes the static size it meets (unless 1).
  EXPECT_EQ(infer({kDyn, 2, 5}, {3, 5, 6}), (SmallVector<int64_t>{3, 2, 6}));
  EXPECT_EQ(infer({kDyn, 2, 5}, {1, 5, 6}), (SmallVector<int64_t>{kDyn, 2, 6}));
  EXPECT_EQ(infer({kDyn, 2, 5}, {kDyn, 5, 6}),
            (SmallVector<int64_t>{kDyn, 2, 6}));
}

TEST(MatMulShape, Errors) {
  EXPECT_EQ(inferError({2, 3}, {5, 4}),
            "contraction sizes differ: lhs has K = 3, rhs has K = 5");
  EXPECT_EQ(inferError({2, 3}, {3, 4}, true),
            "contraction sizes differ: lhs has K = 3, rhs has K = 4");
  EXPECT_EQ(inferError({2, 2, 3}, {5, 3, 4}),
            "batch dimensions do not broadcast: lhs has 2 and rhs has 5 at "
            "batch position 0");
  EXPECT_EQ(inferError({}, {3, 4}), "expects lhs and rhs to have rank >= 1");
}

} // namespace
