//===- EntryPointBuilder.h - C-callable functions built in IR ---*- C++ -*-===//
//
// Shared by qc-emit-c-interface (<name>_run over the caller's buffers) and
// qc-externalize-weights (<name>_load_weights over the mapped file):
// - CheckChain: straight-line code made of checks, each branching to a block
//   that returns an error code;
// - memrefOverPointer: a memref value over a plain pointer, built as MLIR's
//   LLVM memref descriptor and cast with unrealized_conversion_cast (folded
//   away by reconcile-unrealized-casts once memrefs are lowered).
//
//===----------------------------------------------------------------------===//

#ifndef QC_LIB_CONVERSION_ENTRYPOINTBUILDER_H
#define QC_LIB_CONVERSION_ENTRYPOINTBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cctype>

namespace mlir::qc {

/// Builds the body of a function returning i32 as a chain of checks: code is
/// appended in the current block; check() branches to an exit block when its
/// condition holds and continues in a fresh block otherwise. Exit blocks
/// return an error code (exitReturning) or run cleanup first (exitThrough).
class CheckChain {
public:
  /// Starts appending at the end of `start`, the entry block of `body`.
  CheckChain(OpBuilder &b, Location loc, Region &body, Block *start)
      : b(b), loc(loc), body(body), current(start) {
    b.setInsertionPointToEnd(current);
  }

  /// A block returning `code` (i32), placed after the continuation blocks.
  Block *exitReturning(int32_t code) {
    OpBuilder::InsertionGuard guard(b);
    Block *exit = b.createBlock(&body, body.end());
    func::ReturnOp::create(
        b, loc,
        ValueRange{arith::ConstantIntOp::create(b, loc, b.getI32Type(), code)});
    exits.push_back(exit);
    return exit;
  }

  /// A block running `cleanup` (which builds ops at the insertion point),
  /// then branching to `then`.
  Block *exitThrough(function_ref<void()> cleanup, Block *then) {
    OpBuilder::InsertionGuard guard(b);
    Block *exit = b.createBlock(&body, body.end());
    cleanup();
    cf::BranchOp::create(b, loc, then);
    exits.push_back(exit);
    return exit;
  }

  /// Branches to `exit` when `fail` (i1) holds; continues otherwise.
  void check(Value fail, Block *exit) {
    Block *next = exits.empty()
                      ? b.createBlock(&body, body.end())
                      : b.createBlock(&body, Region::iterator(exits.front()));
    b.setInsertionPointToEnd(current);
    cf::CondBranchOp::create(b, loc, fail, exit, next);
    current = next;
    b.setInsertionPointToEnd(current);
  }

private:
  OpBuilder &b;
  Location loc;
  Region &body;
  Block *current;
  SmallVector<Block *> exits;
};

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

/// The external function `name` of `module` (a libc function the generated
/// code calls), declared at the top of the module on first use.
inline LLVM::LLVMFuncOp declareFunction(ModuleOp module, StringRef name,
                                        Type result, ArrayRef<Type> args,
                                        bool variadic = false) {
  if (auto f = module.lookupSymbol<LLVM::LLVMFuncOp>(name))
    return f;
  OpBuilder b(module.getContext());
  b.setInsertionPointToStart(module.getBody());
  return LLVM::LLVMFuncOp::create(
      b, module.getLoc(), name,
      LLVM::LLVMFunctionType::get(result, args, variadic));
}

/// Whether `name` is a C identifier (the prefix of the exported symbols).
inline bool isValidName(llvm::StringRef name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])))
    return false;
  return llvm::all_of(name, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

/// The i64 constants of a static shape.
inline SmallVector<Value> staticSizes(OpBuilder &b, Location loc,
                                      MemRefType type) {
  SmallVector<Value> sizes;
  for (int64_t d : type.getShape())
    sizes.push_back(LLVM::ConstantOp::create(b, loc, b.getI64Type(), d));
  return sizes;
}

/// The raw bytes of a constant's value (a resource blob or dense
/// elements, not a splat), when they are exactly `expectedBytes` long.
inline std::optional<ArrayRef<char>> constantRawBytes(Attribute value,
                                                      uint64_t expectedBytes) {
  ArrayRef<char> data;
  if (auto resource = dyn_cast_or_null<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    data = blob->getData();
  } else if (auto dense = dyn_cast_or_null<DenseElementsAttr>(value)) {
    if (dense.isSplat())
      return std::nullopt;
    data = dense.getRawData();
  } else {
    return std::nullopt;
  }
  if (data.size() != expectedBytes)
    return std::nullopt;
  return data;
}

} // namespace mlir::qc

#endif // QC_LIB_CONVERSION_ENTRYPOINTBUILDER_H
