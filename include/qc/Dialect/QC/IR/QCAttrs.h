//===- QCAttrs.h - attributes and enums of the qc dialect -------*- C++ -*-===//

#ifndef QC_DIALECT_QC_IR_QCATTRS_H
#define QC_DIALECT_QC_IR_QCATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

#include "qc/Dialect/QC/IR/QCEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "qc/Dialect/QC/IR/QCAttrs.h.inc"

#endif // QC_DIALECT_QC_IR_QCATTRS_H
