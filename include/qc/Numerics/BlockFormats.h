//===- BlockFormats.h - MXFP4 and NVFP4 block-scaled fp4 ---------*- C++
//-*-===//
//
// Plain C++ (no MLIR): the two block-scaled 4-bit float formats
// (REFERENCES: Formats). Both store E2M1 elements (FloatFormats.h) packed two
// per byte, low nibble first (the first element of a pair in bits 0..3, as
// ONNX packs float4e2m1), and differ in their scales:
//
//   MXFP4 (OCP Microscaling v1.0, section 6.3): blocks of 32 elements share an
//     E8M0 scale 2^e with e = ⌊log₂ amax⌋ − 2 (2 = the largest E2M1
//     exponent), clamped to [−127, 127]; element i is E2M1(x_i / 2^e), round
//     to nearest even, saturating at ±6. 4.25 bits per element.
//
//   NVFP4: blocks of 16 elements; a per-tensor fp32 scale
//     g = amax_tensor / (6 · 448) and per block an FP8 E4M3FN scale
//     s_b = E4M3(amax_block / 6 / g) (saturating); element i is
//     E2M1(x_i / (s_b · g)). Decoding is e2m1 · (s_b · g). 4.5 bits per
//     element. (The recipe of NVIDIA's TensorRT Model Optimizer.)
//
// Blocks are consecutive runs of the flat input; the last block may be short.
// To block along the last axis of a row-major [rows, cols] array whose cols
// is not a multiple of the block size, encode each row separately.
//
//===----------------------------------------------------------------------===//

#ifndef QC_NUMERICS_BLOCKFORMATS_H
#define QC_NUMERICS_BLOCKFORMATS_H

#include <cstdint>
#include <optional>
#include <vector>

namespace mlir::qc::numerics {

/// Elements per MXFP4 block (OCP MX v1.0).
constexpr int64_t kMXFP4BlockSize = 32;
/// Elements per NVFP4 block.
constexpr int64_t kNVFP4BlockSize = 16;

/// An MXFP4-encoded array.
struct MXFP4Tensor {
  int64_t numElements = 0;
  /// ⌈numElements / 2⌉ bytes of E2M1 codes, low nibble first; a trailing
  /// unused nibble is 0.
  std::vector<uint8_t> codes;
  /// ⌈numElements / 32⌉ E8M0 codes, one per block.
  std::vector<uint8_t> scales;
};

/// An NVFP4-encoded array.
struct NVFP4Tensor {
  int64_t numElements = 0;
  /// ⌈numElements / 2⌉ bytes of E2M1 codes, low nibble first.
  std::vector<uint8_t> codes;
  /// ⌈numElements / 16⌉ FP8 E4M3FN codes, one per block.
  std::vector<uint8_t> blockScales;
  /// The per-tensor fp32 scale g.
  float globalScale = 1.0f;
};

/// The unbiased MX shared exponent of a block whose largest magnitude is
/// `amax`: ⌊log₂ amax⌋ − 2, clamped to [−127, 127]. An all-zero block
/// (amax = 0) gets −127, the smallest scale, so that its elements stay 0.
int getMXFP4SharedExponent(float amax);

/// Encodes `x[0 .. n)` as MXFP4. A block containing NaN or ±inf gets the NaN
/// scale 0xFF (OCP: the whole block decodes to NaN) and zero element codes.
MXFP4Tensor encodeMXFP4(const float *x, int64_t n);

/// Decodes an MXFP4 array: e2m1 · 2^(scale − 127) for each element; NaN for
/// every element of a block with scale 0xFF.
std::vector<float> decodeMXFP4(const MXFP4Tensor &tensor);

/// The default NVFP4 per-tensor scale for a tensor whose largest magnitude is
/// `amax`: amax / (6 · 448) in fp32, so that the largest block scale lands on
/// E4M3's max 448. An all-zero tensor gets 1 (any scale encodes it; 1 avoids
/// dividing by zero).
float getNVFP4GlobalScale(float amax);

/// Encodes `x[0 .. n)` as NVFP4. `globalScale` overrides the per-tensor scale
/// (e.g. one calibrated for activations); otherwise getNVFP4GlobalScale of the
/// data's amax is used. A block whose scale rounds to 0 in E4M3 (all zero, or
/// negligible next to the tensor's amax) gets scale code 0 and zero elements.
/// A NaN makes its block's scale NaN (the block decodes to NaN); ±inf
/// saturates like any large value.
NVFP4Tensor encodeNVFP4(const float *x, int64_t n,
                        std::optional<float> globalScale = std::nullopt);

/// Decodes an NVFP4 array: e2m1 · (E4M3(blockScale) · globalScale).
std::vector<float> decodeNVFP4(const NVFP4Tensor &tensor);

} // namespace mlir::qc::numerics

#endif // QC_NUMERICS_BLOCKFORMATS_H
