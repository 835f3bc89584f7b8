//===- Smooth.cpp - SmoothQuant: migrate activation outliers into weights --===//
//
// See the pass description in include/qc/Dialect/QC/Transforms/Passes.td
// (SmoothQuant, Xiao et al. 2023). Invariant: float outputs unchanged, since
// (X·diag(1/s))·(diag(s)·W) = X·W and the 1/s is folded exactly into the
// op that produces X. The factors are numerics::smoothingFactors.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/Passes.h"
#include "qc/Dialect/QC/Transforms/Quantization.h"
#include "qc/Numerics/Folding.h"

#include "mlir/Dialect/Tosa/IR/TosaOps.h"

#include "llvm/ADT/MapVector.h"

namespace mlir::qc {
#define GEN_PASS_DEF_SMOOTH
#include "qc/Dialect/QC/Transforms/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

namespace {

/// The values of a constant f32 tensor, or nullopt.
std::optional<std::vector<float>> constantValues(Value v) {
  auto constant = v ? v.getDefiningOp<arith::ConstantOp>() : nullptr;
  if (!constant)
    return std::nullopt;
  return readF32(constant.getValue());
}

/// Replaces operand `operand` of `user` (a constant) by a new constant of
/// `data`, erasing the old one when nothing else reads it.
void replaceConstant(OpOperand &operand, ArrayRef<float> data,
                     llvm::StringRef key) {
  Operation *old = operand.get().getDefiningOp();
  OpBuilder b(operand.getOwner());
  auto type = cast<RankedTensorType>(operand.get().getType());
  operand.set(createF32Constant(b, old->getLoc(), type.getShape(), data, key));
  if (old->use_empty())
    old->erase();
}

/// The number of output channels of a matmul's weight.
int64_t outputChannels(MatMulOp matmul) {
  auto w = cast<RankedTensorType>(matmul.getRhs().getType());
  return w.getDimSize(matmul.getTransposeRhs() ? 0 : 1);
}

/// A matmul whose outputs can absorb a per-channel factor: a quantizable
/// weight and a constant bias (or none).
bool canScaleOutputs(MatMulOp matmul) {
  return matmul && hasQuantizableWeight(matmul) &&
         (!matmul.getBias() || constantValues(matmul.getBias()));
}

/// The op that absorbs 1/s for the activation `x`, or null when none can:
/// - a norm over the last axis with a constant gain (or none) and bias;
/// - a matmul (scales its output channels and bias; x's users are all
///   readers, checked by the caller);
/// - an element-wise product one of whose same-shaped operands is such a
///   matmul (SwiGLU's gate·up: scaling up's outputs scales the product).
/// For the product, `through` is set to that matmul.
Operation *findProducer(Value x, MatMulOp &through) {
  Operation *def = x.getDefiningOp();
  if (!def)
    return nullptr;
  auto type = cast<RankedTensorType>(x.getType());
  auto lastAxis = [&](int64_t axis) {
    return (axis < 0 ? axis + type.getRank() : axis) == type.getRank() - 1;
  };
  if (auto rms = dyn_cast<RMSNormOp>(def))
    return lastAxis(rms.getAxis()) &&
                   (!rms.getScale() || constantValues(rms.getScale()))
               ? def
               : nullptr;
  if (auto ln = dyn_cast<LayerNormOp>(def))
    return lastAxis(ln.getAxis()) &&
                   (!ln.getScale() || constantValues(ln.getScale())) &&
                   (!ln.getBias() || constantValues(ln.getBias()))
               ? def
               : nullptr;
  if (auto matmul = dyn_cast<MatMulOp>(def)) {
    through = matmul;
    return canScaleOutputs(matmul) ? def : nullptr;
  }
  if (isa<tosa::MulOp, arith::MulFOp>(def))
    for (unsigned i = 0; i < 2; ++i) {
      auto matmul = def->getOperand(i).getDefiningOp<MatMulOp>();
      if (matmul && matmul.getType() == type && canScaleOutputs(matmul) &&
          matmul->hasOneUse()) {
        through = matmul;
        return def;
      }
    }
  return nullptr;
}

struct SmoothPass : public qc::impl::SmoothBase<SmoothPass> {
  using SmoothBase::SmoothBase;

  void runOnOperation() override {
    if (!(alpha >= 0.0 && alpha <= 1.0)) {
      getOperation()->emitError()
          << "qc-smooth: alpha must be in [0, 1], got " << alpha;
      return signalPassFailure();
    }
    // The readers of each activation, in program order.
    llvm::MapVector<Value, SmallVector<MatMulOp>> groups;
    bool invalid = false;
    getOperation()->walk([&](MatMulOp matmul) {
      auto stats = matmul->getAttrOfType<DenseF32ArrayAttr>(kCalibAbsMaxAttr);
      if (!stats || !hasQuantizableWeight(matmul))
        return;
      auto lhs = cast<RankedTensorType>(matmul.getLhs().getType());
      if (int64_t(stats.size()) != lhs.getShape().back()) {
        matmul.emitError() << "qc-smooth: " << kCalibAbsMaxAttr << " has "
                           << stats.size() << " values, but the input has "
                           << lhs.getShape().back() << " channels";
        invalid = true;
        return;
      }
      groups[matmul.getLhs()].push_back(matmul);
    });
    if (invalid)
      return signalPassFailure();
    for (auto &[x, readers] : groups)
      smooth(x, readers);
  }

