//===- import_bench.cpp - time an ONNX import, report peak memory ---------===//
//
// quant-import-bench MODEL.onnx: imports the model in-process (no printing:
// printing a multi-gigabyte module as text is not part of importing it),
// verifies it, and prints the wall time, the peak resident set and the number
// of operations. bench/import_llama.py drives it.
//
//===----------------------------------------------------------------------===//

#include "qc/Import/ONNX.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <sys/resource.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    llvm::errs() << "usage: quant-import-bench MODEL.onnx\n";
    return 2;
  }
  auto start = std::chrono::steady_clock::now();
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::qc::importONNXFile(argv[1], &context);
  if (!module)
    return 1;
  int64_t ops = 0;
  module->walk([&](mlir::Operation *) { ++ops; });
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  llvm::outs() << "import_seconds " << seconds << "\n"
               << "peak_rss_bytes " << int64_t(usage.ru_maxrss) * 1024 << "\n"
               << "operations " << ops << "\n";
  return 0;
}
