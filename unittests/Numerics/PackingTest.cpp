//===- PackingTest.cpp - byte layouts of low-bit weights ------------------===//

#include "qc/Numerics/Packing.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

using namespace mlir::qc::numerics;

namespace {

std::vector<int32_t> randomCodes(int64_t count, int64_t bits, bool isSigned,
                                 unsigned seed) {
  std::mt19937 rng(seed);
  int lo = isSigned ? -(1 << (bits - 1)) : 0;
  int hi = isSigned ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
  std::uniform_int_distribution<int> dist(lo, hi);
  std::vector<int32_t> codes(count);
  for (int32_t &c : codes)
    c = dist(rng);
  return codes;
}

// unpack(pack(w)) == w for every layout, width and signedness, on shapes of
// several tiles; every byte is used (no two codes share a nibble).
TEST(Packing, RoundTrip) {
  struct Case {
    PackedLayout layout;
    int64_t bits, n, k;
  };
  for (Case c : {Case{PackedLayout::Nibbles, 4, 3, 10},
                 Case{PackedLayout::VNNI, 8, 32, 12},
                 Case{PackedLayout::VNNI, 4, 48, 24},
                 Case{PackedLayout::MMA, 4, 24, 96}})
    for (bool isSigned : {true, false}) {
      std::vector<int32_t> w =
          randomCodes(c.n * c.k, c.bits, isSigned, c.n * 31 + c.k);
      Result<std::vector<uint8_t>> bytes =
          pack(c.layout, c.bits, isSigned, c.n, c.k, w.data());
      ASSERT_TRUE(bytes) << bytes.error();
      EXPECT_EQ(static_cast<int64_t>(bytes->size()), c.n * c.k * c.bits / 8);
      EXPECT_EQ(unpack(c.layout, c.bits, isSigned, c.n, c.k, bytes->data()),
                w)
          << packedLayoutName(c.layout) << " " << c.bits << " bits";
      // A bijection: every (byte, nibble) slot is hit exactly once.
      std::vector<int> hits(bytes->size() * (c.bits == 4 ? 2 : 1), 0);
      for (int64_t i = 0; i < c.n; ++i)
        for (int64_t j = 0; j < c.k; ++j) {
          PackedPosition at = packedPosition(c.layout, c.bits, c.n, c.k, i, j);
          ++hits[c.bits == 4 ? 2 * at.byte + at.high : at.byte];
        }
      for (int h : hits)
        EXPECT_EQ(h, 1);
    }
}

// Nibbles: row-major, even k in the low nibble. Codes [1, -2, 7, -8]:
// bytes 0xE1 (−2 = 0xE high, 1 low) and 0x87.
TEST(Packing, NibblesBytes) {
  const int32_t w[4] = {1, -2, 7, -8};
  Result<std::vector<uint8_t>> bytes = pack(PackedLayout::Nibbles, 4, true,
                                            1, 4, w);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, (std::vector<uint8_t>{0xE1, 0x87}));
}

// VNNI 8-bit, n = 16, k = 8: lane j's 4 bytes of the first 64-byte group
// are codes (j, 0..3); the second group (bytes 64..127) holds k = 4..7.
// With code (i, j) = 8i + j: byte 4·5 + 2 = 22 is code (5, 2) = 42, and
// byte 64 + 4·3 + 1 = 77 is code (3, 5) = 29.
TEST(Packing, VNNI8Bytes) {
  std::vector<int32_t> w(16 * 8);
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 8; ++j)
      w[i * 8 + j] = 8 * i + j;
  Result<std::vector<uint8_t>> bytes =
      pack(PackedLayout::VNNI, 8, false, 16, 8, w.data());
  ASSERT_TRUE(bytes);
  EXPECT_EQ((*bytes)[22], 42);
  EXPECT_EQ((*bytes)[77], 29);
  EXPECT_EQ((*bytes)[0], 0);
  EXPECT_EQ((*bytes)[127], 127);
}

// VNNI 4-bit, n = 16, k = 8: lane j, byte p holds k = p (low) and p + 4
// (high). Code (2, 1) = 3 and (2, 5) = -1 share byte 4·2 + 1 = 9: 0xF3.
TEST(Packing, VNNI4Bytes) {
  std::vector<int32_t> w(16 * 8, 0);
  w[2 * 8 + 1] = 3;
  w[2 * 8 + 5] = -1;
  Result<std::vector<uint8_t>> bytes =
      pack(PackedLayout::VNNI, 4, true, 16, 8, w.data());
  ASSERT_TRUE(bytes);
  for (int b = 0; b < 64; ++b)
    EXPECT_EQ((*bytes)[b], b == 9 ? 0xF3 : 0) << "byte " << b;
}

