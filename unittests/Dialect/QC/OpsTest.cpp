//===- OpsTest.cpp - building, verifying and folding qc ops in C++ --------===//
//
// The C++ API other compilers use: parse or build qc IR in-process, verify it,
// and fold it.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/IR/QCOps.h"
#include "qc/InitAll.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::qc;

namespace {

class QCOpsTest : public ::testing::Test {
protected:
  QCOpsTest() {
    DialectRegistry registry;
    registerQuantDialects(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
  }
  MLIRContext context;
};

TEST_F(QCOpsTest, BuildsAndVerifiesAQuantizedLinearLayer) {
  OpBuilder builder(&context);
  Location loc = builder.getUnknownLoc();
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  builder.setInsertionPointToEnd(module->getBody());

  Type f32 = builder.getF32Type();
  auto i8 = IntegerType::get(&context, 8);
  auto perTensor = quant::UniformQuantizedType::get(
      quant::QuantizationFlags::Signed, i8, f32, /*scale=*/0.05,
      /*zeroPoint=*/0, -128, 127);
  auto perChannel = quant::UniformQuantizedPerAxisType::get(
      quant::QuantizationFlags::Signed, i8, f32, {0.1, 0.2, 0.3}, {0, 0, 0},
      /*quantizedDimension=*/0, -128, 127);
  auto xTy = RankedTensorType::get({2, 8}, f32);
  auto wTy = RankedTensorType::get({3, 8}, f32);
  auto yTy = RankedTensorType::get({2, 3}, f32);

  auto func = func::FuncOp::create(builder, loc, "linear",
                                   builder.getFunctionType({xTy, wTy}, {yTy}));
  Block *body = func.addEntryBlock();
  builder.setInsertionPointToStart(body);
  Value xq =
      QuantizeOp::create(builder, loc, RankedTensorType::get({2, 8}, perTensor),
                         body->getArgument(0));
  Value wq = QuantizeOp::create(builder, loc,
                                RankedTensorType::get({3, 8}, perChannel),
                                body->getArgument(1));
  auto matmul = MatMulOp::create(builder, loc, yTy, xq, wq, /*bias=*/Value(),
                                 /*transpose_rhs=*/builder.getUnitAttr());
  func::ReturnOp::create(builder, loc, matmul.getResult());

  EXPECT_TRUE(succeeded(verify(*module)));
  EXPECT_TRUE(matmul.getTransposeRhs());

  // Dropping transpose_rhs makes K mismatch (8 vs 3): the verifier says so.
  matmul.setTransposeRhs(false);
  std::string message;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    message = diag.str();
    return success();
  });
  EXPECT_TRUE(failed(verify(*module)));
  EXPECT_EQ(message, "'qc.matmul' op contraction sizes differ: lhs has K = 8, "
                     "rhs has K = 3");
}

TEST_F(QCOpsTest, HadamardDefaultsAndFolding) {
  const char *source = R"mlir(
    func.func @f(%x: tensor<2x4096xf32>) -> tensor<2x4096xf32> {
      %0 = qc.hadamard %x size 32 stride 128 : tensor<2x4096xf32>
      %1 = qc.hadamard %0 size 32 stride 128 : tensor<2x4096xf32>
      %2 = qc.hadamard %1 : tensor<2x4096xf32>
      return %2 : tensor<2x4096xf32>
    })mlir";
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(source, &context);
  ASSERT_TRUE(module);
  SmallVector<HadamardOp> ops;
  module->walk([&](HadamardOp op) { ops.push_back(op); });
  ASSERT_EQ(ops.size(), 3u);
  EXPECT_EQ(ops[0].getTransformSize(), 32);
  EXPECT_EQ(ops[0].getTransformStride(), 128);
  EXPECT_EQ(ops[2].getTransformSize(), 4096);
  EXPECT_EQ(ops[2].getTransformStride(), 1);

  // The second transform undoes the first; the third stands.
  SmallVector<OpFoldResult> results;
  ASSERT_TRUE(succeeded(ops[1]->fold(results)));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(dyn_cast<Value>(results[0]), ops[0].getInput());
  results.clear();
  EXPECT_TRUE(failed(ops[2]->fold(results)));
}

TEST_F(QCOpsTest, ExpressedElementType) {
  Builder b(&context);
  auto quantized = quant::UniformQuantizedType::get(
      0, IntegerType::get(&context, 8), b.getF16Type(), 0.5, 128, 0, 255);
  EXPECT_EQ(getExpressedElementType(RankedTensorType::get({4}, quantized)),
            b.getF16Type());
  EXPECT_EQ(
      getExpressedElementType(RankedTensorType::get({4}, b.getBF16Type())),
      b.getBF16Type());
  EXPECT_FALSE(
      getExpressedElementType(RankedTensorType::get({4}, b.getI32Type())));
}

} // namespace
