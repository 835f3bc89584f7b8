//===- quant-translate.cpp - translations into and out of MLIR ------------===//
//
// `quant-translate --import-onnx model.onnx` prints the imported module;
// models in ONNX's text syntax end in `.onnxtxt`. Like mlir-translate, the
// output file (-o) is only kept when the translation succeeds.
//
//===----------------------------------------------------------------------===//

#include "qc/Import/ONNX.h"
#include "qc/InitAll.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/SourceMgr.h"

static llvm::cl::list<std::string> inputShapes(
    "input-shape",
    llvm::cl::desc("Fix the shape of a graph input: NAME=D0,D1,... "
                   "(repeatable; replaces symbolic or missing dimensions)"),
    llvm::cl::value_desc("name=dims"));

static void registerONNXImport() {
  mlir::TranslateToMLIRRegistration importONNX(
      "import-onnx", "Import an ONNX model (.onnx, or .onnxtxt text syntax)",
      [](llvm::SourceMgr &sourceMgr,
         mlir::MLIRContext *context) -> mlir::OwningOpRef<mlir::Operation *> {
        mlir::qc::ONNXImportOptions options;
        for (const std::string &spec : inputShapes) {
          std::pair<std::string, std::vector<int64_t>> shape;
          std::string error = mlir::qc::parseInputShapeSpec(spec, shape);
          if (!error.empty()) {
            mlir::emitError(mlir::UnknownLoc::get(context))
                << "--input-shape: " << error;
            return nullptr;
          }
          options.inputShapes.push_back(std::move(shape));
        }
        const llvm::MemoryBuffer *buffer =
            sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
        mlir::OwningOpRef<mlir::ModuleOp> module =
            mlir::qc::importONNX(*buffer, context, options);
        return mlir::OwningOpRef<mlir::Operation *>(module.release());
      },
      [](mlir::DialectRegistry &registry) {
        mlir::qc::registerONNXImportDialects(registry);
      });
}

int main(int argc, char **argv) {
  registerONNXImport();
  return mlir::failed(
      mlir::mlirTranslateMain(argc, argv, "quant translation driver\n"));
}
