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

#include "GPUHadamardKernel.h"
#include "GPUKernelBuilder.h"
#include "GPURowKernel.h"
#include "GPUInt8MmaKernel.h"
#include "GPUMmaKernel.h"
#include "NibbleF16Body.h"
#include "PackedParams.h"
#include "qc/Conversion/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
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
using qc::kNibblesPerWord;
using qc::PackedOperands;

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

/// Whether `value` is a view of a constant weight: a memref.get_global of a
/// constant global, or (after qc-externalize-weights{cuda}) a memref over
/// the address of a weight's placeholder global.
bool isConstantWeight(Value value) {
  while (Operation *def = value.getDefiningOp()) {
    if (auto view = dyn_cast<ViewLikeOpInterface>(def)) {
      value = view.getViewSource();
      continue;
    }
    if (isa<memref::ExpandShapeOp, memref::CollapseShapeOp,
            memref::ReinterpretCastOp, memref::CastOp,
            memref::AssumeAlignmentOp>(def)) {
      value = def->getOperand(0);
      continue;
    }
    if (auto get = dyn_cast<memref::GetGlobalOp>(def)) {
      auto global = SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(
          get, get.getNameAttr());
      return global && global.getConstant();
    }
    if (auto cast = dyn_cast<UnrealizedConversionCastOp>(def)) {
      if (cast->getNumOperands() != 1)
        return false;
      // memrefOverPointer's descriptor: its aligned pointer (field 1).
      Value desc = cast->getOperand(0);
      while (auto insert = desc.getDefiningOp<LLVM::InsertValueOp>()) {
        if (insert.getPosition() == ArrayRef<int64_t>{1}) {
          auto address = insert.getValue().getDefiningOp<LLVM::AddressOfOp>();
          if (!address)
            return false;
          auto global = SymbolTable::lookupNearestSymbolFrom<LLVM::GlobalOp>(
              address, address.getGlobalNameAttr());
          return global && global->hasAttr(qc::kWeightsOffsetAttr);
        }
        desc = insert.getContainer();
      }
      return false;
    }
    return false;
  }
  return false;
}

