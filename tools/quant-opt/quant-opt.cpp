//===- quant-opt.cpp - run qc passes one at a time, like mlir-opt ---------===//
//
// `quant-opt` is mlir-opt with quant's dialect and passes added: every upstream
// dialect, pass and extension is registered too, so a pipeline can mix `qc-`
// passes with upstream ones.
//
//===----------------------------------------------------------------------===//

#include "qc/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::qc::registerQuantPasses();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::qc::registerQuantDialects(registry);
  // gpu-module-to-binary translates the kernels to LLVM IR.
  mlir::registerAllToLLVMIRTranslations(registry);

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "quant optimizer: qc and upstream MLIR passes\n", registry));
}
