//===- Importer.h - internals shared by the ONNX importer's files -*- C++
//-*-===//
//
// GraphImporter walks a GraphProto in topological order, keeps the table from
// ONNX value names to MLIR values, and hands each node to the converter
// registered for its (domain, op_type). Converters infer result shapes
// themselves (the packaged ONNX shape inference stops at opset 17).
//
//===----------------------------------------------------------------------===//

#ifndef QC_LIB_IMPORT_ONNX_IMPORTER_H
#define QC_LIB_IMPORT_ONNX_IMPORTER_H

#include "qc/Import/ONNX.h"

#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"

#include "onnx/onnx_pb.h"

#include <functional>
#include <optional>

namespace mlir::qc::onnx_import {

/// Maps an ONNX TensorProto data type code to an MLIR element type, or null
/// when the importer does not support it. Codes newer than the packaged ONNX
/// headers (float8 17-20, uint4/int4 21/22, float4e2m1 23) are known by number.
Type convertElementType(int32_t dataType, MLIRContext *context);

/// The ONNX name of a data type code, for diagnostics ("FLOAT", "INT4", ...).
std::string dataTypeName(int32_t dataType);

/// Decodes a TensorProto (raw_data or the typed fields) into an attribute of
/// `type`. Checks that the byte size matches the shape. Large tensors become
/// DenseResourceElementsAttr blobs named after the tensor. `modelDir` resolves
/// external data. Emits a diagnostic at `loc` and returns null on error.
ElementsAttr convertTensor(const onnx::TensorProto &tensor, Location loc,
                           llvm::StringRef modelDir);

/// An attribute holding `data` (MLIR's dense storage layout: one element per
/// byte-rounded unit) for `type`: a DenseElementsAttr when small, a
/// DenseResourceElementsAttr blob named `name` otherwise. Null when the size
/// does not match.
ElementsAttr buildElementsAttr(RankedTensorType type, ArrayRef<char> data,
                               llvm::StringRef name);

/// A decomposed RMSNorm or LayerNorm found in the graph (see RaiseNorms.cpp):
/// the node it ends at becomes qc.rms_norm / qc.layer_norm over `axis`.
struct NormFusion {
  enum class Kind { RMS, Layer };
  Kind kind = Kind::RMS;
  std::string input;
  std::string gain; ///< empty when there is none
  std::string bias; ///< LayerNorm only; empty when there is none
  double epsilon = 0;
  int64_t axis = -1;
};

/// Finds decomposed RMSNorm and LayerNorm chains. Returns, keyed by the index
/// of each chain's last node, what to build there; `fusedAway` receives the
/// indices of the other nodes of the chains, which are not converted.
llvm::DenseMap<size_t, NormFusion>
findNormFusions(const onnx::GraphProto &graph,
                llvm::DenseSet<size_t> &fusedAway);

/// Builds the qc.rms_norm / qc.layer_norm of a fusion found by
/// findNormFusions over the last axis of `x`; a gain or bias that is not of
/// the normalised shape is applied afterwards. Null after a diagnostic.
Value buildNorm(OpBuilder &builder, Location loc, const NormFusion &fusion,
                Value x, Value gain, Value bias);

/// An element of a small integer tensor tracked through shape computations:
/// a constant, or a dynamic `index` value.
struct ShapeElement {
  std::optional<int64_t> constant;
  Value value;
};

/// A tracked rank-0 or rank-1 integer tensor (see SymbolicShapes.cpp).
struct SymbolicShape {
  SmallVector<ShapeElement> elements;
  bool isScalar = false;
};

/// Shape tensors whose elements the importer knows symbolically.
class ShapeTracker {
public:
  /// The tracked elements of `value`, or its values if it is a small integer
  /// constant; nullopt otherwise.
  std::optional<SymbolicShape> lookup(Value value) const;
  /// Builds the tensor holding `shape` (tensor.from_elements of
  /// `elementType`) and tracks it.
  Value materialize(OpBuilder &builder, Location loc,
                    const SymbolicShape &shape, Type elementType);
  /// Tracks `value` as holding `shape`.
  void track(Value value, SymbolicShape shape) {
    tracked[value] = std::move(shape);
  }
  /// An element as an index value.
  static Value asIndex(OpBuilder &builder, Location loc, const ShapeElement &e);

private:
  llvm::DenseMap<Value, SymbolicShape> tracked;
};

/// One node being converted: its proto, location and resolved inputs (a null
/// Value stands for an omitted optional input).
struct NodeContext {
  const onnx::NodeProto &node;
  /// The node's name, or "<OpType>_<index>" when it has none.
  std::string label;
  Location loc;
  SmallVector<Value> inputs;
  int64_t opset;
  OpBuilder &builder;
  /// Symbolic shape tensors of the graph being imported.
  ShapeTracker &shapes;

