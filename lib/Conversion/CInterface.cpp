//===- CInterface.cpp - the C entry point <name>_run ----------------------===//
//
// See the pass description in include/qc/Conversion/Passes.td and the ABI in
// docs/abi.md. The entry point is a func.func with LLVM-compatible types
// (!llvm.ptr arguments, i32 result), so that the standard func-to-llvm
// lowering gives it the plain C calling convention. Memref descriptors for
// @main are built as LLVM structs and cast with unrealized_conversion_cast,
// which reconcile-unrealized-casts removes after the memref lowering.
//
//===----------------------------------------------------------------------===//

#include "EntryPointBuilder.h"
#include "qc/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCEMITCINTERFACE
#include "qc/Conversion/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

namespace {

constexpr int32_t kErrNull = 1;
constexpr int32_t kErrShape = 2;
constexpr int32_t kErrWeights = 3;
constexpr int32_t kErrCuda = 4;

struct QCEmitCInterfacePass
    : public qc::impl::QCEmitCInterfaceBase<QCEmitCInterfacePass> {
  using QCEmitCInterfaceBase::QCEmitCInterfaceBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto main = module.lookupSymbol<func::FuncOp>("main");
    if (!main) {
      module.emitError("qc-emit-c-interface: no func.func @main");
      return signalPassFailure();
    }
    if (!isValidName(entryName)) {
      module.emitError("qc-emit-c-interface: the name '")
          << entryName << "' is not a C identifier";
      return signalPassFailure();
    }
    FunctionType fnType = main.getFunctionType();
    if (fnType.getNumResults() != 0) {
      main.emitError("expects @main without results (run "
                     "buffer-results-to-out-params first)");
      return signalPassFailure();
    }
    SmallVector<MemRefType> inputs, outputs;
    for (unsigned i = 0; i < fnType.getNumInputs(); ++i) {
      auto type = dyn_cast<MemRefType>(fnType.getInput(i));
      if (!type || !type.getLayout().isIdentity()) {
        main.emitError("expects identity-layout memref arguments, got ")
            << fnType.getInput(i);
        return signalPassFailure();
      }
      bool isOutput = static_cast<bool>(main.getArgAttr(i, "bufferize.result"));
      if (isOutput && !type.hasStaticShape()) {
        main.emitError("unsupported dynamic output shape ")
            << type << ": outputs are allocated by the caller; fix the "
                       "input shapes (--input-shape) so that outputs are "
                       "static";
        return signalPassFailure();
      }
      if (!isOutput && !outputs.empty()) {
        main.emitError("expects inputs before outputs");
        return signalPassFailure();
      }
      (isOutput ? outputs : inputs).push_back(type);
    }
    if (failed(buildEntry(module, main, inputs, outputs)))
      return signalPassFailure();
    // Only the entry point is exported: @main gets internal linkage (and a
    // name that cannot clash with a C program's main).
    SymbolTable symbols(module);
    if (failed(symbols.rename(main, "__" + entryName + "_main")))
      return signalPassFailure();
    main->setAttr("llvm.linkage", LLVM::LinkageAttr::get(
                                      &getContext(), LLVM::Linkage::Internal));
  }

  LogicalResult buildEntry(ModuleOp module, func::FuncOp main,
                           ArrayRef<MemRefType> inputs,
                           ArrayRef<MemRefType> outputs) {
    MLIRContext *ctx = module.getContext();
    OpBuilder b(ctx);
    b.setInsertionPointToEnd(module.getBody());
    Location loc = main.getLoc();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    Type i32 = b.getI32Type(), i64 = b.getI64Type();
    auto fnType = b.getFunctionType({ptr, ptr, ptr}, {i32});
    std::string name = entryName + "_run";
    if (module.lookupSymbol(name))
      return module.emitError("a symbol named '") << name << "' already exists";
    auto entry = func::FuncOp::create(b, loc, name, fnType);
    // Error exits: one block per code, returning it.
    Region &body = entry.getBody();
    Block *start = b.createBlock(&body, body.end(), {ptr, ptr, ptr},
                                 {loc, loc, loc});
    CheckChain chain(b, loc, body, start);
    Block *nullExit = chain.exitReturning(kErrNull);
    Block *shapeExit = chain.exitReturning(kErrShape);
    auto check = [&](Value fail, Block *exit) { chain.check(fail, exit); };

    Value insArg = start->getArgument(0), shapesArg = start->getArgument(1),
          outsArg = start->getArgument(2);
    Value nullPtr = LLVM::ZeroOp::create(b, loc, ptr);
    auto isNull = [&](Value p) -> Value {
      return LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, p, nullPtr);
    };
    auto loadPtr = [&](Value base, int64_t index) -> Value {
      Value addr = LLVM::GEPOp::create(b, loc, ptr, ptr, base,
                                       ArrayRef<LLVM::GEPArg>{int32_t(index)});
      return LLVM::LoadOp::create(b, loc, ptr, addr);
    };
    // With an external weights file, nothing runs before it is loaded.
    if (auto base = module->getAttrOfType<FlatSymbolRefAttr>("qc.weights_base")) {
      Block *weightsExit = chain.exitReturning(kErrWeights);
      Value addr = LLVM::AddressOfOp::create(b, loc, ptr, base.getValue());
      Value loaded = LLVM::LoadOp::create(b, loc, ptr, addr);
      check(isNull(loaded), weightsExit);
    }
    if (!inputs.empty())
      check(isNull(insArg), nullExit);
    if (!outputs.empty())
      check(isNull(outsArg), nullExit);
    bool anyDynamic = llvm::any_of(
        inputs, [](MemRefType t) { return !t.hasStaticShape(); });
    if (anyDynamic)
      check(isNull(shapesArg), nullExit);

