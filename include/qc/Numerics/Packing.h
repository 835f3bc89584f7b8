//===- Packing.h - byte layouts of low-bit weights ---------------*- C++ -*-===//
//
// Plain C++ (no MLIR). How the integer codes of a weight W[n][k] (n output
// channels, k the reduction axis) are arranged in bytes for the kernel that
// reads them. A code is its stored integer: −8..7 for signed 4-bit, 0..15
// for unsigned, −128..127 or 0..255 for 8 bits; a nibble holds code & 0xF
// and unpacking sign-extends signed ones. Scales and zero points are not
// part of the layout (they stay in the weight's !quant.uniform type, f32
// per row or [n][k/g] per group, row-major, which is how both kernels read
// them).
//
// Layouts (the byte offset of code (n, k)):
//
// - Nibbles (4-bit only): row-major, two codes per byte along k; code k
//   even in the low nibble, k odd in the high one (ONNX MatMulNBits' order).
//   Needs k even. byte = (n·k_total + k) / 2.
//
// - VNNI: what one x86 `vpdpbusd` multiplies. Tiles of 16 output channels;
//   in a tile, groups of 4 consecutive k, each group 16 lanes × 4 bytes (a
//   64-byte zmm load: lane j, byte p = code (16t + j, 4g + p)).
//   8 bits: tile t, group g at byte 64·(t·k/4 + g). Needs n % 16 = 0 and
//   k % 4 = 0.
//   4 bits: the same tiles over groups of 8 k, 64 bytes each: lane j, byte p
//   holds code (16t + j, 8g + p) in the low nibble and (16t + j, 8g + 4 + p)
//   in the high one, so `and 0x0F` and `shift right 4` give the two VNNI
//   vectors of k = 8g..8g+3 and 8g+4..8g+7. Needs n % 16 = 0, k % 8 = 0.
//
// - MMA (4-bit only): the B operand of NVIDIA `mma.sync.m16n8k16` (fp16
//   after expansion), two k16 steps per 32-bit word. Tiles of 8 output
//   channels × 32 k, ordered [n/8][k/32], each 32 words (one per lane, 128
//   bytes, a coalesced warp load). Lane l holds, for n = 8t + l/4 and
//   c = 2·(l % 4), the 8 codes e0..e7 = k of the tile's
//   c, c+1, c+8, c+9 (first k16 step: registers b0, b1) and
//   16+c, 16+c+1, 16+c+8, 16+c+9 (second step). Nibble i of the word
//   (bits 4i..4i+3) holds e[order[i]] with order = 0, 2, 4, 6, 1, 3, 5, 7:
//   (word >> 4j) & 0x000F000F then gives e(2j) and e(2j+1) in the two
//   16-bit halves, ready for the magic-number int4 → fp16 conversion.
//   Needs n % 8 = 0, k % 32 = 0.
//
//===----------------------------------------------------------------------===//

#ifndef QC_NUMERICS_PACKING_H
#define QC_NUMERICS_PACKING_H

#include "qc/Numerics/Result.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::qc::numerics {

enum class PackedLayout { Nibbles, VNNI, MMA };

/// "nibbles", "vnni", "mma".
const char *packedLayoutName(PackedLayout layout);
std::optional<PackedLayout> parsePackedLayout(const std::string &name);

/// Why `layout` cannot hold an n × k weight of `bits`-bit codes (bits 4 or
/// 8), or "" when it can.
std::string packedLayoutError(PackedLayout layout, int64_t bits, int64_t n,
                              int64_t k);

/// The number of bytes of an n × k weight of `bits`-bit codes in `layout`
/// (n·k·bits / 8 for every layout); the shape must be valid.
int64_t packedBytes(PackedLayout layout, int64_t bits, int64_t n, int64_t k);

/// The byte holding code (i, j) of an n × k weight, and whether it is in
/// the high nibble (always false for 8 bits).
struct PackedPosition {
  int64_t byte;
  bool high;
};
PackedPosition packedPosition(PackedLayout layout, int64_t bits, int64_t n,
                              int64_t k, int64_t i, int64_t j);

