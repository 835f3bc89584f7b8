//===- Rotate.cpp - QuaRot residual rotation and online Hadamards ---------===//
//
// See the pass description in include/qc/Dialect/QC/Transforms/Passes.td
// (QuaRot, Ashkboos et al. 2024). Invariant: float outputs unchanged, since
// Q = diag(s)·H/√n is orthogonal and a gain-free RMS norm commutes with it.
// The transforms of the weights are numerics::applyHadamardRows/Columns.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/Passes.h"
#include "qc/Dialect/QC/Transforms/Quantization.h"
#include "qc/Numerics/Folding.h"
#include "qc/Numerics/Hadamard.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"

#include "llvm/ADT/SetVector.h"

#include <functional>
#include <memory>

namespace mlir::qc {
#define GEN_PASS_DEF_ROTATE
#include "qc/Dialect/QC/Transforms/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

namespace {
/// A residual add: tosa.add or arith.addf of two f32 tensors.
bool isResidualAdd(Operation *op) {
  return op && isa<tosa::AddOp, arith::AddFOp>(op) &&
         isa<RankedTensorType>(op->getResult(0).getType());
}

/// The tensor.extract of a constant [V, n] f32 table inside `op`, when `op`
/// is an embedding lookup: a linalg.generic yielding that extract.
tensor::ExtractOp embeddingLookup(Operation *op) {
  auto generic = dyn_cast_or_null<linalg::GenericOp>(op);
  if (!generic || generic->getNumResults() != 1)
    return {};
  auto yield = cast<linalg::YieldOp>(generic.getBody()->getTerminator());
  auto extract = yield.getOperand(0).getDefiningOp<tensor::ExtractOp>();
  if (!extract)
    return {};
  auto table = extract.getTensor().getDefiningOp<arith::ConstantOp>();
  auto type = dyn_cast<RankedTensorType>(extract.getTensor().getType());
  if (!table || !type || type.getRank() != 2 || !type.hasStaticShape() ||
      !type.getElementType().isF32() || !readF32(table.getValue()))
    return {};
  return extract;
}

/// Which side of a weight a transform applies to.
enum class Side {
  Input, ///< W ← Tᵀ·W: the layer reads transformed activations.
  Output ///< W ← W·T: the layer writes transformed activations.
};

struct RotatePass : public qc::impl::RotateBase<RotatePass> {
  using RotateBase::RotateBase;

  void runOnOperation() override {
    if (rotation != "hadamard" && rotation != "random-orthogonal") {
      getOperation()->emitError()
          << "qc-rotate: unknown rotation '" << rotation
          << "' (expected hadamard or random-orthogonal)";
      return signalPassFailure();
    }
    bool failed = false;
    getOperation()->walk([&](func::FuncOp func) {
      if (mlir::failed(rotate(func)))
        failed = true;
    });
    if (failed)
      signalPassFailure();
  }

  /// A rotation Q of vectors of length n: `rows` computes x ← x·Q for row
  /// vectors, `columns` W ← Qᵀ·W for a [n, cols] matrix.
  struct Rotation {
    std::function<void(float *, int64_t rows, int64_t n)> rows;
    std::function<void(float *, int64_t n, int64_t cols)> columns;
  };

  /// (I ⊗ H_size)·diag(signs)/√size (signs empty: none).
  static Rotation hadamardRotation(int64_t size, std::vector<float> signs) {
    return {[=](float *d, int64_t rows, int64_t n) {
              numerics::applyHadamardRows(d, rows, n, size, 1, signs);
            },
            [=](float *d, int64_t n, int64_t cols) {
              numerics::applyHadamardColumns(d, n, cols, size, 1, signs);
            }};
  }

  /// Transforms `matmul`'s weight on `side` with `q` (its input: Qᵀ·W; its
  /// output: W·Q and b·Q) and replaces the constants.
  void transformWeight(MatMulOp matmul, Side side, const Rotation &q) {
    auto type = cast<RankedTensorType>(matmul.getRhs().getType());
    bool transposed = matmul.getTransposeRhs();
    int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
    Operation *old = matmul.getRhs().getDefiningOp();
    std::vector<float> w =
        *readF32(cast<arith::ConstantOp>(old).getValue());
    // The input axis is rows of [K, N] (columns of a transposed [N, K]).
    bool alongRows = (side == Side::Input) == transposed;
    int64_t n = alongRows ? cols : rows;
    if (alongRows)
      q.rows(w.data(), rows, n);
    else
      q.columns(w.data(), n, cols);
    OpBuilder b(matmul);
    matmul.getRhsMutable().assign(createF32Constant(
        b, old->getLoc(), type.getShape(), w, "rotated_weight"));
    if (old->use_empty())
      old->erase();
    if (side == Side::Output && matmul.getBias()) {
      Operation *biasOld = matmul.getBias().getDefiningOp();
      std::vector<float> bias =
          *readF32(cast<arith::ConstantOp>(biasOld).getValue());
      q.rows(bias.data(), 1, bias.size());
      matmul.getBiasMutable().assign(
          createF32Constant(b, biasOld->getLoc(), {int64_t(bias.size())},
                            bias, "rotated_bias"));
      if (biasOld->use_empty())
        biasOld->erase();
    }
  }

