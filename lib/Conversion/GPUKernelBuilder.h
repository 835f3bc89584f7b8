//===- GPUKernelBuilder.h - building a hand-laid-out gpu.launch -*- C++ -*-===//
//
// Shared by qc-map-to-gpu's kernels of their own (GPUMmaKernel.cpp,
// GPUHadamardKernel.cpp): the insertion point inside a new launch, and the
// index arithmetic they are written in.
//
//===----------------------------------------------------------------------===//

#ifndef QC_LIB_CONVERSION_GPUKERNELBUILDER_H
#define QC_LIB_CONVERSION_GPUKERNELBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
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

} // namespace mlir::qc

#endif // QC_LIB_CONVERSION_GPUKERNELBUILDER_H