  /// Emits an error at the node, starting "node '<label>' (<OpType>): ".
  InFlightDiagnostic emitError() const;

  /// Attribute lookup; nullptr when absent.
  const onnx::AttributeProto *attr(llvm::StringRef name) const;
  int64_t intAttr(llvm::StringRef name, int64_t defaultValue) const;
  float floatAttr(llvm::StringRef name, float defaultValue) const;
  std::string stringAttr(llvm::StringRef name,
                         llvm::StringRef defaultValue) const;

  /// Input `i` as a ranked tensor value, or an error if it is missing.
  FailureOr<Value> input(unsigned i) const;
  /// True if input `i` was given (non-empty name).
  bool hasInput(unsigned i) const {
    return i < inputs.size() && static_cast<bool>(inputs[i]);
  }
};

/// A converter appends the node's results (one Value per ONNX output, in order)
/// to `results`, or emits a diagnostic and fails.
using OpConverter =
    std::function<LogicalResult(NodeContext &, SmallVectorImpl<Value> &)>;

/// The table of converters, keyed by "domain::OpType" with the default domain
/// written as "" ("::Relu", "com.microsoft::MatMulNBits").
const llvm::StringMap<OpConverter> &getOpConverters();

/// Registration helpers, one per op family file.
void addElementwiseConverters(llvm::StringMap<OpConverter> &table);
void addActivationConverters(llvm::StringMap<OpConverter> &table);
void addLinearAlgebraConverters(llvm::StringMap<OpConverter> &table);
void addShapeConverters(llvm::StringMap<OpConverter> &table);
void addDataMovementConverters(llvm::StringMap<OpConverter> &table);
void addNormalizationConverters(llvm::StringMap<OpConverter> &table);
void addQuantizationConverters(llvm::StringMap<OpConverter> &table);
void addQuantizedMatMulConverters(llvm::StringMap<OpConverter> &table);
void addConvolutionConverters(llvm::StringMap<OpConverter> &table);
void addResizeConverters(llvm::StringMap<OpConverter> &table);
void addDynamicQuantizationConverters(llvm::StringMap<OpConverter> &table);

//===----------------------------------------------------------------------===//
// Shape helpers shared by converters.
//===----------------------------------------------------------------------===//

/// Evaluates `nc` at import when all its inputs are small integer or bool
/// constants and it is one of the ops shape computations use (Gather, Concat,
/// Unsqueeze, Slice, Reshape, Cast, Add, Mul, Range, ...). Returns true and
/// appends constant results on success; false leaves `results` untouched.
bool tryFoldConstantNode(NodeContext &nc, SmallVectorImpl<Value> &results);

/// A constant input (arith.constant with dense elements, or a resource blob
/// copied into dense elements) as its attribute, or null.
DenseElementsAttr constantAttr(Value value);

/// The bytes of a non-splat constant in MLIR's dense layout (one element per
/// byte-rounded unit), from a dense attribute or a resource blob, without a
/// copy; nullopt for anything else.
std::optional<ArrayRef<char>> getConstantRawData(Value value);

/// The !quant.uniform element type described by a quantization node's scale
/// (input `scaleIndex`) and optional zero point (`zeroPointIndex`) for data of
/// `dataShape` stored as the ONNX integer type `storage` (iN or uiN):
/// per-tensor for a scalar scale, per-axis along `axisOverride` (or the node's
/// `axis`, default 1) for a 1-D one, sub-channel for the node's `block_size`.
/// Emits a diagnostic and fails for run-time or invalid parameters.
FailureOr<quant::QuantizedType>
buildQuantizedType(NodeContext &nc, Type storage, ArrayRef<int64_t> dataShape,
                   unsigned scaleIndex, unsigned zeroPointIndex,
                   std::optional<int64_t> axisOverride = std::nullopt);

/// The quantized view of an ONNX integer tensor: tensor.bitcast to signless
/// (for uiN) and quant.scast to `quantElement`.
Value viewAsQuantized(NodeContext &nc, Value value,
                      quant::QuantizedType quantElement);

/// The inverse: a quantized tensor (or a signless storage tensor) as the ONNX
/// integer tensor of `onnxElement` (quant.scast, then bitcast for uiN).
Value viewAsOnnxInteger(NodeContext &nc, Value value, Type onnxElement);

/// Evaluates shape arithmetic on tracked tensors with dynamic elements
/// (SymbolicShapes.cpp). Returns true and appends the result on success.
bool tryTrackShapeNode(NodeContext &nc, ShapeTracker &tracker,
                       SmallVectorImpl<Value> &results);

/// The values of an integer constant (arith.constant with dense integer
/// elements), sign-extended (zero-extended for unsigned types); nullopt when
/// `value` is not such a constant.
std::optional<SmallVector<int64_t>> getConstantIntValues(Value value);

/// Reassociation groups for tensor.collapse_shape (or expand_shape) between
/// rank `rank` and the rank without the `removed` unit dimensions: each removed
/// dimension joins the next kept one (the last kept one at the end).
SmallVector<ReassociationIndices> groupsAround(int64_t rank,
                                               ArrayRef<bool> removed);

/// Fails with "unsupported element type" unless `value` holds floats (or,
/// with `allowInteger`, signless integers other than bool): arith and tosa
/// want signless types, so unsigned integers are not computed on.
LogicalResult checkNumeric(NodeContext &nc, Value value, bool allowInteger);

/// Normalises an axis in [-rank, rank) to [0, rank), or fails with a message
/// naming it `what`.
FailureOr<int64_t> normalizeAxis(NodeContext &nc, int64_t axis, int64_t rank,
                                 llvm::StringRef what = "axis");

/// The values of constant integer input `index`, or an "unsupported run-time
/// `what`" error.
FailureOr<SmallVector<int64_t>> constantInput(NodeContext &nc, unsigned index,
                                              llvm::StringRef what);

/// An index constant.
Value indexConstant(OpBuilder &b, Location loc, int64_t v);

/// Size of dimension `d` of `value` as an index value (a constant when
/// static).
Value dimSize(OpBuilder &b, Location loc, Value value, int64_t d);

/// numerator / denominator element-wise (exact arith.divf, broadcasting the
/// denominator); the result has the numerator's type.
Value divideFloat(OpBuilder &builder, Location loc, Value numerator,
                  Value denominator);

/// `value` divided by the constant `count` (means and average pools).
Value divideByCount(OpBuilder &builder, Location loc, Value value,
                    double count);

/// tensor.pad of `x` by `low`/`high` per dimension with the scalar `padValue`.
Value buildConstantPad(OpBuilder &builder, Location loc, Value x,
                       ArrayRef<int64_t> low, ArrayRef<int64_t> high,
                       Value padValue);

/// An int8/uint8 tensor widened to i32 with the zero point of input `zpIndex`
/// (absent: 0) subtracted: the exact integer operand of MatMulInteger,
/// ConvInteger and QLinearConv. The zero point is a scalar or, when `zpAxis`
/// is given, may hold one value per index of that dimension.
FailureOr<Value> centeredInt32(NodeContext &nc, Value value, unsigned zpIndex,
                               std::optional<int64_t> zpAxis = std::nullopt);

/// tosa.mul of `lhs` and `rhs` (equal ranks) with the zero shift it needs.
Value createTosaMul(OpBuilder &builder, Location loc, Type type, Value lhs,
                    Value rhs);

/// A 1-D parameter [C] placed along `axis` of rank `rank`: [1, .., C, .., 1]
/// (per-channel BatchNorm parameters, conv biases, per-axis scales).
Value expandAlongAxis(OpBuilder &builder, Location loc, Value param,
                      int64_t rank, int64_t axis);

/// numpy broadcasting of two shapes; failure when they do not broadcast.
FailureOr<SmallVector<int64_t>> broadcastShapes(ArrayRef<int64_t> a,
                                                ArrayRef<int64_t> b);

/// Prepends unit dimensions so that `value` has rank `rank` (tosa element-wise
/// ops need equal ranks).
Value expandToRank(OpBuilder &builder, Location loc, Value value, int64_t rank);

/// A linalg.generic applying `body` (scalar block arguments -> scalar) to
/// `operands` broadcast numpy-style to `resultType`. Used where no tosa op has
/// the exact semantics (float division, for one). A dynamic dimension is
/// assumed not to be a broadcast 1 at run time. The dynamic result sizes are
/// `resultSizes` (one per dynamic dimension) when given, else taken from an
/// operand.
Value buildBroadcastGeneric(
    OpBuilder &builder, Location loc, ArrayRef<Value> operands,
    RankedTensorType resultType,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body,
    ArrayRef<Value> resultSizes = {});

} // namespace mlir::qc::onnx_import

#endif // QC_LIB_IMPORT_ONNX_IMPORTER_H