/// Packs row-major codes[n·k]; fails on a shape the layout cannot hold or
/// a code outside the range of `bits` (signed or not).
Result<std::vector<uint8_t>> pack(PackedLayout layout, int64_t bits,
                                  bool isSigned, int64_t n, int64_t k,
                                  const int32_t *codes);

/// The row-major codes[n·k] of packed bytes (sign-extended when `isSigned`).
std::vector<int32_t> unpack(PackedLayout layout, int64_t bits, bool isSigned,
                            int64_t n, int64_t k, const uint8_t *bytes);

/// The 4-bit VNNI layout with `lanes` output channels per tile (16: a zmm
/// register, the layout above; 8: a ymm one), made from the same weight in
/// `nibbles` read as n × wordsPerRow 32-bit words (word w of row i holds
/// codes 8w..8w+7, code 8w + c in bits 4c..4c+3). The result is
/// [n/lanes][wordsPerRow][lanes] words: word (t, w, j) holds row
/// lanes·t + j's codes 8w + p in the low nibble and 8w + 4 + p in the high
/// one of byte p. With `biasSigned`, every nibble is XORed with 8 (signed
/// code c becomes the unsigned c + 8 that vpdpbusd's unsigned operand
/// takes). Needs n % lanes = 0 (not checked: the caller's precondition).
std::vector<uint32_t> nibblesToVnniWords(const uint32_t *words, int64_t n,
                                         int64_t wordsPerRow, int64_t lanes,
                                         bool biasSigned);

/// How the tensor-core W4A16 GPU kernel (mma.sync m16n8k16: f16 A and B,
/// f32 accumulators) reads `nibbles` words as they are, so that one weight
/// layout serves it and the GEMV. A product's order along k does not matter
/// as long as A and B agree on it, and in m16n8k16 the thread t = lane % 4
/// holds the same four k positions (2t, 2t + 1, 2t + 8, 2t + 9: fragment
/// elements e = 0..3) of A's rows g and g + 8 and of B's column g
/// (g = lane / 4). So a warp step covers a chunk of kChunk codes of 8
/// columns in kSteps k-steps: thread t reads its column's 4 words at word
/// 4t of the chunk (one 128-bit load), and per word the 8 activations of
/// each row (two 128-bit loads); element e of k-step j is code(t, j, e) of
/// the chunk, nibble(j, e) of the thread's word word(j). Every code of the
/// chunk is used exactly once.
///
/// The order within a word pairs nibble i with nibble i + 4 in one B
/// register (elements 0, 1 and 2, 3 of a k-step), because that is the pair
/// one lop3 expands to two f16 values at once (NibblePairF16): register r
/// of k-step j comes from the word shifted right by pairShift(j, r).
struct MmaNibbles {
  static constexpr int64_t kChunk = 128;     // codes per column and step
  static constexpr int64_t kThreadCodes = 32; // per thread: 4 words
  static constexpr int64_t kSteps = 8;       // m16n8k16 steps per chunk
  static int64_t word(int64_t j) { return j / 2; }
  static int64_t nibble(int64_t j, int64_t e) {
    return 2 * (j % 2) + (e / 2) + 4 * (e % 2);
  }
  static int64_t code(int64_t t, int64_t j, int64_t e) {
    return kThreadCodes * t + 8 * word(j) + nibble(j, e);
  }
  /// The right shift of the word whose nibbles 0 and 4 are register r
  /// (elements 2r, 2r + 1) of k-step j.
  static int pairShift(int64_t j, int64_t r) {
    return int(4 * (2 * (j % 2) + r));
  }
};

