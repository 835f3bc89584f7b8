//===- Model.h - load and run a model built with --emit=shared --*- C++ -*-===//
//
// Part of the quant runtime (no LLVM or MLIR inside). Used by quant-run and
// by quant-compile's calibration, which runs the float model on the CPU.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_RUNTIME_MODEL_H
#define QUANT_RUNTIME_MODEL_H

#include "TensorFile.h"

#include <cstdint>
#include <string>
#include <vector>

namespace quant {

/// One input or output as <name>_signature describes it.
struct Spec {
  std::string name, dtype;
  std::vector<int64_t> shape; ///< -1 for a dynamic dimension.
};

/// Parses a <name>_signature string ("in x float32 1x4;out y float32 1x4").
bool parseSignature(const std::string &text, std::vector<Spec> &inputs,
                    std::vector<Spec> &outputs, std::string &error);

/// "[1, ?, 4]".
std::string shapeString(const std::vector<int64_t> &shape);

/// A compiled model loaded with dlopen.
class Model {
public:
  /// Loads `library` (a path; "./" is prepended to a bare file name), finds
  /// <name>_run and <name>_signature and, when the model has a weights file,
  /// maps `weightsPath` (empty: the library's path with .so replaced by
  /// .weights). Returns false with `error` naming what is wrong.
  bool load(const std::string &library, const std::string &name,
            std::string weightsPath, std::string &error);

  const std::vector<Spec> &inputs() const { return inSpecs; }
  const std::vector<Spec> &outputs() const { return outSpecs; }

  /// Checks `inputs` (one per model input, in order) against the signature
  /// (dtype and static dimensions; uint16 data is accepted for bfloat16),
  /// allocates `outputs` and calls <name>_run once. Returns false with
  /// `error` for a mismatch or a non-zero return code (named).
  bool run(std::vector<Tensor> &inputs, std::vector<Tensor> &outputs,
           std::string &error);

  /// Calls <name>_run again with the buffers of the last successful run()
  /// (for benchmarks); returns its code.
  int32_t rerun();

  /// Whether the model was compiled with --target=cuda (it links quant's
  /// CUDA runtime).
  bool isCuda() const { return cudaTime != nullptr; }

  /// For a CUDA model, after a successful run(): copies the inputs to device
  /// memory once and times `count` calls on device-resident inputs and
  /// outputs, each with CUDA events. Returns false with `error` on a failure.
  /// flushBytes > 0 overwrites that much scratch memory before each call,
  /// outside the measurement (an L2 that holds none of the weights).
  bool benchDevice(long count, std::vector<double> &milliseconds,
                   std::string &error, int64_t flushBytes = 0);

private:
  using RunFn = int32_t (*)(void *const *, const int64_t *const *,
                            void *const *);
  std::string name;
  RunFn runFn = nullptr;
  std::vector<Spec> inSpecs, outSpecs;
  std::vector<void *> inPtrs, outPtrs;
  std::vector<const int64_t *> shapePtrs;
  std::vector<size_t> inBytes, outBytes;
  // quant_cuda.h, when the library has it.
  const char *(*cudaLastError)() = nullptr;
  int32_t (*cudaTime)(int32_t (*)(void *), void *, int32_t, int64_t,
                      float *) = nullptr;
  void *(*cudaMalloc)(int64_t) = nullptr;
  void (*cudaFree)(void *) = nullptr;
  int32_t (*cudaCopy)(void *, const void *, int64_t) = nullptr;
  std::string describe(int32_t rc) const;
};

} // namespace quant

#endif // QUANT_RUNTIME_MODEL_H
