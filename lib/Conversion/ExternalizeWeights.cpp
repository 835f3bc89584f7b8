//===- ExternalizeWeights.cpp - large constants into a mapped file --------===//
//
// See the pass description in include/qc/Conversion/Passes.td. The file:
//   bytes 0-7    "QCWGHTS1"
//   bytes 8-15   total file size (little endian)
//   bytes 16-23  hash of the weights (xxh3 of each buffer, combined)
//   bytes 24-63  zero
//   then each buffer at a 64-byte aligned offset.
// <name>_load_weights maps the file with open/lseek/mmap (POSIX), checks
// the three header fields against the values compiled into the object, and
// copies the file into anonymous memory advised as huge pages
// (madvise(MADV_HUGEPAGE)); with QUANT_WEIGHTS_MAP in the environment, or
// when that memory cannot be had, the weights stay in the file mapping.
//
//===----------------------------------------------------------------------===//

#include "EntryPointBuilder.h"
#include "qc/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <fcntl.h>
#include <sys/mman.h>

namespace mlir::qc {
#define GEN_PASS_DEF_QCEXTERNALIZEWEIGHTS
#include "qc/Conversion/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;

namespace {

constexpr uint64_t kHeaderBytes = 64;
constexpr uint64_t kAlign = 64;
constexpr char kMagic[9] = "QCWGHTS1";
constexpr int32_t kErrWeights = 3;
#ifdef MADV_HUGEPAGE
constexpr int32_t kMadvHugePage = MADV_HUGEPAGE;
#else
constexpr int32_t kMadvHugePage = 14; // Linux's value
#endif

struct Buffer {
  memref::GlobalOp global;
  ArrayRef<char> data;
  uint64_t offset = 0;
};

/// The bytes of a constant global's initial value, when it can be moved.
std::optional<ArrayRef<char>> constantBytes(memref::GlobalOp global) {
  if (!global.getConstant() || !global.getInitialValue())
    return std::nullopt;
  MemRefType type = global.getType();
  if (!type.hasStaticShape() ||
      type.getElementTypeBitWidth() % 8 != 0)
    return std::nullopt;
  uint64_t expected =
      uint64_t(type.getNumElements()) * (type.getElementTypeBitWidth() / 8);
  return qc::constantRawBytes(*global.getInitialValue(), expected);
}

struct QCExternalizeWeightsPass
    : public qc::impl::QCExternalizeWeightsBase<QCExternalizeWeightsPass> {
  using QCExternalizeWeightsBase::QCExternalizeWeightsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (file.empty()) {
      module.emitError("qc-externalize-weights: option 'file' is required");
      return signalPassFailure();
    }
    SmallVector<Buffer> buffers;
    uint64_t size = kHeaderBytes;
    module.walk([&](memref::GlobalOp global) {
      std::optional<ArrayRef<char>> data = constantBytes(global);
      if (!data || int64_t(data->size()) < threshold)
        return;
      size = llvm::alignTo(size, kAlign);
      buffers.push_back({global, *data, size});
      size += data->size();
    });
    if (buffers.empty())
      return;
    uint64_t hash = 0;
    for (const Buffer &b : buffers)
      hash = hash * 0x100000001b3ULL ^
             llvm::xxh3_64bits(ArrayRef<uint8_t>(
                 reinterpret_cast<const uint8_t *>(b.data.data()),
                 b.data.size()));
    if (failed(writeFile(buffers, size, hash)))
      return signalPassFailure();

    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    b.setInsertionPointToStart(module.getBody());
    Location loc = module.getLoc();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    std::string baseName = "__" + entryName + "_weights_base";
    auto base = LLVM::GlobalOp::create(b, loc, ptr, /*isConstant=*/false,
                                       LLVM::Linkage::Internal, baseName,
                                       Attribute());
    {
      OpBuilder::InsertionGuard guard(b);
      b.createBlock(&base.getInitializerRegion());
      LLVM::ReturnOp::create(b, loc,
                             ValueRange{LLVM::ZeroOp::create(b, loc, ptr)});
    }

    // Each get_global reads base + offset.
    llvm::StringMap<uint64_t> offsets;
    for (Buffer &buf : buffers)
      offsets[buf.global.getSymName()] = buf.offset;
    SmallVector<memref::GetGlobalOp> uses;
    module.walk([&](memref::GetGlobalOp op) {
      if (offsets.count(op.getName()))
        uses.push_back(op);
    });
    Type i64 = b.getI64Type();
    // GPU kernels read the weights: each buffer's address is a placeholder
    // global, an external declaration marked with its offset, which
    // qc-device-globals replaces by the runtime's device copy of base +
    // offset once the host code is LLVM (a load of the base here would be
    // a memory access for qc-map-to-gpu to put on the device, and a call a
    // host synchronization for gpu-async-region).
    llvm::StringMap<StringRef> placeholders;
    if (cuda) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointAfter(base);
      for (auto [index, buf] : llvm::enumerate(buffers)) {
        auto global = LLVM::GlobalOp::create(
            b, loc, LLVM::LLVMArrayType::get(b.getI8Type(), buf.data.size()),
            /*isConstant=*/false, LLVM::Linkage::External,
            "__" + entryName + "_weight_" + std::to_string(index),
            Attribute());
        global->setAttr(qc::kWeightsOffsetAttr, b.getI64IntegerAttr(buf.offset));
        placeholders[buf.global.getSymName()] = global.getSymName();
      }
    }
    for (memref::GetGlobalOp op : uses) {
      b.setInsertionPoint(op);
      Location l = op.getLoc();
      MemRefType type = op.getType();
      Value data;
      if (cuda) {
        data = LLVM::AddressOfOp::create(b, l, ptr,
                                         placeholders[op.getName()]);
      } else {
        Value addr = LLVM::AddressOfOp::create(b, l, ptr, baseName);
        // An i64 index: GEPArg constants are 32-bit, and offsets into a
        // multi-gigabyte file are not.
        Value offset = LLVM::ConstantOp::create(
            b, l, i64, int64_t(offsets[op.getName()]));
        Value basePtr = LLVM::LoadOp::create(b, l, ptr, addr);
        data = LLVM::GEPOp::create(b, l, ptr, b.getI8Type(), basePtr,
                                   ValueRange{offset});
      }
      Value memref = qc::memrefOverPointer(b, l, data, type,
                                           qc::staticSizes(b, l, type));
      op.getResult().replaceAllUsesWith(memref);
      op.erase();
    }
    for (Buffer &buf : buffers)
      buf.global.erase();