// The VNNI words made from nibbles words are the VNNI bytes pack() makes
// (16 lanes, random codes), and with 8 lanes the same words regrouped.
// Signed: each nibble then holds c + 8.
TEST(Packing, NibblesToVnniWords) {
  const int64_t n = 32, k = 64, wordsPerRow = k / 8;
  std::vector<int32_t> codes = randomCodes(n * k, 4, true, 7);
  Result<std::vector<uint8_t>> nibbles =
      pack(PackedLayout::Nibbles, 4, true, n, k, codes.data());
  Result<std::vector<uint8_t>> vnni =
      pack(PackedLayout::VNNI, 4, true, n, k, codes.data());
  ASSERT_TRUE(nibbles && vnni);
  std::vector<uint32_t> words(n * wordsPerRow), expected(n * wordsPerRow);
  std::memcpy(words.data(), nibbles->data(), nibbles->size());
  std::memcpy(expected.data(), vnni->data(), vnni->size());
  EXPECT_EQ(nibblesToVnniWords(words.data(), n, wordsPerRow, 16, false),
            expected);
  std::vector<uint32_t> eight =
      nibblesToVnniWords(words.data(), n, wordsPerRow, 8, true);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t kk = 0; kk < k; ++kk) {
      int64_t w = kk / 8, p = kk % 4;
      uint32_t word = eight[((i / 8) * wordsPerRow + w) * 8 + i % 8];
      int shift = 8 * int(p) + (kk % 8 >= 4 ? 4 : 0);
      EXPECT_EQ(int32_t((word >> shift) & 0xF), codes[i * k + kk] + 8)
          << "code (" << i << ", " << kk << ")";
    }
}

// MMA, n = 8, k = 32. Lane 0 (n = 0, c = 0) holds e0..e7 = k 0, 1, 8, 9,
// 16, 17, 24, 25 with nibble order e0 e2 e4 e6 e1 e3 e5 e7. Codes 1..8 at
// those k give the word 0x87654321 read as nibbles 1,3,5,7,2,4,6,8:
// bytes 0x31, 0x75, 0x42, 0x86. Code (1, 0) = 9 is lane 4's e0: byte 16.
TEST(Packing, MMAWord) {
  std::vector<int32_t> w(8 * 32, 0);
  const int ks[8] = {0, 1, 8, 9, 16, 17, 24, 25};
  for (int e = 0; e < 8; ++e)
    w[ks[e]] = e + 1;
  w[32] = 9;
  Result<std::vector<uint8_t>> bytes =
      pack(PackedLayout::MMA, 4, false, 8, 32, w.data());
  ASSERT_TRUE(bytes);
  EXPECT_EQ((*bytes)[0], 0x31);
  EXPECT_EQ((*bytes)[1], 0x75);
  EXPECT_EQ((*bytes)[2], 0x42);
  EXPECT_EQ((*bytes)[3], 0x86);
  EXPECT_EQ((*bytes)[16], 0x09);
  // (word >> 4j) & 0x000F000F yields (e2j, e2j+1) in the 16-bit halves.
  uint32_t word = (*bytes)[0] | (*bytes)[1] << 8 | (*bytes)[2] << 16 |
                  uint32_t((*bytes)[3]) << 24;
  for (int j = 0; j < 4; ++j) {
    uint32_t pair = (word >> (4 * j)) & 0x000F000Fu;
    EXPECT_EQ(pair & 0xFFFF, uint32_t(2 * j + 1));
    EXPECT_EQ(pair >> 16, uint32_t(2 * j + 2));
  }
}

TEST(Packing, Rejects) {
  const int32_t w[4] = {0, 8, 0, 0};
  Result<std::vector<uint8_t>> range =
      pack(PackedLayout::Nibbles, 4, true, 1, 4, w);
  ASSERT_FALSE(range);
  EXPECT_EQ(range.error(), "code 8 at (0, 1) is outside the 4-bit range");
  EXPECT_EQ(packedLayoutError(PackedLayout::VNNI, 4, 8, 64),
            "layout vnni needs n % 16 == 0 and k % 8 == 0, but the weight is "
            "8 x 64 (n x k)");
  EXPECT_EQ(packedLayoutError(PackedLayout::MMA, 8, 8, 32),
            "layout mma holds 4-bit codes, not 8-bit");
  EXPECT_EQ(packedLayoutError(PackedLayout::Nibbles, 4, 2, 3),
            "layout nibbles needs an even reduction size, not 3");
  EXPECT_EQ(packedLayoutError(PackedLayout::MMA, 4, 8, 32), "");
  EXPECT_EQ(parsePackedLayout("vnni"), PackedLayout::VNNI);
  EXPECT_FALSE(parsePackedLayout("tiled"));
}

} // namespace

