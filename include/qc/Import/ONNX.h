//===- ONNX.h - import ONNX models into qc/tosa IR --------------*- C++ -*-===//
//
// The importer reads an ONNX model (binary protobuf, or ONNX's textual syntax
// for files ending in .onnxtxt) and builds a module with one function whose
// arguments are the graph inputs and whose results are the graph outputs.
// Operators become qc ops where quant's passes reason about them (matmul,
// norms, quantization) and tosa/tensor/arith ops otherwise.
//
// Errors are reported through the context's diagnostic engine at the location
// of the offending node (a NameLoc with the node's name, or "<OpType>_<index>"
// when the node has none); on error the import returns null.
//
//===----------------------------------------------------------------------===//

#ifndef QC_IMPORT_ONNX_H
#define QC_IMPORT_ONNX_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace llvm {
class MemoryBuffer;
} // namespace llvm

namespace mlir {
class DialectRegistry;
class MLIRContext;

namespace qc {

struct ONNXImportOptions {
  /// Fixed shapes for graph inputs, overriding symbolic or missing dimensions
  /// (`--input-shape name=1,3,224,224`).
  std::vector<std::pair<std::string, std::vector<int64_t>>> inputShapes;
  /// Graph inputs turned into constants, read from ONNX TensorProto files
  /// (`--constant-input name=file.pb`): shape arguments or quantization
  /// parameters that a model takes as inputs but that are fixed in practice.
  std::vector<std::pair<std::string, std::string>> constantInputs;
  /// Name of the function the graph becomes.
  std::string functionName = "main";
};

/// Parses "name=d0,d1,..." into `shape`. Returns an empty string on success,
/// otherwise a sentence saying what is wrong with `spec`.
std::string
parseInputShapeSpec(llvm::StringRef spec,
                    std::pair<std::string, std::vector<int64_t>> &shape);

/// Imports the model held in `buffer`. The buffer's identifier is the model's
/// path: it decides between binary and text (".onnxtxt") and anchors the
/// resolution of external data. Returns null after emitting diagnostics.
OwningOpRef<ModuleOp> importONNX(const llvm::MemoryBuffer &buffer,
                                 MLIRContext *context,
                                 const ONNXImportOptions &options = {});

/// Opens `path` and imports it (see above).
OwningOpRef<ModuleOp> importONNXFile(llvm::StringRef path, MLIRContext *context,
                                     const ONNXImportOptions &options = {});

/// Adds the dialects the importer creates ops of to `registry`.
void registerONNXImportDialects(DialectRegistry &registry);

/// The default-domain opsets the importer accepts.
constexpr int64_t kMinONNXOpset = 13;
constexpr int64_t kMaxONNXOpset = 21;

} // namespace qc
} // namespace mlir

#endif // QC_IMPORT_ONNX_H
