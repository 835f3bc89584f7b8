//===- GPUInt8MmaKernel.cpp - the tensor-core W8A8 kernel -----------------===//
//
// See GPUInt8MmaKernel.h, and docs/gpu.md for the design. The fragments are
// those of PTX's mma.m16n8k32 for 8-bit operands: a thread (group g =
// lane / 4, t = lane % 4) holds A's rows g and g + 8 at k = 4t..4t+3 and
// 16 + 4t..16 + 4t+3, B's column g at the same k, and C's rows g, g + 8 at
// columns 2t, 2t + 1. ldmatrix.x4 on rows of 16 bytes of 8-bit codes gives
// exactly those (a b16 pair of row g, t is bytes 4t..4t+3), for A (16
// rows) and for two 8-column tiles of B stored as [N, K] rows.
//
//===----------------------------------------------------------------------===//

#include "GPUInt8MmaKernel.h"
#include "GPUKernelBuilder.h"
#include "qc/Dialect/QC/IR/Int8Contraction.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;

namespace {

constexpr int64_t kBlockRows = 128, kBlockCols = 128;
constexpr int64_t kWarpRows = 64, kWarpCols = 32; // 2 x 4 warps
constexpr int64_t kWarpsAlongN = kBlockCols / kWarpCols;
constexpr int64_t kThreads = 32 * (kBlockRows / kWarpRows) * kWarpsAlongN;
constexpr int64_t kMTiles = kWarpRows / 16, kNTiles = kWarpCols / 8;
constexpr int64_t kSlice = 64; // bytes of K per shared-memory stage
constexpr int64_t kChunk = 16; // bytes per cp.async and per ldmatrix row
constexpr int64_t kChunksPerRow = kSlice / kChunk;
constexpr int64_t kStages = 3; // slices in flight: this one and two more

/// A static memref of `rank` with the identity layout and `element`s.
bool plain(Value v, Type element, int64_t rank) {
  auto type = dyn_cast<MemRefType>(v.getType());
  return type && type.hasStaticShape() && type.getLayout().isIdentity() &&
         type.getElementType() == element && type.getRank() == rank;
}

/// The body is out + sext(a) · sext(b).
bool isSignedDot(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (yield.getNumOperands() != 1)
    return false;
  auto add = yield.getOperand(0).getDefiningOp<arith::AddIOp>();
  if (!add)
    return false;
  Value acc = body.getArgument(2);
  Value product = add.getLhs() == acc   ? add.getRhs()
                  : add.getRhs() == acc ? add.getLhs()
                                        : Value();
  auto mul = product ? product.getDefiningOp<arith::MulIOp>() : nullptr;
  if (!mul)
    return false;
  auto extOf = [&](Value v, unsigned arg) {
    auto ext = v.getDefiningOp<arith::ExtSIOp>();
    return ext && ext.getIn() == body.getArgument(arg);
  };
  return (extOf(mul.getLhs(), 0) && extOf(mul.getRhs(), 1)) ||
         (extOf(mul.getLhs(), 1) && extOf(mul.getRhs(), 0));
}

/// The element-wise generic whose body the kernel's stores run: the only
/// reader of the contraction's result `out` (a memref.alloc, read directly
/// or through one expand_shape of its rows), next after `op` in the block
/// (only allocations, views and pure ops between, so nothing it reads
/// changes), with a pure body and the result read with the identity map.
struct Epilogue {
  linalg::GenericOp op;
  unsigned accInput = 0;
  Operation *view = nullptr; // the expand_shape, if any
};

std::optional<Epilogue> findEpilogue(linalg::GenericOp op, Value out) {
  auto alloc = out.getDefiningOp<memref::AllocOp>();
  if (!alloc || alloc->getBlock() != op->getBlock())
    return std::nullopt;
  Epilogue e;
  Value read = out;
  Operation *reader = nullptr;
  for (Operation *user : alloc->getUsers()) {
    if (user == op.getOperation() ||
        (isa<linalg::FillOp>(user) && user->isBeforeInBlock(op)))
      continue;
    if (reader)
      return std::nullopt;
    reader = user;
    auto expand = dyn_cast<memref::ExpandShapeOp>(user);
    if (!expand)
      continue;
    auto groups = expand.getReassociationIndices();
    int64_t rank = expand.getResultType().getRank();
    if (!expand->hasOneUse() || groups.size() != 2 || groups[1].size() != 1 ||
        groups[1][0] != rank - 1)
      return std::nullopt;
    e.view = expand;
    read = expand.getResult();
    reader = *read.getUsers().begin();
  }
  auto consumer = dyn_cast_or_null<linalg::GenericOp>(reader);
  if (!consumer || consumer->getBlock() != op->getBlock() ||
      !op->isBeforeInBlock(consumer) || !consumer.hasPureBufferSemantics() ||
      consumer.getNumDpsInits() != 1 ||
      consumer.getNumParallelLoops() != consumer.getNumLoops())
    return std::nullopt;
  int64_t rank = cast<MemRefType>(read.getType()).getRank();
  SmallVector<AffineMap> maps = consumer.getIndexingMapsArray();
  OpOperand *result = consumer.getDpsInitOperand(0);
  if (consumer.getNumLoops() != rank || result->get() == read ||
      !maps[result->getOperandNumber()].isIdentity() ||
      !plain(result->get(), getElementTypeOrSelf(result->get().getType()),
             rank) ||
      cast<MemRefType>(result->get().getType()).getShape() !=
          cast<MemRefType>(read.getType()).getShape())
    return std::nullopt;
  bool found = false;
  for (OpOperand *in : consumer.getDpsInputOperands()) {
    if (in->get() != read)
      continue;
    if (found || !maps[in->getOperandNumber()].isIdentity())
      return std::nullopt;
    found = true;
    e.accInput = in->getOperandNumber();
  }
  if (!found)
    return std::nullopt;
  for (Operation *between = op->getNextNode(); between != consumer;
       between = between->getNextNode())
    if (!isa<memref::AllocOp, memref::ExpandShapeOp, memref::CollapseShapeOp>(
            between) &&
        !isMemoryEffectFree(between))
      return std::nullopt;
  for (Operation &inner : consumer.getRegion().front().without_terminator())
    if (!isMemoryEffectFree(&inner) || inner.getNumRegions() != 0)
      return std::nullopt;
  e.op = consumer;
  return e;
}

} // namespace

