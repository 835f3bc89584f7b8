//===- Quantization.h - what the quantization passes share ------*- C++ -*-===//
//
// Attribute names, node names, keep-float, which ops are quantizable layers,
// and what quant-compile's calibration hands to qc-quantize-weights: per
// matmul (identified by the `qc.calib_id` attribute the driver puts on it),
// the GPTQ Hessian H = 2XXᵀ/N of its activations over the calibration inputs.
//
//===----------------------------------------------------------------------===//

#ifndef QC_DIALECT_QC_TRANSFORMS_QUANTIZATION_H
#define QC_DIALECT_QC_TRANSFORMS_QUANTIZATION_H

#include "qc/Dialect/QC/IR/QCOps.h"
#include "qc/Dialect/QC/Transforms/Passes.h"

#include "llvm/Support/Regex.h"

#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace mlir::qc {

/// The attribute naming a matmul in WeightCalibration.
inline constexpr llvm::StringLiteral kCalibIdAttr = "qc.calib_id";
/// qc-quantize-weights records ‖W − dequant(quant(W))‖ / ‖W‖ here.
inline constexpr llvm::StringLiteral kWeightErrorAttr = "qc.weight_error";
/// The activation range a matmul's left-hand side was calibrated to.
inline constexpr llvm::StringLiteral kCalibRangeAttr = "qc.calib_range";
/// A layer's weight format chosen by qc-assign-precision (a
/// numerics::parseWeightFormat name); qc-quantize-weights follows it.
inline constexpr llvm::StringLiteral kWeightFormatAttr = "qc.weight_format";
/// The sensitivity of that choice (numerics::layerSensitivity).
inline constexpr llvm::StringLiteral kSensitivityAttr = "qc.sensitivity";
/// On the module: qc-assign-precision's objective, size and budget.
inline constexpr llvm::StringLiteral kPrecisionAttr = "qc.precision";
/// Per input channel j of a matmul, max |X_j| of its left-hand side over the
/// calibration inputs (array<f32>, K values): what qc-smooth reads.
inline constexpr llvm::StringLiteral kCalibAbsMaxAttr = "qc.calib_absmax";

/// The ONNX node name an op was imported from: the first NameLoc in its
/// location, or "" when it has none.
std::string getNodeName(Location loc);

/// The keep-float option of the quantization passes: a regular expression
/// matched against whole ONNX node names; an empty one matches nothing.
class KeepFloat {
public:
  /// Compiles `pattern`; for an invalid one emits an error at `root` naming
  /// `pass` and returns failure.
  LogicalResult init(Operation *root, llvm::StringRef pass,
                     llvm::StringRef pattern);
  /// True when the node name of `op` matches.
  bool matches(Operation *op) const;

private:
  std::optional<llvm::Regex> regex;
};

struct WeightCalibration {
  /// qc.calib_id -> H [K, K] row-major.
  std::map<int64_t, std::vector<double>> hessians;

  /// The Hessian of `layer` (named by its qc.calib_id) when it has one of
  /// k × k entries, else null.
  const std::vector<double> *findHessian(Operation *layer, int64_t k) const;
};

/// True when `op` is a matmul qc-quantize-weights rewrites: float lhs, a
/// constant static 2-D f32 weight.
bool hasQuantizableWeight(MatMulOp op);

/// True when `op` is a group-1 linalg convolution (conv_1d_ncw_fcw,
/// conv_2d_nchw_fchw, as the importer emits ONNX Conv) with an f32 input and
/// a constant static f32 weight: the convolutions the quantization passes
/// rewrite.
bool isQuantizableConv(Operation *op);

/// A layer the quantization passes rewrite: a matmul with a quantizable
/// weight or a quantizable convolution. For both, operand 0 is the
/// activation, operand 1 the weight and result 0 the output.
bool isQuantizableLayer(Operation *op);

/// True for the op kinds that can be layers (qc.matmul and the two linalg
/// convolutions), whatever state their operands are in: what calibration,
/// the report and the probes walk once layers carry a `qc.calib_id`.
bool isLayer(Operation *op);

/// The values of an f32 constant (dense or dense-resource), or nullopt for
/// any other attribute.
std::optional<std::vector<float>> readF32(Attribute value);

/// The integer codes of a constant of at most 8-bit integers (dense, or a
/// resource holding one element per byte), sign- or zero-extended; nullopt
/// for anything else.
std::optional<std::vector<int32_t>> readIntegerCodes(Attribute value,
                                                     bool isSigned);

/// A new f32 constant of `shape` holding `data`: dense up to 256 elements
/// (readable IR), else backed by a heap resource blob named `key` (large
/// weights are not uniqued into the context).
Value createF32Constant(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                        ArrayRef<float> data, llvm::StringRef key);

/// The same for i8 codes.
Value createI8Constant(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                       ArrayRef<int8_t> data, llvm::StringRef key);

/// A constant of `storage` integers (at most 8 bits) of `shape` holding
/// `data`, one code per element as sign-extended bytes: dense up to 256
/// elements, else a heap resource blob named `key` holding one byte per
/// element (the importer's form of sub-byte weights).
Value createIntegerCodesConstant(OpBuilder &b, Location loc,
                                 ArrayRef<int64_t> shape, IntegerType storage,
                                 ArrayRef<int8_t> data, llvm::StringRef key);

/// qc-quantize-weights with calibration data (needed for method=gptq);
/// `calibration` must outlive the pass.
std::unique_ptr<Pass>
createQuantizeWeightsPass(const QuantizeWeightsOptions &options,
                          const WeightCalibration *calibration);

/// qc-assign-precision with calibration data (sensitivities weighted by the
/// Hessians' diagonals); `calibration` must outlive the pass.
std::unique_ptr<Pass>
createAssignPrecisionPass(const AssignPrecisionOptions &options,
                          const WeightCalibration *calibration);

/// The weight of a quantizable layer as [n output channels, k] row-major
/// (a [K, N] matmul weight transposed; a convolution's [F, C, k...] as is),
/// with n and k; nullopt when the constant cannot be read.
std::optional<std::vector<float>> readWeightRows(Operation *layer, int64_t &n,
                                                 int64_t &k);

} // namespace mlir::qc

#endif // QC_DIALECT_QC_TRANSFORMS_QUANTIZATION_H
