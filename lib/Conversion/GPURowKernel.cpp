//===- GPURowKernel.cpp - a run of row-wise ops in one GPU kernel ---------===//
//
// A block of T threads (n rounded up to warps, at most 256) per row. Each op
// of the run, in order:
//   - element-wise: thread t computes elements t, t + T, ... of the row
//     (every iteration's loads first, then the arithmetic and the stores);
//   - reduction: thread t accumulates the same elements, a shuffle tree
//     combines a warp's, warp w's partial goes to shared slot w, a barrier,
//     and every thread combines the slots in order (all threads hold the
//     same result, which later ops of the run read instead of memory);
//     thread 0 stores it.
// An element-wise result read back by a later op is read by the thread
// that wrote it (same element, same thread): no barrier is needed for it.
//
//===----------------------------------------------------------------------===//

#include "GPURowKernel.h"
#include "GPUKernelBuilder.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;

namespace {

constexpr int64_t kWarp = 32;
constexpr int64_t kMaxThreads = 256;
/// Iterations of a thread unrolled together (their loads in flight at once).
constexpr int64_t kChunk = 8;

/// How an op reaches the elements of a buffer, in terms of its block's row
/// and a thread's element of the row.
enum class Form { Element, Row, Other };

/// The buffer under views that keep element addresses (expand/collapse of
/// identity layouts, identity reinterpret_casts); `plain` is false when
/// another view (a subview) is on the way.
struct Root {
  Value base;
  bool plain = true;
};

Root rootOf(Value v) {
  Root root{v, true};
  while (Operation *def = root.base.getDefiningOp()) {
    if (auto e = dyn_cast<memref::ExpandShapeOp>(def)) {
      root.base = e.getSrc();
      continue;
    }
    if (auto c = dyn_cast<memref::CollapseShapeOp>(def)) {
      root.base = c.getSrc();
      continue;
    }
    if (auto reinterpret = dyn_cast<memref::ReinterpretCastOp>(def)) {
      auto from = cast<MemRefType>(reinterpret.getSource().getType());
      bool keeps = from.getLayout().isIdentity() &&
                   reinterpret.getType().getLayout().isIdentity() &&
                   reinterpret.getStaticOffsets() == ArrayRef<int64_t>{0};
      root.plain &= keeps;
      root.base = reinterpret.getSource();
      continue;
    }
    if (auto view = dyn_cast<ViewLikeOpInterface>(def)) {
      root.plain = false;
      root.base = view.getViewSource();
      continue;
    }
    break;
  }
  return root;
}

/// Coefficients of `e` over `dims` dimensions and the constant (last), when
/// `e` is a sum of dimensions times constants and a constant.
std::optional<SmallVector<int64_t>> linearCoefficients(AffineExpr e,
                                                       unsigned dims) {
  SmallVector<int64_t> coefficients(dims + 1, 0);
  std::function<bool(AffineExpr, int64_t)> add = [&](AffineExpr x,
                                                     int64_t scale) {
    if (auto d = dyn_cast<AffineDimExpr>(x)) {
      coefficients[d.getPosition()] += scale;
      return true;
    }
    if (auto c = dyn_cast<AffineConstantExpr>(x)) {
      coefficients[dims] += scale * c.getValue();
      return true;
    }
    auto binary = dyn_cast<AffineBinaryOpExpr>(x);
    if (!binary)
      return false;
    if (x.getKind() == AffineExprKind::Add)
      return add(binary.getLHS(), scale) && add(binary.getRHS(), scale);
    if (x.getKind() != AffineExprKind::Mul)
      return false;
    if (auto c = dyn_cast<AffineConstantExpr>(binary.getRHS()))
      return add(binary.getLHS(), scale * c.getValue());
    if (auto c = dyn_cast<AffineConstantExpr>(binary.getLHS()))
      return add(binary.getRHS(), scale * c.getValue());
    return false;
  };
  if (!add(e, 1))
    return std::nullopt;
  return coefficients;
}

/// Element: the operand's element address is row·n + j (row the flattened
/// parallel loops but the innermost, j the innermost loop); Row: it is the
/// row.
Form formOf(linalg::GenericOp op, OpOperand &operand) {
  auto type = dyn_cast<MemRefType>(operand.get().getType());
  if (!type || !type.hasStaticShape() || !type.getLayout().isIdentity())
    return Form::Other;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  unsigned dims = ranges.size(), inner = dims - 1;
  AffineMap map = op.getMatchingIndexingMap(&operand);
  SmallVector<int64_t> address(dims + 1, 0);
  int64_t stride = 1;
  for (int64_t i = int64_t(map.getNumResults()) - 1; i >= 0; --i) {
    std::optional<SmallVector<int64_t>> c =
        linearCoefficients(map.getResult(i), dims);
    if (!c)
      return Form::Other;
    for (unsigned k = 0; k <= dims; ++k)
      address[k] += stride * (*c)[k];
    stride *= type.getDimSize(i);
  }
  for (unsigned d = 0; d < dims; ++d)
    if (ranges[d] == 1)
      address[d] = 0; // the loop's only index is 0
  if (address[dims] != 0)
    return Form::Other;
  SmallVector<int64_t> row(inner, 0);
  int64_t size = 1;
  for (int64_t d = int64_t(inner) - 1; d >= 0; --d) {
    row[d] = ranges[d] == 1 ? 0 : size;
    size *= ranges[d];
  }
  bool element = address[inner] == 1, rowOnly = address[inner] == 0;
  for (unsigned d = 0; d < inner; ++d) {
    element &= address[d] == row[d] * ranges[inner];
    rowOnly &= address[d] == row[d];
  }
  return element ? Form::Element : rowOnly ? Form::Row : Form::Other;
}

/// The buffers the ops write, each with the one form all its accesses by
/// the ops take; fails when an access could need another thread's value.
FailureOr<DenseMap<Value, Form>>
checkAccesses(ArrayRef<linalg::GenericOp> ops) {
  DenseMap<Value, Form> written;
  for (linalg::GenericOp op : ops) {
    OpOperand *out = op.getDpsInitOperand(0);
    Root root = rootOf(out->get());
    Form form = formOf(op, *out);
    Form wanted = qc::rowShape(op)->reduction ? Form::Row : Form::Element;
    if (!root.plain || form != wanted)
      return failure();
    auto [it, inserted] = written.try_emplace(root.base, form);
    if (!inserted && it->second != form)
      return failure();
  }
  for (linalg::GenericOp op : ops) {
    for (OpOperand &operand : op->getOpOperands()) {
      if (!isa<MemRefType>(operand.get().getType()))
        continue;
      Root root = rootOf(operand.get());
      auto it = written.find(root.base);
      if (it != written.end() &&
          (!root.plain || formOf(op, operand) != it->second))
        return failure();
    }
    // Buffers a body reads at indices of its own (a gather, a
    // concatenation's branches): any element, so none the run writes.
    WalkResult captured = op.getRegion().walk([&](Operation *inner) {
      for (Value v : inner->getOperands())
        if (isa<MemRefType>(v.getType()) &&
            !op.getRegion().isAncestor(v.getParentRegion()) &&
            written.count(rootOf(v).base))
          return WalkResult::interrupt();
      return WalkResult::advance();
    });
    if (captured.wasInterrupted())
      return failure();
  }
  return written;
}

} // namespace

