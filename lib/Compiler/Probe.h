//===- Probe.h - a model with extra outputs, compiled and loaded -*- C++
//-*-===//
//
// Calibration and the accuracy report both run a variant of the model that
// also returns some intermediate value of every layer (matmul or convolution) marked `qc.calib_id`
// (its input for calibration, its output for the report). A Probe is that
// variant compiled to a shared library in a temporary directory and loaded
// with the runtime's Model.
//
//===----------------------------------------------------------------------===//

#ifndef QC_LIB_COMPILER_PROBE_H
#define QC_LIB_COMPILER_PROBE_H

#include "qc/Compiler/Compiler.h"
#include "qc/Dialect/QC/IR/QCOps.h"

#include "Model.h"

#include "llvm/ADT/SmallString.h"

#include <memory>
#include <string>
#include <vector>

namespace mlir::qc {

class Probe {
public:
  ~Probe();

  /// Clones `module`, appends `tapOf(op)` (a static-shaped tensor) of every
  /// layer with a `qc.calib_id`, in walk order, to @main's results, lowers
  /// the clone as float code (no quantization passes) and loads it.
  LogicalResult build(ModuleOp module, const CompileOptions &options,
                      llvm::StringRef purpose,
                      llvm::function_ref<Value(Operation *)> tapOf);

  /// Runs the probe on one set of input files (in input order).
  LogicalResult run(ModuleOp module, const std::vector<std::string> &files,
                    std::vector<::quant::Tensor> &outputs);

  /// Names of the model's inputs, in order.
  std::vector<std::string> inputNames;
  /// Number of the model's own outputs (taps follow them).
  size_t numOutputs = 0;
  /// The calib id and type of each tap, in output order.
  std::vector<std::pair<int64_t, RankedTensorType>> taps;

private:
  llvm::SmallString<128> dir;
  ::quant::Model model;
};

/// The input files of each calibration set in `dir`, in input order:
/// DIR/test_data_set_*/input_<i>.pb (ONNX's layout), else one subdirectory
/// per set holding <input name>.npy or .pb, else DIR itself as one set.
FailureOr<std::vector<std::vector<std::string>>>
findCalibrationSets(ModuleOp module, const std::string &dir,
                    const std::vector<std::string> &inputNames);

} // namespace mlir::qc

#endif // QC_LIB_COMPILER_PROBE_H