// The magic-number expansion of a nibbles word (times 2^-shift, minus the
// kernel's zero point) gives code − zero point exactly, for every code of both signednesses and zero points across the
// range (checked against unpack of the same bytes, not the formula).
TEST(Packing, NibbleMagicIsExact) {
  for (bool isSigned : {false, true}) {
    // Each word holds 8 codes; 2 rows × 8 codes cover all 16 values.
    std::vector<int32_t> codes(16);
    for (int i = 0; i < 16; ++i)
      codes[i] = isSigned ? i - 8 : i;
    Result<std::vector<uint8_t>> bytes =
        pack(PackedLayout::Nibbles, 4, isSigned, 2, 8, codes.data());
    ASSERT_TRUE(bytes);
    std::vector<int32_t> expected =
        unpack(PackedLayout::Nibbles, 4, isSigned, 2, 8, bytes->data());
    for (int32_t zeroPoint : {-8, -3, 0, 5, 7, 15}) {
      for (int row = 0; row < 2; ++row) {
        uint32_t word = 0;
        for (int b = 0; b < 4; ++b)
          word |= uint32_t((*bytes)[row * 4 + b]) << (8 * b);
        uint32_t prepared = NibbleMagic::prepare(word, isSigned);
        for (int i = 0; i < 8; ++i) {
          float got = NibbleMagic::scaled(prepared, i) *
                          std::ldexp(1.0f, -NibbleMagic::shift(i)) -
                      NibbleMagic::zeroPoint(isSigned, zeroPoint);
          EXPECT_EQ(got, float(expected[row * 8 + i] - zeroPoint))
              << (isSigned ? "signed" : "unsigned") << " code "
              << expected[row * 8 + i] << " zero point " << zeroPoint;
        }
      }
    }
  }
}

/// The value of IEEE binary16 bits (normal numbers).
static double halfValue(uint32_t bits) {
  int exponent = int((bits >> 10) & 0x1F);
  double mantissa = 1.0 + double(bits & 0x3FF) / 1024.0;
  return ((bits >> 15) ? -1.0 : 1.0) * std::ldexp(mantissa, exponent - 15);
}

/// Whether `v` is a normal binary16 value (at most 11 significant bits).
static bool isHalf(double v) {
  if (v == 0)
    return true;
  int exponent;
  double mantissa = std::frexp(std::fabs(v), &exponent); // [0.5, 1)
  double scaled = std::ldexp(mantissa, 11);
  return scaled == std::floor(scaled) && exponent - 1 >= -14 &&
         exponent - 1 <= 15;
}

// The GEMV's f16 expansion: pair · 1/16 + scaledOffset(offset) is
// (u − offset)/16 with no rounding, for every code and every integer
// offset of unsigned (zero point 0..15) and signed (8 + zero point 0..15)
// codes: the product is a power-of-two scaling of an exact f16, and the
// addend and the exact sum are f16 values, so the fma rounds nothing.
// Both for nibbles 0 and 4 and, with `high`, for nibbles 1 and 5 (the
// pair 1024 + 16u, scaled by 1/256).
TEST(NibblePairF16, ScaledExpansionIsExact) {
  for (bool highPair : {false, true})
    for (uint32_t u = 0; u < 16; ++u) {
      uint32_t codes = u | (15 - u) << 16;
      uint32_t pair =
          NibblePairF16::expand(highPair ? codes << 4 : codes, highPair);
      double low = halfValue(pair & 0xFFFF), high = halfValue(pair >> 16);
      double step = highPair ? 16.0 : 1.0;
      EXPECT_EQ(low, 1024.0 + step * u);
      EXPECT_EQ(high, 1024.0 + step * (15 - u));
      for (int offset = 0; offset <= 23; ++offset) {
        double addend = NibblePairF16::scaledOffset(float(offset), highPair);
        EXPECT_TRUE(isHalf(addend)) << offset;
        double product = low * NibblePairF16::scale(highPair);
        EXPECT_TRUE(isHalf(product)) << u;
        double sum = product + addend; // exact in double
        EXPECT_TRUE(isHalf(sum)) << u << " " << offset;
        EXPECT_EQ(sum, (double(u) - offset) / 16.0) << highPair;
      }
    }
}

