//===- IntQuantTest.cpp - Integer quantization and sub-byte packing -------===//

#include "qc/Numerics/IntQuant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace mlir::qc::numerics;

namespace {

const IntRange kInt8{-128, 127};
const IntRange kUInt8{0, 255};
const IntRange kInt4{-8, 7};
const IntRange kUInt4{0, 15};

TEST(RoundHalfToEven, Ties) {
  EXPECT_EQ(roundHalfToEven(0.5), 0.0);
  EXPECT_EQ(roundHalfToEven(1.5), 2.0);
  EXPECT_EQ(roundHalfToEven(2.5), 2.0);
  EXPECT_EQ(roundHalfToEven(3.5), 4.0);
  EXPECT_EQ(roundHalfToEven(-0.5), 0.0);
  EXPECT_EQ(roundHalfToEven(-1.5), -2.0);
  EXPECT_EQ(roundHalfToEven(-2.5), -2.0);
  EXPECT_EQ(roundHalfToEven(-3.5), -4.0);
}

TEST(RoundHalfToEven, NonTies) {
  EXPECT_EQ(roundHalfToEven(0.49999997), 0.0);
  EXPECT_EQ(roundHalfToEven(0.50000003), 1.0);
  EXPECT_EQ(roundHalfToEven(2.5000002), 3.0);
  EXPECT_EQ(roundHalfToEven(-2.4999998), -2.0);
  EXPECT_EQ(roundHalfToEven(-7.6), -8.0);
  EXPECT_EQ(roundHalfToEven(1e300), 1e300);
  EXPECT_TRUE(std::isnan(roundHalfToEven(std::nan(""))));
}

TEST(IntRange, Widths) {
  Result<IntRange> i8 = intRange(8, true);
  ASSERT_TRUE(i8);
  EXPECT_EQ(i8->qmin, -128);
  EXPECT_EQ(i8->qmax, 127);
  Result<IntRange> u4 = intRange(4, false);
  ASSERT_TRUE(u4);
  EXPECT_EQ(u4->qmin, 0);
  EXPECT_EQ(u4->qmax, 15);
  Result<IntRange> i3 = intRange(3, true);
  ASSERT_TRUE(i3);
  EXPECT_EQ(i3->qmin, -4);
  EXPECT_EQ(i3->qmax, 3);
  Result<IntRange> u16 = intRange(16, false);
  ASSERT_TRUE(u16);
  EXPECT_EQ(u16->qmax, 65535);
}

TEST(IntRange, RejectsUnsupportedWidths) {
  Result<IntRange> one = intRange(1, true);
  ASSERT_FALSE(one);
  EXPECT_NE(one.error().find("bit width 1"), std::string::npos) << one.error();
  EXPECT_FALSE(intRange(17, false));
  EXPECT_FALSE(intRange(0, false));
}

TEST(QuantizeInt, RoundsHalfToEvenBeforeAddingTheZeroPoint) {
  // scale 0.5: x / scale = 0.5, 1.5, -2.5.
  EXPECT_EQ(quantizeInt(0.25f, 0.5f, 0, kInt8), 0);
  EXPECT_EQ(quantizeInt(0.75f, 0.5f, 0, kInt8), 2);
  EXPECT_EQ(quantizeInt(-1.25f, 0.5f, 0, kInt8), -2);
  // round(0.5) + 1 = 1; adding the zero point first would give round(1.5) = 2.
  EXPECT_EQ(quantizeInt(0.5f, 1.0f, 1, kUInt8), 1);
  // round(-1.5) + 3 = -2 + 3 = 1.
  EXPECT_EQ(quantizeInt(-1.5f, 1.0f, 3, kUInt8), 1);
}

TEST(QuantizeInt, Saturates) {
  EXPECT_EQ(quantizeInt(100.0f, 0.5f, 0, kInt8), 127);
  EXPECT_EQ(quantizeInt(-100.0f, 0.5f, 0, kInt8), -128);
  EXPECT_EQ(quantizeInt(63.75f, 0.5f, 0, kInt8), 127); // 127.5 -> 128 -> 127
  EXPECT_EQ(quantizeInt(-64.25f, 0.5f, 0, kInt8), -128);
  EXPECT_EQ(quantizeInt(7.4f, 1.0f, 0, kInt4), 7);
  EXPECT_EQ(quantizeInt(7.6f, 1.0f, 0, kInt4), 7);
  EXPECT_EQ(quantizeInt(-9.0f, 1.0f, 0, kInt4), -8);
  EXPECT_EQ(quantizeInt(-3.0f, 1.0f, 2, kUInt4), 0);
  EXPECT_EQ(quantizeInt(1e30f, 1e-30f, 0, kInt8), 127);
  EXPECT_EQ(quantizeInt(std::numeric_limits<float>::infinity(), 1.0f, 0, kInt8),
            127);
  EXPECT_EQ(
      quantizeInt(-std::numeric_limits<float>::infinity(), 1.0f, 0, kInt8),
      -128);
}

TEST(QuantizeInt, NaNGoesToTheZeroPoint) {
  EXPECT_EQ(quantizeInt(std::nanf(""), 0.1f, 77, kUInt8), 77);
  EXPECT_EQ(quantizeInt(std::nanf(""), 0.1f, 0, kInt8), 0);
}

TEST(DequantizeInt, HandComputed) {
  EXPECT_EQ(dequantizeInt(5, 0.25f, 3), 0.5f);
  EXPECT_EQ(dequantizeInt(-8, 0.5f, 0), -4.0f);
  EXPECT_EQ(dequantizeInt(0, 0.125f, 128), -16.0f);
}

TEST(SymmetricParams, ScaleIsAmaxOverQmax) {
  AffineParams p = symmetricParams(127.0f, kInt8);
  EXPECT_EQ(p.scale, 1.0f);
  EXPECT_EQ(p.zeroPoint, 0);
  EXPECT_EQ(symmetricParams(3.5f, kInt4).scale, 0.5f);
  EXPECT_FLOAT_EQ(symmetricParams(2.0f, kInt4).scale, 2.0f / 7.0f);
  // A negative "amax" (e.g. a min passed by mistake) is taken by magnitude.
  EXPECT_EQ(symmetricParams(-14.0f, kInt4).scale, 2.0f);
}

TEST(SymmetricParams, DegenerateScalesBecomeOne) {
  EXPECT_EQ(symmetricParams(0.0f, kInt8).scale, 1.0f);
  EXPECT_EQ(symmetricParams(1e-45f, kInt8).scale, 1.0f); // underflows to 0
  EXPECT_EQ(symmetricParams(std::nanf(""), kInt8).scale, 1.0f);
  EXPECT_EQ(quantizeInt(0.0f, symmetricParams(0.0f, kInt8).scale, 0, kInt8), 0);
}

TEST(AsymmetricParams, HandComputed) {
  // [-1, 3] on uint8: s = 4/255, z = round(1 / s) = round(63.75) = 64.
  AffineParams p = asymmetricParams(-1.0f, 3.0f, kUInt8);
  EXPECT_FLOAT_EQ(p.scale, 4.0f / 255.0f);
  EXPECT_EQ(p.zeroPoint, 64);
  // The same range on signed int8: z = round(-128 + 63.75) = -64.
  p = asymmetricParams(-1.0f, 3.0f, kInt8);
  EXPECT_FLOAT_EQ(p.scale, 4.0f / 255.0f);
  EXPECT_EQ(p.zeroPoint, -64);
  // [-3, 4.5] on uint4: s = 7.5 / 15 = 0.5, z = 3 / 0.5 = 6.
  p = asymmetricParams(-3.0f, 4.5f, kUInt4);
  EXPECT_EQ(p.scale, 0.5f);
  EXPECT_EQ(p.zeroPoint, 6);
}

TEST(AsymmetricParams, ZeroPointTieRoundsToEven) {
  // [-0.25, 7.25] on uint4: s = 0.5, -min / s = 0.5 exactly -> 0.
  AffineParams p = asymmetricParams(-0.25f, 7.25f, kUInt4);
  EXPECT_EQ(p.scale, 0.5f);
  EXPECT_EQ(p.zeroPoint, 0);
  // [-0.75, 6.75]: -min / s = 1.5 -> 2.
  p = asymmetricParams(-0.75f, 6.75f, kUInt4);
  EXPECT_EQ(p.zeroPoint, 2);
}

TEST(AsymmetricParams, RangeIsWidenedToContainZero) {
  // [2, 6] -> [0, 6]: s = 6/255, z = 0.
  AffineParams p = asymmetricParams(2.0f, 6.0f, kUInt8);
  EXPECT_FLOAT_EQ(p.scale, 6.0f / 255.0f);
  EXPECT_EQ(p.zeroPoint, 0);
  // [-6, -2] -> [-6, 0]: z = 255.
  p = asymmetricParams(-6.0f, -2.0f, kUInt8);
  EXPECT_FLOAT_EQ(p.scale, 6.0f / 255.0f);
  EXPECT_EQ(p.zeroPoint, 255);
  p = asymmetricParams(0.0f, 0.0f, kUInt8);
  EXPECT_EQ(p.scale, 1.0f);
  EXPECT_EQ(p.zeroPoint, 0);
}

// The examples of the ONNX DynamicQuantizeLinear specification, with their
// published outputs. The first one depends on fp32 division: -2.5 / scale is
// 127.4999924 (not the tie 127.5) and 0.5 / scale rounds to exactly 25.5.
TEST(DynamicQuantizeLinear, OnnxSpecificationExamples) {
  const float x1[] = {0, 2, -3, -2.5f, 1.34f, 0.5f};
  DynamicQuantized q = dynamicQuantizeLinear(x1, 6);
  EXPECT_FLOAT_EQ(q.scale, 0.0196078438f);
  EXPECT_EQ(q.zeroPoint, 153);
  EXPECT_EQ(q.values, (std::vector<uint8_t>{153, 255, 0, 26, 221, 179}));

  const float x2[] = {-1.0f, -2.1f, -1.3f, -2.5f, -3.34f, -4.0f};
  q = dynamicQuantizeLinear(x2, 6);
  EXPECT_FLOAT_EQ(q.scale, 0.0156862754f);
  EXPECT_EQ(q.zeroPoint, 255);
  EXPECT_EQ(q.values, (std::vector<uint8_t>{191, 121, 172, 96, 42, 0}));

  const float x3[] = {1, 2.5f, 3.2f, 4.6f, 4.8f, 5};
  q = dynamicQuantizeLinear(x3, 6);
  EXPECT_EQ(q.zeroPoint, 0);
  EXPECT_EQ(q.values, (std::vector<uint8_t>{51, 127, 163, 235, 245, 255}));
}

TEST(DynamicQuantizeLinear, AllZeroInputGetsScaleOne) {
  const float x[] = {0, 0, 0};
  DynamicQuantized q = dynamicQuantizeLinear(x, 3);
  EXPECT_EQ(q.scale, 1.0f);
  EXPECT_EQ(q.zeroPoint, 0);
  EXPECT_EQ(q.values, (std::vector<uint8_t>{0, 0, 0}));
}

TEST(PackInt4, SignedLowNibbleFirst) {
  // -8 -> 0x8, 7 -> 0x7, -1 -> 0xF, 0 -> 0x0, 3 -> 0x3 (odd count: pad 0).
  const int32_t codes[] = {-8, 7, -1, 0, 3};
  Result<std::vector<uint8_t>> packed = packInt4(codes, 5, /*isSigned=*/true);
  ASSERT_TRUE(packed) << packed.error();
  EXPECT_EQ(*packed, (std::vector<uint8_t>{0x78, 0x0F, 0x03}));
  EXPECT_EQ(unpackInt4(packed->data(), 5, /*isSigned=*/true),
            (std::vector<int32_t>{-8, 7, -1, 0, 3}));
}

TEST(PackInt4, Unsigned) {
  const int32_t codes[] = {1, 15, 2, 8};
  Result<std::vector<uint8_t>> packed = packInt4(codes, 4, /*isSigned=*/false);
  ASSERT_TRUE(packed) << packed.error();
  EXPECT_EQ(*packed, (std::vector<uint8_t>{0xF1, 0x82}));
  EXPECT_EQ(unpackInt4(packed->data(), 4, /*isSigned=*/false),
            (std::vector<int32_t>{1, 15, 2, 8}));
  // The same bytes read as signed.
  EXPECT_EQ(unpackInt4(packed->data(), 4, /*isSigned=*/true),
            (std::vector<int32_t>{1, -1, 2, -8}));
}

TEST(PackInt4, RejectsOutOfRangeCodes) {
  const int32_t signedCodes[] = {0, 8};
  Result<std::vector<uint8_t>> bad = packInt4(signedCodes, 2, true);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("index 1"), std::string::npos) << bad.error();
  const int32_t unsignedCodes[] = {-1};
  EXPECT_FALSE(packInt4(unsignedCodes, 1, false));
}

TEST(PackSubByte, TwoBitCodes) {
  // 0 | 1 << 2 | 2 << 4 | 3 << 6 = 0xE4.
  const int32_t codes[] = {0, 1, 2, 3, 1};
  Result<std::vector<uint8_t>> packed = packSubByte(codes, 5, 2, false);
  ASSERT_TRUE(packed) << packed.error();
  EXPECT_EQ(*packed, (std::vector<uint8_t>{0xE4, 0x01}));
  EXPECT_EQ(unpackSubByte(packed->data(), 5, 2, false),
            (std::vector<int32_t>{0, 1, 2, 3, 1}));
  EXPECT_EQ(unpackSubByte(packed->data(), 4, 2, true),
            (std::vector<int32_t>{0, 1, -2, -1}));
  EXPECT_FALSE(packSubByte(codes, 5, 3, false));
}

} // namespace
