//===- MemRefDescriptor.h - memrefs over raw pointers -----------*- C++ -*-===//
//
// Shared by qc-emit-c-interface (the caller's buffers) and
// qc-externalize-weights (the mapped weights file): a memref value over a
// plain pointer, built as MLIR's LLVM memref descriptor and cast with
// unrealized_conversion_cast (folded away by reconcile-unrealized-casts once
// memrefs are lowered).
//
//===----------------------------------------------------------------------===//

#ifndef QC_LIB_CONVERSION_MEMREFDESCRIPTOR_H
#define QC_LIB_CONVERSION_MEMREFDESCRIPTOR_H

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

namespace mlir::qc {

/// A dense row-major `type` memref whose data is `data` (an !llvm.ptr) and
/// whose sizes are the i64 values `sizes` (one per dimension).
inline Value memrefOverPointer(OpBuilder &b, Location loc, Value data,
                               MemRefType type, ArrayRef<Value> sizes) {
  MLIRContext *ctx = b.getContext();
  Type ptr = LLVM::LLVMPointerType::get(ctx), i64 = b.getI64Type();
  int64_t rank = type.getRank();
  SmallVector<Type> fields = {ptr, ptr, i64};
  if (rank > 0) {
    fields.push_back(LLVM::LLVMArrayType::get(i64, rank));
    fields.push_back(LLVM::LLVMArrayType::get(i64, rank));
  }
  auto structTy = LLVM::LLVMStructType::getLiteral(ctx, fields);
  Value desc = LLVM::UndefOp::create(b, loc, structTy);
  desc = LLVM::InsertValueOp::create(b, loc, desc, data, ArrayRef<int64_t>{0});
  desc = LLVM::InsertValueOp::create(b, loc, desc, data, ArrayRef<int64_t>{1});
  desc = LLVM::InsertValueOp::create(
      b, loc, desc, LLVM::ConstantOp::create(b, loc, i64, 0),
      ArrayRef<int64_t>{2});
  Value stride = LLVM::ConstantOp::create(b, loc, i64, 1);
  for (int64_t d = rank - 1; d >= 0; --d) {
    desc = LLVM::InsertValueOp::create(b, loc, desc, sizes[d],
                                       ArrayRef<int64_t>{3, d});
    desc = LLVM::InsertValueOp::create(b, loc, desc, stride,
                                       ArrayRef<int64_t>{4, d});
    if (d > 0)
      stride = LLVM::MulOp::create(b, loc, stride, sizes[d]);
  }
  return UnrealizedConversionCastOp::create(b, loc, TypeRange{type},
                                            ValueRange{desc})
      .getResult(0);
}

/// The i64 constants of a static shape.
inline SmallVector<Value> staticSizes(OpBuilder &b, Location loc,
                                      MemRefType type) {
  SmallVector<Value> sizes;
  for (int64_t d : type.getShape())
    sizes.push_back(LLVM::ConstantOp::create(b, loc, b.getI64Type(), d));
  return sizes;
}

} // namespace mlir::qc

#endif // QC_LIB_CONVERSION_MEMREFDESCRIPTOR_H
