//===- OutputsInPlace.cpp - outputs written where the caller wants them ---===//
//
// See the pass description in include/qc/Conversion/Passes.td.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCOUTPUTSINPLACE
#include "qc/Conversion/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;

namespace {

struct QCOutputsInPlacePass
    : public qc::impl::QCOutputsInPlaceBase<QCOutputsInPlacePass> {
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (fn.isExternal())
      return;
    Block &entry = fn.getBody().front();
    for (BlockArgument out : fn.getArguments()) {
      if (!fn.getArgAttr(out.getArgNumber(), "bufferize.result") ||
          !out.hasOneUse())
        continue;
      auto copy = dyn_cast<memref::CopyOp>(*out.getUsers().begin());
      if (!copy || copy.getTarget() != out || copy->getBlock() != &entry)
        continue;
      auto alloc = copy.getSource().getDefiningOp<memref::AllocOp>();
      if (!alloc || alloc->getBlock() != &entry ||
          alloc.getType() != out.getType())
        continue;
      alloc.getResult().replaceAllUsesWith(out);
      alloc.erase();
      copy.erase();
    }
  }
};

} // namespace
