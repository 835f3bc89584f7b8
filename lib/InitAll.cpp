//===- InitAll.cpp - register quant's dialects and passes -----------------===//

#include "qc/InitAll.h"
#include "qc/Conversion/Passes.h"
#include "qc/Dialect/QC/IR/QCDialect.h"
#include "qc/Dialect/QC/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"

void mlir::qc::registerQuantDialects(DialectRegistry &registry) {
  registry.insert<QCDialect, quant::QuantDialect, func::FuncDialect,
                  arith::ArithDialect, tensor::TensorDialect>();
}

void mlir::qc::registerQuantPasses() {
  registerQCPasses();
  registerQCConversionPasses();
  registerLowerToLLVMPipeline();
}
