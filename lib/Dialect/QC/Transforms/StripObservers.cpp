//===- StripObservers.cpp - remove calibration taps -----------------------===//
//
// Invariant: qc.observe returns its input unchanged, so replacing a tap by its
// input preserves every value of the program; only the recording side effect
// goes away.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/IR/QCOps.h"
#include "qc/Dialect/QC/Transforms/Passes.h"

#include "llvm/Support/Regex.h"

namespace mlir::qc {
#define GEN_PASS_DEF_STRIPOBSERVERS
#include "qc/Dialect/QC/Transforms/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

namespace {
struct StripObserversPass
    : public qc::impl::StripObserversBase<StripObserversPass> {
  using StripObserversBase::StripObserversBase;

  void runOnOperation() override {
    // Anchor the expression so that it must match the whole tag.
    llvm::Regex pattern("^(" + tags + ")$");
    std::string error;
    if (!pattern.isValid(error)) {
      getOperation()->emitError()
          << "qc-strip-observers: invalid regular expression '" << tags
          << "' for option 'tags': " << error;
      return signalPassFailure();
    }
    getOperation()->walk([&](ObserveOp observe) {
      if (!pattern.match(observe.getTag()))
        return;
      observe.getResult().replaceAllUsesWith(observe.getInput());
      observe.erase();
    });
  }
};
} // namespace
