//===- FloatFormats.h - FP8, FP4 (E2M1) and E8M0 codecs ----------*- C++
//-*-===//
//
// Plain C++ (no MLIR): bit-exact conversion between fp32 and the small float
// formats used for quantization (REFERENCES: Formats, ONNX operators).
//
//   format    bias  max     inf        NaN               −0
//   E4M3FN    7     448     none       S.1111.111        yes
//   E4M3FNUZ  8     240     none       0x80 only         no
//   E5M2      15    57344   S.11111.00 S.11111.{01,10,11} yes
//   E5M2FNUZ  16    57344   none       0x80 only         no
//   E2M1      1     6       none       none              yes
//   E8M0      127   2^127   none       0xFF              no (unsigned)
//
// Encoding rounds to nearest, ties to even, subnormals included, and handles
// out-of-range values as ONNX Cast (opset 19; float4e2m1 from opset 23)
// specifies, with "[x]" meaning x rounded to the target precision with an
// unbounded exponent:
//
//   saturate=true          E4M3FN   E4M3FNUZ  E5M2     E5M2FNUZ   E2M1
//     ±inf                 ±448     NaN       ±57344   NaN        ±6
//     |[x]| > max          ±448     ±240      ±57344   ±57344     ±6
//   saturate=false
//     ±inf                 NaN      NaN       ±inf     NaN        (always
//     |[x]| > max          NaN      NaN       ±inf     NaN         saturates)
//
// NaN encodes as 0x7F | sign (E4M3FN, E5M2) or 0x80 (FNUZ); E2M1 has no NaN
// and ONNX maps NaN to +6. In the FNUZ formats −0 and negative values that
// round to zero encode as +0 (0x80 is NaN). Note: the ONNX specification's
// table is followed for ±inf in the FNUZ formats (NaN); onnxruntime and the
// pre-ml_dtypes onnx.helper saturate them to ±max instead.
//
//===----------------------------------------------------------------------===//

#ifndef QC_NUMERICS_FLOATFORMATS_H
#define QC_NUMERICS_FLOATFORMATS_H

#include <cstdint>

namespace mlir::qc::numerics {

/// The four ONNX 8-bit float formats.
enum class Float8Format { E4M3FN, E4M3FNUZ, E5M2, E5M2FNUZ };

/// The ONNX name of `format` ("float8e4m3fn", ...), for diagnostics.
const char *getFloat8FormatName(Float8Format format);

/// The largest finite value of `format` (448, 240, 57344, 57344).
float getFloat8Max(Float8Format format);

/// Encodes `x` as an 8-bit code of `format` with round-to-nearest-even and
/// the out-of-range behaviour of ONNX Cast selected by `saturate` (see the
/// file comment).
uint8_t floatToFloat8(float x, Float8Format format, bool saturate = true);

/// Decodes an 8-bit code of `format` exactly (every code is representable in
/// fp32); NaN codes give a quiet NaN, E5M2's infinity codes ±inf.
float float8ToFloat(uint8_t code, Float8Format format);

/// Encodes `x` as an E2M1 code in the low nibble (bit 3 = sign): round to
/// nearest even over {0, 0.5, 1, 1.5, 2, 3, 4, 6}, saturating at ±6; ±inf
/// gives ±6 and NaN gives +6, as ONNX Cast to float4e2m1.
uint8_t floatToE2M1(float x);

/// Decodes the E2M1 code in the low nibble of `code` (the high nibble is
/// ignored).
float e2m1ToFloat(uint8_t code);

/// The E8M0 code of 2^exponent, with `exponent` clamped to the finite range
/// [−127, 127] (codes 0x00 .. 0xFE).
uint8_t e8m0FromExponent(int exponent);

/// Decodes an E8M0 scale: 2^(code − 127), NaN for 0xFF. Code 0 is 2^−127,
/// an fp32 subnormal, so it is exact.
float e8m0ToFloat(uint8_t code);

} // namespace mlir::qc::numerics

#endif // QC_NUMERICS_FLOATFORMATS_H