  /// Smooths the activation `x` read by `readers` when every user of `x` is
  /// one of them and its producer can absorb 1/s.
  void smooth(Value x, ArrayRef<MatMulOp> readers) {
    for (Operation *user : x.getUsers())
      if (!llvm::is_contained(readers, dyn_cast<MatMulOp>(user)) ||
          cast<MatMulOp>(user).getRhs() == x)
        return;
    MatMulOp through;
    Operation *producer = findProducer(x, through);
    if (!producer)
      return;
    int64_t k = cast<RankedTensorType>(x.getType()).getShape().back();

    // s from the largest activation and weight of each channel over all
    // readers (q/k/v share one s).
    std::vector<float> actMax(k, 0.0f), weightMax(k, 0.0f);
    std::vector<std::vector<float>> weights;
    for (MatMulOp matmul : readers) {
      auto stats = matmul->getAttrOfType<DenseF32ArrayAttr>(kCalibAbsMaxAttr);
      weights.push_back(*constantValues(matmul.getRhs()));
      std::vector<float> w = numerics::inputChannelAbsMax(
          weights.back().data(), k, outputChannels(matmul),
          matmul.getTransposeRhs());
      for (int64_t j = 0; j < k; ++j) {
        actMax[j] = std::max(actMax[j], stats[j]);
        weightMax[j] = std::max(weightMax[j], w[j]);
      }
    }
    std::vector<float> s =
        numerics::smoothingFactors(actMax.data(), weightMax.data(), k, alpha);
    std::vector<float> inverse(k);
    for (int64_t j = 0; j < k; ++j)
      inverse[j] = 1.0f / s[j];

    // Readers: W ← diag(s)·W; their statistics now describe X / s, and a
    // calibrated range no longer holds.
    for (auto [reader, w] : llvm::zip(readers, weights)) {
      MatMulOp matmul = reader;
      numerics::scaleInputChannels(w.data(), k, outputChannels(matmul),
                                   matmul.getTransposeRhs(), s.data());
      replaceConstant(matmul.getRhsMutable(), w, "smoothed_weight");
      auto stats = matmul->getAttrOfType<DenseF32ArrayAttr>(kCalibAbsMaxAttr);
      std::vector<float> scaled(stats.asArrayRef());
      for (int64_t j = 0; j < k; ++j)
        scaled[j] *= inverse[j];
      matmul->setAttr(kCalibAbsMaxAttr,
                      DenseF32ArrayAttr::get(&getContext(), scaled));
      matmul->removeAttr(kCalibRangeAttr);
    }
    divideProducer(producer, through, inverse);
  }

  /// Folds x ← x·diag(inverse) into the producer.
  void divideProducer(Operation *producer, MatMulOp through,
                      const std::vector<float> &inverse) {
    int64_t k = inverse.size();
    auto scaleVector = [&](OpOperand &operand, llvm::StringRef key) {
      std::vector<float> v = *constantValues(operand.get());
      for (int64_t j = 0; j < k; ++j)
        v[j] *= inverse[j];
      replaceConstant(operand, v, key);
    };
    if (through) {
      std::vector<float> w = *constantValues(through.getRhs());
      int64_t rows = cast<RankedTensorType>(through.getRhs().getType())
                         .getDimSize(through.getTransposeRhs() ? 1 : 0);
      numerics::scaleOutputChannels(w.data(), rows, k,
                                    through.getTransposeRhs(), inverse.data());
      replaceConstant(through.getRhsMutable(), w, "smoothed_weight");
      if (through.getBias())
        scaleVector(through.getBiasMutable()[0], "smoothed_bias");
      return;
    }
    // A norm: its gain becomes γ/s (1/s when it had none), a LayerNorm's
    // bias β/s.
    auto gain = [&](auto norm) {
      if (norm.getScale()) {
        scaleVector(norm.getScaleMutable()[0], "smoothed_gain");
        return;
      }
      OpBuilder b(norm);
      norm.getScaleMutable().assign(
          createF32Constant(b, norm.getLoc(), {k}, inverse, "smoothed_gain"));
    };
    if (auto rms = dyn_cast<RMSNormOp>(producer))
      return gain(rms);
    auto ln = cast<LayerNormOp>(producer);
    gain(ln);
    if (ln.getBias())
      scaleVector(ln.getBiasMutable()[0], "smoothed_bias");
  }
};
} // namespace