// The tensor-core kernel's reading of nibbles words, through an emulation
// of mma.sync m16n8k16 with the PTX ISA's fragment layouts (A: a0..a7 at row
// g for a0, a1, a4, a5 and g + 8 for the others, column 2t + (i & 1) for
// a0..a3 and + 8 for a4..a7; B: b0..b3 at row 2t + (i & 1), + 8 for b2, b3,
// column g; D: d0, d1 at row g, d2, d3 at g + 8, column 2t + (i & 1)). Over
// the 8 k-steps of a chunk the sums equal the plain product of a 16 x 128
// activation block and the 128 x 8 codes; each code is used once.
TEST(Packing, MmaNibblesChunk) {
  const int64_t rows = 16, cols = 8, k = MmaNibbles::kChunk;
  std::vector<int32_t> codes = randomCodes(cols * k, 4, false, 11);
  Result<std::vector<uint8_t>> bytes =
      pack(PackedLayout::Nibbles, 4, false, cols, k, codes.data());
  ASSERT_TRUE(bytes);
  std::vector<uint32_t> words(cols * k / 8);
  std::memcpy(words.data(), bytes->data(), bytes->size());
  std::vector<int32_t> x = randomCodes(rows * k, 8, true, 12);

  std::vector<int> uses(k, 0);
  for (int64_t t = 0; t < 4; ++t)
    for (int64_t j = 0; j < MmaNibbles::kSteps; ++j)
      for (int64_t e = 0; e < 4; ++e)
        ++uses[MmaNibbles::code(t, j, e)];
  EXPECT_EQ(uses, std::vector<int>(k, 1));

  std::vector<int64_t> d(rows * cols, 0);
  for (int64_t j = 0; j < MmaNibbles::kSteps; ++j) {
    // Per lane, the fragments the kernel builds.
    int64_t a[32][8], b[32][4];
    for (int64_t lane = 0; lane < 32; ++lane) {
      int64_t g = lane / 4, t = lane % 4;
      // Element e of row r; the thread's word for column g.
      auto act = [&](int64_t r, int64_t e) {
        return x[r * k + MmaNibbles::code(t, j, e)];
      };
      uint32_t word = words[g * (k / 8) + 4 * t + MmaNibbles::word(j)];
      for (int64_t e = 0; e < 4; ++e)
        b[lane][e] = (word >> (4 * MmaNibbles::nibble(j, e))) & 0xF;
      // The kernel's way to the same values: one lop3 per register, two
      // f16 of 1024 + u.
      for (int64_t r = 0; r < 2; ++r) {
        uint32_t pair = NibblePairF16::expand(
            word >> MmaNibbles::pairShift(j, r));
        EXPECT_EQ(halfValue(pair & 0xFFFF), 1024.0 + b[lane][2 * r]);
        EXPECT_EQ(halfValue(pair >> 16), 1024.0 + b[lane][2 * r + 1]);
      }
      // a0, a1 | a2, a3 | a4, a5 | a6, a7: (row g, e 0 1) (g + 8, e 0 1)
      // (g, e 2 3) (g + 8, e 2 3).
      int64_t order[8][2] = {{g, 0},     {g, 1},     {g + 8, 0}, {g + 8, 1},
                             {g, 2},     {g, 3},     {g + 8, 2}, {g + 8, 3}};
      for (int i = 0; i < 8; ++i)
        a[lane][i] = act(order[i][0], order[i][1]);
    }
    // mma.sync by the PTX layouts: gather A[16][16] and B[16][8].
    int64_t am[16][16], bm[16][8];
    for (int64_t lane = 0; lane < 32; ++lane) {
      int64_t g = lane / 4, t = lane % 4;
      for (int i = 0; i < 8; ++i) {
        int64_t row = g + ((i / 2) % 2) * 8, col = 2 * t + (i % 2) + (i / 4) * 8;
        am[row][col] = a[lane][i];
      }
      for (int i = 0; i < 4; ++i)
        bm[2 * t + (i % 2) + (i / 2) * 8][g] = b[lane][i];
    }
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        for (int64_t kk = 0; kk < 16; ++kk)
          d[r * cols + c] += am[r][kk] * bm[kk][c];
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      int64_t want = 0;
      for (int64_t kk = 0; kk < k; ++kk)
        want += int64_t(x[r * k + kk]) * codes[c * k + kk];
      EXPECT_EQ(d[r * cols + c], want) << "(" << r << ", " << c << ")";
    }
}
