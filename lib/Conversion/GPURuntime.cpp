//===- GPURuntime.cpp - qc-device-globals, qc-gpu-fat-binary --------------===//
//
// The two passes that connect the upstream GPU lowering to quant's CUDA
// runtime (runtime/cuda/quant_cuda.c). See their descriptions in
// include/qc/Conversion/Passes.td.
//
// Invariants: qc-device-globals replaces a host address by the address of a
// byte-identical device copy; qc-gpu-fat-binary keeps every image's bytes
// unchanged (PTX gets its terminating NUL).
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Interfaces/DataLayoutInterfaces.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCMERGEKERNELMODULES
#define GEN_PASS_DEF_QCDEVICEGLOBALS
#define GEN_PASS_DEF_QCGPUFATBINARY
#define GEN_PASS_DEF_QCGPUDEPENDENTLAUNCH
#include "qc/Conversion/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;

namespace {

struct QCMergeKernelModulesPass
    : public qc::impl::QCMergeKernelModulesBase<QCMergeKernelModulesPass> {
  using QCMergeKernelModulesBase::QCMergeKernelModulesBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> kernels(module.getOps<gpu::GPUModuleOp>());
    if (kernels.empty())
      return;
    for (gpu::GPUModuleOp kernel : kernels)
      if (kernel.getTargetsAttr() && !kernel.getTargetsAttr().empty()) {
        kernel.emitError("qc-merge-kernel-modules: run before targets are "
                         "attached");
        return signalPassFailure();
      }
    OpBuilder b(kernels.front());
    auto merged = gpu::GPUModuleOp::create(b, kernels.front().getLoc(),
                                           "__qc_merge_tmp");
    Block &body = merged.getBodyRegion().front();
    // Outlining names each module uniquely but may reuse function names:
    // a module's only function takes the module's name, others
    // <module>_<function>.
    llvm::StringSet<> names;
    llvm::DenseMap<SymbolRefAttr, StringAttr> renamed;
    for (gpu::GPUModuleOp kernel : kernels) {
      Block &from = kernel.getBodyRegion().front();
      auto functions = llvm::to_vector(from.getOps<SymbolOpInterface>());
      for (SymbolOpInterface symbol : functions) {
        std::string name = functions.size() == 1
                               ? kernel.getName().str()
                               : (kernel.getName() + "_" + symbol.getName()).str();
        if (!names.insert(name).second) {
          symbol.emitError("qc-merge-kernel-modules: two kernels named ")
              << name;
          return signalPassFailure();
        }
        renamed[SymbolRefAttr::get(
            kernel.getNameAttr(),
            {FlatSymbolRefAttr::get(symbol.getNameAttr())})] =
            b.getStringAttr(name);
        symbol.setName(b.getStringAttr(name));
      }
      for (Operation &op : llvm::make_early_inc_range(from))
        if (!op.hasTrait<OpTrait::IsTerminator>())
          op.moveBefore(&body, body.end());
    }
    module.walk([&](gpu::LaunchFuncOp launch) {
      auto it = renamed.find(launch.getKernel());
      if (it == renamed.end())
        return;
      launch.setKernelAttr(SymbolRefAttr::get(
          b.getStringAttr(moduleName), {FlatSymbolRefAttr::get(it->second)}));
    });
    for (gpu::GPUModuleOp kernel : kernels)
      kernel.erase();
    // Shared memory 16-byte aligned (LLVM's default for an i8 array is 1):
    // cp.async of 16 bytes, ldmatrix rows and vector accesses need it.
    merged.walk([&](gpu::GPUFuncOp func) {
      for (unsigned i = 0; i < func.getNumWorkgroupAttributions(); ++i)
        if (!func.getWorkgroupAttributionAttr(i, "llvm.align"))
          func.setWorkgroupAttributionAttr(i, "llvm.align",
                                           b.getI64IntegerAttr(16));
    });
    if (module.lookupSymbol(moduleName)) {
      module.emitError("qc-merge-kernel-modules: a symbol named '")
          << moduleName << "' already exists";
      return signalPassFailure();
    }
    merged.setName(moduleName);
  }
};

