//===- ApproximateMath.cpp - vectorisable f32 math functions --------------===//
//
// See the pass description in include/qc/Conversion/Passes.td. The
// approximations themselves are MLIR's (math dialect transforms); this pass
// only chooses which ops get them.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/ADT/StringSet.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCAPPROXIMATEMATH
#include "qc/Conversion/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;

namespace {
struct QCApproximateMathPass
    : public qc::impl::QCApproximateMathBase<QCApproximateMathPass> {
  using QCApproximateMathBase::QCApproximateMathBase;

  void runOnOperation() override {
    llvm::StringSet<> names;
    for (const std::string &op : ops)
      names.insert(op);
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(
        patterns, [&](StringRef name) { return names.contains(name); });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
