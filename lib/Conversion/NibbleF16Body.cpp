//===- NibbleF16Body.cpp - int4 words times activations in f16 pairs -----===//
//
// See NibbleF16Body.h.
//
//===----------------------------------------------------------------------===//

#include "NibbleF16Body.h"
#include "PackedParams.h"
#include "qc/Numerics/Packing.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

Value qc::buildNibbleF16Sum(OpBuilder &b, Location l, ArrayRef<Value> words,
                            ArrayRef<Value> x, Value scale, Value zeroPoint,
                            bool isSigned) {
  using numerics::NibbleMagic;
  using numerics::NibblePairF16;
  constexpr int64_t kCodes = kNibblesPerWord;
  assert(x.size() == words.size() * kCodes && "8 activations per word");
  Type i32 = b.getI32Type(), f32 = b.getF32Type(), f16 = b.getF16Type();
  auto contract = arith::FastMathFlags::contract;
  auto flags = arith::FastMathFlags::reassoc | contract;
  auto pairType = VectorType::get({2}, f16);
  auto f32Pair = VectorType::get({2}, f32);
  auto constant = [&](int64_t v) -> Value {
    return arith::ConstantOp::create(b, l, b.getI32IntegerAttr(v));
  };
  auto splat = [&](float v) -> Value {
    return arith::ConstantOp::create(
        b, l, DenseElementsAttr::get(pairType, b.getF16FloatAttr(v).getValue()));
  };
  if (scale.getType() != f32)
    scale = arith::ExtFOp::create(b, l, f32, scale);
  // The scaling fma's addends, −(1024 + offset)/16 and (high pairs)
  // −(1024 + 16 · offset)/256, offset = zero point (+ 8), in both halves.
  float signedOffset = isSigned ? 8.0f : 0.0f;
  Value addends[2];
  for (int high = 0; high < 2; ++high) {
    if (!zeroPoint) {
      addends[high] = splat(NibblePairF16::scaledOffset(signedOffset, high));
      continue;
    }
    // −(1024 + step · (zp + signedOffset)) · scale, step 1 or 16.
    float step = NibblePairF16::step(high);
    Value offset = arith::AddFOp::create(
        b, l,
        arith::MulFOp::create(
            b, l, arith::SIToFPOp::create(b, l, f32, zeroPoint),
            arith::ConstantOp::create(b, l, b.getF32FloatAttr(step))),
        arith::ConstantOp::create(
            b, l,
            b.getF32FloatAttr(NibblePairF16::kBase + step * signedOffset)));
    Value scaled = arith::MulFOp::create(
        b, l, offset,
        arith::ConstantOp::create(
            b, l, b.getF32FloatAttr(-NibblePairF16::scale(high))));
    addends[high] = vector::BroadcastOp::create(
        b, l, pairType, arith::TruncFOp::create(b, l, f16, scaled));
  }
  auto i32Vector = VectorType::get({1}, i32);
  // Each chain of kChainWords words sums in f16x2, then converts to f32:
  // longer chains round more (each half of a chain sums 4 · kChainWords
  // products in f16), shorter ones convert more often.
  constexpr size_t kChainWords = 2;
  Value sum, total;
  auto finishChain = [&]() {
    Value halves = arith::ExtFOp::create(b, l, f32Pair, sum);
    Value both = arith::AddFOp::create(
        b, l, vector::ExtractOp::create(b, l, halves, 0),
        vector::ExtractOp::create(b, l, halves, 1), flags);
    total = total ? arith::AddFOp::create(b, l, total, both, flags).getResult()
                  : both;
    sum = Value();
  };
  for (auto [w, source] : llvm::enumerate(words)) {
    if (w && w % kChainWords == 0)
      finishChain();
    Value word = source;
    if (isSigned)
      word = arith::XOrIOp::create(b, l, word,
                                   constant(int32_t(NibbleMagic::kSignFlip)));
    // Pair j holds codes j and j + 4: nibbles 0 and 4 (j even) or 1 and 5
    // (j odd, the high mask) of the word, shifted by 8 for j ≥ 2.
    Value shifted = arith::ShRUIOp::create(b, l, word, constant(8));
    for (int64_t j = 0; j < 4; ++j) {
      bool high = j % 2;
      Value bits = arith::OrIOp::create(
          b, l,
          arith::AndIOp::create(
              b, l, j < 2 ? word : shifted,
              constant(int32_t(high ? NibblePairF16::kHighMask
                                    : NibblePairF16::kMask))),
          constant(int32_t(NibblePairF16::kExponent)));
      Value pair = vector::BitCastOp::create(
          b, l, pairType, vector::BroadcastOp::create(b, l, i32Vector, bits));
      // (mulf + addf with contract, which NVPTX fuses into one f16x2 fma:
      // math.fma would become libdevice's f32 fmaf per half. Exact either
      // way: the product is a power-of-two scaling.)
      Value weight = arith::AddFOp::create(
          b, l,
          arith::MulFOp::create(b, l, pair, splat(NibblePairF16::scale(high)),
                                contract),
          addends[high], contract);
      Value x0 = x[w * kCodes + j], x1 = x[w * kCodes + j + 4];
      if (x0.getType() != f32)
        x0 = arith::ExtFOp::create(b, l, f32, x0);
      if (x1.getType() != f32)
        x1 = arith::ExtFOp::create(b, l, f32, x1);
      Value xPair = arith::TruncFOp::create(
          b, l, pairType,
          vector::FromElementsOp::create(b, l, f32Pair, ValueRange{x0, x1}));
      Value product = arith::MulFOp::create(b, l, weight, xPair, contract);
      sum = sum ? arith::AddFOp::create(b, l, sum, product, contract).getResult()
                : product;
    }
  }
  finishChain();
  return arith::MulFOp::create(
      b, l, total,
      arith::MulFOp::create(
          b, l, scale,
          arith::ConstantOp::create(
              b, l, b.getF32FloatAttr(1.0f / NibblePairF16::kSixteenth))),
      flags);
}