/// An L2 prefetch of the element of `memref` at `indices`: PTX's
/// `prefetch.L2` of its generic address, as inline PTX (the NVPTX backend
/// selects nvvm.prefetch only for sm_90, and the kernels serve sm_80 too).
void prefetchL2(OpBuilder &b, Location loc, Value memref,
                ArrayRef<Value> indices) {
  auto type = cast<MemRefType>(memref.getType());
  auto meta = memref::ExtractStridedMetadataOp::create(b, loc, memref);
  Value linear = meta.getOffset();
  for (auto [index, stride] : llvm::zip(indices, meta.getStrides()))
    linear = arith::AddIOp::create(
        b, loc, linear, arith::MulIOp::create(b, loc, index, stride));
  Value bytes = arith::MulIOp::create(
      b, loc, linear,
      arith::ConstantIndexOp::create(b, loc,
                                     type.getElementTypeBitWidth() / 8));
  Value base =
      memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  Value address = arith::IndexCastOp::create(
      b, loc, b.getI64Type(), arith::AddIOp::create(b, loc, base, bytes));
  LLVM::InlineAsmOp::create(
      b, loc, TypeRange{}, ValueRange{address}, "prefetch.L2 [$0];", "l",
      /*has_side_effects=*/true, /*is_align_stack=*/false,
      LLVM::tailcallkind::TailCallKind::None,
      LLVM::AsmDialectAttr::get(b.getContext(), LLVM::AsmDialect::AD_ATT),
      /*operand_attrs=*/ArrayAttr());
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
    // The host blocks do not change below: the rewrites create launches and
    // loops, never host-level scf.ifs.
    collectHostBlocks();
    if (failed(lowerReshapes(rewriter)))
      return signalPassFailure();
    lowerCopies(rewriter);
    if (failed(lowerLinalg(rewriter)))
      return signalPassFailure();
    for (Block *block : hostBlocks) {
      sinkScalarLoads(rewriter, *block);
      hoistHostOps(*block);
      mapParallelLoops(rewriter, *block);
      if (failed(wrapSerialWork(rewriter, *block)))
        return signalPassFailure();
    }
    hoistAllocations();
    allocateOnDevice(rewriter);
    selectLop3(rewriter);
  }

  /// (x & c1) | c2 on i32 with constant c1, c2 inside kernels becomes one
  /// PTX lop3.b32: ptxas fuses and/or into a LOP3 only when at most one
  /// operand is an immediate, and the nibble expansion of packed int4
  /// weights (numerics::NibbleMagic) does this once per code, on the
  /// integer pipe that bounds the GEMV.
  void selectLop3(IRRewriter &rewriter) {
    SmallVector<arith::OrIOp> ors;
    getOperation().walk([&](gpu::LaunchOp launch) {
      launch.getBody().walk([&](arith::OrIOp op) {
        if (op.getType().isInteger(32))
          ors.push_back(op);
      });
    });
    for (arith::OrIOp op : ors) {
      for (unsigned side = 0; side < 2; ++side) {
        auto mask = op->getOperand(side).getDefiningOp<arith::AndIOp>();
        Value other = op->getOperand(1 - side);
        if (!mask || !matchPattern(other, m_Constant()))
          continue;
        Value x = mask.getLhs(), c1 = mask.getRhs();
        if (!matchPattern(c1, m_Constant()))
          std::swap(x, c1);
        if (!matchPattern(c1, m_Constant()))
          continue;
        rewriter.setInsertionPoint(op);
        // lop3 truth table for (a & b) | c: (0xF0 & 0xCC) | 0xAA.
        auto asmOp = LLVM::InlineAsmOp::create(
            rewriter, op.getLoc(), op.getType(), ValueRange{x, c1, other},
            "lop3.b32 $0, $1, $2, $3, 0xEA;", "=r,r,r,r",
            /*has_side_effects=*/false, /*is_align_stack=*/false,
            LLVM::TailCallKind::None, LLVM::AsmDialectAttr(), ArrayAttr());
        rewriter.replaceOp(op, asmOp.getResult(0));
        if (mask->use_empty())
          rewriter.eraseOp(mask);
        break;
      }
    }
  }

  Block &body() { return getOperation().getBody().front(); }

  /// The function body and, recursively, the branches of its host-level
  /// scf.ifs: the blocks whose ops run on the host.
  SmallVector<Block *> hostBlocks;
  llvm::SmallPtrSet<Block *, 4> isHostBlock;
  void collectHostBlocks() {
    hostBlocks = {&body()};
    for (size_t i = 0; i < hostBlocks.size(); ++i)
      for (Operation &op : *hostBlocks[i])
        if (auto branch = dyn_cast<scf::IfOp>(op))
          for (Region &region : branch->getRegions())
            for (Block &block : region)
              hostBlocks.push_back(&block);
    isHostBlock.clear();
    isHostBlock.insert(hostBlocks.begin(), hostBlocks.end());
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

  /// A copy from a buffer that only a fill writes (bufferization's copy of
  /// one zero-filled tensor for each matmul that starts from it) is a fill
  /// of the target: the same values, and a fill that a reduction kernel
  /// can fold, instead of a fill kernel and a copy per matmul. The source's
  /// fill goes too when nothing else reads it. Legal when the fill comes
  /// before the copy in the block and nothing writes the source in between:
  /// its other users are such copies, its deallocation, and ops after the
  /// copy (the last matmul, which bufferization lets start from the filled
  /// buffer itself, often through a view made after the copy).
  void copiesOfFillsToFills(IRRewriter &rewriter) {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp op) { copies.push_back(op); });
    llvm::SetVector<Operation *> sources;
    for (memref::CopyOp op : copies) {
      auto alloc = op.getSource().getDefiningOp<memref::AllocOp>();
      if (!alloc || !isTopLevel(op))
        continue;
      linalg::FillOp fill;
      bool onlyCopiesAndFill = true;
      for (Operation *user : alloc->getUsers()) {
        if (auto f = dyn_cast<linalg::FillOp>(user);
            f && !fill && f.hasPureBufferSemantics() &&
            f.getOutputs()[0] == alloc.getResult()) {
          fill = f;
          continue;
        }
        auto copy = dyn_cast<memref::CopyOp>(user);
        if (isa<memref::DeallocOp>(user) ||
            (copy && copy.getSource() == alloc.getResult()))
          continue;
        // Any other use (a view too: its own uses come after it) must come
        // after the copy, so nothing writes the buffer between fill and copy.
        Operation *top = op->getBlock()->findAncestorOpInBlock(*user);
        onlyCopiesAndFill &= top && op->isBeforeInBlock(top);
      }
      if (!fill || !onlyCopiesAndFill || fill->getBlock() != op->getBlock() ||
          !fill->isBeforeInBlock(op))
        continue;
      rewriter.setInsertionPoint(op);
      linalg::FillOp::create(rewriter, op.getLoc(), fill.getInputs()[0],
                             op.getTarget());
      rewriter.eraseOp(op);
      sources.insert(alloc);
    }
    for (Operation *alloc : sources) {
      bool read = llvm::any_of(alloc->getUsers(), [](Operation *user) {
        return !isa<linalg::FillOp, memref::DeallocOp>(user);
      });
      if (read)
        continue;
      for (Operation *user : llvm::make_early_inc_range(alloc->getUsers()))
        rewriter.eraseOp(user);
      rewriter.eraseOp(alloc);
    }
  }

  /// Contiguous copies become gpu.memcpy, others a linalg copy.
  void lowerCopies(IRRewriter &rewriter) {
    copiesOfFillsToFills(rewriter);
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp op) { copies.push_back(op); });
    for (memref::CopyOp op : copies) {
      rewriter.setInsertionPoint(op);
      auto source = cast<MemRefType>(op.getSource().getType());
      auto target = cast<MemRefType>(op.getTarget().getType());
      if (isHostBlock.contains(op->getBlock()) &&
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
    // A fill whose buffer a reduction reads next (a matmul's zero init) is
    // folded into the reduction's kernel when that kernel is made here: one
    // launch less.
    DenseMap<Operation *, linalg::FillOp> pendingFill;
    // Epilogues that a kernel ran in its stores (erased with it).
    DenseSet<Operation *> fusedAway;
    for (linalg::LinalgOp op : ops) {
      if (fusedAway.contains(op.getOperation()))
        continue;
      if (auto fill = dyn_cast<linalg::FillOp>(op.getOperation()))
        if (Operation *consumer = foldableFillConsumer(fill)) {
          pendingFill[consumer] = fill;
          continue;
        }
      if (auto generic = dyn_cast<linalg::GenericOp>(op.getOperation()))
        if (succeeded(mapRowRun(rewriter, generic, pendingFill, fusedAway)))
          continue;
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
      linalg::FillOp fill = pendingFill.lookup(op.getOperation());
      Value init = fill ? fill.getInputs()[0] : Value();
      linalg::GenericOp epilogue;
      if (auto generic = dyn_cast<linalg::GenericOp>(current.getOperation()))
        if (isTopLevel(generic) &&
            (succeeded(qc::buildHadamardKernel(rewriter, generic)) ||
             (mma && succeeded(qc::buildInt8MmaKernel(rewriter, generic, init,
                                                      mmaMinRows,
                                                      epilogue))) ||
             (mma && succeeded(qc::buildPackedMmaKernel(rewriter, generic,
                                                        init,
                                                        packedMmaMinRows,
                                                        {packedMmaColTiles,
                                                         packedMmaRowTiles,
                                                         packedMmaWarps}))) ||
             succeeded(mapReduction(rewriter, generic, /*lanes=*/32, init)) ||
             succeeded(mapReduction(rewriter, generic, /*lanes=*/1, init)))) {
          Value out = generic.getDpsInits()[0];
          rewriter.eraseOp(generic);
          if (fill)
            rewriter.eraseOp(fill);
          if (epilogue) {
            fusedAway.insert(epilogue);
            rewriter.eraseOp(epilogue);
            // The accumulators' buffer (and its view), now unread.
            if (auto alloc = out.getDefiningOp<memref::AllocOp>()) {
              for (Operation *user :
                   llvm::make_early_inc_range(alloc->getUsers()))
                if (isa<memref::ExpandShapeOp>(user) && user->use_empty())
                  rewriter.eraseOp(user);
              if (alloc->use_empty())
                rewriter.eraseOp(alloc);
            }
          }
          continue;
        }
      if (fill) {
        // Not folded: the fill runs as its own loops, where it was.
        OpBuilder::InsertionGuard guard(rewriter);
        rewriter.setInsertionPoint(fill);
        if (failed(linalg::linalgOpToParallelLoops(rewriter, fill)))
          return fill.emitError("qc-map-to-gpu: cannot convert to loops");
        rewriter.eraseOp(fill);
        rewriter.setInsertionPoint(current);
      }
      if (failed(linalg::linalgOpToParallelLoops(rewriter, current)))
        return current.emitError("qc-map-to-gpu: cannot convert to loops");
      rewriter.eraseOp(current);
    }
    return success();
  }

  /// A run of row-wise ops from `op` on (qc::buildRowKernel): the longest
  /// one the kernel takes, of the generics that follow `op` at the top level
  /// with only allocations, views and fills folded into the run between
  /// them. Its ops and their fills are erased (and added to `fusedAway`).
  LogicalResult mapRowRun(IRRewriter &rewriter, linalg::GenericOp op,
                          DenseMap<Operation *, linalg::FillOp> &pendingFill,
                          DenseSet<Operation *> &fusedAway) {
    std::optional<qc::RowShape> shape = qc::rowShape(op);
    if (!isTopLevel(op) || !shape)
      return failure();
    SmallVector<linalg::GenericOp> run{op};
    // Fills folded into ops of the run: met before `op` (pending) or after.
    DenseMap<Operation *, linalg::FillOp> fills = pendingFill;
    // The fills met after `op`, each with the number of ops of the run
    // before it: a fill that the run does not fold runs before the run's
    // kernel, so the ops before it must not touch its buffer.
    struct FillBetween {
      linalg::FillOp fill;
      Operation *consumer;
      size_t before;
    };
    SmallVector<FillBetween> fillsBetween;
    for (Operation *next = op->getNextNode(); next;
         next = next->getNextNode()) {
      if (isa<memref::AllocOp, ViewLikeOpInterface, memref::ExpandShapeOp,
              memref::CollapseShapeOp, arith::ConstantOp>(next))
        continue;
      if (auto fill = dyn_cast<linalg::FillOp>(next)) {
        Operation *consumer = foldableFillConsumer(fill);
        if (!consumer)
          break;
        fills[consumer] = fill;
        fillsBetween.push_back({fill, consumer, run.size()});
        continue;
      }
      auto generic = dyn_cast<linalg::GenericOp>(next);
      std::optional<qc::RowShape> nextShape =
          generic ? qc::rowShape(generic) : std::nullopt;
      if (!nextShape || nextShape->rows != shape->rows ||
          nextShape->length != shape->length)
        break;
      run.push_back(generic);
    }
    for (size_t size = run.size(); size >= 2; --size) {
      ArrayRef<linalg::GenericOp> ops = ArrayRef(run).take_front(size);
      bool fillsStay = llvm::all_of(fillsBetween, [&](FillBetween &f) {
        if (f.before >= size ||
            llvm::is_contained(ops, dyn_cast<linalg::GenericOp>(f.consumer)))
          return true;
        Value buffer = qc::bufferRoot(f.fill.getOutputs()[0]);
        return llvm::none_of(ops.take_front(f.before), [&](auto member) {
          return llvm::any_of(member->getOperands(), [&](Value operand) {
            return isa<MemRefType>(operand.getType()) &&
                   qc::bufferRoot(operand) == buffer;
          });
        });
      });
      if (!fillsStay)
        continue;
      SmallVector<Value> inits;
      for (linalg::GenericOp member : ops) {
        linalg::FillOp fill = fills.lookup(member);
        inits.push_back(fill ? fill.getInputs()[0] : Value());
      }
      if (failed(qc::buildRowKernel(rewriter, ops, inits)))
        continue;
      for (linalg::GenericOp member : ops) {
        fusedAway.insert(member);
        if (linalg::FillOp fill = fills.lookup(member)) {
          fusedAway.insert(fill);
          rewriter.eraseOp(fill);
        }
      }
      return success();
    }
    return failure();
  }

  /// The reduction generic that `fill`'s buffer goes to next (its only
  /// output, and nothing touches the buffer in between), when the fill can
  /// be folded into it; else null.
  Operation *foldableFillConsumer(linalg::FillOp fill) {
    if (!isTopLevel(fill) || !fill.hasPureBufferSemantics() ||
        fill.getOutputs().size() != 1)
      return nullptr;
    Value buffer = fill.getOutputs()[0];
    SmallVector<Value> aliases;
    collectAliases(buffer, aliases);
    Block *block = fill->getBlock();
    Operation *next = nullptr;
    for (Value alias : aliases)
      for (Operation *user : alias.getUsers()) {
        Operation *top = block->findAncestorOpInBlock(*user);
        if (!top || top == fill.getOperation() ||
            !fill->isBeforeInBlock(top) || isa<ViewLikeOpInterface>(top) ||
            isa<memref::ExpandShapeOp, memref::CollapseShapeOp>(top))
          continue;
        if (!next || top->isBeforeInBlock(next))
          next = top;
      }
    auto generic = dyn_cast_or_null<linalg::GenericOp>(next);
    if (!generic || generic.getNumDpsInits() != 1 ||
        generic.getDpsInitOperand(0)->get() != buffer ||
        !qc::reductionCombiner(generic))
      return nullptr;
    // The output must not also be an input.
    for (OpOperand *in : generic.getDpsInputOperands())
      if (llvm::is_contained(aliases, in->get()))
        return nullptr;
    return generic;
  }

  bool isTopLevel(Operation *op) {
    return isHostBlock.contains(op->getBlock());
  }

  /// A reduction over its innermost loop with `lanes` threads per output
  /// point. lanes = 32, when the largest input is read contiguously along
  /// the reduction (a GEMV with an [N, K] weight, a softmax or norm over
  /// rows): one
  /// warp per output point, lanes striding the reduction, a shuffle tree to
  /// combine; also for other shapes when they have few outputs and long
  /// rows (see kFewOutputs); fails for the rest and short rows. lanes = 1:
  /// one thread
  /// per output point (adjacent points on adjacent threads, so a [K, N]
  /// weight is read coalesced along n). Either way each thread accumulates
  /// in registers, with 8 independent accumulators.
  /// Asserts (memref.assume_alignment, at the insertion point) that the
  /// buffers `op` reads are 16-byte aligned where their layouts keep the
  /// alignment of their bases (static offset and strides in whole 16-byte
  /// units, the innermost stride 1), with `aligned` mapping each to the
  /// asserted view, so that LLVM may merge adjacent loads. The bases are
  /// device buffers of the mapping and weights (256-byte aligned
  /// allocations), and the entry point's inputs and outputs, which the
  /// runtime stages when a caller's device pointer is not 16-byte aligned
  /// (docs/abi.md).
  void assumeAligned(IRRewriter &rewriter, linalg::GenericOp op,
                     DenseMap<Value, Value> &aligned) {
    constexpr int64_t kAlign = 16;
    for (OpOperand *in : op.getDpsInputOperands()) {
      auto type = dyn_cast<MemRefType>(in->get().getType());
      if (!type || aligned.count(in->get()))
        continue;
      int64_t bytes = type.getElementTypeBitWidth() / 8;
      SmallVector<int64_t> strides;
      int64_t offset;
      if (bytes == 0 || failed(type.getStridesAndOffset(strides, offset)) ||
          ShapedType::isDynamic(offset) || (offset * bytes) % kAlign != 0)
        continue;
      bool keeps = true;
      for (auto [i, stride] : llvm::enumerate(strides)) {
        bool inner = i + 1 == strides.size();
        keeps &= !ShapedType::isDynamic(stride) &&
                 (inner ? stride == 1 : (stride * bytes) % kAlign == 0);
      }
      if (keeps)
        aligned[in->get()] = memref::AssumeAlignmentOp::create(
            rewriter, op.getLoc(), in->get(), kAlign);
    }
  }

  LogicalResult mapReduction(IRRewriter &rewriter, linalg::GenericOp op,
                             int64_t lanes, Value init0 = Value()) {
    const int64_t kWarp = lanes, kWarpsPerBlock = 256 / lanes;
    // Blocks that fill an H100 (two per SM).
    constexpr int64_t kFillBlocks = 264;
    // Outputs below which one thread each leaves most of an H100 idle
    // (fewer than 64 blocks of 256 threads), and the reductions long enough
    // to give a warp each instead where the lanes' loads are strided.
    constexpr int64_t kFewOutputs = 16384, kLongRow = 64;
    constexpr int64_t kSmallOperandBytes = 8 << 20;
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    unsigned numLoops = iterators.size();
    if (numLoops < 1 || op.getNumDpsInits() != 1 ||
        iterators.back() != utils::IteratorType::reduction ||
        llvm::count(iterators, utils::IteratorType::reduction) != 1)
      return failure();
    Operation *combiner = qc::reductionCombiner(op);
    if (!combiner)
      return failure();
    Type accType = op.getRegion().front().getArguments().back().getType();
    if (lanes > 1 && !accType.isF32() && !accType.isInteger(32))
      return failure(); // gpu.shuffle moves 32-bit values
    if (init0 && init0.getType() != accType)
      return failure();
    unsigned r = numLoops - 1;
    // The largest input (the weight of a GEMV) decides: its rows must run
    // along the reduction, so that a warp's lanes read adjacent elements.
    OpOperand *largest = nullptr;
    int64_t largestSize = -1;
    for (OpOperand *in : op.getDpsInputOperands()) {
      auto type = dyn_cast<MemRefType>(in->get().getType());
      if (!type)
        continue;
      int64_t size = type.hasStaticShape() ? type.getNumElements()
                                           : std::numeric_limits<int64_t>::max();
      if (size > largestSize) {
        largestSize = size;
        largest = in;
      }
    }
    bool contiguous = false;
    if (largest) {
      AffineMap map = op.getMatchingIndexingMap(largest);
      if (map.getNumResults() != 0)
        if (auto last = dyn_cast<AffineDimExpr>(map.getResults().back()))
          contiguous = last.getPosition() == r;
    }
    Location loc = op.getLoc();
    SmallVector<Range, 4> ranges =
        cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(rewriter, loc);
    auto value = [&](OpFoldResult ofr) {
      return getValueOrCreateConstantIndexOp(rewriter, loc, ofr);
    };
    // The reduction's length, when static.
    std::optional<int64_t> rowLength = getConstantIntValue(ranges[r].size);
    if (rowLength && lanes > 1 && *rowLength < 2 * kWarp)
      return failure(); // short rows: one thread per output is as good
    // A reduction whose largest input runs along another loop (attention's
    // probabilities times V, [heads, t, d] summed over t) takes a warp per
    // output too when one thread per output would leave the GPU nearly
    // idle: few outputs (a decoder's 32 heads x 64: 8 blocks of 256
    // threads, each thread a walk of the whole row) over long rows, and a
    // largest input small enough to sit in L2 (a key/value cache just
    // written; not a float model's [K, N] weight streamed from memory,
    // which the lanes' strided loads, a sector each, would read at half
    // its speed).
    if (lanes > 1 && !contiguous) {
      if (!largest)
        return failure();
      auto largestType = cast<MemRefType>(largest->get().getType());
      if (!largestType.hasStaticShape() ||
          largestSize * largestType.getElementTypeBitWidth() / 8 >
              kSmallOperandBytes)
        return failure();
      std::optional<int64_t> outputs = 1;
      for (unsigned d = 0; d < r && outputs; ++d) {
        std::optional<int64_t> extent = getConstantIntValue(ranges[d].size);
        outputs = extent ? std::optional<int64_t>(*outputs * *extent)
                         : std::nullopt;
      }
      if (!outputs || !rowLength || *outputs >= kFewOutputs ||
          *rowLength < kLongRow)
        return failure();
    }
    // Rows per warp: a GEMV's warp computes `rows` adjacent outputs along
    // the innermost parallel loop when the largest input varies along it
    // and another input (the activation) does not, so each activation
    // element is loaded once for all of them (LLVM merges the identical
    // loads); one row per warp re-reads the activation from cache for every
    // output, which outweighs the weight stream at 4 bits.
    // (Measured on the H100, W4A16 at M = 1 with the f16-pair body,
    // docs/gpu.md: 8 rows per warp where there are many (28672 x 8192:
    // 0.068 ms against 0.086 with 4; 14336 x 4096: 0.023 against 0.028), 4
    // where there are fewer (4096 x 4096: 0.0157 with 8 against 0.0148).)
    constexpr int64_t kManyRows = 12288;
    int64_t rows = 1;
    if (lanes > 1 && r >= 1) {
      bool shared = false;
      for (OpOperand *in : op.getDpsInputOperands()) {
        AffineMap map = op.getMatchingIndexingMap(in);
        shared |= in != largest && map.isFunctionOfDim(r) &&
                  !map.isFunctionOfDim(r - 1);
      }
      std::optional<int64_t> outer = getConstantIntValue(ranges[r - 1].size);
      if (shared && op.getMatchingIndexingMap(largest).isFunctionOfDim(r - 1) &&
          outer)
        rows = *outer % 8 == 0 && *outer >= kManyRows ? 8
               : *outer % 4 == 0                      ? 4
               : *outer % 2 == 0                      ? 2
                                                      : 1;
    }
    // The extents of the points a warp iterates: the parallel loops, the
    // innermost one in blocks of `rows`.
    auto pointExtent = [&](unsigned d) -> Value {
      if (d + 1 == r && rows > 1)
        return arith::ConstantIndexOp::create(
            rewriter, loc, *getConstantIntValue(ranges[d].size) / rows);
      return value(ranges[d].size);
    };
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value points = one;
    for (unsigned d = 0; d < r; ++d)
      points = arith::MulIOp::create(rewriter, loc, points, pointExtent(d));
    // Runs of 4 adjacent elements (at most 32-bit ones) per lane, so that
    // LLVM's load-store vectorizer makes each run of the largest input one
    // 128-bit load where the buffers are aligned (assumeAligned); a packed
    // contraction's words, and the activations it reads 8 per word, then
    // move in 16-byte loads.
    int64_t plannedVector =
        lanes > 1 && largest && contiguous &&
                getElementTypeOrSelf(largest->get().getType())
                        .getIntOrFloatBitWidth() <= 32 &&
                rowLength && *rowLength % 4 == 0 && *rowLength >= 4 * kWarp
            ? 4
            : 1;
    // A packed int4 contraction with the f16-pair body (W4A16 on the GPU):
    // each lane's run of `plannedVector` words, under one scale and zero
    // point, sums in f16x2 chains (buildNibbleF16Sum) and scales once, where
    // the body cloned per word would convert and scale every word.
    std::optional<PackedOperands> f16Run;
    if (plannedVector > 1 && contiguous && r >= 1 &&
        largest->getOperandNumber() == kNibblesPerWord) {
      FailureOr<PackedOperands> packed = qc::packedContractionOperands(op);
      bool fits = succeeded(packed) && packed->f16;
      for (int64_t i : {fits ? packed->scaleOperand : -1,
                        fits ? packed->zeroPointOperand : -1}) {
        if (i < 0)
          continue;
        FailureOr<int64_t> per = qc::packedWordsPerValue(
            op.getIndexingMapsArray()[i], r - 1, r);
        fits &= succeeded(per) && *per % plannedVector == 0;
      }
      if (fits && qc::expandsToF16Exactly(op, *packed))
        f16Run = *packed;
    }
    // Main loop: kUnroll strided runs of `vector` adjacent elements per
    // lane and iteration, each run (and row) into its own accumulator, so
    // that several loads are in flight per lane (one load per lane at a
    // time cannot cover the memory latency).
    // Four runs where 4 rows per warp give few warps and the rows are long
    // enough for them (4096 x 4096: 0.0123 ms against 0.0148 with two; with
    // many warps two are better: 28672 x 8192, 4 rows, 0.100 against 0.086).
    bool longRows = rowLength && *rowLength >= kWarp * plannedVector * 4;
    // With the f16 runs, one run per lane where a warp has 8 rows (on an
    // H200, 28672 x 8192: 0.0515 ms against 0.0704 with two, 14336 x 4096:
    // 0.0185 against 0.0225; with 4 rows the runs below stay better:
    // 4096 x 14336, 0.0226 against 0.0264 with one).
    const int64_t kUnroll =
        plannedVector > 1
            ? (f16Run && rows == 8                  ? 1
               : rows == 4 && longRows              ? 4
                                                    : std::max<int64_t>(2, 4 / rows))
            : std::max<int64_t>(1, 8 / rows);
    // Warps per output point (see below).
    int64_t split = 1;
    // The prefetched weights, and how much of each row (in elements of the
    // largest input, whole 128-byte lines of it).
    constexpr int64_t kLineBytes = 128;
    SmallVector<OpOperand *> prefetched;
    int64_t prefetchElems = 0, lineElems = 1;
    constexpr int64_t kSplitBelowWarps = 2048;
    // Fewer warps per block when the blocks would not fill the GPU: a
    // GEMV's warps spread over all SMs (each SM's share of the memory
    // system) rather than 8 to a block on a few (N = 2048 with 4 rows per
    // warp: 64 blocks of 8 warps, or 256 blocks of 2).
    int64_t warpsInBlock = kWarpsPerBlock;
    if (lanes > 1) {
      std::optional<int64_t> staticPoints = 1;
      for (unsigned d = 0; d < r && staticPoints; ++d) {
        std::optional<int64_t> extent = getConstantIntValue(ranges[d].size);
        staticPoints = extent ? std::optional<int64_t>(
                                    *staticPoints *
                                    (d + 1 == r && rows > 1 ? *extent / rows
                                                            : *extent))
                              : std::nullopt;
      }
      while (staticPoints && warpsInBlock > 1 &&
             llvm::divideCeil(*staticPoints, warpsInBlock) < kFillBlocks)
        warpsInBlock /= 2;
      // Few warps over long rows (4096 x 14336 with 4 rows per warp: 1024
      // warps, under 8 per SM): `split` warps of a block share each point,
      // each taking every split-th span of the row, their sums meeting in
      // shared memory.
      if (staticPoints && rowLength && contiguous)
        while (split < kWarpsPerBlock &&
               *staticPoints * split < kSplitBelowWarps &&
               *rowLength / (2 * split) >= kWarp * plannedVector * kUnroll)
          split *= 2;
      if (split > 1)
        warpsInBlock = kWarpsPerBlock;
      // The constant weights that vary with the rows (the packed words,
      // their scales and zero points): each warp prefetches the start of
      // its rows into L2, as much of every row as `weight-prefetch-mib`
      // allows over the whole matrix, and only then waits for the kernel
      // before it (kDependentWaitMarker), so that with a dependent launch
      // the weights stream in while that kernel ends.
      if (weightPrefetchMiB > 0 && staticPoints && rowLength && contiguous &&
          r >= 1) {
        int64_t bytes = 0;
        for (OpOperand *in : op.getDpsInputOperands()) {
          auto type = dyn_cast<MemRefType>(in->get().getType());
          if (!type || !type.hasStaticShape() ||
              type.getElementTypeBitWidth() % 8 != 0 ||
              !op.getMatchingIndexingMap(in).isFunctionOfDim(r - 1) ||
              !isConstantWeight(in->get()))
            continue;
          prefetched.push_back(in);
          bytes += type.getNumElements() * type.getElementTypeBitWidth() / 8;
        }
        if (llvm::is_contained(prefetched, largest)) {
          lineElems = kLineBytes / (cast<MemRefType>(largest->get().getType())
                                        .getElementTypeBitWidth() /
                                    8);
          double fraction =
              std::min(1.0, double(weightPrefetchMiB << 20) / double(bytes));
          prefetchElems = std::min<int64_t>(
              *rowLength,
              llvm::alignTo(int64_t(std::ceil(fraction * *rowLength)),
                            lineElems));
        }
      }
    }
    // Points per block.
    Value warpsPerBlock =
        arith::ConstantIndexOp::create(rewriter, loc, warpsInBlock / split);
    Value blocks =
        arith::CeilDivUIOp::create(rewriter, loc, points, warpsPerBlock);
    Value threads =
        arith::ConstantIndexOp::create(rewriter, loc, kWarp * warpsInBlock);
    auto launch = gpu::LaunchOp::create(rewriter, loc, blocks, one, one,
                                        threads, one, one);
    OpBuilder::InsertionGuard guard(rewriter);
    Block &kernel = launch.getBody().front();
    rewriter.setInsertionPointToEnd(&kernel);
    auto terminator = gpu::TerminatorOp::create(rewriter, loc);
    rewriter.setInsertionPoint(terminator);
    Value warpSize = arith::ConstantIndexOp::create(rewriter, loc, kWarp);
    Value tid = launch.getThreadIds().x, bid = launch.getBlockIds().x;
    Value warp = arith::DivUIOp::create(rewriter, loc, tid, warpSize);
    Value lane = arith::RemUIOp::create(rewriter, loc, tid, warpSize);
    Value splitV = arith::ConstantIndexOp::create(rewriter, loc, split);
    Value point = arith::AddIOp::create(
        rewriter, loc, arith::MulIOp::create(rewriter, loc, bid, warpsPerBlock),
        arith::DivUIOp::create(rewriter, loc, warp, splitV));
    Value slice = split > 1
                      ? arith::RemUIOp::create(rewriter, loc, warp, splitV)
                            .getResult()
                      : arith::ConstantIndexOp::create(rewriter, loc, 0)
                            .getResult();
    // The split warps' sums, [warp][row], in shared memory.
    Value sums;
    if (split > 1)
      sums = launch.addWorkgroupAttribution(
          MemRefType::get({warpsInBlock * rows}, accType,
                          MemRefLayoutAttrInterface(),
                          gpu::AddressSpaceAttr::get(
                              rewriter.getContext(),
                              gpu::AddressSpace::Workgroup)),
          loc);
    Value inRange = arith::CmpIOp::create(rewriter, loc,
                                          arith::CmpIPredicate::ult, point,
                                          points);
    // The whole warp shares `point`, so the branch is warp-uniform and the
    // shuffles inside see every lane.
    auto ifOp = scf::IfOp::create(rewriter, loc, inRange, /*else=*/false);
    rewriter.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    // The output points of the warp: row j at ivs[r - 1]·rows + j.
    auto pointIvs = [&]() {
      SmallVector<Value> ivs(numLoops);
      Value rest = point;
      for (int d = int(r) - 1; d >= 0; --d) {
        Value size = pointExtent(d);
        ivs[d] = arith::RemUIOp::create(rewriter, loc, rest, size);
        rest = arith::DivUIOp::create(rewriter, loc, rest, size);
      }
      SmallVector<SmallVector<Value>> rowIvs(rows, ivs);
      if (rows > 1) {
        Value first = arith::MulIOp::create(
            rewriter, loc, ivs[r - 1],
            arith::ConstantIndexOp::create(rewriter, loc, rows));
        for (int64_t j = 0; j < rows; ++j)
          rowIvs[j][r - 1] = arith::AddIOp::create(
              rewriter, loc, first,
              arith::ConstantIndexOp::create(rewriter, loc, j));
      }
      return rowIvs;
    };
    SmallVector<SmallVector<Value>> rowIvs = pointIvs();
    // The indices of `operand` at the loop point `at`.
    auto indicesAt = [&](OpBuilder &b, OpOperand *operand,
                         ArrayRef<Value> at) {
      AffineMap map = op.getMatchingIndexingMap(operand);
      SmallVector<Value> indices;
      for (unsigned i = 0; i < map.getNumResults(); ++i)
        indices.push_back(affine::AffineApplyOp::create(
            b, loc, map.getSubMap({i}), at));
      return indices;
    };
    if (prefetchElems > 0) {
      // Lane l of slice s prefetches lines l + 32·s, l + 32·(s + split),
      // ... of the first prefetchElems of each of its rows.
      auto prefetch = scf::ForOp::create(
          rewriter, loc,
          arith::MulIOp::create(
              rewriter, loc,
              arith::AddIOp::create(
                  rewriter, loc, lane,
                  arith::MulIOp::create(rewriter, loc, slice, warpSize)),
              arith::ConstantIndexOp::create(rewriter, loc, lineElems)),
          arith::ConstantIndexOp::create(rewriter, loc, prefetchElems),
          arith::ConstantIndexOp::create(rewriter, loc,
                                         kWarp * split * lineElems));
      {
        OpBuilder::InsertionGuard inner(rewriter);
        rewriter.setInsertionPointToStart(prefetch.getBody());
        for (OpOperand *in : prefetched)
          for (int64_t j = 0; j < rows; ++j) {
            SmallVector<Value> point(rowIvs[j].begin(), rowIvs[j].end());
            point[r] = prefetch.getInductionVar();
            prefetchL2(rewriter, loc, in->get(),
                       indicesAt(rewriter, in, point));
          }
      }
      LLVM::InlineAsmOp::create(
          rewriter, loc, TypeRange{}, ValueRange{}, qc::kDependentWaitMarker,
          "~{memory}", /*has_side_effects=*/true, /*is_align_stack=*/false,
          LLVM::tailcallkind::TailCallKind::None,
          LLVM::AsmDialectAttr::get(rewriter.getContext(),
                                    LLVM::AsmDialect::AD_ATT),
          /*operand_attrs=*/ArrayAttr());
    }
    Value init = qc::neutralElement(rewriter, loc, combiner, accType);
    int64_t vector = plannedVector;
    DenseMap<Value, Value> aligned;
    if (vector > 1)
      assumeAligned(rewriter, op, aligned);
    auto loadAt = [&](OpBuilder &b, OpOperand *operand,
                      ArrayRef<Value> at) -> Value {
      return memref::LoadOp::create(
          b, loc, aligned.lookup_or(operand->get(), operand->get()),
          indicesAt(b, operand, at));
    };
    Block &body = op.getRegion().front();
    BlockArgument out = body.getArguments().back();
    Value contribution = combiner->getOperand(0) == out
                             ? combiner->getOperand(1)
                             : combiner->getOperand(0);
    // The body's contribution to row j at reduction index `at`, merged into
    // `acc`.
    // The loads of row j at `at` (kept apart from the arithmetic, so that
    // the main loop issues all its loads first: adjacent loads with no call
    // between them are what LLVM's load-store vectorizer merges).
    auto loadInputs = [&](int64_t j, Value at) -> SmallVector<Value> {
      SmallVector<Value> point(rowIvs[j].begin(), rowIvs[j].end());
      point[r] = at;
      SmallVector<Value> values;
      for (OpOperand *in : op.getDpsInputOperands())
        values.push_back(loadAt(rewriter, in, point));
      return values;
    };
    auto accumulateLoaded = [&](Value acc, int64_t j, Value at,
                                ArrayRef<Value> loaded) -> Value {
      SmallVector<Value> point(rowIvs[j].begin(), rowIvs[j].end());
      point[r] = at;
      IRMapping mapping;
      for (auto [in, value] : llvm::zip(op.getDpsInputOperands(), loaded))
        mapping.map(body.getArgument(in->getOperandNumber()), value);
      qc::cloneBodyAt(rewriter, body, point, mapping, combiner);
      Operation *step = rewriter.clone(*combiner);
      step->setOperands({acc, mapping.lookupOrDefault(contribution)});
      return step->getResult(0);
    };
    auto accumulate = [&](Value acc, int64_t j, Value at) -> Value {
      return accumulateLoaded(acc, j, at, loadInputs(j, at));
    };
    auto combine = [&](Value a, Value b) -> Value {
      Operation *merge = rewriter.clone(*combiner);
      merge->setOperands({a, b});
      return merge->getResult(0);
    };
    // The main loop (kUnroll runs per lane and iteration); with `split`,
    // warp slice s of a point takes spans s, s + split, ...
    Value extent = value(ranges[r].size);
    Value span = arith::ConstantIndexOp::create(rewriter, loc,
                                                kWarp * vector * kUnroll);
    Value stride = arith::ConstantIndexOp::create(
        rewriter, loc, kWarp * vector * kUnroll * split);
    Value mainEnd = arith::MulIOp::create(
        rewriter, loc, arith::DivUIOp::create(rewriter, loc, extent, stride),
        stride);
    SmallVector<Value> inits(kUnroll * rows, init);
    Value start = arith::AddIOp::create(
        rewriter, loc,
        arith::MulIOp::create(
            rewriter, loc, lane,
            arith::ConstantIndexOp::create(rewriter, loc, vector)),
        arith::MulIOp::create(rewriter, loc, slice, span));
    auto mainLoop =
        scf::ForOp::create(rewriter, loc, start, mainEnd, stride, inits);
    {
      OpBuilder::InsertionGuard inner(rewriter);
      rewriter.setInsertionPointToStart(mainLoop.getBody());
      SmallVector<Value> next;
      SmallVector<Value> ats;
      SmallVector<SmallVector<Value>> loaded;
      for (int64_t u = 0; u < kUnroll; ++u)
        for (int64_t j = 0; j < rows; ++j)
          for (int64_t v = 0; v < vector; ++v) {
            ats.push_back(arith::AddIOp::create(
                rewriter, loc, mainLoop.getInductionVar(),
                arith::ConstantIndexOp::create(rewriter, loc,
                                               u * kWarp * vector + v)));
            loaded.push_back(loadInputs(j, ats.back()));
          }
      unsigned slot = 0;
      for (int64_t u = 0; u < kUnroll; ++u)
        for (int64_t j = 0; j < rows; ++j) {
          Value acc = mainLoop.getRegionIterArg(u * rows + j);
          if (f16Run) {
            SmallVector<Value> words, xs;
            for (int64_t v = 0; v < vector; ++v) {
              ArrayRef<Value> at = loaded[slot + v];
              words.push_back(at[kNibblesPerWord]);
              xs.append(at.begin(), at.begin() + kNibblesPerWord);
            }
            ArrayRef<Value> first = loaded[slot];
            Value scale =
                f16Run->scaleOperand >= 0
                    ? first[f16Run->scaleOperand]
                    : arith::ConstantOp::create(
                          rewriter, loc,
                          rewriter.getF32FloatAttr(*f16Run->knownScale))
                          .getResult();
            Value zeroPoint;
            if (f16Run->zeroPointOperand >= 0)
              zeroPoint = first[f16Run->zeroPointOperand];
            else if (*f16Run->knownZeroPoint != 0.0f)
              zeroPoint = arith::ConstantOp::create(
                  rewriter, loc,
                  rewriter.getI32IntegerAttr(int32_t(*f16Run->knownZeroPoint)));
            acc = combine(acc, qc::buildNibbleF16Sum(rewriter, loc, words, xs,
                                                 scale, zeroPoint,
                                                 f16Run->isSigned));
            slot += vector;
          } else {
            for (int64_t v = 0; v < vector; ++v, ++slot)
              acc = accumulateLoaded(acc, j, ats[slot], loaded[slot]);
          }
          next.push_back(acc);
        }
      scf::YieldOp::create(rewriter, loc, next);
    }
    SmallVector<Value> merged;
    for (int64_t j = 0; j < rows; ++j) {
      Value m = mainLoop.getResult(j);
      for (int64_t u = 1; u < kUnroll; ++u)
        m = combine(m, mainLoop.getResult(u * rows + j));
      merged.push_back(m);
    }
    // The rest, one element per lane and iteration.
    auto loop = scf::ForOp::create(
        rewriter, loc,
        arith::AddIOp::create(
            rewriter, loc, mainEnd,
            arith::AddIOp::create(
                rewriter, loc, lane,
                arith::MulIOp::create(rewriter, loc, slice, warpSize))),
        extent, arith::ConstantIndexOp::create(rewriter, loc, kWarp * split),
        merged);
    {
      OpBuilder::InsertionGuard inner(rewriter);
      rewriter.setInsertionPointToStart(loop.getBody());
      SmallVector<Value> next;
      for (int64_t j = 0; j < rows; ++j)
        next.push_back(accumulate(loop.getRegionIterArg(j), j,
                                  loop.getInductionVar()));
      scf::YieldOp::create(rewriter, loc, next);
    }
    Type i32 = rewriter.getI32Type();
    Value width = arith::ConstantIntOp::create(rewriter, loc, i32, kWarp);
    SmallVector<Value> partials(loop.getResults());
    for (int64_t offset = kWarp / 2; offset >= 1; offset /= 2) {
      Value shift = arith::ConstantIntOp::create(rewriter, loc, i32, offset);
      for (Value &partial : partials) {
        auto shuffle = gpu::ShuffleOp::create(rewriter, loc, partial, shift,
                                              width, gpu::ShuffleMode::XOR);
        partial = combine(partial, shuffle.getShuffleResult());
      }
    }
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value first = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq,
                                        lane, zero);
    if (split > 1) {
      // Lane 0 of each warp leaves its sums; after the block's barrier
      // (outside the warp-uniform branch) lane 0 of slice 0 adds its
      // point's `split` sums in slice order and stores.
      auto leave = scf::IfOp::create(rewriter, loc, first, /*else=*/false);
      rewriter.setInsertionPoint(leave.thenBlock()->getTerminator());
      for (int64_t j = 0; j < rows; ++j)
        memref::StoreOp::create(
            rewriter, loc, partials[j], sums,
            ValueRange{arith::AddIOp::create(
                rewriter, loc,
                arith::MulIOp::create(
                    rewriter, loc, warp,
                    arith::ConstantIndexOp::create(rewriter, loc, rows)),
                arith::ConstantIndexOp::create(rewriter, loc, j))});
      rewriter.setInsertionPointAfter(ifOp);
      gpu::BarrierOp::create(rewriter, loc);
      zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
      first = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq,
                                    lane, zero);
      Value owner = arith::AndIOp::create(
          rewriter, loc, inRange,
          arith::AndIOp::create(
              rewriter, loc, first,
              arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq,
                                    slice, zero)));
      auto finish = scf::IfOp::create(rewriter, loc, owner, /*else=*/false);
      rewriter.setInsertionPoint(finish.thenBlock()->getTerminator());
      rowIvs = pointIvs();
      for (int64_t j = 0; j < rows; ++j) {
        Value sum;
        for (int64_t t = 0; t < split; ++t) {
          Value at = arith::AddIOp::create(
              rewriter, loc,
              arith::MulIOp::create(
                  rewriter, loc,
                  arith::AddIOp::create(
                      rewriter, loc, warp,
                      arith::ConstantIndexOp::create(rewriter, loc, t)),
                  arith::ConstantIndexOp::create(rewriter, loc, rows)),
              arith::ConstantIndexOp::create(rewriter, loc, j));
          Value part = memref::LoadOp::create(rewriter, loc, sums, at);
          sum = sum ? combine(sum, part) : part;
        }
        partials[j] = sum;
      }
    } else {
      auto store = scf::IfOp::create(rewriter, loc, first, /*else=*/false);
      rewriter.setInsertionPoint(store.thenBlock()->getTerminator());
    }
    OpOperand *outOperand = op.getDpsInitOperand(0);
    BlockArgument outArg = op.getRegion().front().getArguments().back();
    for (int64_t j = 0; j < rows; ++j) {
      // The output's map does not read the reduction dimension (the loop's
      // induction variable is out of scope here).
      SmallVector<Value> at(rowIvs[j].begin(), rowIvs[j].end());
      at[r] = zero;
      // The output's initial value: the folded fill's scalar, or memory.
      Value old = init0 ? init0 : loadAt(rewriter, outOperand, at);
      Value result = combiner->getOperand(0) == outArg
                         ? combine(old, partials[j])
                         : combine(partials[j], old);
      memref::StoreOp::create(rewriter, loc, result, outOperand->get(),
                              indicesAt(rewriter, outOperand, at));
    }
    return success();
  }

  /// A scalar read from device memory at the top level (a rank-0 result,
  /// like DynamicQuantizeLinear's scale) and the scalar arithmetic on it,
  /// when only code inside loops uses them: cloned to each use, so every
  /// thread reads the scalar itself. Not when the memory may be written in
  /// between.
  void sinkScalarLoads(IRRewriter &rewriter, Block &block) {
    llvm::SmallPtrSet<Operation *, 8> fromDevice;
    for (Operation &op : block) {
      bool dependent = isa<memref::LoadOp>(op) ||
                       (op.getNumRegions() == 0 && isPure(&op) &&
                        llvm::any_of(op.getOperands(), [&](Value v) {
                          return fromDevice.contains(v.getDefiningOp());
                        }));
      if (dependent)
        fromDevice.insert(&op);
    }
    SmallVector<Operation *> candidates;
    for (Operation &op : block)
      if (fromDevice.contains(&op))
        candidates.push_back(&op);
    for (Operation *op : llvm::reverse(candidates)) {
      SmallVector<OpOperand *> nested;
      for (OpOperand &use : op->getUses())
        if (use.getOwner()->getBlock() != &block)
          nested.push_back(&use);
      if (nested.empty())
        continue;
      if (auto load = dyn_cast<memref::LoadOp>(op)) {
        Operation *lastUser = nullptr;
        for (OpOperand *use : nested) {
          Operation *top = block.findAncestorOpInBlock(*use->getOwner());
          if (!lastUser || lastUser->isBeforeInBlock(top))
            lastUser = top;
        }
        SmallVector<Value> aliases;
        collectAliases(load.getMemRef(), aliases);
        bool written = false;
        for (Value alias : aliases)
          for (OpOperand &use : alias.getUses()) {
            Operation *top = block.findAncestorOpInBlock(*use.getOwner());
            if (top && op->isBeforeInBlock(top) && top != lastUser &&
                top->isBeforeInBlock(lastUser) &&
                !isa<memref::LoadOp>(use.getOwner()))
              written = true;
          }
        if (written)
          continue;
      }
      for (OpOperand *use : nested) {
        rewriter.setInsertionPoint(use->getOwner());
        Operation *copy = rewriter.clone(*op);
        use->set(copy->getResult(cast<OpResult>(use->get()).getResultNumber()));
      }
      if (op->use_empty())
        rewriter.eraseOp(op);
    }
  }

  /// Allocations, views and constants move up to just after their operands,
  /// so that they do not split a run of device work (whose scalars would
  /// then cross from one launch to the next through the host). Moving them
  /// earlier changes no value: they only describe memory.
  void hoistHostOps(Block &block) {
    for (Operation &op : llvm::make_early_inc_range(block)) {
      bool movable =
          isa<memref::AllocOp, memref::AllocaOp, memref::ExpandShapeOp,
              memref::CollapseShapeOp, memref::SubViewOp,
              memref::ReinterpretCastOp, memref::CastOp, memref::GetGlobalOp,
              arith::ConstantOp>(op);
      if (!movable)
        continue;
      Operation *after = nullptr;
      for (Value operand : op.getOperands()) {
        Operation *def = operand.getDefiningOp();
        if (!def || def->getBlock() != &block)
          continue;
        if (!after || after->isBeforeInBlock(def))
          after = def;
      }
      if (after)
        op.moveAfter(after);
      else
        op.moveBefore(&block, block.begin());
    }
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
    // Scalar arithmetic on values read from device memory runs on the GPU
    // with them.
    llvm::SmallPtrSet<Operation *, 8> onDevice;
    for (Operation &op : block) {
      bool mapped = false;
      if (auto loop = dyn_cast<scf::ParallelOp>(op))
        mapped = loop->hasAttr(gpu::getMappingAttrName());
      bool deviceScalar =
          !mapped && op.getNumRegions() == 0 && isPure(&op) &&
          llvm::any_of(op.getOperands(), [&](Value v) {
            return onDevice.contains(v.getDefiningOp());
          });
      if (mapped || (staysOnHost(&op) && !deviceScalar)) {
        open = false;
        continue;
      }
      if (!open)
        runs.emplace_back();
      runs.back().push_back(&op);
      onDevice.insert(&op);
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
    for (Block *block : hostBlocks)
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
