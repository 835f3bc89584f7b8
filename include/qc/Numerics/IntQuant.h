//===- IntQuant.h - Integer quantization and sub-byte packing ----*- C++
//-*-===//
//
// Plain C++ (no MLIR): uniform integer quantization of single values, the
// (scale, zero point) rules for symmetric and asymmetric b-bit formats, ONNX
// DynamicQuantizeLinear, and packing of 1/2/4-bit values into bytes.
//
// Numerics follow ONNX QuantizeLinear / DequantizeLinear (REFERENCES: ONNX
// operators) bit for bit:
//   q = clamp(round_half_even(x / scale) + zp, qmin, qmax)   (x / scale in
//   fp32) x̂ = (q − zp) · scale                                     (in fp32)
// and the parameter rules of REFERENCES: Formats:
//   symmetric:  q ∈ [−2^{b−1}, 2^{b−1}−1], s = amax / (2^{b−1}−1), zp = 0
//   asymmetric: q ∈ [0, 2^b−1], s = (max−min)/(2^b−1), zp = round(−min/s).
//
//===----------------------------------------------------------------------===//

#ifndef QC_NUMERICS_INTQUANT_H
#define QC_NUMERICS_INTQUANT_H

#include "qc/Numerics/Result.h"

#include <cstdint>
#include <vector>

namespace mlir::qc::numerics {

/// The closed range of integer codes [qmin, qmax] of a format.
struct IntRange {
  int32_t qmin;
  int32_t qmax;
};

/// A scale and zero point: x ≈ (q − zeroPoint) · scale.
struct AffineParams {
  float scale;
  int32_t zeroPoint;
};

/// The smallest and largest bit widths the integer helpers accept.
constexpr int kMinIntBits = 2;
constexpr int kMaxIntBits = 16;

/// Rounds to the nearest integer with ties to even (0.5 → 0, 1.5 → 2,
/// −2.5 → −2), as numpy's rint and ONNX do. Independent of the floating-point
/// environment's rounding mode, unlike std::nearbyint. NaN and ±inf are
/// returned unchanged.
double roundHalfToEven(double x);

/// The code range of a b-bit integer: [−2^{b−1}, 2^{b−1}−1] when `isSigned`,
/// else [0, 2^b−1]. Fails unless kMinIntBits ≤ bits ≤ kMaxIntBits.
Result<IntRange> intRange(int bits, bool isSigned);

/// ONNX QuantizeLinear of one value: clamp(round_half_even(x / scale) + zp)
/// into `range`, with the division done in fp32 like the ONNX reference. NaN
/// maps to the zero point (it dequantizes to 0); ±inf saturate.
int32_t quantizeInt(float x, float scale, int32_t zeroPoint, IntRange range);

/// ONNX DequantizeLinear of one code: (q − zeroPoint) · scale in fp32.
float dequantizeInt(int32_t q, float scale, int32_t zeroPoint);

/// Symmetric parameters for data with absolute maximum `amax`:
/// scale = amax / range.qmax, zero point 0. `range` must be signed (qmax > 0;
/// the extra negative code −2^{b−1} is reachable only by clamping).
///
/// Degenerate scales: when amax / qmax is not a positive number (amax = 0, an
/// all-zero tensor; amax so small that the division underflows to 0; NaN) the
/// scale is 1. Any scale represents all-zero data exactly; 1 is chosen over
/// the smallest normal float because it survives a later cast of the scale to
/// fp16, bf16 or fp8, where FLT_MIN would flush to 0 and divide by zero.
AffineParams symmetricParams(float amax, IntRange range);

/// Asymmetric parameters for data in [min, max]: the range is first widened
/// to contain 0 (as the GPTQ reference quantizer and ONNX
/// DynamicQuantizeLinear do), so that 0 is exactly representable and the zero
/// point lies in [qmin, qmax]; then scale = (max − min) / (qmax − qmin) and
/// zeroPoint = clamp(round_half_even(qmin − min / scale)). With qmin = 0 this
/// is REFERENCES' z = round(−min/s). Degenerate scales become 1 (see
/// symmetricParams).
AffineParams asymmetricParams(float min, float max, IntRange range);

/// The output of ONNX DynamicQuantizeLinear (uint8).
struct DynamicQuantized {
  std::vector<uint8_t> values;
  float scale;
  uint8_t zeroPoint;
};

/// ONNX DynamicQuantizeLinear over `x[0 .. n)`: scale = (max(0, max x) −
/// min(0, min x)) / 255, zp = round(clip(−min / scale, 0, 255)), values =
/// QuantizeLinear(x, scale, zp). Differs from ONNX only for all-zero input,
/// where ONNX divides by a zero scale and this returns scale 1, zp 0.
DynamicQuantized dynamicQuantizeLinear(const float *x, int64_t n);

/// Packs `n` codes of `bits` bits (1, 2 or 4) into ⌈n·bits/8⌉ bytes, the
/// first code in the lowest bits of the first byte (ONNX int4/uint4 and
/// com.microsoft MatMulNBits order); the unused high bits of the last byte
/// are 0. Codes must lie in the signed or unsigned `bits`-bit range
/// (`isSigned`); anything else is an error naming the first bad index.
Result<std::vector<uint8_t>> packSubByte(const int32_t *codes, int64_t n,
                                         int bits, bool isSigned);

/// Inverse of packSubByte: reads `n` codes of `bits` bits (1, 2 or 4) from
/// `bytes`, sign-extending them when `isSigned`. `bytes` must hold at least
/// ⌈n·bits/8⌉ bytes.
std::vector<int32_t> unpackSubByte(const uint8_t *bytes, int64_t n, int bits,
                                   bool isSigned);

/// packSubByte with bits = 4: two codes per byte, low nibble first.
Result<std::vector<uint8_t>> packInt4(const int32_t *codes, int64_t n,
                                      bool isSigned);

/// unpackSubByte with bits = 4.
std::vector<int32_t> unpackInt4(const uint8_t *bytes, int64_t n, bool isSigned);

} // namespace mlir::qc::numerics

#endif // QC_NUMERICS_INTQUANT_H
