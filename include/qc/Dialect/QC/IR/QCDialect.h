//===- QCDialect.h - the qc quantization dialect ----------------*- C++ -*-===//

#ifndef QC_DIALECT_QC_IR_QCDIALECT_H
#define QC_DIALECT_QC_IR_QCDIALECT_H

#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/IR/Dialect.h"

#include "qc/Dialect/QC/IR/QCDialect.h.inc"

#endif // QC_DIALECT_QC_IR_QCDIALECT_H