struct QCDeviceGlobalsPass
    : public qc::impl::QCDeviceGlobalsBase<QCDeviceGlobalsPass> {
  using QCDeviceGlobalsBase::QCDeviceGlobalsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto host = module.lookupSymbol<LLVM::LLVMFuncOp>(function);
    if (!host) {
      module.emitError("qc-device-globals: no llvm.func @") << function;
      return signalPassFailure();
    }
    MLIRContext *ctx = &getContext();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    Type i64 = IntegerType::get(ctx, 64);
    // Constants, and the placeholders of weights in a file.
    SmallVector<std::pair<LLVM::AddressOfOp, LLVM::GlobalOp>> addresses;
    host.walk([&](LLVM::AddressOfOp op) {
      auto global = dyn_cast_or_null<LLVM::GlobalOp>(
          SymbolTable::lookupNearestSymbolFrom(op, op.getGlobalNameAttr()));
      if (global && (global.getConstant() ||
                     global->hasAttr(qc::kWeightsOffsetAttr)))
        addresses.push_back({op, global});
    });
    if (addresses.empty())
      return;
    auto base = module->getAttrOfType<FlatSymbolRefAttr>("qc.weights_base");
    auto upload = module.lookupSymbol<LLVM::LLVMFuncOp>("quant_cuda_global");
    if (!upload) {
      OpBuilder b(module.getBodyRegion());
      upload = LLVM::LLVMFuncOp::create(
          b, module.getLoc(), "quant_cuda_global",
          LLVM::LLVMFunctionType::get(ptr, {ptr, i64}));
    }
    DataLayout layout(module);
    llvm::SetVector<LLVM::GlobalOp> placeholders;
    for (auto [op, global] : addresses) {
      OpBuilder b(op);
      b.setInsertionPointAfter(op);
      Location loc = op.getLoc();
      // The host bytes: the global itself, or for a placeholder its offset
      // in the loaded weights file (*base + offset; the entry point runs
      // nothing before the file is loaded).
      Value host = op.getResult();
      if (auto offset =
              global->getAttrOfType<IntegerAttr>(qc::kWeightsOffsetAttr)) {
        if (!base) {
          module.emitError("qc-device-globals: weights marked ")
              << qc::kWeightsOffsetAttr << " but no qc.weights_base";
          return signalPassFailure();
        }
        placeholders.insert(global);
        Value loaded = LLVM::LoadOp::create(
            b, loc, ptr, LLVM::AddressOfOp::create(b, loc, ptr, base));
        host = LLVM::GEPOp::create(
            b, loc, ptr, b.getI8Type(), loaded,
            ValueRange{LLVM::ConstantOp::create(b, loc, i64, offset)});
      }
      Value bytes = LLVM::ConstantOp::create(
          b, loc, i64,
          int64_t(layout.getTypeSize(global.getGlobalType()).getFixedValue()));
      auto call =
          LLVM::CallOp::create(b, loc, upload, ValueRange{host, bytes});
      op.getResult().replaceAllUsesExcept(call.getResult(), call);
      // A placeholder's address only named the bytes.
      if (op.use_empty())
        op.erase();
    }
    for (LLVM::GlobalOp global : placeholders)
      if (SymbolTable::symbolKnownUseEmpty(global, module))
        global.erase();
  }
};

/// "sm_90a" -> 1090, "sm_80" -> 80; -1 when not of that form.
int64_t archCode(StringRef chip) {
  if (!chip.consume_front("sm_"))
    return -1;
  bool specific = chip.consume_back("a");
  unsigned arch = 0;
  if (chip.getAsInteger(10, arch))
    return -1;
  return arch + (specific ? 1000 : 0);
}

/// The first libdevice function (__nv_*) that `ptx` declares but does not
/// define, if any: a module that cannot load.
std::optional<std::string> unresolvedLibdevice(StringRef ptx) {
  size_t at = ptx.find(".extern .func");
  while (at != StringRef::npos) {
    size_t end = ptx.find('\n', at);
    StringRef line = ptx.slice(at, end);
    size_t name = line.find("__nv_");
    if (name != StringRef::npos)
      return line.drop_front(name).take_while([](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
      }).str();
    at = ptx.find(".extern .func", end);
  }
  return std::nullopt;
}

