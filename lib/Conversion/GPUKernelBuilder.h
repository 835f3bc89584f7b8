//===- GPUKernelBuilder.h - building a hand-laid-out gpu.launch -*- C++ -*-===//
//
// Shared by qc-map-to-gpu and its kernels of their own (GPUMmaKernel.cpp,
// GPUHadamardKernel.cpp, GPURowKernel.cpp): the insertion point inside a new
// launch, the index arithmetic they are written in, and what a reduction
// body combines with.
//
//===----------------------------------------------------------------------===//

#ifndef QC_LIB_CONVERSION_GPUKERNELBUILDER_H
#define QC_LIB_CONVERSION_GPUKERNELBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::qc {

/// Index arithmetic at `b`'s insertion point.
struct IndexMath {
  OpBuilder &b;
  Location loc;
  Value index(int64_t v) const {
    return arith::ConstantIndexOp::create(b, loc, v);
  }
  Value add(Value a, Value c) const {
    return arith::AddIOp::create(b, loc, a, c);
  }
  Value mul(Value a, int64_t c) const {
    return arith::MulIOp::create(b, loc, a, index(c));
  }
  Value div(Value a, int64_t c) const {
    return arith::DivUIOp::create(b, loc, a, index(c));
  }
  Value rem(Value a, int64_t c) const {
    return arith::RemUIOp::create(b, loc, a, index(c));
  }
  /// a < c, unsigned.
  Value lessThan(Value a, int64_t c) const {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, a,
                                 index(c));
  }
  /// min(a, last): an index past the end reads the last element.
  Value clampTo(Value a, int64_t last) const {
    return arith::MinUIOp::create(b, loc, a, index(last));
  }
};

/// Puts `rewriter`'s insertion point before the terminator it adds to
/// `launch`'s body (the caller keeps an InsertionGuard).
inline void enterLaunchBody(RewriterBase &rewriter, gpu::LaunchOp launch) {
  rewriter.setInsertionPointToEnd(&launch.getBody().front());
  auto terminator = gpu::TerminatorOp::create(rewriter, launch.getLoc());
  rewriter.setInsertionPoint(terminator);
}

/// Clones the ops of a linalg body (but its terminator and `skip`, a
/// reduction's combiner) at `b`'s insertion point, each `linalg.index d`
/// replaced by `ivs[d]`; `mapping` holds the block arguments' values and
/// receives the clones'.
inline void cloneBodyAt(OpBuilder &b, Block &body, ArrayRef<Value> ivs,
                        IRMapping &mapping, Operation *skip = nullptr) {
  for (Operation &op : body.without_terminator()) {
    if (&op == skip)
      continue;
    if (auto index = dyn_cast<linalg::IndexOp>(op)) {
      mapping.map(index.getResult(), ivs[index.getDim()]);
      continue;
    }
    b.clone(op, mapping);
  }
}

/// The combiner of a reduction body: the op that the yield returns, which
/// merges the output's block argument (used nowhere else) with one value.
inline Operation *reductionCombiner(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (yield.getNumOperands() != 1)
    return nullptr;
  Operation *combiner = yield.getOperand(0).getDefiningOp();
  if (!combiner || combiner->getBlock() != &body ||
      !isa<arith::AddFOp, arith::AddIOp, arith::MaximumFOp, arith::MaxNumFOp,
           arith::MinimumFOp, arith::MinNumFOp>(combiner))
    return nullptr;
  BlockArgument out = body.getArguments().back();
  if (!out.hasOneUse() ||
      (combiner->getOperand(0) != out && combiner->getOperand(1) != out))
    return nullptr;
  return combiner;
}

/// The combiner's identity: 0 for sums, -inf/+inf for maxima/minima.
inline Value neutralElement(OpBuilder &b, Location loc, Operation *combiner,
                            Type type) {
  if (isa<arith::AddIOp>(combiner))
    return arith::ConstantIntOp::create(b, loc, type, 0);
  auto f = cast<FloatType>(type);
  if (isa<arith::AddFOp>(combiner))
    return arith::ConstantFloatOp::create(
        b, loc, f, APFloat::getZero(f.getFloatSemantics()));
  bool negative = isa<arith::MaximumFOp, arith::MaxNumFOp>(combiner);
  return arith::ConstantFloatOp::create(
      b, loc, f, APFloat::getInf(f.getFloatSemantics(), negative));
}

} // namespace mlir::qc

#endif // QC_LIB_CONVERSION_GPUKERNELBUILDER_H