Value qc::bufferRoot(Value v) { return rootOf(v).base; }

std::optional<qc::RowShape> qc::rowShape(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumResults() != 0)
    return std::nullopt;
  for (NamedAttribute attr : op->getDiscardableAttrs())
    if (attr.getName().getValue().starts_with("qc."))
      return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (ranges.empty() || llvm::any_of(ranges, ShapedType::isDynamic))
    return std::nullopt;
  // A body that writes memory itself is no element-wise op or reduction.
  WalkResult writes = op.getRegion().walk([](Operation *inner) {
    auto effects = dyn_cast<MemoryEffectOpInterface>(inner);
    if ((effects && effects.hasEffect<MemoryEffects::Write>()) ||
        (!effects && !inner->hasTrait<OpTrait::HasRecursiveMemoryEffects>() &&
         !isa<linalg::YieldOp>(inner)))
      return WalkResult::interrupt();
    return WalkResult::advance();
  });
  if (writes.wasInterrupted())
    return std::nullopt;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (size_t i = 0; i + 1 < iterators.size(); ++i)
    if (iterators[i] != utils::IteratorType::parallel)
      return std::nullopt;
  RowShape shape;
  shape.reduction = iterators.back() == utils::IteratorType::reduction;
  if (shape.reduction) {
    if (!reductionCombiner(op))
      return std::nullopt;
    Type acc = op.getRegion().front().getArguments().back().getType();
    if (!acc.isF32() && !acc.isInteger(32))
      return std::nullopt; // gpu.shuffle moves 32-bit values
  } else if (op.getRegion().front().getTerminator()->getNumOperands() != 1) {
    return std::nullopt;
  }
  shape.rows = 1;
  for (size_t i = 0; i + 1 < ranges.size(); ++i)
    shape.rows *= ranges[i];
  shape.length = ranges.back();
  return shape;
}