  /// Transforms the rows of an embedding lookup's table with `q`.
  void transformTable(Operation *lookup, int64_t n, const Rotation &q) {
    tensor::ExtractOp extract = embeddingLookup(lookup);
    auto table = extract.getTensor().getDefiningOp<arith::ConstantOp>();
    auto type = cast<RankedTensorType>(table.getType());
    std::vector<float> e = *readF32(table.getValue());
    q.rows(e.data(), type.getDimSize(0), n);
    OpBuilder b(lookup);
    extract.getTensorMutable().assign(createF32Constant(
        b, table.getLoc(), type.getShape(), e, "rotated_embedding"));
    if (table->use_empty())
      table->erase();
  }

  /// The transform size for an axis of n: n itself when supported, else
  /// the largest supported block dividing it.
  static int64_t blockFor(int64_t n) {
    return numerics::factorHadamardSize(n) ? n
                                           : numerics::largestHadamardBlock(n);
  }

  LogicalResult rotate(func::FuncOp func) {
    // 1. The residual stream, from the inputs of the RMS norms.
    llvm::SetVector<Value> stream;
    SmallVector<Operation *> norms;
    func.walk([&](Operation *op) {
      if (isa<RMSNormOp, LayerNormOp>(op))
        norms.push_back(op);
    });
    for (Operation *norm : norms)
      stream.insert(norm->getOperand(0));
    llvm::SetVector<Operation *> readersNorms, adds, layerNorms;
    llvm::SetVector<Operation *> writers, lookups;
    auto fail = [&](Operation *op, const Twine &what) {
      op->emitError() << "qc-rotate: " << what
                      << "; the module is left unchanged";
      return failure();
    };
    for (size_t i = 0; i < stream.size(); ++i) {
      Value v = stream[i];
      Operation *def = v.getDefiningOp();
      if (!def)
        return fail(func, "the residual stream starts at a function argument "
                          "(a rotation needs the producer to absorb Q)");
      if (isResidualAdd(def)) {
        adds.insert(def);
        stream.insert(def->getOperand(0));
        stream.insert(def->getOperand(1));
      } else if (auto matmul = dyn_cast<MatMulOp>(def);
                 matmul && hasQuantizableWeight(matmul) &&
                 (!matmul.getBias() ||
                  matmul.getBias().getDefiningOp<arith::ConstantOp>())) {
        writers.insert(def);
      } else if (embeddingLookup(def)) {
        lookups.insert(def);
      } else {
        return fail(def, "the residual stream is produced by '" +
                             def->getName().getStringRef() +
                             "' (expected a residual add, a linear layer with "
                             "a constant weight, or an embedding lookup)");
      }
      for (OpOperand &use : v.getUses()) {
        Operation *user = use.getOwner();
        if (isResidualAdd(user)) {
          stream.insert(user->getResult(0));
          stream.insert(user->getOperand(0));
          stream.insert(user->getOperand(1));
        } else if (auto rms = dyn_cast<RMSNormOp>(user)) {
          if (rms.getScale())
            return fail(user, "the RMS norm still has a gain (run "
                              "qc-fold-norms first)");
          int64_t rank = rms.getType().getRank();
          int64_t axis = static_cast<int64_t>(rms.getAxis());
          if (axis != -1 && axis != rank - 1)
            return fail(user, "the RMS norm normalises more than the last "
                              "axis");
          readersNorms.insert(user);
        } else if (auto ln = dyn_cast<LayerNormOp>(user)) {
          // Rotation-ready once the stream is centred (below).
          if (ln.getScale() || ln.getBias())
            return fail(user, "the LayerNorm still has a gain or bias (run "
                              "qc-fold-norms first)");
          int64_t rank = ln.getType().getRank();
          int64_t axis = static_cast<int64_t>(ln.getAxis());
          if (axis != -1 && axis != rank - 1)
            return fail(user, "the LayerNorm normalises more than the last "
                              "axis");
          readersNorms.insert(user);
          layerNorms.insert(user);
        } else if (isa<func::ReturnOp>(user)) {
          return fail(user, "the residual stream reaches the function's "
                            "result unnormalised (it would be returned "
                            "rotated)");
        } else {
          return fail(user, "the residual stream is read by '" +
                                user->getName().getStringRef() +
                                "' (expected a residual add or an RMS norm)");
        }
      }
    }
    // 2. The readers: the norms' users.
    llvm::SetVector<Operation *> readers;
    for (Operation *norm : readersNorms)
      for (Operation *user : norm->getResult(0).getUsers()) {
        auto matmul = dyn_cast<MatMulOp>(user);
        if (!matmul || matmul.getLhs() != norm->getResult(0) ||
            !hasQuantizableWeight(matmul) ||
            matmul.getRhs() == norm->getResult(0))
          return fail(user, "a normalised residual value is read by '" +
                                user->getName().getStringRef() +
                                "' (expected a linear layer with a constant "
                                "weight)");
        readers.insert(user);
      }
    // 3. One hidden size.
    int64_t n = -1;
    for (Value v : stream) {
      auto type = dyn_cast<RankedTensorType>(v.getType());
      int64_t last = type && type.getRank() >= 1 && type.getElementType().isF32()
                         ? type.getShape().back()
                         : ShapedType::kDynamic;
      if (ShapedType::isDynamic(last) || (n >= 0 && last != n))
        return fail(v.getDefiningOp() ? v.getDefiningOp() : func.getOperation(),
                    "the residual stream needs one static f32 hidden size");
      n = last;
    }
    // 4. Rewrite: the stream. With LayerNorms, first bake their mean
    // subtraction into the producers: every writer's output, bias and
    // embedding row ← ·(I − 11ᵀ/n), so every stream value has zero mean,
    // LayerNorm(x) = RMSNorm(x) (its variance is then mean(x²)), and the
    // stream becomes rotation-invariant.
    if (n > 0 && !layerNorms.empty()) {
      Rotation center = {
          [](float *d, int64_t rows, int64_t n) {
            numerics::subtractMean(d, rows, n, /*alongRows=*/true);
          },
          [](float *d, int64_t n, int64_t cols) {
            numerics::subtractMean(d, n, cols, /*alongRows=*/false);
          }};
      for (Operation *op : writers)
        transformWeight(cast<MatMulOp>(op), Side::Output, center);
      for (Operation *op : lookups)
        transformTable(op, n, center);
      for (Operation *op : layerNorms) {
        auto ln = cast<LayerNormOp>(op);
        OpBuilder b(ln);
        Operation *rms = RMSNormOp::create(
            b, ln.getLoc(), ln.getType(), ln.getInput(), Value(),
            ln.getEpsilonAttr(), ln.getAxisAttr());
        readersNorms.remove(op);
        readersNorms.insert(rms);
        ln.replaceAllUsesWith(rms->getResult(0));
        ln.erase();
      }
    }
    if (n > 0) {
      Rotation q;
      if (rotation == "random-orthogonal") {
        auto matrix = std::make_shared<std::vector<double>>(
            numerics::randomOrthogonal(n, seed));
        q = {[matrix](float *d, int64_t rows, int64_t n) {
               numerics::multiplyRows(d, rows, n, matrix->data());
             },
             [matrix](float *d, int64_t n, int64_t cols) {
               numerics::multiplyColumns(d, n, cols, matrix->data());
             }};
      } else {
        q = hadamardRotation(blockFor(n), numerics::randomSigns(n, seed));
      }
      for (Operation *op : readers)
        transformWeight(cast<MatMulOp>(op), Side::Input, q);
      for (Operation *op : writers)
        transformWeight(cast<MatMulOp>(op), Side::Output, q);
      for (Operation *op : lookups)
        transformTable(op, n, q);
    }
    // 5. Online Hadamards before every other linear layer.
    if (!online)
      return success();
    SmallVector<MatMulOp> others;
    func.walk([&](MatMulOp matmul) {
      if (hasQuantizableWeight(matmul) && !readers.contains(matmul))
        others.push_back(matmul);
    });
    for (MatMulOp matmul : others) {
      auto lhsType = cast<RankedTensorType>(matmul.getLhs().getType());
      int64_t k = lhsType.getShape().back();
      if (ShapedType::isDynamic(k))
        continue;
      // Per head: the input is a reshape of [..., d] values.
      int64_t size = blockFor(k);
      Operation *def = matmul.getLhs().getDefiningOp();
      if (def && isa<tensor::ReshapeOp, tensor::CollapseShapeOp>(def)) {
        auto source = dyn_cast<RankedTensorType>(def->getOperand(0).getType());
        if (source && source.getRank() >= 2) {
          int64_t d = source.getShape().back();
          if (!ShapedType::isDynamic(d) && d < k && k % d == 0)
            size = blockFor(d);
        }
      }
      if (size <= 1)
        continue;
      OpBuilder b(matmul);
      auto h = HadamardOp::create(
          b, matmul.getLoc(), matmul.getLhs(),
          size == k ? IntegerAttr() : b.getI64IntegerAttr(size), IntegerAttr());
      matmul.getLhsMutable().assign(h);
      transformWeight(matmul, Side::Input, hadamardRotation(size, {}));
    }
    return success();
  }
};
} // namespace