/// Two codes of a `nibbles` word to two f16 values in one instruction:
/// (source & kMask) | kExponent (one PTX lop3) puts nibble 0 of `source`
/// under the exponent of 1024.0 in the low half and nibble 4 in the high
/// half, giving the f16 pair (1024 + u0, 1024 + u4), exactly; subtracting
/// 1024 + offset (an integer) leaves u − offset, exactly (f16 holds every
/// integer up to 2048).
///
/// The GEMV scales instead of subtracting: one f16x2 fma, pair · 1/16 −
/// (1024 + offset)/16, gives (u − offset)/16, also exactly (every operand
/// and the result need at most 11 significant bits), so that its products
/// with f16 activations stay 16 times further from f16's overflow. The
/// nibbles one place higher (mask kHighMask: nibbles 1 and 5) need no
/// shift: they give 1024 + 16u, and · 1/256 − (1024 + 16 · offset)/256 is
/// (u − offset)/16 as well; so a word's four pairs take one shift (by 8).
struct NibblePairF16 {
  static constexpr uint32_t kMask = 0x000F000F;
  static constexpr uint32_t kExponent = 0x64006400; // 1024.0 in both halves
  static constexpr float kBase = 1024.0f;
  static constexpr float kSixteenth = 0.0625f;
  static constexpr uint32_t kHighMask = 0x00F000F0;
  /// The two halves' bits of the pair expanded from `source` (from its
  /// nibbles 1 and 5 with `high`).
  static uint32_t expand(uint32_t source, bool high = false) {
    return (source & (high ? kHighMask : kMask)) | kExponent;
  }
  /// The factor of the scaling fma: 1/16, or 1/256 for a high pair.
  static float scale(bool high = false) {
    return high ? kSixteenth * kSixteenth : kSixteenth;
  }
  /// What one step of a code adds to the expanded pair: 1, or 16 for a
  /// high pair.
  static float step(bool high = false) { return high ? 16.0f : 1.0f; }
  /// The addend of the scaling fma for an integer `offset` (the zero point,
  /// + 8 for signed codes): −(1024 + offset)/16, or −(1024 + 16 · offset)
  /// /256 for a high pair.
  static float scaledOffset(float offset, bool high = false) {
    return -(kBase + step(high) * offset) * scale(high);
  }
};

/// How a kernel expands a 32-bit word of `nibbles` (codes k..k+7, code
/// k + i in bits 4i..4i+3) into floats with one integer op per code and
/// no int -> float conversion (a quarter-rate instruction on NVIDIA GPUs):
///
/// - signed codes: the word is first XORed with 0x88888888, mapping code c
///   to u = c + 8 (so the zero point grows by 8); unsigned: u = c;
/// - nibble i stays where it is, at bit shift(i) = 4i, for i < 5; nibbles
///   5..7 come from the word shifted right by 20 (one shift for the three),
///   at 4(i − 5), so that every nibble lies within the 23 mantissa bits
///   (bit 23 is the exponent's lowest);
/// - (source & (0xF << shift)) | (the bits of 2^23) is the float
///   2^23 + u·2^shift, and subtracting 2^23 leaves u·2^shift;
/// - the kernel multiplies that by x·2^−shift (the activation, prescaled
///   once for all the rows that share it) and subtracts
///   zeroPoint·Σx per word.
///
/// Every value is an integer below 2^24 times a power of two, so each step
/// is exact and x·2^−shift·(u·2^shift) rounds like x·u.
struct NibbleMagic {
  static constexpr uint32_t kExponent = 0x4B000000; // the bits of 2^23
  static constexpr float kBase = 8388608.0f;         // 2^23
  static constexpr uint32_t kSignFlip = 0x88888888;
  /// The word as the kernel reads it (signed words XOR kSignFlip).
  static uint32_t prepare(uint32_t word, bool isSigned) {
    return isSigned ? word ^ kSignFlip : word;
  }
  /// The bit position of nibble i in its source.
  static int shift(int i) { return i < 5 ? 4 * i : 4 * (i - 5); }
  /// The source of nibble i: the prepared word, or it shifted right by 20.
  static uint32_t source(uint32_t prepared, int i) {
    return i < 5 ? prepared : prepared >> kHighShift;
  }
  static constexpr int kHighShift = 20;
  static constexpr int kInPlace = 5; // nibbles 0..4 stay in place
  /// u·2^shift(i) for nibble i of a prepared word, by the bit trick.
  static float scaled(uint32_t prepared, int i);
  /// The zero point the kernel subtracts from u: the code's, + 8 for
  /// signed codes.
  static float zeroPoint(bool isSigned, int32_t zeroPoint) {
    return float(zeroPoint + (isSigned ? 8 : 0));
  }
};

} // namespace mlir::qc::numerics

#endif // QC_NUMERICS_PACKING_H