LogicalResult qc::buildRowKernel(RewriterBase &rewriter,
                                 ArrayRef<linalg::GenericOp> ops,
                                 ArrayRef<Value> inits) {
  if (ops.size() < 2 || inits.size() != ops.size())
    return failure();
  std::optional<RowShape> first = rowShape(ops.front());
  if (!first || first->length < kRowKernelMinLength ||
      first->length > kRowKernelMaxLength)
    return failure();
  bool anyReduction = false;
  for (linalg::GenericOp op : ops) {
    std::optional<RowShape> shape = rowShape(op);
    if (!shape || shape->rows != first->rows ||
        shape->length != first->length)
      return failure();
    anyReduction |= shape->reduction;
  }
  if (!anyReduction)
    return failure();
  FailureOr<DenseMap<Value, Form>> written = checkAccesses(ops);
  if (failed(written))
    return failure();
  // Each reduction reads a row an earlier op of the run wrote, or a later
  // op reads its result: a run of matmuls that only share a shape (GEMVs,
  // whose outputs are rows of length K here too) stays with the GEMV
  // mapping.
  for (auto [i, member] : llvm::enumerate(ops)) {
    linalg::GenericOp op = member;
    if (!rowShape(op)->reduction)
      continue;
    auto touches = [](linalg::GenericOp other, Value root, bool inputs) {
      ValueRange operands = inputs ? ValueRange(other.getDpsInputs())
                                   : ValueRange(other.getDpsInits());
      return llvm::any_of(operands, [&](Value v) {
        return isa<MemRefType>(v.getType()) && rootOf(v).base == root;
      });
    };
    Value result = rootOf(op.getDpsInits()[0]).base;
    bool readLater = llvm::any_of(ops.drop_front(i + 1), [&](auto later) {
      return touches(later, result, /*inputs=*/true);
    });
    bool readsEarlier = llvm::any_of(op.getDpsInputs(), [&](Value in) {
      if (!isa<MemRefType>(in.getType()))
        return false;
      Value root = rootOf(in).base;
      return llvm::any_of(ops.take_front(i), [&](auto earlier) {
        return touches(earlier, root, /*inputs=*/false);
      });
    });
    if (!readLater && !readsEarlier)
      return failure();
  }

  const int64_t rows = first->rows, n = first->length;
  const int64_t threads = std::min<int64_t>(kMaxThreads, llvm::alignTo(n, kWarp));
  const int64_t warps = threads / kWarp;
  const int64_t iterations = llvm::divideCeil(n, threads);
  const int64_t chunk = std::min<int64_t>(iterations, kChunk);
  const int64_t outer = llvm::divideCeil(iterations, chunk);

  linalg::GenericOp lastOp = ops.back();
  Operation *last = lastOp.getOperation();
  Location loc = last->getLoc();
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(last);
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(rewriter, loc, v);
  };
  auto launch = gpu::LaunchOp::create(rewriter, loc, index(rows), index(1),
                                      index(1), index(threads), index(1),
                                      index(1));
  auto workgroup = gpu::AddressSpaceAttr::get(rewriter.getContext(),
                                              gpu::AddressSpace::Workgroup);
  SmallVector<Value> slots; // per op: a reduction's shared partials
  for (linalg::GenericOp op : llvm::to_vector(ops)) {
    if (!rowShape(op)->reduction) {
      slots.push_back(Value());
      continue;
    }
    Type acc = op.getRegion().front().getArguments().back().getType();
    slots.push_back(launch.addWorkgroupAttribution(
        MemRefType::get({warps}, acc, MemRefLayoutAttrInterface(), workgroup),
        loc));
  }
  enterLaunchBody(rewriter, launch);
  OpBuilder &b = rewriter;
  IndexMath math{b, loc};
  Value tid = launch.getThreadIds().x, row = launch.getBlockIds().x;
  Type i32 = b.getI32Type();
  auto i32Constant = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, loc, i32, v);
  };
  // The value a reduction of the run left for its buffer (every thread's).
  DenseMap<Value, Value> latest;

  for (auto [opIndex, member] : llvm::enumerate(ops)) {
    linalg::GenericOp op = member;
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    unsigned inner = ranges.size() - 1;
    bool reduction = rowShape(op)->reduction;
    // The row's indices in this op's loops.
    SmallVector<Value> rowIvs(inner);
    Value rest = row;
    for (int64_t d = int64_t(inner) - 1; d >= 0; --d) {
      if (ranges[d] == 1) {
        rowIvs[d] = index(0);
        continue;
      }
      rowIvs[d] = math.rem(rest, ranges[d]);
      rest = math.div(rest, ranges[d]);
    }
    auto at = [&](Value j) {
      SmallVector<Value> ivs(rowIvs);
      ivs.push_back(j);
      return ivs;
    };
    auto load = [&](OpOperand &operand, ArrayRef<Value> ivs) -> Value {
      Value v = operand.get();
      if (!isa<MemRefType>(v.getType()))
        return v; // a scalar operand
      auto it = latest.find(rootOf(v).base);
      if (it != latest.end())
        return it->second; // a reduction of the run: its row's result
      AffineMap map = op.getMatchingIndexingMap(&operand);
      SmallVector<Value> indices;
      for (unsigned i = 0; i < map.getNumResults(); ++i)
        indices.push_back(
            affine::AffineApplyOp::create(b, loc, map.getSubMap({i}), ivs));
      return memref::LoadOp::create(b, loc, v, indices);
    };
    auto store = [&](Value value, ArrayRef<Value> ivs) {
      OpOperand *out = op.getDpsInitOperand(0);
      AffineMap map = op.getMatchingIndexingMap(out);
      SmallVector<Value> indices;
      for (unsigned i = 0; i < map.getNumResults(); ++i)
        indices.push_back(
            affine::AffineApplyOp::create(b, loc, map.getSubMap({i}), ivs));
      memref::StoreOp::create(b, loc, value, out->get(), indices);
    };
    Block &body = op.getRegion().front();
    BlockArgument outArg = body.getArguments().back();
    Operation *combiner = reduction ? reductionCombiner(op) : nullptr;
    // The body at `ivs` on loaded operands: the yielded value (element-wise)
    // or the contribution that the combiner merges (reduction).
    auto compute = [&](ArrayRef<Value> ivs, ArrayRef<Value> loaded) -> Value {
      IRMapping mapping;
      for (auto [arg, value] : llvm::zip(body.getArguments(), loaded))
        if (value)
          mapping.map(arg, value);
      cloneBodyAt(b, body, ivs, mapping, combiner);
      if (!combiner)
        return mapping.lookupOrDefault(body.getTerminator()->getOperand(0));
      Value contribution = combiner->getOperand(0) == outArg
                               ? combiner->getOperand(1)
                               : combiner->getOperand(0);
      return mapping.lookupOrDefault(contribution);
    };
    auto loadAll = [&](ArrayRef<Value> ivs) {
      SmallVector<Value> values;
      for (OpOperand *in : op.getDpsInputOperands())
        values.push_back(load(*in, ivs));
      // The output's old element, when the body reads it (element-wise; a
      // reduction's accumulator is the combiner's).
      values.push_back(!combiner && !outArg.use_empty()
                           ? load(*op.getDpsInitOperand(0), ivs)
                           : Value());
      return values;
    };
    auto combine = [&](Value x, Value y) -> Value {
      Operation *merged = b.clone(*combiner);
      merged->setOperands({x, y});
      return merged->getResult(0);
    };
    Type accType = outArg.getType();
    Value neutral =
        combiner ? neutralElement(b, loc, combiner, accType) : Value();

    // `chunk` iterations (element j = base + u·threads), their loads first;
    // an iteration past the row reads its last element and is dropped.
    bool guarded = outer > 1 ? n % (chunk * threads) != 0
                             : iterations * threads != n;
    auto runChunk = [&](Value base, SmallVector<Value> accs) {
      SmallVector<Value> js, ok;
      SmallVector<SmallVector<Value>> loaded;
      for (int64_t u = 0; u < chunk; ++u) {
        Value j = math.add(base, index(u * threads));
        bool last = outer > 1 ? guarded : (u + 1) * threads > n;
        ok.push_back(last && guarded ? math.lessThan(j, n) : Value());
        js.push_back(ok.back() ? math.clampTo(j, n - 1) : j);
        loaded.push_back(loadAll(at(js.back())));
      }
      for (int64_t u = 0; u < chunk; ++u) {
        Value value = compute(at(js[u]), loaded[u]);
        if (combiner) {
          if (ok[u])
            value = arith::SelectOp::create(b, loc, ok[u], value, neutral);
          accs[u] = combine(accs[u], value);
          continue;
        }
        if (!ok[u]) {
          store(value, at(js[u]));
          continue;
        }
        auto inRow = scf::IfOp::create(b, loc, ok[u], /*withElse=*/false);
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(&inRow.getThenRegion().front());
        store(value, at(js[u]));
      }
      return accs;
    };
    SmallVector<Value> accs(combiner ? chunk : 0, neutral);
    if (outer == 1) {
      accs = runChunk(tid, accs);
    } else {
      auto loop = scf::ForOp::create(b, loc, index(0), index(outer), index(1),
                                     accs);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(loop.getBody());
      Value base = math.add(tid, math.mul(loop.getInductionVar(),
                                          chunk * threads));
      SmallVector<Value> next = runChunk(
          base, SmallVector<Value>(loop.getRegionIterArgs().begin(),
                                   loop.getRegionIterArgs().end()));
      if (!next.empty()) // (without iteration values the loop has its yield)
        scf::YieldOp::create(b, loc, next);
      b.setInsertionPointAfter(loop);
      accs.assign(loop.getResults().begin(), loop.getResults().end());
    }
    if (!combiner)
      continue;

    // The reduction across the block.
    OpOperand *out = op.getDpsInitOperand(0);
    Value rootBase = rootOf(out->get()).base;
    SmallVector<Value> rowAt = at(index(0));
    // The output's value before the op: the folded fill's, an earlier
    // reduction's of the run, or memory (read before the barrier, after
    // which thread 0 stores).
    Value old = inits[opIndex] ? inits[opIndex] : load(*out, rowAt);
    Value partial = accs[0];
    for (int64_t u = 1; u < chunk; ++u)
      partial = combine(partial, accs[u]);
    Value width = i32Constant(kWarp);
    for (int64_t offset = kWarp / 2; offset >= 1; offset /= 2) {
      auto shuffle = gpu::ShuffleOp::create(b, loc, partial,
                                            i32Constant(offset), width,
                                            gpu::ShuffleMode::XOR);
      partial = combine(partial, shuffle.getShuffleResult());
    }
    Value slot = slots[opIndex];
    Value lane = math.rem(tid, kWarp);
    Value leader = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                         lane, index(0));
    {
      auto ifLeader = scf::IfOp::create(b, loc, leader, /*withElse=*/false);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(&ifLeader.getThenRegion().front());
      memref::StoreOp::create(b, loc, partial, slot,
                              ValueRange{math.div(tid, kWarp)});
    }
    gpu::BarrierOp::create(b, loc);
    Value total = memref::LoadOp::create(b, loc, slot, ValueRange{index(0)});
    for (int64_t w = 1; w < warps; ++w)
      total = combine(total,
                      memref::LoadOp::create(b, loc, slot, ValueRange{index(w)}));
    Value result = combiner->getOperand(0) == outArg ? combine(old, total)
                                                     : combine(total, old);
    Value firstThread = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::eq, tid, index(0));
    {
      auto ifFirst = scf::IfOp::create(b, loc, firstThread, /*withElse=*/false);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(&ifFirst.getThenRegion().front());
      store(result, rowAt);
    }
    latest[rootBase] = result;
  }
  for (linalg::GenericOp op : llvm::to_vector(ops))
    rewriter.eraseOp(op);
  return success();
}
