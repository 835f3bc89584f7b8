//===- GPUHadamardKernel.cpp - qc.hadamard in one GPU kernel --------------===//
//
// One block per transformed vector (size = K·2^m values, `stride` apart):
//   1. (K > 1) the K×K factor: a thread per column j of the [K, 2^m] view
//      loads its K values, applies H_K unrolled (±1 entries: adds and
//      subtracts) and stores them to the output;
//   2. the 2^m butterflies: rows of the view, as many as fit in 32 KiB of
//      shared memory at a time, are loaded (from the output, or the input
//      when K = 1), transformed in m stages (a barrier after each) and
//      stored normalised by 1/√size.
// Every value is read from global memory once or twice and written once or
// twice, in one launch, where the stage-per-generic lowering makes m + 1
// launches over the whole tensor.
//
//===----------------------------------------------------------------------===//

#include "GPUHadamardKernel.h"
#include "GPUKernelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>

using namespace mlir;

namespace {

constexpr int64_t kMaxThreads = 512;

bool contiguousF32(Value v) {
  auto type = dyn_cast<MemRefType>(v.getType());
  return type && type.hasStaticShape() && type.getLayout().isIdentity() &&
         type.getElementType().isF32();
}

} // namespace

LogicalResult qc::buildHadamardKernel(RewriterBase &rewriter,
                                      linalg::GenericOp op) {
  auto marker = op->getAttrOfType<DictionaryAttr>(kHadamardMarker);
  // The input, and the K×K table unless canonicalization folded it into
  // the body (K = 1: a splat).
  if (!marker || !op.hasPureBufferSemantics() || op.getNumDpsInputs() < 1 ||
      op.getNumDpsInputs() > 2 || op.getNumDpsInits() != 1)
    return failure();
  auto sizeAttr = marker.getAs<IntegerAttr>("size");
  auto strideAttr = marker.getAs<IntegerAttr>("stride");
  if (!sizeAttr || !strideAttr)
    return failure();
  int64_t size = sizeAttr.getInt(), stride = strideAttr.getInt();
  std::optional<numerics::HadamardSize> split =
      numerics::factorHadamardSize(size);
  if (stride < 1 || !split || !hadamardKernelTakes(size))
    return failure();
  Value x = op.getDpsInputs()[0], out = op.getDpsInits()[0];
  if (!contiguousF32(x) || !contiguousF32(out) || x.getType() != out.getType())
    return failure();
  auto type = cast<MemRefType>(x.getType());
  int64_t rank = type.getRank();
  if (rank < 3 || type.getDimSize(rank - 2) != size ||
      type.getDimSize(rank - 1) != stride)
    return failure();

  int64_t k = split->factor, m = split->log2PowerOfTwo;
  int64_t pow2 = int64_t(1) << m;
  int64_t total = type.getNumElements(), vectors = total / size;
  // Rows of the [K, 2^m] view per pass through shared memory.
  int64_t rowsPerChunk =
      std::max<int64_t>(1, std::min(k, kHadamardKernelMaxPowerOfTwo / pow2));
  int64_t threads = std::clamp<int64_t>(
      int64_t(llvm::PowerOf2Ceil(uint64_t(rowsPerChunk * pow2 / 2))), 32,
      kMaxThreads);
  const std::vector<float> &factor = numerics::hadamardFactor(k);
  float norm = float(1.0 / std::sqrt(double(size)));

  Location loc = op.getLoc();
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(rewriter, loc, v);
  };
  SmallVector<ReassociationIndices> all(1);
  for (int64_t d = 0; d < rank; ++d)
    all[0].push_back(d);
  Value x1 = memref::CollapseShapeOp::create(rewriter, loc, x, all);
  Value out1 = memref::CollapseShapeOp::create(rewriter, loc, out, all);

  auto launch = gpu::LaunchOp::create(rewriter, loc, index(vectors), index(1),
                                      index(1), index(threads), index(1),
                                      index(1));
  auto workgroup = gpu::AddressSpaceAttr::get(rewriter.getContext(),
                                              gpu::AddressSpace::Workgroup);
  Value shared = launch.addWorkgroupAttribution(
      MemRefType::get({rowsPerChunk * pow2}, rewriter.getF32Type(),
                      MemRefLayoutAttrInterface(), workgroup),
      loc);
  OpBuilder::InsertionGuard guard(rewriter);
  enterLaunchBody(rewriter, launch);
  OpBuilder &b = rewriter;
  IndexMath math{b, loc};
  auto add = [&](Value a, Value c) { return math.add(a, c); };
  auto mul = [&](Value a, int64_t c) { return math.mul(a, c); };
  Value tid = launch.getThreadIds().x;
  Value vec = launch.getBlockIds().x;
  // Element i of the vector at base + i·stride.
  Value base = add(mul(arith::DivUIOp::create(b, loc, vec, index(stride)),
                       size * stride),
                   arith::RemUIOp::create(b, loc, vec, index(stride)));
  auto at = [&](Value i) -> Value { return add(base, mul(i, stride)); };
  // for (i = tid; i < count; i += threads) body(i).
  auto strided = [&](int64_t count, function_ref<void(Value)> body) {
    auto loop =
        scf::ForOp::create(b, loc, tid, index(count), index(threads));
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(loop.getBody());
    body(loop.getInductionVar());
  };
  auto barrier = [&] { gpu::BarrierOp::create(b, loc); };
  // The same for a pass over shared memory or a copy, unrolled (at most 16
  // iterations per thread, by the choice of `threads`) with every
  // iteration's loads before any store, so that a thread's loads are in
  // flight together (a loop waits for memory once per iteration). An
  // iteration past `count` loads from the last one and stores nothing.
  auto unrolled = [&](int64_t count,
                      function_ref<SmallVector<Value>(Value)> load,
                      function_ref<void(Value, ArrayRef<Value>)> store) {
    int64_t iterations = (count + threads - 1) / threads;
    SmallVector<Value> at, ok;
    SmallVector<SmallVector<Value>> loaded;
    for (int64_t u = 0; u < iterations; ++u) {
      Value i = add(tid, index(u * threads));
      if ((u + 1) * threads > count) {
        ok.push_back(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                           i, index(count)));
        i = arith::MinUIOp::create(b, loc, i, index(count - 1));
      } else {
        ok.push_back(Value());
      }
      at.push_back(i);
      loaded.push_back(load(i));
    }
    for (int64_t u = 0; u < iterations; ++u) {
      if (!ok[u]) {
        store(at[u], loaded[u]);
        continue;
      }
      auto guarded = scf::IfOp::create(b, loc, ok[u], /*withElse=*/false);
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(&guarded.getThenRegion().front());
      store(at[u], loaded[u]);
    }
  };

  // 1. The K×K factor, a column per thread.
  if (k > 1) {
    strided(pow2, [&](Value j) {
      SmallVector<Value> v;
      for (int64_t r = 0; r < k; ++r)
        v.push_back(
            memref::LoadOp::create(b, loc, x1, at(add(index(r * pow2), j))));
      for (int64_t c = 0; c < k; ++c) {
        Value y;
        for (int64_t r = 0; r < k; ++r) {
          bool negative = factor[r * k + c] < 0;
          if (!y)
            y = negative ? arith::NegFOp::create(b, loc, v[r]).getResult()
                         : v[r];
          else if (negative)
            y = arith::SubFOp::create(b, loc, y, v[r]);
          else
            y = arith::AddFOp::create(b, loc, y, v[r]);
        }
        memref::StoreOp::create(b, loc, y, out1,
                                at(add(index(c * pow2), j)));
      }
    });
    barrier();
  }

  // 2. The butterflies, rowsPerChunk rows of the view at a time.
  Value source = k > 1 ? out1 : x1;
  Value scale = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(norm));
  for (int64_t row0 = 0; row0 < k; row0 += rowsPerChunk) {
    int64_t count = std::min(rowsPerChunk, k - row0) * pow2;
    unrolled(
        count,
        [&](Value e) -> SmallVector<Value> {
          return {memref::LoadOp::create(b, loc, source,
                                         at(add(index(row0 * pow2), e)))};
        },
        [&](Value e, ArrayRef<Value> v) {
          memref::StoreOp::create(b, loc, v[0], shared, e);
        });
    barrier();
    for (int64_t h = 0; h < m; ++h) {
      int64_t half = int64_t(1) << h;
      auto low = [&](Value p) -> Value {
        return add(mul(arith::DivUIOp::create(b, loc, p, index(half)),
                       2 * half),
                   arith::RemUIOp::create(b, loc, p, index(half)));
      };
      // Pairs are disjoint within a stage: all loads, then all stores.
      unrolled(
          count / 2,
          [&](Value p) -> SmallVector<Value> {
            Value lo = low(p);
            Value a = memref::LoadOp::create(b, loc, shared, lo);
            Value c = memref::LoadOp::create(b, loc, shared,
                                             add(lo, index(half)));
            return {arith::AddFOp::create(b, loc, a, c),
                    arith::SubFOp::create(b, loc, a, c)};
          },
          [&](Value p, ArrayRef<Value> v) {
            Value lo = low(p);
            memref::StoreOp::create(b, loc, v[0], shared, lo);
            memref::StoreOp::create(b, loc, v[1], shared,
                                    add(lo, index(half)));
          });
      barrier();
    }
    unrolled(
        count,
        [&](Value e) -> SmallVector<Value> {
          return {memref::LoadOp::create(b, loc, shared, e)};
        },
        [&](Value e, ArrayRef<Value> v) {
          memref::StoreOp::create(b, loc,
                                  arith::MulFOp::create(b, loc, v[0], scale),
                                  out1, at(add(index(row0 * pow2), e)));
        });
    if (row0 + rowsPerChunk < k)
      barrier();
  }
  return success();
}
