//===- onnx_import_fuzzer.cpp - libFuzzer target for the ONNX importer ----===//
//
// Feeds arbitrary bytes to importONNX as a model file (binary, or text when
// the bytes start with '<'). Every input must end in a module or in
// diagnostics; crashes, sanitizer reports and reads outside a buffer are bugs.
// Built by scripts/fuzz.sh with -fsanitize=fuzzer,address,undefined.
//
//===----------------------------------------------------------------------===//

#include "qc/Import/ONNX.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // The identifier decides nothing but the model directory for external data:
  // a location inside the fuzzer's working directory that does not exist.
  auto buffer = llvm::MemoryBuffer::getMemBuffer(
      llvm::StringRef(reinterpret_cast<const char *>(data), size),
      "fuzz-no-such-dir/model.onnx", /*RequiresNullTerminator=*/false);
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  mlir::ScopedDiagnosticHandler quiet(
      &context, [](mlir::Diagnostic &) { return mlir::success(); });
  (void)mlir::qc::importONNX(*buffer, &context);
  return 0;
}
