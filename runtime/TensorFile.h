//===- TensorFile.h - tensors from and to .pb and .npy files ----*- C++ -*-===//
//
// Part of the quant runtime (no LLVM or MLIR inside): reads ONNX TensorProto
// files (.pb, through ONNX's protobuf classes) and NumPy .npy files, writes
// .npy, and compares tensors.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_RUNTIME_TENSORFILE_H
#define QUANT_RUNTIME_TENSORFILE_H

#include <cstdint>
#include <string>
#include <vector>

namespace quant {

/// A dense row-major tensor of one of the C ABI's element types, named as
/// ONNX names them ("float32", "int8", "bool", ...).
struct Tensor {
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<unsigned char> bytes;

  int64_t numElements() const;
};

/// Bytes per element of an ONNX dtype name; 0 if it is not one the runtime
/// carries.
unsigned dtypeSize(const std::string &dtype);

/// Reads `path` by its extension (.pb or .npy). On failure returns false and
/// sets `error` to a message naming the file.
bool readTensorFile(const std::string &path, Tensor &tensor,
                    std::string &error);

/// Writes `tensor` as a .npy file.
bool writeNpy(const std::string &path, const Tensor &tensor,
              std::string &error);

/// Comparison of an actual against an expected tensor, numpy.allclose style
/// for floats (|a - e| <= atol + rtol·|e|, NaN equal to NaN), exact for
/// integers and bools.
struct Comparison {
  bool ok = true;
  std::string message; ///< why not, when !ok
  int64_t mismatches = 0;
  double maxAbsError = 0;
  double maxRelError = 0;
};
Comparison compareTensors(const Tensor &actual, const Tensor &expected,
                          double rtol, double atol);

/// One element as a double (for printing and comparing).
double elementAsDouble(const Tensor &tensor, int64_t index);

} // namespace quant

#endif // QUANT_RUNTIME_TENSORFILE_H
