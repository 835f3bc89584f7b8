//===- Packing.cpp - byte layouts of low-bit weights ----------------------===//

#include "qc/Numerics/Packing.h"

#include <cstring>

namespace mlir::qc::numerics {

const char *packedLayoutName(PackedLayout layout) {
  switch (layout) {
  case PackedLayout::Nibbles:
    return "nibbles";
  case PackedLayout::VNNI:
    return "vnni";
  case PackedLayout::MMA:
    return "mma";
  }
  return "?";
}

std::optional<PackedLayout> parsePackedLayout(const std::string &name) {
  for (PackedLayout l :
       {PackedLayout::Nibbles, PackedLayout::VNNI, PackedLayout::MMA})
    if (name == packedLayoutName(l))
      return l;
  return std::nullopt;
}

std::string packedLayoutError(PackedLayout layout, int64_t bits, int64_t n,
                              int64_t k) {
  std::string name = packedLayoutName(layout);
  std::string shape = std::to_string(n) + " x " + std::to_string(k);
  if (bits != 4 && bits != 8)
    return "layout " + name + " holds 4- or 8-bit codes, not " +
           std::to_string(bits) + "-bit";
  if (n <= 0 || k <= 0)
    return "empty weight " + shape;
  switch (layout) {
  case PackedLayout::Nibbles:
    if (bits != 4)
      return "layout nibbles holds 4-bit codes, not 8-bit";
    if (k % 2)
      return "layout nibbles needs an even reduction size, not " +
             std::to_string(k);
    return "";
  case PackedLayout::VNNI:
    if (n % 16 || k % (bits == 4 ? 8 : 4))
      return "layout vnni needs n % 16 == 0 and k % " +
             std::to_string(bits == 4 ? 8 : 4) + " == 0, but the weight is " +
             shape + " (n x k)";
    return "";
  case PackedLayout::MMA:
    if (bits != 4)
      return "layout mma holds 4-bit codes, not 8-bit";
    if (n % 8 || k % 32)
      return "layout mma needs n % 8 == 0 and k % 32 == 0, but the weight "
             "is " + shape + " (n x k)";
    return "";
  }
  return "unknown layout";
}

int64_t packedBytes(PackedLayout, int64_t bits, int64_t n, int64_t k) {
  return n * k * bits / 8;
}

PackedPosition packedPosition(PackedLayout layout, int64_t bits, int64_t n,
                              int64_t k, int64_t i, int64_t j) {
  switch (layout) {
  case PackedLayout::Nibbles:
    return {(i * k + j) / 2, (j % 2) == 1};
  case PackedLayout::VNNI: {
    int64_t tile = i / 16, lane = i % 16;
    if (bits == 8) {
      int64_t group = j / 4, p = j % 4;
      return {64 * (tile * (k / 4) + group) + 4 * lane + p, false};
    }
    int64_t group = j / 8, r = j % 8;
    return {64 * (tile * (k / 8) + group) + 4 * lane + r % 4, r >= 4};
  }
  case PackedLayout::MMA: {
    int64_t tile = (i / 8) * (k / 32) + j / 32;
    int64_t row = i % 8, kk = j % 32;
    // kk = 16·step + 8·upper + c + pair, c = 2·(lane % 4).
    int64_t step = kk / 16, upper = (kk % 16) / 8, c = kk % 8;
    int64_t lane = 4 * row + c / 2, pair = c % 2;
    int64_t element = 4 * step + 2 * upper + pair; // e0..e7
    // Nibble i holds e[order[i]], order = 0,2,4,6,1,3,5,7: element e sits
    // in nibble e/2 (even e) or 4 + e/2 (odd e).
    int64_t nibble = (element % 2 == 0) ? element / 2 : 4 + element / 2;
    return {4 * (32 * tile + lane) + nibble / 2, nibble % 2 == 1};
  }
  }
  return {0, false};
}

Result<std::vector<uint8_t>> pack(PackedLayout layout, int64_t bits,
                                  bool isSigned, int64_t n, int64_t k,
                                  const int32_t *codes) {
  std::string error = packedLayoutError(layout, bits, n, k);
  if (!error.empty())
    return Result<std::vector<uint8_t>>::failure(error);
  int64_t lo = isSigned ? -(int64_t(1) << (bits - 1)) : 0;
  int64_t hi = isSigned ? (int64_t(1) << (bits - 1)) - 1
                        : (int64_t(1) << bits) - 1;
  std::vector<uint8_t> bytes(packedBytes(layout, bits, n, k), 0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k; ++j) {
      int32_t code = codes[i * k + j];
      if (code < lo || code > hi)
        return Result<std::vector<uint8_t>>::failure(
            "code " + std::to_string(code) + " at (" + std::to_string(i) +
            ", " + std::to_string(j) + ") is outside the " +
            std::to_string(bits) + "-bit range");
      PackedPosition at = packedPosition(layout, bits, n, k, i, j);
      uint8_t value = static_cast<uint8_t>(code);
      if (bits == 8)
        bytes[at.byte] = value;
      else
        bytes[at.byte] |= (value & 0xF) << (at.high ? 4 : 0);
    }
  return bytes;
}

std::vector<int32_t> unpack(PackedLayout layout, int64_t bits, bool isSigned,
                            int64_t n, int64_t k, const uint8_t *bytes) {
  std::vector<int32_t> codes(n * k);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k; ++j) {
      PackedPosition at = packedPosition(layout, bits, n, k, i, j);
      int32_t v = bytes[at.byte];
      if (bits == 4) {
        v = (v >> (at.high ? 4 : 0)) & 0xF;
        if (isSigned && v >= 8)
          v -= 16;
      } else if (isSigned && v >= 128) {
        v -= 256;
      }
      codes[i * k + j] = v;
    }
  return codes;
}

float NibbleMagic::scaled(uint32_t prepared, int i) {
  uint32_t bits =
      (source(prepared, i) & (uint32_t(0xF) << shift(i))) | kExponent;
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value - kBase;
}

std::vector<uint32_t> nibblesToVnniWords(const uint32_t *words, int64_t n,
                                         int64_t wordsPerRow, int64_t lanes,
                                         bool biasSigned) {
  std::vector<uint32_t> out(n * wordsPerRow);
  for (int64_t row = 0; row < n; ++row)
    for (int64_t w = 0; w < wordsPerRow; ++w) {
      uint32_t src = words[row * wordsPerRow + w], dst = 0;
      for (int p = 0; p < 4; ++p) {
        uint32_t low = (src >> (4 * p)) & 0xF;
        uint32_t high = (src >> (4 * (p + 4))) & 0xF;
        dst |= (low | high << 4) << (8 * p);
      }
      if (biasSigned)
        dst ^= NibbleMagic::kSignFlip;
      int64_t tile = row / lanes, lane = row % lanes;
      out[(tile * wordsPerRow + w) * lanes + lane] = dst;
    }
  return out;
}

} // namespace mlir::qc::numerics
