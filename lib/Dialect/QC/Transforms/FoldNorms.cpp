//===- FoldNorms.cpp - norm gains and biases into the next linear layers --===//
//
// See the pass description in include/qc/Dialect/QC/Transforms/Passes.td.
// Invariant: norm(x)·γ·W + β·W + b = norm(x)·(diag(γ)·W) + (b + β·W); the
// arithmetic is numerics::scaleInputChannels / vectorTimesWeight.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/Passes.h"
#include "qc/Dialect/QC/Transforms/Quantization.h"
#include "qc/Numerics/Folding.h"

namespace mlir::qc {
#define GEN_PASS_DEF_FOLDNORMS
#include "qc/Dialect/QC/Transforms/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

namespace {
/// The values of a constant 1-D f32 operand of `size` elements, or nullopt.
std::optional<std::vector<float>> constantVector(Value v, int64_t size) {
  if (!v)
    return std::nullopt;
  auto constant = v.getDefiningOp<arith::ConstantOp>();
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!constant || !type || type.getRank() != 1 || type.getDimSize(0) != size)
    return std::nullopt;
  return readF32(constant.getValue());
}

struct FoldNormsPass : public qc::impl::FoldNormsBase<FoldNormsPass> {
  using FoldNormsBase::FoldNormsBase;

  void runOnOperation() override {
    SmallVector<Operation *> norms;
    getOperation()->walk([&](Operation *op) {
      if (isa<RMSNormOp, LayerNormOp>(op))
        norms.push_back(op);
    });
    for (Operation *norm : norms)
      fold(norm);
  }

  /// Folds `norm`'s gain (and bias) into its users when it qualifies.
  void fold(Operation *norm) {
    auto type = cast<RankedTensorType>(norm->getResult(0).getType());
    int64_t rank = type.getRank(), n = type.getDimSize(rank - 1);
    Value scale, bias;
    int64_t axis;
    if (auto rms = dyn_cast<RMSNormOp>(norm)) {
      scale = rms.getScale();
      axis = rms.getAxis();
    } else {
      auto ln = cast<LayerNormOp>(norm);
      scale = ln.getScale();
      bias = ln.getBias();
      axis = ln.getAxis();
    }
    if (axis < 0)
      axis += rank;
    if ((!scale && !bias) || axis != rank - 1 || ShapedType::isDynamic(n))
      return;
    std::optional<std::vector<float>> gain = constantVector(scale, n);
    std::optional<std::vector<float>> beta = constantVector(bias, n);
    if ((scale && !gain) || (bias && !beta))
      return;
    SmallVector<MatMulOp> users;
    for (Operation *user : norm->getResult(0).getUsers()) {
      auto matmul = dyn_cast<MatMulOp>(user);
      if (!matmul || matmul.getLhs() != norm->getResult(0) ||
          !hasQuantizableWeight(matmul) || matmul.getRhs() == norm->getResult(0))
        return;
      if (matmul.getBias() &&
          !constantVector(matmul.getBias(),
                          matmul.getType().getShape().back()))
        return;
      users.push_back(matmul);
    }
    if (users.empty())
      return;
    for (MatMulOp matmul : users) {
      OpBuilder b(matmul);
      auto w = cast<RankedTensorType>(matmul.getRhs().getType());
      bool transposed = matmul.getTransposeRhs();
      int64_t outs = w.getDimSize(transposed ? 0 : 1);
      std::vector<float> weight =
          *readF32(matmul.getRhs().getDefiningOp<arith::ConstantOp>().getValue());
      Location loc = matmul.getRhs().getLoc();
      if (beta) {
        std::vector<float> shift = numerics::vectorTimesWeight(
            beta->data(), weight.data(), n, outs, transposed);
        if (Value old = matmul.getBias()) {
          std::vector<float> values = *constantVector(old, outs);
          for (int64_t j = 0; j < outs; ++j)
            shift[j] += values[j];
        }
        matmul.getBiasMutable().assign(
            createF32Constant(b, loc, {outs}, shift, "folded_bias"));
      }
      if (gain) {
        numerics::scaleInputChannels(weight.data(), n, outs, transposed,
                                     gain->data());
        Operation *old = matmul.getRhs().getDefiningOp();
        matmul.getRhsMutable().assign(
            createF32Constant(b, loc, w.getShape(), weight, "folded_weight"));
        if (old->use_empty())
          old->erase();
      }
    }
    if (auto rms = dyn_cast<RMSNormOp>(norm)) {
      rms.getScaleMutable().clear();
    } else {
      auto ln = cast<LayerNormOp>(norm);
      ln.getScaleMutable().clear();
      ln.getBiasMutable().clear();
    }
    for (Value v : {scale, bias})
      if (Operation *def = v ? v.getDefiningOp() : nullptr)
        if (def->use_empty())
          def->erase();
  }
};
} // namespace