    buildLoader(module, baseName, size, hash);
    module->setAttr("qc.weights_base",
                    FlatSymbolRefAttr::get(ctx, baseName));
  }

  LogicalResult writeFile(ArrayRef<Buffer> buffers, uint64_t size,
                          uint64_t hash) {
    std::error_code ec;
    llvm::raw_fd_ostream os(file, ec);
    if (ec)
      return getOperation().emitError("cannot write the weights file '")
             << file << "': " << ec.message();
    char header[kHeaderBytes] = {};
    std::memcpy(header, kMagic, 8);
    for (int i = 0; i < 8; ++i) {
      header[8 + i] = char((size >> (8 * i)) & 0xff);
      header[16 + i] = char((hash >> (8 * i)) & 0xff);
    }
    os.write(header, kHeaderBytes);
    uint64_t at = kHeaderBytes;
    for (const Buffer &b : buffers) {
      os.write_zeros(b.offset - at);
      os.write(b.data.data(), b.data.size());
      at = b.offset + b.data.size();
    }
    os.close();
    if (os.has_error()) {
      os.clear_error();
      return getOperation().emitError("writing the weights file '")
             << file << "' failed";
    }
    return success();
  }

  /// int32_t <name>_load_weights(const char *path).
  void buildLoader(ModuleOp module, StringRef baseName, uint64_t size,
                   uint64_t hash) {
    MLIRContext *ctx = module.getContext();
    OpBuilder b(ctx);
    b.setInsertionPointToEnd(module.getBody());
    Location loc = module.getLoc();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    Type i32 = b.getI32Type(), i64 = b.getI64Type();
    auto declare = [&](StringRef name, Type result, ArrayRef<Type> args,
                       bool variadic = false) {
      return qc::declareFunction(module, name, result, args, variadic);
    };
    LLVM::LLVMFuncOp openFn = declare("open", i32, {ptr, i32}, true);
    LLVM::LLVMFuncOp lseekFn = declare("lseek", i64, {i32, i64, i32});
    LLVM::LLVMFuncOp mmapFn =
        declare("mmap", ptr, {ptr, i64, i32, i32, i32, i64});
    LLVM::LLVMFuncOp munmapFn = declare("munmap", i32, {ptr, i64});
    LLVM::LLVMFuncOp closeFn = declare("close", i32, {i32});

    auto fn = func::FuncOp::create(b, loc, entryName + "_load_weights",
                                   b.getFunctionType({ptr}, {i32}));
    // Host code (qc-map-to-gpu leaves it alone).
    fn->setAttr("qc.host", b.getUnitAttr());
    Region &body = fn.getBody();
    Block *entry = b.createBlock(&body, body.end(), {ptr}, {loc});
    qc::CheckChain chain(b, loc, body, entry);
    Block *fail = chain.exitReturning(kErrWeights);
    auto check = [&](Value bad, Block *exit) { chain.check(bad, exit); };
    auto c32 = [&](int32_t v) -> Value {
      return LLVM::ConstantOp::create(b, loc, i32, v);
    };
    auto c64 = [&](int64_t v) -> Value {
      return LLVM::ConstantOp::create(b, loc, i64, v);
    };
    Value path = entry->getArgument(0);
    Value nullPtr = LLVM::ZeroOp::create(b, loc, ptr);
    check(LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, path,
                               nullPtr),
          fail);
    Value fd = LLVM::CallOp::create(b, loc, openFn,
                                    ValueRange{path, c32(O_RDONLY)})
                   .getResult();
    check(LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::slt, fd, c32(0)),
          fail);
    Value end = LLVM::CallOp::create(b, loc, lseekFn,
                                     ValueRange{fd, c64(0), c32(SEEK_END)})
                    .getResult();
    // A file of another size: close it and fail.
    Block *closeAndFail = chain.exitThrough(
        [&] { LLVM::CallOp::create(b, loc, closeFn, ValueRange{fd}); }, fail);
    check(LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::ne, end,
                               c64(int64_t(size))),
          closeAndFail);
    Value mapped =
        LLVM::CallOp::create(
            b, loc, mmapFn,
            ValueRange{nullPtr, c64(int64_t(size)), c32(PROT_READ),
                       c32(MAP_PRIVATE), fd, c64(0)})
            .getResult();
    LLVM::CallOp::create(b, loc, closeFn, ValueRange{fd});
    Value failedMap = LLVM::IntToPtrOp::create(b, loc, ptr, c64(-1));
    check(LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, mapped,
                               failedMap),
          fail);
    // The header must be the one compiled in.
    Block *unmapAndFail = chain.exitThrough(
        [&] {
          LLVM::CallOp::create(b, loc, munmapFn,
                               ValueRange{mapped, c64(int64_t(size))});
        },
        fail);
    uint64_t magic = 0;
    for (int i = 7; i >= 0; --i)
      magic = magic << 8 | uint8_t(kMagic[i]);
    for (auto [index, expected] :
         {std::pair<int64_t, uint64_t>{0, magic}, {1, size}, {2, hash}}) {
      Value at = LLVM::GEPOp::create(b, loc, ptr, i64, mapped,
                                     ArrayRef<LLVM::GEPArg>{int32_t(index)});
      Value word = LLVM::LoadOp::create(b, loc, i64, at);
      check(LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::ne, word,
                                 c64(int64_t(expected))),
            unmapAndFail);
    }
    Block *ok = chain.exitReturning(0);
    auto keepMapping = [&] {
      LLVM::StoreOp::create(b, loc, mapped,
                            LLVM::AddressOfOp::create(b, loc, ptr, baseName));
    };
    // GPU kernels read device copies, uploaded from the mapping on first
    // use: a host copy would only take memory.
    if (cuda) {
      keepMapping();
      LLVM::BrOp::create(b, loc, ok);
      return;
    }
    // The weights are read from memory on every call: copy them into
    // anonymous memory on transparent huge pages (2 MiB), which streams
    // faster than the file's 4 KiB page-cache pages (the hardware
    // prefetchers stop at page boundaries, and every 4 KiB costs a TLB
    // entry). QUANT_WEIGHTS_MAP set in the environment, or no memory for
    // the copy, keeps the file mapping (shared between processes, paged on
    // demand).
    Block *mappingExit = chain.exitThrough(keepMapping, ok);
    LLVM::LLVMFuncOp getenvFn = declare("getenv", ptr, {ptr});
    LLVM::LLVMFuncOp madviseFn = declare("madvise", i32, {ptr, i64, i32});
    Value envName = LLVM::createGlobalString(
        loc, b, "__" + entryName + "_weights_env",
        StringRef("QUANT_WEIGHTS_MAP\0", 18), LLVM::Linkage::Internal);
    Value env = LLVM::CallOp::create(b, loc, getenvFn, ValueRange{envName})
                    .getResult();
    check(LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::ne, env, nullPtr),
          mappingExit);
    constexpr int64_t kHugePage = int64_t(2) << 20;
    int64_t copyBytes = int64_t(llvm::alignTo(size, kHugePage));
    Value anon =
        LLVM::CallOp::create(
            b, loc, mmapFn,
            ValueRange{nullPtr, c64(copyBytes + kHugePage),
                       c32(PROT_READ | PROT_WRITE),
                       c32(MAP_PRIVATE | MAP_ANONYMOUS), c32(-1), c64(0)})
            .getResult();
    check(LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, anon,
                               failedMap),
          mappingExit);
    // Rounded up to a huge-page boundary (the slack is never touched).
    Value anonInt = LLVM::PtrToIntOp::create(b, loc, i64, anon);
    Value roundUp = c64(kHugePage - 1);
    Value bumped = LLVM::AddOp::create(b, loc, anonInt, roundUp);
    Value alignedInt =
        LLVM::AndOp::create(b, loc, bumped, c64(~(kHugePage - 1)));
    Value copy = LLVM::IntToPtrOp::create(b, loc, ptr, alignedInt);
    // Advice only: where the kernel has no transparent huge pages the copy
    // still works, on small pages.
    LLVM::CallOp::create(b, loc, madviseFn,
                         ValueRange{copy, c64(copyBytes), c32(kMadvHugePage)});
    LLVM::MemcpyOp::create(b, loc, copy, mapped, c64(int64_t(size)),
                           /*isVolatile=*/false);
    LLVM::CallOp::create(b, loc, munmapFn,
                         ValueRange{mapped, c64(int64_t(size))});
    LLVM::StoreOp::create(b, loc, copy,
                          LLVM::AddressOfOp::create(b, loc, ptr, baseName));
    LLVM::BrOp::create(b, loc, ok);
  }
};

} // namespace
