//===- FuseElementwise.cpp - element-wise fusion keeping qc markers -------===//
//
// See the pass description in include/qc/Conversion/Passes.td.
//
//===----------------------------------------------------------------------===//

#include "GPUHadamardKernel.h"
#include "GPUKernelBuilder.h"
#include "qc/Conversion/Passes.h"
#include "qc/Dialect/QC/IR/Int8Contraction.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCFUSEELEMENTWISE
#include "qc/Conversion/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;

namespace {

/// Copies the `qc.*` attributes of a replaced op to the op that produces
/// its replacement values, when that op is of the same kind.
struct KeepMarkers : RewriterBase::Listener {
  void notifyOperationReplaced(Operation *op, ValueRange values) override {
    if (values.empty())
      return;
    Operation *by = values.front().getDefiningOp();
    if (!by || by == op || by->getName() != op->getName())
      return;
    for (NamedAttribute attr : op->getDiscardableAttrs())
      if (attr.getName().strref().starts_with("qc.") &&
          !by->hasAttr(attr.getName()))
        by->setAttr(attr.getName(), attr.getValue());
  }
};

/// A generic that only widens integer codes (sign- or zero-extends them,
/// minus a widened zero point: the importer's centered int32 operands).
bool onlyWidens(Operation *op) {
  auto generic = dyn_cast<linalg::GenericOp>(op);
  return generic &&
         llvm::all_of(generic.getRegion().front().without_terminator(),
                      [](Operation &inner) {
                        return isa<arith::ExtSIOp, arith::ExtUIOp,
                                   arith::SubIOp>(inner);
                      });
}

/// Upstream's producer-into-consumer fusion (linalg::fuseElementwiseOps),
/// with the consumer's `qc.*` markers copied to the fused op: upstream's
/// pattern redirects the consumer's uses and erases it, which no listener
/// sees as a replacement (KeepMarkers does not catch it). Added with a
/// higher benefit than upstream's, which it pre-empts.
struct FuseKeepingMarkers : OpRewritePattern<linalg::GenericOp> {
  FuseKeepingMarkers(MLIRContext *ctx, linalg::ControlFusionFn control)
      : OpRewritePattern(ctx, /*benefit=*/2), control(std::move(control)) {}
  linalg::ControlFusionFn control;

