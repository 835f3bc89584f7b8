//===- QCOps.h - operations of the qc dialect -------------------*- C++ -*-===//

#ifndef QC_DIALECT_QC_IR_QCOPS_H
#define QC_DIALECT_QC_IR_QCOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "qc/Dialect/QC/IR/QCAttrs.h"
#include "qc/Dialect/QC/IR/QCDialect.h"
#include "qc/Numerics/Packing.h"

#define GET_OP_CLASSES
#include "qc/Dialect/QC/IR/QCOps.h.inc"

namespace mlir::qc {

/// Infers the result shape of `qc.matmul` (numpy.matmul rules, see the op's
/// documentation) from the operand shapes. Dynamic dimensions are
/// ShapedType::kDynamic. On a mismatch, returns failure and, when `error` is
/// non-null, a sentence describing it (naming `lhs`/`rhs` and the sizes).
FailureOr<SmallVector<int64_t>> inferMatMulShape(ArrayRef<int64_t> lhsShape,
                                                 ArrayRef<int64_t> rhsShape,
                                                 bool transposeRhs,
                                                 std::string *error = nullptr);

/// Returns the float type a value expresses: its element type when that is a
/// float, the expressed type of its `!quant` element type, or null otherwise.
Type getExpressedElementType(Type tensorType);

/// The numerics library's name for a packed layout kind.
numerics::PackedLayout toNumerics(PackedLayoutKind kind);

/// The (n, k) shape of a weight of `type` ([N, K] when `kAxis` is 1, [K, N]
/// when 0).
std::pair<int64_t, int64_t> packedWeightShape(RankedTensorType type,
                                              int64_t kAxis);

} // namespace mlir::qc

#endif // QC_DIALECT_QC_IR_QCOPS_H