    // A GPU model: the runtime makes this thread's stream ready; host
    // buffers are staged through device memory.
    Block *cudaExit = cuda ? chain.exitReturning(kErrCuda) : nullptr;
    auto runtime = [&](StringRef callee, Type result,
                       ValueRange args) -> Value {
      auto fn = module.lookupSymbol<func::FuncOp>(callee);
      if (!fn) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(module.getBody());
        fn = func::FuncOp::create(
            b, loc, callee,
            b.getFunctionType(args.getTypes(), result ? TypeRange{result}
                                                      : TypeRange{}));
        fn.setPrivate();
      }
      auto call = func::CallOp::create(b, loc, fn, args);
      return result ? call.getResult(0) : Value();
    };
    auto stage = [&](Value data, MemRefType type, ArrayRef<Value> sizes,
                     bool output) -> Value {
      if (!cuda)
        return data;
      int64_t elementBytes =
          (type.getElementType().getIntOrFloatBitWidth() + 7) / 8;
      Value bytes = LLVM::ConstantOp::create(b, loc, i64, elementBytes);
      for (Value size : sizes)
        bytes = LLVM::MulOp::create(b, loc, bytes, size);
      return runtime(output ? "quant_cuda_output" : "quant_cuda_input", ptr,
                     {data, bytes});
    };
    if (cuda) {
      // With static shapes every call issues the same work for the same
      // buffers: the runtime may replay it as a CUDA graph.
      Value rc = runtime(anyDynamic ? "quant_cuda_begin"
                                    : "quant_cuda_begin_static",
                         i32, {});
      check(LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::ne, rc,
                                 LLVM::ConstantOp::create(b, loc, i32, 0)),
            cudaExit);
    }

    SmallVector<Value> callArgs;

    // Dynamic dimensions that share an ONNX dim_param must agree.
    llvm::StringMap<Value> namedSizes;
    for (auto [i, type] : llvm::enumerate(inputs)) {
      auto dimNames =
          main.getArgAttrOfType<ArrayAttr>(i, "onnx.dim_params");
      Value data = loadPtr(insArg, i);
      check(isNull(data), nullExit);
      SmallVector<Value> sizes;
      Value shape;
      if (!type.hasStaticShape()) {
        shape = loadPtr(shapesArg, i);
        check(isNull(shape), nullExit);
      }
      for (int64_t d = 0; d < type.getRank(); ++d) {
        if (!type.isDynamicDim(d)) {
          sizes.push_back(
              LLVM::ConstantOp::create(b, loc, i64, type.getDimSize(d)));
          if (shape) {
            Value addr = LLVM::GEPOp::create(b, loc, ptr, i64, shape,
                                             ArrayRef<LLVM::GEPArg>{int32_t(d)});
            Value given = LLVM::LoadOp::create(b, loc, i64, addr);
            check(LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::ne, given,
                                       sizes.back()),
                  shapeExit);
          }
          continue;
        }
        Value addr = LLVM::GEPOp::create(b, loc, ptr, i64, shape,
                                         ArrayRef<LLVM::GEPArg>{int32_t(d)});
        Value given = LLVM::LoadOp::create(b, loc, i64, addr);
        // Sizes must be in [0, 2^40] (the importer's bound on a dimension).
        Value tooLarge = LLVM::ICmpOp::create(
            b, loc, LLVM::ICmpPredicate::ugt, given,
            LLVM::ConstantOp::create(b, loc, i64, int64_t(1) << 40));
        check(tooLarge, shapeExit);
        sizes.push_back(given);
        if (!dimNames || int64_t(dimNames.size()) != type.getRank())
          continue;
        auto name = dyn_cast<StringAttr>(dimNames[d]);
        if (!name || name.getValue().empty())
          continue;
        auto [it, inserted] = namedSizes.try_emplace(name.getValue(), given);
        if (!inserted)
          check(LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::ne, given,
                                     it->second),
                shapeExit);
      }
      data = stage(data, type, sizes, /*output=*/false);
      callArgs.push_back(memrefOverPointer(b, loc, data, type, sizes));
    }
    for (auto [j, type] : llvm::enumerate(outputs)) {
      Value data = loadPtr(outsArg, j);
      check(isNull(data), nullExit);
      SmallVector<Value> sizes = staticSizes(b, loc, type);
      data = stage(data, type, sizes, /*output=*/true);
      callArgs.push_back(memrefOverPointer(b, loc, data, type, sizes));
    }
    func::CallOp::create(b, loc, main, callArgs);
    Value rc = cuda ? runtime("quant_cuda_end", i32, {})
                    : arith::ConstantIntOp::create(b, loc, i32, 0).getResult();
    func::ReturnOp::create(b, loc, ValueRange{rc});
    entry->setAttr("qc.host", b.getUnitAttr());
    return success();
  }
};

} // namespace