  LogicalResult matchAndRewrite(linalg::GenericOp consumer,
                                PatternRewriter &rewriter) const override {
    for (OpOperand &operand : consumer->getOpOperands()) {
      if (!linalg::areElementwiseOpsFusable(&operand) || !control(&operand))
        continue;
      Operation *producer = operand.get().getDefiningOp();
      FailureOr<linalg::ElementwiseOpFusionResult> fused =
          linalg::fuseElementwiseOps(rewriter, &operand);
      if (failed(fused))
        return rewriter.notifyMatchFailure(consumer, "fusion failed");
      for (NamedAttribute attr : consumer->getDiscardableAttrs())
        if (attr.getName().strref().starts_with("qc."))
          fused->fusedOp->setAttr(attr.getName(), attr.getValue());
      for (auto [from, to] : fused->replacements)
        rewriter.replaceUsesWithIf(from, to, [&](OpOperand &use) {
          return use.get().getDefiningOp() != producer;
        });
      rewriter.eraseOp(consumer);
      return success();
    }
    return failure();
  }
};

/// Producers a concatenation's generic computes in place (see
/// concatToGeneric): chains this deep at most, so that a body does not grow
/// without bound.
constexpr int kMaxInlinedProducers = 4;

/// The element of `v` at `at` (index values), built at `b`'s insertion
/// point: through static unit-stride slices (the element of the source)
/// and all-parallel generics that write their result in order (their body
/// on their operands' elements), else a tensor.extract.
Value elementAt(OpBuilder &b, Location loc, Value v, SmallVector<Value> at,
                int depth) {
  if (auto slice = v.getDefiningOp<tensor::ExtractSliceOp>()) {
    auto source = slice.getSourceType();
    if (slice.getType().getRank() == source.getRank() &&
        llvm::all_of(slice.getStaticStrides(),
                     [](int64_t s) { return s == 1; }) &&
        llvm::none_of(slice.getStaticOffsets(), ShapedType::isDynamic)) {
      for (auto [i, offset] : llvm::enumerate(slice.getStaticOffsets()))
        if (offset != 0)
          at[i] = arith::AddIOp::create(
              b, loc, at[i], arith::ConstantIndexOp::create(b, loc, offset));
      return elementAt(b, loc, slice.getSource(), at, depth);
    }
  }
  auto generic = v.getDefiningOp<linalg::GenericOp>();
  if (generic && depth < kMaxInlinedProducers &&
      generic.hasPureTensorSemantics() && generic.getNumDpsInits() == 1 &&
      generic.getNumParallelLoops() == generic.getNumLoops() &&
      generic.getMatchingIndexingMap(generic.getDpsInitOperand(0))
          .isIdentity() &&
      generic.getRegion().front().getArguments().back().use_empty() &&
      llvm::all_of(generic.getRegion().front(), [](Operation &op) {
        return isMemoryEffectFree(&op) || isa<tensor::ExtractOp>(op);
      })) {
    Block &body = generic.getRegion().front();
    IRMapping mapping;
    for (OpOperand *in : generic.getDpsInputOperands()) {
      Value operand = in->get();
      if (!isa<RankedTensorType>(operand.getType())) {
        mapping.map(body.getArgument(in->getOperandNumber()), operand);
        continue;
      }
      AffineMap map = generic.getMatchingIndexingMap(in);
      SmallVector<Value> inAt;
      for (unsigned i = 0; i < map.getNumResults(); ++i)
        inAt.push_back(
            affine::AffineApplyOp::create(b, loc, map.getSubMap({i}), at));
      mapping.map(body.getArgument(in->getOperandNumber()),
                  elementAt(b, loc, operand, inAt, depth + 1));
    }
    qc::cloneBodyAt(b, body, at, mapping);
    return mapping.lookupOrDefault(body.getTerminator()->getOperand(0));
  }
  return tensor::ExtractOp::create(b, loc, v, at);
}

/// A concatenation of static shape as a generic that computes each element
/// from the operand it comes from (a branch per operand, so only that one
/// is read), its operands' producers computed in place (elementAt). The
/// concatenation otherwise becomes a copy per operand after
/// bufferization, each a kernel of its own, and its operands tensors of
/// their own: a rotary embedding's rotate_half (two slices, one negated)
/// was three kernels per use, a key/value cache's append two; as a generic
/// it fuses with its element-wise reader, or is one kernel.
void concatToGeneric(IRRewriter &rewriter, tensor::ConcatOp concat) {
  RankedTensorType type = concat.getResultType();
  if (!type.hasStaticShape() ||
      llvm::any_of(concat.getInputs(), [](Value in) {
        return !cast<RankedTensorType>(in.getType()).hasStaticShape();
      }))
    return;
  Location loc = concat.getLoc();
  int64_t dim = concat.getDim(), rank = type.getRank();
  rewriter.setInsertionPoint(concat);
  Value init = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                       type.getElementType());
  SmallVector<AffineMap> maps{rewriter.getMultiDimIdentityMap(rank)};
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      rewriter, loc, TypeRange{type}, ValueRange{}, ValueRange{init}, maps,
      iterators, [&](OpBuilder &b, Location nested, ValueRange) {
        SmallVector<Value> at;
        for (int64_t d = 0; d < rank; ++d)
          at.push_back(linalg::IndexOp::create(b, nested, d));
        // Operand k from `offset` on: branch on at[dim] < the next offset.
        std::function<Value(size_t, int64_t)> from = [&](size_t k,
                                                         int64_t offset) {
          Value operand = concat.getInputs()[k];
          SmallVector<Value> local(at);
          if (offset != 0)
            local[dim] = arith::SubIOp::create(
                b, nested, at[dim],
                arith::ConstantIndexOp::create(b, nested, offset));
          if (k + 1 == concat.getInputs().size())
            return elementAt(b, nested, operand, local, 0);
          int64_t end =
              offset + cast<RankedTensorType>(operand.getType()).getDimSize(dim);
          Value inside = arith::CmpIOp::create(
              b, nested, arith::CmpIPredicate::ult, at[dim],
              arith::ConstantIndexOp::create(b, nested, end));
          auto branch = scf::IfOp::create(b, nested, TypeRange{type.getElementType()},
                                          inside, /*withElse=*/true);
          {
            OpBuilder::InsertionGuard guard(b);
            b.setInsertionPointToStart(&branch.getThenRegion().front());
            scf::YieldOp::create(b, nested,
                                 elementAt(b, nested, operand, local, 0));
            b.setInsertionPointToStart(&branch.getElseRegion().front());
            scf::YieldOp::create(b, nested, from(k + 1, end));
          }
          return branch.getResult(0);
        };
        linalg::YieldOp::create(b, nested, from(0, 0));
      });
  rewriter.replaceOp(concat, generic.getResults());
}

