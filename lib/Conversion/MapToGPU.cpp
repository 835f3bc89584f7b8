//===- MapToGPU.cpp - qc-map-to-gpu: all of a function's work on the GPU --===//
//
// See the pass description in include/qc/Conversion/Passes.td.
//
// Invariant: every rewrite keeps the order of the function's memory effects
// (the GPU runs the launches of one call in order on one stream) and each
// element is computed by the same body from the same operands; only where
// the computation runs changes.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCMAPTOGPU
#include "qc/Conversion/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;

namespace {

/// Ops the host may keep: they only describe or allocate memory, or compute
/// on scalars.
bool staysOnHost(Operation *op) {
  if (isa<memref::AllocOp, memref::AllocaOp, memref::DeallocOp,
          memref::GetGlobalOp, memref::DimOp, memref::ExtractStridedMetadataOp,
          memref::ExtractAlignedPointerAsIndexOp, memref::ReinterpretCastOp,
          memref::CastOp, memref::ExpandShapeOp, memref::CollapseShapeOp,
          memref::SubViewOp, memref::ViewOp, memref::TransposeOp,
          memref::AssumeAlignmentOp, func::ReturnOp, func::CallOp,
          scf::YieldOp>(op))
    return true;
  // Control flow on host values (a broadcast chosen by a dynamic size):
  // its branches are host blocks themselves.
  if (isa<scf::IfOp>(op))
    return true;
  if (op->getDialect() &&
      op->getDialect()->getNamespace() == gpu::GPUDialect::getDialectNamespace())
    return true;
  return op->getNumRegions() == 0 && isPure(op);
}

/// `value` and every view of it (transitively).
void collectAliases(Value value, SmallVectorImpl<Value> &aliases) {
  aliases.push_back(value);
  for (Operation *user : value.getUsers()) {
    bool isView = false;
    if (auto view = dyn_cast<ViewLikeOpInterface>(user))
      isView = view.getViewSource() == value;
    else
      isView = isa<memref::ExpandShapeOp, memref::CollapseShapeOp,
                   memref::ReinterpretCastOp, memref::CastOp>(user);
    if (isView)
      for (Value result : user->getResults())
        if (isa<BaseMemRefType>(result.getType()))
          collectAliases(result, aliases);
    // Yielded out of an scf.if: the if's result may be this buffer.
    if (isa<scf::YieldOp>(user))
      if (auto parent = dyn_cast<scf::IfOp>(user->getParentOp()))
        for (OpOperand &operand : user->getOpOperands())
          if (operand.get() == value)
            collectAliases(parent.getResult(operand.getOperandNumber()),
                           aliases);
  }
}

struct QCMapToGPUPass : public qc::impl::QCMapToGPUBase<QCMapToGPUPass> {
  using QCMapToGPUBase::QCMapToGPUBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal() || func->hasAttr("qc.host"))
      return;
    if (blockSize < 1 || blockSize > 1024) {
      func.emitError("qc-map-to-gpu: block-size must be in [1, 1024], got ")
          << static_cast<int64_t>(blockSize);
      return signalPassFailure();
    }
    if (!func.getBody().hasOneBlock()) {
      func.emitError("qc-map-to-gpu: expects a function body of one block "
                     "(structured control flow)");
      return signalPassFailure();
    }
    IRRewriter rewriter(&getContext());
    if (failed(lowerReshapes(rewriter)))
      return signalPassFailure();
    lowerCopies(rewriter);
    if (failed(lowerLinalg(rewriter)))
      return signalPassFailure();
    for (Block *block : hostBlocks()) {
      mapParallelLoops(rewriter, *block);
      if (failed(wrapSerialWork(rewriter, *block)))
        return signalPassFailure();
    }
    hoistAllocations();
    allocateOnDevice(rewriter);
  }

  Block &body() { return getOperation().getBody().front(); }

  /// The function body and, recursively, the branches of its host-level
  /// scf.ifs: the blocks whose ops run on the host.
  SmallVector<Block *> hostBlocks() {
    SmallVector<Block *> blocks = {&body()};
    for (size_t i = 0; i < blocks.size(); ++i)
      for (Operation &op : *blocks[i])
        if (auto branch = dyn_cast<scf::IfOp>(op))
          for (Region &region : branch->getRegions())
            for (Block &block : region)
              blocks.push_back(&block);
    return blocks;
  }

  /// memref.reshape reads its shape operand on the host, which is device
  /// memory here: with a static result over an identity-layout source it is
  /// a reinterpret_cast (the shape operand can only agree with the type).
  LogicalResult lowerReshapes(IRRewriter &rewriter) {
    SmallVector<memref::ReshapeOp> reshapes;
    getOperation().walk([&](memref::ReshapeOp op) { reshapes.push_back(op); });
    for (memref::ReshapeOp op : reshapes) {
      auto source = cast<MemRefType>(op.getSource().getType());
      auto result = cast<MemRefType>(op.getResult().getType());
      if (!result.hasStaticShape() || !source.getLayout().isIdentity() ||
          !result.getLayout().isIdentity())
        return op.emitError("qc-map-to-gpu: a reshape to a shape known only "
                            "at run time is not supported by --target=cuda; "
                            "fix the inputs' shapes (--input-shape)");
      SmallVector<int64_t> strides(result.getRank(), 1);
      for (int64_t d = result.getRank() - 2; d >= 0; --d)
        strides[d] = strides[d + 1] * result.getDimSize(d + 1);
      rewriter.setInsertionPoint(op);
      rewriter.replaceOpWithNewOp<memref::ReinterpretCastOp>(
          op, result, op.getSource(), /*offset=*/0, result.getShape(),
          strides);
    }
    return success();
  }

  /// Contiguous copies become gpu.memcpy, others a linalg copy.
  void lowerCopies(IRRewriter &rewriter) {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp op) { copies.push_back(op); });
    for (memref::CopyOp op : copies) {
      rewriter.setInsertionPoint(op);
      auto source = cast<MemRefType>(op.getSource().getType());
      auto target = cast<MemRefType>(op.getTarget().getType());
      if (llvm::is_contained(hostBlocks(), op->getBlock()) &&
          source.getLayout().isIdentity() &&
          target.getLayout().isIdentity() &&
          source.getElementType() == target.getElementType()) {
        gpu::MemcpyOp::create(rewriter, op.getLoc(), TypeRange{}, ValueRange{},
                              op.getTarget(), op.getSource());
      } else {
        linalg::makeMemRefCopyOp(rewriter, op.getLoc(), op.getSource(),
                                 op.getTarget());
      }
      rewriter.eraseOp(op);
    }
  }

  /// linalg ops -> scf.parallel (parallel loops outermost) + scf.for.
  LogicalResult lowerLinalg(IRRewriter &rewriter) {
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) { ops.push_back(op); });
    for (linalg::LinalgOp op : ops) {
      rewriter.setInsertionPoint(op);
      if (!op.hasPureBufferSemantics())
        return op.emitError("qc-map-to-gpu: expects bufferized linalg ops");
      linalg::LinalgOp current = op;
      if (!isa<linalg::GenericOp>(op)) {
        FailureOr<linalg::GenericOp> generic =
            linalg::generalizeNamedOp(rewriter, op);
        if (succeeded(generic))
          current = *generic;
      }
      if (auto generic = dyn_cast<linalg::GenericOp>(current.getOperation())) {
        SmallVector<unsigned> order;
        SmallVector<utils::IteratorType> iterators =
            generic.getIteratorTypesArray();
        for (auto [i, kind] : llvm::enumerate(iterators))
          if (kind == utils::IteratorType::parallel)
            order.push_back(i);
        for (auto [i, kind] : llvm::enumerate(iterators))
          if (kind != utils::IteratorType::parallel)
            order.push_back(i);
        bool identity = llvm::all_of(llvm::enumerate(order), [](auto p) {
          return p.index() == p.value();
        });
        if (!identity) {
          FailureOr<linalg::GenericOp> swapped =
              linalg::interchangeGenericOp(rewriter, generic, order);
          if (succeeded(swapped))
            current = *swapped;
        }
      }
      rewriter.setInsertionPoint(current);
      if (failed(linalg::linalgOpToParallelLoops(rewriter, current)))
        return current.emitError("qc-map-to-gpu: cannot convert to loops");
      rewriter.eraseOp(current);
    }
    return success();
  }

  /// Each top-level scf.parallel without reductions: one dimension, tiles of
  /// blockSize points; tiles -> blocks, points -> threads.
  void mapParallelLoops(IRRewriter &rewriter, Block &block) {
    SmallVector<scf::ParallelOp> loops;
    for (Operation &op : block)
      if (auto loop = dyn_cast<scf::ParallelOp>(op))
        if (loop.getNumResults() == 0)
          loops.push_back(loop);
    MLIRContext *ctx = &getContext();
    auto identity = AffineMap::getMultiDimIdentityMap(1, ctx);
    auto dimMap = [&](gpu::Processor processor) {
      return gpu::ParallelLoopDimMappingAttr::get(ctx, processor, identity,
                                                  identity);
    };
    for (scf::ParallelOp loop : loops) {
      if (loop.getNumLoops() > 1) {
        std::vector<unsigned> all(loop.getNumLoops());
        std::iota(all.begin(), all.end(), 0);
        Operation *next = loop->getNextNode();
        collapseParallelLoops(rewriter, loop, {all});
        // The collapsed loop replaced `loop` just before `next`.
        loop = nullptr;
        for (Operation *op = next->getPrevNode(); op; op = op->getPrevNode())
          if ((loop = dyn_cast<scf::ParallelOp>(op)))
            break;
      }
      auto [outer, inner] =
          scf::tileParallelLoop(loop, {blockSize}, /*noMinMaxBounds=*/true);
      (void)gpu::setMappingAttr(outer, {dimMap(gpu::Processor::BlockX)});
      (void)gpu::setMappingAttr(inner, {dimMap(gpu::Processor::ThreadX)});
    }
  }

  /// Runs of top-level ops that touch memory outside mapped loops: one
  /// single-thread launch per run.
  LogicalResult wrapSerialWork(IRRewriter &rewriter, Block &block) {
    SmallVector<SmallVector<Operation *>> runs;
    bool open = false;
    for (Operation &op : block) {
      bool mapped = false;
      if (auto loop = dyn_cast<scf::ParallelOp>(op))
        mapped = loop->hasAttr(gpu::getMappingAttrName());
      if (mapped || staysOnHost(&op)) {
        open = false;
        continue;
      }
      if (!open)
        runs.emplace_back();
      runs.back().push_back(&op);
      open = true;
    }
    for (SmallVector<Operation *> &run : runs) {
      llvm::SmallPtrSet<Operation *, 8> inRun(run.begin(), run.end());
      for (Operation *op : run)
        for (Value result : op->getResults())
          for (Operation *user : result.getUsers())
            if (!inRun.contains(block.findAncestorOpInBlock(*user)))
              return op->emitError(
                  "qc-map-to-gpu: this value is computed on the GPU but the "
                  "host needs it (a data-dependent shape?); --target=cuda "
                  "does not support that");
      rewriter.setInsertionPoint(run.front());
      Location loc = run.front()->getLoc();
      Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
      auto launch = gpu::LaunchOp::create(rewriter, loc, one, one, one, one,
                                          one, one);
      Block &kernel = launch.getBody().front();
      rewriter.setInsertionPointToEnd(&kernel);
      auto terminator = gpu::TerminatorOp::create(rewriter, loc);
      for (Operation *op : run)
        op->moveBefore(terminator);
    }
    return success();
  }

  /// Allocations in the branches of host-level scf.ifs move to the top
  /// level when their sizes are known there, so that one deallocation after
  /// the last use of whatever the branches yield frees them.
  void hoistAllocations() {
    SmallVector<Operation *> nested;
    for (Block *block : hostBlocks())
      if (block != &body())
        for (Operation &op : *block)
          if (isa<memref::AllocOp>(op))
            nested.push_back(&op);
    for (Operation *op : nested) {
      Operation *top = body().findAncestorOpInBlock(*op);
      bool available = llvm::all_of(op->getOperands(), [&](Value v) {
        Operation *def = v.getDefiningOp();
        Block *owner = def ? def->getBlock()
                           : cast<BlockArgument>(v).getOwner();
        return owner == &body() && (!def || def->isBeforeInBlock(top));
      });
      if (available)
        op->moveBefore(top);
    }
  }

  /// Top-level buffers in device memory, freed after their last use.
  void allocateOnDevice(IRRewriter &rewriter) {
    SmallVector<Operation *> allocs;
    for (Operation &op : body())
      if (isa<memref::AllocOp, memref::AllocaOp>(op))
        allocs.push_back(&op);
    for (Operation *op : allocs) {
      rewriter.setInsertionPoint(op);
      auto type = cast<MemRefType>(op->getResult(0).getType());
      ValueRange dynamicSizes = isa<memref::AllocOp>(op)
                                    ? cast<memref::AllocOp>(op).getDynamicSizes()
                                    : cast<memref::AllocaOp>(op).getDynamicSizes();
      ValueRange symbols = isa<memref::AllocOp>(op)
                               ? cast<memref::AllocOp>(op).getSymbolOperands()
                               : cast<memref::AllocaOp>(op).getSymbolOperands();
      auto alloc = gpu::AllocOp::create(rewriter, op->getLoc(), type,
                                        /*asyncToken=*/Type(), ValueRange{},
                                        dynamicSizes, symbols,
                                        /*hostShared=*/false);
      rewriter.replaceOp(op, alloc.getMemref());
      // Existing deallocations free device memory now.
      SmallVector<Value> aliases;
      collectAliases(alloc.getMemref(), aliases);
      Operation *last = alloc;
      bool freed = false;
      for (Value alias : aliases)
        for (Operation *user : llvm::make_early_inc_range(alias.getUsers())) {
          if (auto dealloc = dyn_cast<memref::DeallocOp>(user)) {
            rewriter.setInsertionPoint(dealloc);
            gpu::DeallocOp::create(rewriter, dealloc.getLoc(), Type(),
                                   ValueRange{}, dealloc.getMemref());
            rewriter.eraseOp(dealloc);
            freed = true;
            continue;
          }
          Operation *top = body().findAncestorOpInBlock(*user);
          if (top && last->isBeforeInBlock(top))
            last = top;
        }
      bool returned = llvm::any_of(aliases, [](Value alias) {
        return llvm::any_of(alias.getUsers(), [](Operation *user) {
          return isa<func::ReturnOp>(user);
        });
      });
      if (freed || returned)
        continue;
      rewriter.setInsertionPointAfter(last);
      gpu::DeallocOp::create(rewriter, last->getLoc(), Type(), ValueRange{},
                             alloc.getMemref());
    }
  }
};

} // namespace