LogicalResult qc::buildInt8MmaKernel(RewriterBase &rewriter,
                                     linalg::GenericOp op, Value init,
                                     int64_t minRows,
                                     linalg::GenericOp &fused) {
  auto marker = op->getAttrOfType<DictionaryAttr>(kInt8ContractionAttr);
  if (!marker || !op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 3)
    return failure();
  auto flag = [&](StringRef name) {
    auto v = marker.getAs<BoolAttr>(name);
    return v && v.getValue();
  };
  if (!flag("lhs_signed") || !flag("rhs_signed") || !isSignedDot(op))
    return failure();
  // Loops (m, n, k) (qc-map-to-gpu puts the parallel ones first).
  MLIRContext *ctx = op.getContext();
  AffineExpr m = getAffineDimExpr(0, ctx), n = getAffineDimExpr(1, ctx),
             k = getAffineDimExpr(2, ctx);
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (maps[0] != AffineMap::get(3, 0, {m, k}, ctx) ||
      maps[1] != AffineMap::get(3, 0, {n, k}, ctx) ||
      maps[2] != AffineMap::get(3, 0, {m, n}, ctx))
    return failure();
  Type i8 = rewriter.getI8Type(), i32 = rewriter.getI32Type();
  Value a = op.getDpsInputs()[0], w = op.getDpsInputs()[1],
        out = op.getDpsInits()[0];
  if (!plain(a, i8, 2) || !plain(w, i8, 2) || !plain(out, i32, 2))
    return failure();
  auto aType = cast<MemRefType>(a.getType());
  int64_t rows = aType.getDimSize(0), depth = aType.getDimSize(1);
  int64_t cols = cast<MemRefType>(w.getType()).getDimSize(0);
  if (rows < minRows || depth % kChunk != 0 || depth == 0 || cols == 0)
    return failure();
  std::optional<Epilogue> epilogue = findEpilogue(op, out);

  Location loc = op.getLoc();
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(rewriter, loc, v);
  };
  auto launch = gpu::LaunchOp::create(
      rewriter, loc, index((cols + kBlockCols - 1) / kBlockCols),
      index((rows + kBlockRows - 1) / kBlockRows), index(1), index(kThreads),
      index(1), index(1));
  auto workgroup =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  auto stageType = [&](int64_t tileRows) {
    return MemRefType::get({kStages, tileRows, kSlice}, i8,
                           MemRefLayoutAttrInterface(), workgroup);
  };
  Value sharedA = launch.addWorkgroupAttribution(stageType(kBlockRows), loc);
  Value sharedW = launch.addWorkgroupAttribution(stageType(kBlockCols), loc);
  OpBuilder::InsertionGuard guard(rewriter);
  enterLaunchBody(rewriter, launch);
  OpBuilder &b = rewriter;
  IndexMath math{b, loc};
  auto xorI = [&](Value x, Value y) -> Value {
    return arith::XOrIOp::create(b, loc, x, y);
  };
  Value tid = launch.getThreadIds().x;
  Value warp = math.div(tid, 32), lane = math.rem(tid, 32);
  Value g = math.div(lane, 4), t = math.rem(lane, 4);
  Value m0 = math.mul(launch.getBlockIds().y, kBlockRows);
  Value n0 = math.mul(launch.getBlockIds().x, kBlockCols);
  Value warpRow = math.mul(math.div(warp, kWarpsAlongN), kWarpRows);
  Value warpCol = math.mul(math.rem(warp, kWarpsAlongN), kWarpCols);

  // Stage `stage` of both operands gets K slice `slice`: each thread copies
  // chunks (row tid / 4 + 64 i, chunk tid % 4), 16 bytes each, to column
  // 16 · (chunk ^ (row / 2) % 4) of its row: the 8 rows an ldmatrix reads
  // then fall on distinct banks. Rows past M or N copy the last row (their
  // results are not stored); chunks past K are zero-filled.
  Value copyChunk = math.rem(tid, kChunksPerRow);
  Value copyRow = math.div(tid, kChunksPerRow);
  Value copyColumn =
      math.mul(xorI(copyChunk,
                    math.rem(math.div(tid, 2 * kChunksPerRow), kChunksPerRow)),
               kChunk);
  int64_t rowsPerPass = kThreads / kChunksPerRow;
  auto loadSlice = [&](Value slice, Value stage) -> Value {
    Value k0 = math.add(math.mul(slice, kSlice), math.mul(copyChunk, kChunk));
    Value inside = math.lessThan(k0, depth);
    Value bytes =
        arith::SelectOp::create(b, loc, inside, index(kChunk), index(0));
    Value kAt = math.clampTo(k0, depth - kChunk);
    SmallVector<Value> tokens;
    for (auto [shared, global, base, extent, tileRows] :
         {std::tuple{sharedA, a, m0, rows, kBlockRows},
          std::tuple{sharedW, w, n0, cols, kBlockCols}})
      for (int64_t pass = 0; pass < tileRows / rowsPerPass; ++pass) {
        Value row = math.add(copyRow, index(pass * rowsPerPass));
        Value from = math.clampTo(math.add(base, row), extent - 1);
        tokens.push_back(nvgpu::DeviceAsyncCopyOp::create(
            b, loc, shared, ValueRange{stage, row, copyColumn}, global,
            ValueRange{from, kAt}, b.getIndexAttr(kChunk), bytes,
            b.getUnitAttr()));
      }
    return nvgpu::DeviceAsyncCreateGroupOp::create(b, loc, tokens);
  };

  // ldmatrix rows: lane l gives the address of row l % 8 of matrix l / 8.
  // A (16 rows x 32 bytes): matrices (rows 0-7, bytes 0-15), (8-15, 0-15),
  // (0-7, 16-31), (8-15, 16-31): registers a0..a3. W (two 8-column tiles x
  // 32 bytes): (cols 0-7, 0-15), (0-7, 16-31), (8-15, 0-15), (8-15, 16-31):
  // b0 b1 of the first tile, b0 b1 of the second. The swizzle of those rows
  // is (l % 8) / 2 (the tile offsets are multiples of 8 rows).
  Value inMatrix = math.rem(lane, 8), matrix = math.div(lane, 8);
  Value swizzle = math.div(inMatrix, 2);
  Value aRow =
      math.add(math.add(warpRow, inMatrix), math.mul(math.rem(matrix, 2), 8));
  Value wRow =
      math.add(math.add(warpCol, inMatrix), math.mul(math.div(matrix, 2), 8));
  SmallVector<Value> aColumn, wColumn; // per 32-byte step of the slice
  for (int64_t step = 0; step < kSlice / 32; ++step) {
    aColumn.push_back(math.mul(
        xorI(math.add(index(2 * step), math.div(matrix, 2)), swizzle), kChunk));
    wColumn.push_back(math.mul(
        xorI(math.add(index(2 * step), math.rem(matrix, 2)), swizzle), kChunk));
  }

  auto aFragType = VectorType::get({4, 4}, i8);
  auto accType = VectorType::get({2, 2}, i32);
  Value zeroAcc = arith::ConstantOp::create(
      b, loc, cast<TypedAttr>(b.getZeroAttr(accType)));
  Value zeroW = arith::ConstantOp::create(
      b, loc, cast<TypedAttr>(b.getZeroAttr(VectorType::get({2, 4}, i8))));
  int64_t slices = (depth + kSlice - 1) / kSlice;
  for (int64_t ahead = 0; ahead + 1 < kStages; ++ahead)
    loadSlice(index(ahead), index(ahead));
  SmallVector<Value> accInit(kMTiles * kNTiles, zeroAcc);
  auto loop =
      scf::ForOp::create(b, loc, index(0), index(slices), index(1), accInit);
  {
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(loop.getBody());
    Value slice = loop.getInductionVar();
    SmallVector<Value> acc(loop.getRegionIterArgs());
    // Slice + kStages - 1 loads while this one is multiplied (past the
    // last slice every chunk is zero-filled: nothing reads those stages);
    // then this one's copies (all but the last kStages - 1 groups) are
    // waited for.
    Value next = math.add(slice, index(kStages - 1));
    Value group = loadSlice(next, math.rem(next, kStages));
    nvgpu::DeviceAsyncWaitOp::create(b, loc, group,
                                     b.getI32IntegerAttr(kStages - 1));
    gpu::BarrierOp::create(b, loc);
    Value stage = math.rem(slice, kStages);
    for (int64_t step = 0; step < kSlice / 32; ++step) {
      SmallVector<Value> aFrag, wFrag;
      for (int64_t i = 0; i < kMTiles; ++i)
        aFrag.push_back(nvgpu::LdMatrixOp::create(
            b, loc, aFragType, sharedA,
            ValueRange{stage, math.add(aRow, index(16 * i)), aColumn[step]},
            /*transpose=*/false, /*numTiles=*/4));
      for (int64_t j = 0; j < kNTiles / 2; ++j) {
        Value pair = nvgpu::LdMatrixOp::create(
            b, loc, aFragType, sharedW,
            ValueRange{stage, math.add(wRow, index(16 * j)), wColumn[step]},
            /*transpose=*/false, /*numTiles=*/4);
        // (Rows one at a time: the NVVM lowering of vector ops takes 1-D
        // pieces of 2-D vectors, not strided slices.)
        for (int64_t h = 0; h < 2; ++h) {
          Value frag = zeroW;
          for (int64_t reg = 0; reg < 2; ++reg)
            frag = vector::InsertOp::create(
                b, loc, vector::ExtractOp::create(b, loc, pair, 2 * h + reg),
                frag, reg);
          wFrag.push_back(frag);
        }
      }
      for (int64_t i = 0; i < kMTiles; ++i)
        for (int64_t j = 0; j < kNTiles; ++j)
          acc[i * kNTiles + j] = nvgpu::MmaSyncOp::create(
              b, loc, aFrag[i], wFrag[j], acc[i * kNTiles + j],
              ArrayRef<int64_t>{16, 8, 32});
    }
    // The stage is overwritten by the copies of the next iteration.
    gpu::BarrierOp::create(b, loc);
    scf::YieldOp::create(b, loc, acc);
  }
  // The zero-filling copies issued past the last slice finish before the
  // block exits (an empty group, then a wait for all).
  nvgpu::DeviceAsyncWaitOp::create(
      b, loc, nvgpu::DeviceAsyncCreateGroupOp::create(b, loc, ValueRange{}),
      b.getI32IntegerAttr(0));

  // c0 c1 at row g, c2 c3 at row g + 8; columns 2t, 2t + 1.
  for (int64_t i = 0; i < kMTiles; ++i)
    for (int64_t j = 0; j < kNTiles; ++j)
      for (int64_t h = 0; h < 2; ++h) {
        Value r =
            math.add(math.add(m0, warpRow), math.add(g, index(16 * i + 8 * h)));
        Value pair = vector::ExtractOp::create(
            b, loc, loop.getResult(i * kNTiles + j), h);
        for (int64_t q = 0; q < 2; ++q) {
          Value c = math.add(math.add(n0, warpCol),
                             math.add(math.mul(t, 2), index(8 * j + q)));
          Value ok = arith::AndIOp::create(b, loc, math.lessThan(r, rows),
                                           math.lessThan(c, cols));
          auto store = scf::IfOp::create(b, loc, ok, /*else=*/false);
          OpBuilder::InsertionGuard inner(b);
          b.setInsertionPoint(store.thenBlock()->getTerminator());
          Value v = vector::ExtractOp::create(b, loc, pair, q);
          Value old =
              init ? init
                   : memref::LoadOp::create(b, loc, out, ValueRange{r, c})
                         .getResult();
          v = arith::AddIOp::create(b, loc, old, v);
          if (!epilogue) {
            memref::StoreOp::create(b, loc, v, out, ValueRange{r, c});
            continue;
          }
          // The epilogue's body at its point for (r, c): the rows
          // delinearized over its leading dimensions.
          linalg::GenericOp consumer = epilogue->op;
          ArrayRef<int64_t> shape =
              cast<MemRefType>(consumer.getDpsInits()[0].getType()).getShape();
          SmallVector<Value> point(shape.size());
          point.back() = c;
          Value rest = r;
          for (int64_t d = int64_t(shape.size()) - 2; d >= 0; --d) {
            point[d] = d == 0 ? rest : math.rem(rest, shape[d]);
            if (d > 0)
              rest = math.div(rest, shape[d]);
          }
          Block &body = consumer.getRegion().front();
          IRMapping mapping;
          for (OpOperand &operand : consumer->getOpOperands()) {
            BlockArgument arg = body.getArgument(operand.getOperandNumber());
            if (operand.getOperandNumber() == epilogue->accInput) {
              mapping.map(arg, v);
              continue;
            }
            if (arg.use_empty())
              continue;
            AffineMap map = consumer.getMatchingIndexingMap(&operand);
            SmallVector<Value> indices;
            for (unsigned e = 0; e < map.getNumResults(); ++e)
              indices.push_back(affine::AffineApplyOp::create(
                  b, loc, map.getSubMap({e}), point));
            mapping.map(arg,
                        memref::LoadOp::create(b, loc, operand.get(), indices)
                            .getResult());
          }
          for (Operation &inner : body.without_terminator()) {
            if (auto idx = dyn_cast<linalg::IndexOp>(inner)) {
              mapping.map(idx.getResult(), point[idx.getDim()]);
              continue;
            }
            b.clone(inner, mapping);
          }
          Value result =
              mapping.lookupOrDefault(body.getTerminator()->getOperand(0));
          memref::StoreOp::create(b, loc, result, consumer.getDpsInits()[0],
                                  point);
        }
      }
  if (epilogue)
    fused = epilogue->op;
  return success();
}
