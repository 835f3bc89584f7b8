//===- CacheBuffers.cpp - keep intermediate buffers between calls ---------===//
//
// See the pass description in include/qc/Conversion/Passes.td. Every
// memref.alloc becomes a call to __<name>_buffer_take(slot, bytes, align)
// and every memref.dealloc a call to __<name>_buffer_give(data); both are
// generated here in the LLVM dialect. A buffer carries a header just below
// its data pointer, so that the give side needs nothing but the pointer:
//
//   data[-1] (i64 words): the base address aligned_alloc returned
//   data[-2]            : the capacity in bytes
//   data[-3]            : the slot's address (null: the site has no slot)
//
// The slots are the entries of one internal array of pointers, each holding
// a data pointer or null.
//
//===----------------------------------------------------------------------===//

#include "EntryPointBuilder.h"
#include "qc/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/DataLayoutInterfaces.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCCACHEBUFFERS
#include "qc/Conversion/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

namespace {

/// Header words below the data pointer (see the file comment).
constexpr int32_t kBaseWord = -1, kCapacityWord = -2, kSlotWord = -3;
/// The smallest header: three words, rounded up to the usual alignment.
constexpr int64_t kMinHeader = 64;

struct QCCacheBuffersPass
    : public qc::impl::QCCacheBuffersBase<QCCacheBuffersPass> {
  using QCCacheBuffersBase::QCCacheBuffersBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!isValidName(entryName)) {
      module.emitError("qc-cache-buffers: the name '")
          << entryName << "' is not a C identifier";
      return signalPassFailure();
    }
    SmallVector<memref::AllocOp> allocs;
    SmallVector<memref::DeallocOp> deallocs;
    bool rewritable = true;
    module.walk([&](Operation *op) {
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        MemRefType type = alloc.getType();
        rewritable &= type.getLayout().isIdentity() &&
                      !type.getMemorySpace() &&
                      alloc->getParentOfType<func::FuncOp>();
        allocs.push_back(alloc);
      } else if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
        rewritable &= static_cast<bool>(dealloc->getParentOfType<func::FuncOp>());
        deallocs.push_back(dealloc);
      }
    });
    // All or nothing: a buffer from a plain malloc must never reach
    // buffer_give, which reads a header below the data.
    if (minBytes < 0 || !rewritable)
      allocs.clear(), deallocs.clear();

    MLIRContext *ctx = module.getContext();
    OpBuilder b(ctx);
    Location loc = module.getLoc();
    b.setInsertionPointToEnd(module.getBody());
    DataLayout layout(module);

    // Which sites get a slot.
    SmallVector<int64_t> slotOf(allocs.size(), -1);
    int64_t slots = 0;
    for (auto [i, alloc] : llvm::enumerate(allocs)) {
      MemRefType type = alloc.getType();
      if (!type.hasStaticShape() ||
          type.getNumElements() *
                  int64_t(layout.getTypeSize(type.getElementType())) >=
              minBytes)
        slotOf[i] = slots++;
    }
    std::string slotsName = "__" + entryName + "_buffer_slots";
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    if (slots > 0) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(module.getBody());
      auto arrayType = LLVM::LLVMArrayType::get(ptr, slots);
      auto global = LLVM::GlobalOp::create(b, loc, arrayType,
                                           /*isConstant=*/false,
                                           LLVM::Linkage::Internal, slotsName,
                                           Attribute());
      // All slots empty (a zero initializer region).
      b.createBlock(&global.getInitializerRegion());
      LLVM::ReturnOp::create(b, loc,
                             LLVM::ZeroOp::create(b, loc, arrayType).getResult());
    }
    LLVM::LLVMFuncOp take, give;
    if (!allocs.empty() || !deallocs.empty()) {
      take = buildTake(module, b);
      give = buildGive(module, b);
    }
    buildRelease(module, b, slotsName, slots);

    Type i64 = b.getI64Type();
    for (auto [i, alloc] : llvm::enumerate(allocs)) {
      b.setInsertionPoint(alloc);
      Location at = alloc.getLoc();
      MemRefType type = alloc.getType();
      // The sizes as i64, and the byte count.
      SmallVector<Value> sizes;
      unsigned dynamic = 0;
      for (int64_t d : type.getShape()) {
        if (ShapedType::isDynamic(d))
          sizes.push_back(arith::IndexCastOp::create(
              b, at, i64, alloc.getDynamicSizes()[dynamic++]));
        else
          sizes.push_back(LLVM::ConstantOp::create(b, at, i64, d));
      }
      Value bytes = LLVM::ConstantOp::create(
          b, at, i64, int64_t(layout.getTypeSize(type.getElementType())));
      for (Value size : sizes)
        bytes = LLVM::MulOp::create(b, at, bytes, size);
      int64_t align = std::max<int64_t>(
          kMinHeader, llvm::PowerOf2Ceil(alloc.getAlignment().value_or(1)));
      Value slot;
      if (slotOf[i] >= 0) {
        Value base = LLVM::AddressOfOp::create(b, at, ptr, slotsName);
        slot = LLVM::GEPOp::create(
            b, at, ptr, LLVM::LLVMArrayType::get(ptr, slots), base,
            ArrayRef<LLVM::GEPArg>{0, int32_t(slotOf[i])});
      } else {
        slot = LLVM::ZeroOp::create(b, at, ptr);
      }
      Value data =
          LLVM::CallOp::create(
              b, at, take,
              ValueRange{slot, bytes, LLVM::ConstantOp::create(b, at, i64, align)})
              .getResult();
      alloc.replaceAllUsesWith(memrefOverPointer(b, at, data, type, sizes));
      alloc.erase();
    }
    for (memref::DeallocOp dealloc : deallocs) {
      b.setInsertionPoint(dealloc);
      Location at = dealloc.getLoc();
      Value address = memref::ExtractAlignedPointerAsIndexOp::create(
          b, at, dealloc.getMemref());
      Value word = arith::IndexCastOp::create(b, at, i64, address);
      Value data = LLVM::IntToPtrOp::create(b, at, ptr, word);
      LLVM::CallOp::create(b, at, give, ValueRange{data});
      dealloc.erase();
    }
  }

  /// An internal LLVM function `name`; `b` is left at its entry block.
  LLVM::LLVMFuncOp define(ModuleOp module, OpBuilder &b, StringRef name,
                          Type result, ArrayRef<Type> args) {
    auto fn = LLVM::LLVMFuncOp::create(
        b, module.getLoc(), name, LLVM::LLVMFunctionType::get(result, args),
        LLVM::Linkage::Internal);
    SmallVector<Location> locs(args.size(), module.getLoc());
    b.createBlock(&fn.getBody(), {}, args, locs);
    return fn;
  }

  /// The header word `index` (kBaseWord...) below `data`.
  static Value headerWord(OpBuilder &b, Location loc, Value data,
                          int32_t index) {
    return LLVM::GEPOp::create(b, loc, data.getType(), b.getI64Type(), data,
                               ArrayRef<LLVM::GEPArg>{index});
  }

  /// free() of the block behind `data` (its base address, header word -1).
  static void freeBuffer(OpBuilder &b, Location loc, LLVM::LLVMFuncOp freeFn,
                         Value data) {
    Value base = LLVM::LoadOp::create(b, loc, data.getType(),
                                      headerWord(b, loc, data, kBaseWord));
    LLVM::CallOp::create(b, loc, freeFn, ValueRange{base});
  }

  /// ptr __<name>_buffer_take(ptr slot, i64 bytes, i64 align): the slot's
  /// buffer when it has one of at least `bytes`, else a fresh one (null when
  /// aligned_alloc fails). `align` (a power of two of at least 64) is both
  /// the header's size and the data's alignment.
  LLVM::LLVMFuncOp buildTake(ModuleOp module, OpBuilder &b) {
    MLIRContext *ctx = module.getContext();
    Location loc = module.getLoc();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    Type i64 = b.getI64Type();
    LLVM::LLVMFuncOp allocFn = qc::declareFunction(module, "aligned_alloc", ptr, {i64, i64});
    LLVM::LLVMFuncOp freeFn =
        qc::declareFunction(module, "free", LLVM::LLVMVoidType::get(ctx), {ptr});
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToEnd(module.getBody());
    LLVM::LLVMFuncOp fn =
        define(module, b, "__" + entryName + "_buffer_take", ptr, {ptr, i64, i64});
    Region &body = fn.getBody();
    Block *entry = &body.front();
    Value slot = entry->getArgument(0), bytes = entry->getArgument(1),
          align = entry->getArgument(2);
    Block *exchange = new Block(), *cached = new Block(), *hit = new Block(),
          *tooSmall = new Block(), *fresh = new Block(), *failed = new Block(),
          *init = new Block();
    for (Block *block : {exchange, cached, hit, tooSmall, fresh, failed, init})
      body.push_back(block);

    Value null = LLVM::ZeroOp::create(b, loc, ptr);
    Value noSlot =
        LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, slot, null);
    LLVM::CondBrOp::create(b, loc, noSlot, fresh, exchange);

    b.setInsertionPointToEnd(exchange);
    Value old = LLVM::AtomicRMWOp::create(b, loc, LLVM::AtomicBinOp::xchg, slot,
                                          null, LLVM::AtomicOrdering::acq_rel);
    Value some =
        LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::ne, old, null);
    LLVM::CondBrOp::create(b, loc, some, cached, fresh);

    b.setInsertionPointToEnd(cached);
    Value capacity =
        LLVM::LoadOp::create(b, loc, i64, headerWord(b, loc, old, kCapacityWord));
    Value fits =
        LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::uge, capacity, bytes);
    LLVM::CondBrOp::create(b, loc, fits, hit, tooSmall);

    b.setInsertionPointToEnd(hit);
    LLVM::ReturnOp::create(b, loc, old);

    b.setInsertionPointToEnd(tooSmall);
    freeBuffer(b, loc, freeFn, old);
    LLVM::BrOp::create(b, loc, fresh);

    // total = (align + bytes + align - 1) & -align: aligned_alloc wants a
    // multiple of the alignment.
    b.setInsertionPointToEnd(fresh);
    Value one = LLVM::ConstantOp::create(b, loc, i64, 1);
    Value mask = LLVM::SubOp::create(b, loc, align, one);
    Value total = LLVM::AddOp::create(
        b, loc, LLVM::AddOp::create(b, loc, align, bytes), mask);
    total = LLVM::AndOp::create(
        b, loc, total,
        LLVM::XOrOp::create(b, loc, mask, LLVM::ConstantOp::create(b, loc, i64, -1)));
    Value base =
        LLVM::CallOp::create(b, loc, allocFn, ValueRange{align, total})
            .getResult();
    Value none =
        LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, base, null);
    LLVM::CondBrOp::create(b, loc, none, failed, init);

    b.setInsertionPointToEnd(failed);
    LLVM::ReturnOp::create(b, loc, null);

    b.setInsertionPointToEnd(init);
    Value data = LLVM::GEPOp::create(b, loc, ptr, b.getI8Type(), base,
                                     ArrayRef<LLVM::GEPArg>{align});
    LLVM::StoreOp::create(b, loc, base, headerWord(b, loc, data, kBaseWord));
    LLVM::StoreOp::create(b, loc, bytes, headerWord(b, loc, data, kCapacityWord));
    LLVM::StoreOp::create(b, loc, slot, headerWord(b, loc, data, kSlotWord));
    LLVM::ReturnOp::create(b, loc, data);
    return fn;
  }

  /// void __<name>_buffer_give(ptr data): back into the buffer's slot when
  /// it has one and the slot is empty, else free.
  LLVM::LLVMFuncOp buildGive(ModuleOp module, OpBuilder &b) {
    MLIRContext *ctx = module.getContext();
    Location loc = module.getLoc();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto voidType = LLVM::LLVMVoidType::get(ctx);
    LLVM::LLVMFuncOp freeFn = qc::declareFunction(module, "free", voidType, {ptr});
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToEnd(module.getBody());
    LLVM::LLVMFuncOp fn =
        define(module, b, "__" + entryName + "_buffer_give", voidType, {ptr});
    Region &body = fn.getBody();
    Block *entry = &body.front();
    Value data = entry->getArgument(0);
    Block *header = new Block(), *keep = new Block(), *release = new Block(),
          *done = new Block();
    for (Block *block : {header, keep, release, done})
      body.push_back(block);

    Value null = LLVM::ZeroOp::create(b, loc, ptr);
    Value isNull =
        LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, data, null);
    LLVM::CondBrOp::create(b, loc, isNull, done, header);

    b.setInsertionPointToEnd(header);
    Value slot =
        LLVM::LoadOp::create(b, loc, ptr, headerWord(b, loc, data, kSlotWord));
    Value noSlot =
        LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, slot, null);
    LLVM::CondBrOp::create(b, loc, noSlot, release, keep);

    b.setInsertionPointToEnd(keep);
    Value swapped = LLVM::AtomicCmpXchgOp::create(
        b, loc, slot, null, data, LLVM::AtomicOrdering::acq_rel,
        LLVM::AtomicOrdering::monotonic);
    Value stored = LLVM::ExtractValueOp::create(b, loc, swapped, 1);
    LLVM::CondBrOp::create(b, loc, stored, done, release);

    b.setInsertionPointToEnd(release);
    freeBuffer(b, loc, freeFn, data);
    LLVM::BrOp::create(b, loc, done);

    b.setInsertionPointToEnd(done);
    LLVM::ReturnOp::create(b, loc, ValueRange{});
    return fn;
  }

  /// void <name>_release_buffers(void): empties every slot (a loop over the
  /// slot array) and frees what it held.
  void buildRelease(ModuleOp module, OpBuilder &b, StringRef slotsName,
                    int64_t slots) {
    MLIRContext *ctx = module.getContext();
    Location loc = module.getLoc();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto voidType = LLVM::LLVMVoidType::get(ctx);
    Type i64 = b.getI64Type();
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToEnd(module.getBody());
    auto fn = LLVM::LLVMFuncOp::create(
        b, loc, entryName + "_release_buffers",
        LLVM::LLVMFunctionType::get(voidType, {}));
    Region &body = fn.getBody();
    b.createBlock(&body);
    if (slots == 0) {
      LLVM::ReturnOp::create(b, loc, ValueRange{});
      return;
    }
    LLVM::LLVMFuncOp freeFn = qc::declareFunction(module, "free", voidType, {ptr});
    Block *entry = &body.front();
    Block *loop = new Block(), *held = new Block(), *next = new Block(),
          *done = new Block();
    for (Block *block : {loop, held, next, done})
      body.push_back(block);
    loop->addArgument(i64, loc);
    next->addArgument(i64, loc);

    b.setInsertionPointToEnd(entry);
    LLVM::BrOp::create(b, loc, ValueRange{LLVM::ConstantOp::create(b, loc, i64, 0)},
                       loop);

    b.setInsertionPointToEnd(loop);
    Value index = loop->getArgument(0);
    Value slot = LLVM::GEPOp::create(
        b, loc, ptr, ptr, LLVM::AddressOfOp::create(b, loc, ptr, slotsName),
        ArrayRef<LLVM::GEPArg>{index});
    Value null = LLVM::ZeroOp::create(b, loc, ptr);
    Value data = LLVM::AtomicRMWOp::create(b, loc, LLVM::AtomicBinOp::xchg,
                                           slot, null,
                                           LLVM::AtomicOrdering::acq_rel);
    Value some =
        LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::ne, data, null);
    LLVM::CondBrOp::create(b, loc, some, held, ValueRange{}, next,
                           ValueRange{index});

    b.setInsertionPointToEnd(held);
    freeBuffer(b, loc, freeFn, data);
    LLVM::BrOp::create(b, loc, ValueRange{index}, next);

    b.setInsertionPointToEnd(next);
    Value following = LLVM::AddOp::create(
        b, loc, next->getArgument(0), LLVM::ConstantOp::create(b, loc, i64, 1));
    Value more = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::slt, following,
                                      LLVM::ConstantOp::create(b, loc, i64, slots));
    LLVM::CondBrOp::create(b, loc, more, loop, ValueRange{following}, done,
                           ValueRange{});

    b.setInsertionPointToEnd(done);
    LLVM::ReturnOp::create(b, loc, ValueRange{});
  }
};

} // namespace
