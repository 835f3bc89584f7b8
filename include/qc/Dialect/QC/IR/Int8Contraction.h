//===- Int8Contraction.h - the marked int8 contraction ----------*- C++ -*-===//
//
// The form in which both the ONNX importer (MatMulInteger) and
// convert-qc-to-linalg (W8A8 qc.matmul) hand an 8-bit integer matmul to
// qc-vectorize-int8-contractions: one builder, so the two producers and the
// pass that matches them cannot drift apart.
//
//===----------------------------------------------------------------------===//

#ifndef QC_DIALECT_QC_IR_INT8CONTRACTION_H
#define QC_DIALECT_QC_IR_INT8CONTRACTION_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"

namespace mlir::qc {

/// The marker qc-vectorize-int8-contractions looks for: a dictionary
/// {lhs_signed, rhs_signed} saying which side's 8-bit codes are signed.
inline constexpr llvm::StringLiteral kInt8ContractionAttr =
    "qc.int8_contraction";

/// C[m, n] += A[m, k] * B[k, n] (B[n, k] when `transposeRhs`) on i32
/// operands that are 8-bit codes widened (minus their zero points) by an
/// element-wise generic each (the CPU kernel's form), or on the i8 codes
/// themselves, widened in the body by their signedness (the GPU kernel's
/// form: nothing to fuse), iterated in (m, k, n) order (with a [K, N]
/// weight the innermost loop streams a row of it and of C). Marked
/// `qc.contraction` (qc-tile-contractions blocks it where no int8 kernel
/// applies) and `qc.int8_contraction` with the codes' signedness.
linalg::GenericOp buildInt8Contraction(OpBuilder &b, Location loc, Value lhs,
                                       Value rhs, bool transposeRhs,
                                       Value init, bool lhsSigned,
                                       bool rhsSigned);

} // namespace mlir::qc

#endif // QC_DIALECT_QC_IR_INT8CONTRACTION_H