void appendU32(std::string &out, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(char((v >> (8 * i)) & 0xff));
}
void appendU64(std::string &out, uint64_t v) {
  appendU32(out, uint32_t(v));
  appendU32(out, uint32_t(v >> 32));
}

/// Runs `ptxas -arch=<chip> -O3` on `ptx`; the cubin, or failure with
/// `error` holding ptxas's messages.
FailureOr<std::string> compilePTX(StringRef ptxas, StringRef chip,
                                  StringRef ptx, std::string &error) {
  SmallString<128> input, output, messages;
  if (llvm::sys::fs::createTemporaryFile("qc-kernels", "ptx", input) ||
      llvm::sys::fs::createTemporaryFile("qc-kernels", "cubin", output) ||
      llvm::sys::fs::createTemporaryFile("qc-ptxas", "log", messages)) {
    error = "cannot create temporary files for ptxas";
    return failure();
  }
  auto cleanup = llvm::make_scope_exit([&] {
    llvm::sys::fs::remove(input);
    llvm::sys::fs::remove(output);
    llvm::sys::fs::remove(messages);
  });
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(input, ec);
    if (ec) {
      error = "cannot write " + input.str().str();
      return failure();
    }
    os << ptx;
  }
  std::string arch = ("-arch=" + chip).str();
  SmallVector<StringRef> args = {ptxas, arch, "-O3", input, "-o", output};
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(messages),
                                          StringRef(messages)};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(ptxas, args, std::nullopt, redirects, 0,
                                     0, &message);
  if (rc != 0) {
    auto log = llvm::MemoryBuffer::getFile(messages);
    error = (ptxas + " failed for " + chip + ": ").str() +
            (log && !(*log)->getBuffer().empty()
                 ? (*log)->getBuffer().trim().str()
                 : message);
    return failure();
  }
  auto cubin = llvm::MemoryBuffer::getFile(output);
  if (!cubin) {
    error = "ptxas wrote no cubin for " + chip.str();
    return failure();
  }
  return (*cubin)->getBuffer().str();
}

/// `ptx` with `griddepcontrol.launch_dependents` as the first instruction
/// of every kernel (.entry) that has no wait yet, and `griddepcontrol.wait`
/// after it or, in a kernel that marks its wait (kDependentWaitMarker, after
/// its weight prefetches), at each mark.
std::string waitAtKernelEntries(StringRef ptx) {
  std::string out;
  size_t at = 0;
  while (true) {
    size_t entry = ptx.find(".entry ", at);
    if (entry == StringRef::npos)
      break;
    size_t open = ptx.find("{\n", entry);
    if (open == StringRef::npos)
      break;
    size_t close = ptx.find("\n}", open);
    StringRef body = ptx.slice(open + 2, close);
    out += ptx.slice(at, open + 2).str();
    at = open + 2;
    if (body.contains("griddepcontrol.wait"))
      continue;
    out += "\tgriddepcontrol.launch_dependents;\n";
    if (!body.contains(qc::kDependentWaitMarker)) {
      out += "\tgriddepcontrol.wait;\n";
      continue;
    }
    // The body up to its end, each mark replaced by the wait.
    SmallVector<StringRef> pieces;
    body.split(pieces, qc::kDependentWaitMarker);
    out += llvm::join(pieces, "griddepcontrol.wait;");
    at = close;
  }
  out += ptx.drop_front(at).str();
  return out;
}

struct QCGPUDependentLaunchPass
    : public qc::impl::QCGPUDependentLaunchBase<QCGPUDependentLaunchPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    getOperation().walk([&](gpu::BinaryOp binary) {
      SmallVector<Attribute> objects;
      for (Attribute attr : binary.getObjects()) {
        auto object = cast<gpu::ObjectAttr>(attr);
        auto target = dyn_cast<NVVM::NVVMTargetAttr>(object.getTarget());
        int64_t arch = target ? archCode(target.getChip()) : -1;
        if (arch < 0 || arch % 1000 < 90 ||
            object.getFormat() != gpu::CompilationTarget::Assembly) {
          objects.push_back(attr);
          continue;
        }
        NamedAttrList properties;
        if (DictionaryAttr old = object.getProperties())
          properties.append(old.getValue());
        properties.set("qc.dependent_launch", UnitAttr::get(ctx));
        objects.push_back(gpu::ObjectAttr::get(
            ctx, object.getTarget(), object.getFormat(),
            StringAttr::get(ctx, waitAtKernelEntries(
                                     object.getObject().getValue())),
            properties.getDictionary(ctx), object.getKernels()));
      }
      binary.setObjectsAttr(ArrayAttr::get(ctx, objects));
    });
  }
};

