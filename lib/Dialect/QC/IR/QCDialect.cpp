//===- QCDialect.cpp - the qc quantization dialect ------------------------===//

#include "qc/Dialect/QC/IR/QCDialect.h"
#include "qc/Dialect/QC/IR/QCAttrs.h"
#include "qc/Dialect/QC/IR/QCOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::qc;

#include "qc/Dialect/QC/IR/QCDialect.cpp.inc"
#include "qc/Dialect/QC/IR/QCEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "qc/Dialect/QC/IR/QCAttrs.cpp.inc"

void QCDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "qc/Dialect/QC/IR/QCAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "qc/Dialect/QC/IR/QCOps.cpp.inc"
      >();
}