struct QCFuseElementwisePass
    : public qc::impl::QCFuseElementwiseBase<QCFuseElementwisePass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    // A transpose read only by a generic (an attention's K^T) becomes a
    // generic itself, which the patterns below fold into its reader's
    // indexing map: the reader reads the untransposed tensor, and the
    // transposed copy (a kernel and a pass over the tensor) is never made.
    SmallVector<linalg::TransposeOp> transposes;
    getOperation()->walk([&](linalg::TransposeOp op) {
      if (op.hasPureTensorSemantics() && op->hasOneUse() &&
          isa<linalg::GenericOp>(*op->getUsers().begin()))
        transposes.push_back(op);
    });
    IRRewriter rewriter(ctx);
    for (linalg::TransposeOp op : transposes) {
      rewriter.setInsertionPoint(op);
      (void)linalg::generalizeNamedOp(rewriter, op);
    }
    SmallVector<tensor::ConcatOp> concats;
    getOperation()->walk([&](tensor::ConcatOp op) { concats.push_back(op); });
    for (tensor::ConcatOp op : concats)
      concatToGeneric(rewriter, op);
    RewritePatternSet patterns(ctx);
    // The upstream pass's patterns and control (fuse a producer with one
    // use).
    // The one-generic Hadamard (qc-map-to-gpu replaces it with its kernel,
    // which reads the plain input) takes part in no fusion.
    // An int8 contraction takes only widening producers: its kernel
    // (qc-map-to-gpu's int8 tensor-core kernel, or the CPU's) reads codes,
    // and a fused quantization would run once per output instead of once.
    linalg::ControlFusionFn control = [](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      Operation *consumer = fused->getOwner();
      if (!producer || !producer->hasOneUse() ||
          producer->hasAttr(qc::kHadamardMarker) ||
          consumer->hasAttr(qc::kHadamardMarker))
        return false;
      return !consumer->hasAttr(qc::kInt8ContractionAttr) ||
             onlyWidens(producer);
    };
    patterns.add<FuseKeepingMarkers>(ctx, control);
    linalg::populateElementwiseOpsFusionPatterns(patterns, control);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, control);
    tensor::populateBubbleUpExpandShapePatterns(patterns);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, ctx);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, ctx);
    ctx->getLoadedDialect<linalg::LinalgDialect>()->getCanonicalizationPatterns(
        patterns);
    linalg::populateConstantFoldLinalgOperations(patterns, control);
    KeepMarkers listener;
    GreedyRewriteConfig config;
    config.setUseTopDownTraversal().setListener(&listener);
    // As upstream: not reaching a fixpoint is not an error.
    (void)applyPatternsGreedily(getOperation(), std::move(patterns), config);
  }
};

} // namespace
