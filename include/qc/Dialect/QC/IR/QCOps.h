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

} // namespace mlir::qc

#endif // QC_DIALECT_QC_IR_QCOPS_H