struct QCGPUFatBinaryPass
    : public qc::impl::QCGPUFatBinaryBase<QCGPUFatBinaryPass> {
  using QCGPUFatBinaryBase::QCGPUFatBinaryBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    WalkResult result = module.walk([&](gpu::BinaryOp binary) {
      struct Image {
        uint32_t kind, arch;
        std::string bytes;
      };
      SmallVector<Image> images;
      Attribute firstTarget;
      for (Attribute attr : binary.getObjects()) {
        auto object = cast<gpu::ObjectAttr>(attr);
        auto target = dyn_cast<NVVM::NVVMTargetAttr>(object.getTarget());
        int64_t arch = target ? archCode(target.getChip()) : -1;
        if (arch < 0) {
          binary.emitError("qc-gpu-fat-binary: expects #nvvm.target objects "
                           "with an sm_XY chip");
          return WalkResult::interrupt();
        }
        Image image;
        image.arch = uint32_t(arch);
        image.bytes = object.getObject().getValue().str();
        switch (object.getFormat()) {
        case gpu::CompilationTarget::Binary:
          image.kind = 0;
          break;
        case gpu::CompilationTarget::Assembly:
          if (auto missing = unresolvedLibdevice(image.bytes)) {
            binary.emitError("qc-gpu-fat-binary: the kernels call CUDA's ")
                << *missing
                << ", but libdevice was not linked: install the CUDA "
                   "toolkit (nvvm/libdevice/libdevice.10.bc) or set "
                   "CUDA_HOME";
            return WalkResult::interrupt();
          }
          image.kind = 1;
          image.bytes.push_back('\0');
          break;
        default:
          binary.emitError("qc-gpu-fat-binary: objects must be cubin (format "
                           "bin) or PTX (format isa)");
          return WalkResult::interrupt();
        }
        if (!firstTarget)
          firstTarget = target;
        // Kind 2, no bytes: this architecture's kernels wait for the
        // kernel before them (qc-gpu-dependent-launch).
        if (DictionaryAttr properties = object.getProperties())
          if (properties.contains("qc.dependent_launch"))
            images.push_back({2, image.arch, std::string()});
        if (image.kind == 1 && !ptxas.empty()) {
          std::string error;
          FailureOr<std::string> cubin =
              compilePTX(ptxas, target.getChip(),
                         object.getObject().getValue(), error);
          if (failed(cubin)) {
            binary.emitError("qc-gpu-fat-binary: ") << error;
            return WalkResult::interrupt();
          }
          images.push_back({0, image.arch, std::move(*cubin)});
        }
        images.push_back(std::move(image));
      }
      if (images.empty())
        return WalkResult::advance();
      std::string blob = "QCFATBIN";
      appendU32(blob, uint32_t(images.size()));
      uint64_t offset = 12 + 24 * images.size();
      // Images start 16-byte aligned.
      SmallVector<uint64_t> offsets;
      for (const Image &image : images) {
        offset = (offset + 15) & ~uint64_t(15);
        offsets.push_back(offset);
        offset += image.bytes.size();
      }
      for (auto [image, at] : llvm::zip(images, offsets)) {
        appendU32(blob, image.kind);
        appendU32(blob, image.arch);
        appendU64(blob, at);
        appendU64(blob, image.bytes.size());
      }
      for (auto [image, at] : llvm::zip(images, offsets)) {
        blob.resize(at, '\0');
        blob += image.bytes;
      }
      MLIRContext *ctx = binary.getContext();
      auto merged = gpu::ObjectAttr::get(ctx, firstTarget,
                                         gpu::CompilationTarget::Binary,
                                         StringAttr::get(ctx, blob), nullptr,
                                         nullptr);
      binary.setObjectsAttr(ArrayAttr::get(ctx, {merged}));
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
