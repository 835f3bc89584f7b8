//===- GPUHadamardKernel.cpp - qc.hadamard in one GPU kernel --------------===//
//
// Blocks per transformed vector (size = K·2^m values, `stride` apart):
// the rows of its [K, 2^m] view are split over `groups` blocks (a divisor
// of K: with few vectors, several blocks per vector, so that a few vectors
// do not run on a few SMs; rows that fit in 32 KiB of shared memory). A
// block
//   1. computes its rows of H_K applied along K (K > 1: element (r, j) is
//      Σ_i H_K[i][r]·x[i][j], the ±1 entries read from the K×K table, each
//      product exact, summed in order) straight into shared memory, from
//      the whole input vector (read again by each block, from L2), or
//      loads its row (K = 1);
//   2. runs the m butterfly stages there (a barrier after each) and stores
//      the rows normalised by 1/√size.
// One launch, where the stage-per-generic lowering makes m + 1 launches
// over the whole tensor.
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
/// Blocks wanted for a transform (two per SM of an H100) when splitting the
/// rows of few vectors over several blocks.
constexpr int64_t kTargetBlocks = 264;

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
  float norm = float(1.0 / std::sqrt(double(size)));
  // With the K×K table as an input (K > 1), the rows of the view are split
  // over `groups` blocks per vector (a divisor of K whose rows fit in
  // shared memory; the fewest that give kTargetBlocks blocks in all, else
  // all K): each block computes its rows' factor sums straight into shared
  // memory, from the whole input vector (read again by each block, from
  // L2), so that a few vectors do not run on a few SMs.
  Value table = op.getNumDpsInputs() == 2 ? op.getDpsInputs()[1] : Value();
  if (k > 1 && !(table && contiguousF32(table) &&
                 cast<MemRefType>(table.getType()).getShape() ==
                     ArrayRef<int64_t>{k, k}))
    return failure();
  int64_t groups = 1;
  int64_t wanted = (kTargetBlocks + vectors - 1) / vectors;
  for (int64_t d = 1; d <= k; ++d)
    if (k % d == 0 && k / d <= rowsPerChunk) {
      groups = d;
      if (d >= wanted)
        break;
    }
  int64_t groupRows = k / groups;
  int64_t threads = std::clamp<int64_t>(
      int64_t(llvm::PowerOf2Ceil(uint64_t(groupRows * pow2 / 2))), 32,
      kMaxThreads);

  Location loc = op.getLoc();
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(rewriter, loc, v);
  };
  SmallVector<ReassociationIndices> all(1);
  for (int64_t d = 0; d < rank; ++d)
    all[0].push_back(d);
  Value x1 = memref::CollapseShapeOp::create(rewriter, loc, x, all);
  Value out1 = memref::CollapseShapeOp::create(rewriter, loc, out, all);

  auto launch =
      gpu::LaunchOp::create(rewriter, loc, index(vectors), index(groups),
                            index(1), index(threads), index(1), index(1));
  auto workgroup = gpu::AddressSpaceAttr::get(rewriter.getContext(),
                                              gpu::AddressSpace::Workgroup);
  Value shared = launch.addWorkgroupAttribution(
      MemRefType::get({groupRows * pow2}, rewriter.getF32Type(),
                      MemRefLayoutAttrInterface(), workgroup),
      loc);
  OpBuilder::InsertionGuard guard(rewriter);
  enterLaunchBody(rewriter, launch);
  OpBuilder &b = rewriter;
  IndexMath math{b, loc};
  Value tid = launch.getThreadIds().x;
  Value vec = launch.getBlockIds().x;
  // Element i of the vector at base + i·stride.
  Value base = math.add(math.mul(math.div(vec, stride), size * stride),
                        math.rem(vec, stride));
  auto at = [&](Value i) -> Value {
    return math.add(base, math.mul(i, stride));
  };
  auto barrier = [&] { gpu::BarrierOp::create(b, loc); };
  // for (i = tid; i < count; i += threads), unrolled (at most 16
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
      Value i = math.add(tid, index(u * threads));
      if ((u + 1) * threads > count) {
        ok.push_back(math.lessThan(i, count));
        i = math.clampTo(i, count - 1);
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

  // The m butterfly stages on `count` values in shared memory.
  auto butterflies = [&](int64_t count) {
    for (int64_t h = 0; h < m; ++h) {
      int64_t half = int64_t(1) << h;
      auto low = [&](Value p) -> Value {
        return math.add(math.mul(math.div(p, half), 2 * half),
                        math.rem(p, half));
      };
      // Pairs are disjoint within a stage: all loads, then all stores.
      unrolled(
          count / 2,
          [&](Value p) -> SmallVector<Value> {
            Value lo = low(p);
            Value a = memref::LoadOp::create(b, loc, shared, lo);
            Value c = memref::LoadOp::create(b, loc, shared,
                                             math.add(lo, index(half)));
            return {arith::AddFOp::create(b, loc, a, c),
                    arith::SubFOp::create(b, loc, a, c)};
          },
          [&](Value p, ArrayRef<Value> v) {
            Value lo = low(p);
            memref::StoreOp::create(b, loc, v[0], shared, lo);
            memref::StoreOp::create(b, loc, v[1], shared,
                                    math.add(lo, index(half)));
          });
      barrier();
    }
  };
  Value scale = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(norm));

  {
    // Rows row0 .. row0 + groupRows of the view: element e is row
    // row0 + e / 2^m, column j = e % 2^m, Σ_r H_K[r][row]·x[r][j] (±1
    // entries: each product exact, summed in the order of the one-block
    // form's adds and subtracts, so the results are the same).
    int64_t count = groupRows * pow2;
    Value row0 = math.mul(launch.getBlockIds().y, groupRows);
    unrolled(
        count,
        [&](Value e) -> SmallVector<Value> {
          Value row = math.add(row0, math.div(e, pow2));
          if (k == 1)
            return {memref::LoadOp::create(b, loc, x1, at(e))};
          Value j = math.rem(e, pow2);
          SmallVector<Value> v, h;
          for (int64_t r = 0; r < k; ++r) {
            v.push_back(memref::LoadOp::create(
                b, loc, x1, at(math.add(index(r * pow2), j))));
            h.push_back(memref::LoadOp::create(b, loc, table,
                                               ValueRange{index(r), row}));
          }
          Value y;
          for (int64_t r = 0; r < k; ++r) {
            Value term = arith::MulFOp::create(b, loc, h[r], v[r]);
            y = y ? arith::AddFOp::create(b, loc, y, term).getResult() : term;
          }
          return {y};
        },
        [&](Value e, ArrayRef<Value> v) {
          memref::StoreOp::create(b, loc, v[0], shared, e);
        });
    barrier();
    butterflies(count);
    Value first = math.mul(row0, pow2);
    unrolled(
        count,
        [&](Value e) -> SmallVector<Value> {
          return {memref::LoadOp::create(b, loc, shared, e)};
        },
        [&](Value e, ArrayRef<Value> v) {
          memref::StoreOp::create(b, loc,
                                  arith::MulFOp::create(b, loc, v[0], scale),
                                  out1, at(math.add(first, e)));
        });
  }
  return success();
}
