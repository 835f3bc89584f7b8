//===- X86Dot.h - vpdpbusd for the CPU kernels ------------------*- C++ -*-===//
//
// The x86 int8 dot product shared by the generated CPU kernels: VNNI's
// vpdpbusd where the target has it, an exact AVX2 sequence where it does
// not.
//
//===----------------------------------------------------------------------===//

#ifndef QC_LIB_CONVERSION_X86DOT_H
#define QC_LIB_CONVERSION_X86DOT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

#include <string>

namespace mlir::qc {

/// An instruction `text` (AT&T operand order) with operands `operands`
/// under `constraints`, as inline assembly of `type`. Inline assembly, not
/// the intrinsic call: that would have unknown memory effects, which
/// buffer deallocation rejects.
inline Value buildX86Asm(OpBuilder &b, Location loc, Type type,
                         StringRef text, StringRef constraints,
                         ValueRange operands) {
  return LLVM::InlineAsmOp::create(
             b, loc, type, operands, text, constraints,
             /*has_side_effects=*/false, /*is_align_stack=*/false,
             LLVM::TailCallKind::None, LLVM::AsmDialectAttr(), ArrayAttr())
      .getResult(0);
}

/// The error in a kernel pass's `dot-bits` / `vnni` options, naming the
/// pass, or "" where they are valid: 0 (no dot product), 256 or 512 bits,
/// and 256 only without VNNI (the AVX2 sequence).
inline std::string checkDotOptions(StringRef pass, int64_t dotBits,
                                   bool vnni) {
  if (dotBits != 0 && dotBits != 256 && dotBits != 512)
    return (pass + ": dot-bits must be 0, 256 or 512").str();
  if (!vnni && dotBits == 512)
    return (pass + ": without vnni, dot-bits must be 0 or 256 (AVX2)").str();
  return "";
}

/// The int8 dot product a kernel is built with.
struct DotTarget {
  /// Vector width in bits: 512 or 256.
  int64_t bits = 0;
  /// vpdpbusd (AVX-512 VNNI with 512 bits, AVX-VNNI with 256). Without
  /// it, the AVX2 sequence below (256 bits).
  bool vnni = true;
  /// The unsigned operand's bytes are below 128 (int4 codes): the AVX2
  /// sequence may use vpmaddubsw, whose 16-bit pair sums then cannot
  /// saturate (2 * 127 * 128 < 2^15).
  bool smallUnsigned = false;
};

/// acc + the sums of 4 products per 32-bit lane of the unsigned bytes of
/// `unsignedBytes` and the signed bytes of `signedBytes`; all three are
/// vector<L x i32>, L = bits / 32. Exact in every case:
/// - VNNI: one vpdpbusd (EVEX with 512 bits, any of the 32 registers; VEX
///   with 256);
/// - AVX2, small unsigned bytes: vpmaddubsw (pairs to i16), vpmaddwd by
///   ones (pairs of pairs to i32), vpaddd;
/// - AVX2, any bytes: the bytes widened to 16 bits in place (even bytes
///   masked or shifted up and back, odd bytes shifted down), two vpmaddwd
///   and two vpaddd (u8 * s8 pairs fit i32 exactly; vpmaddubsw could
///   saturate).
inline Value buildDot(OpBuilder &b, Location loc, Value unsignedBytes,
                      Value signedBytes, Value acc, const DotTarget &target) {
  Type type = acc.getType();
  if (target.vnni) {
    bool evex = target.bits >= 512;
    return buildX86Asm(b, loc, type,
                       std::string(evex ? "" : "{vex} ") +
                           "vpdpbusd $2, $1, $0",
                       evex ? "=v,v,v,0" : "=x,x,x,0",
                       ValueRange{unsignedBytes, signedBytes, acc});
  }
  auto lanes = cast<VectorType>(type).getNumElements();
  auto splat = [&](int32_t v) -> Value {
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(cast<VectorType>(type),
                                       b.getI32IntegerAttr(v)));
  };
  auto asm2 = [&](StringRef op, Value x, Value y) {
    return buildX86Asm(b, loc, type, (op + " $2, $1, $0").str(), "=x,x,x",
                       ValueRange{x, y});
  };
  if (target.smallUnsigned) {
    Value pairs = asm2("vpmaddubsw", unsignedBytes, signedBytes);
    Value quads = asm2("vpmaddwd", pairs, splat(0x00010001));
    return arith::AddIOp::create(b, loc, acc, quads);
  }
  // 16-bit lanes: even bytes zero-/sign-extended in place, odd bytes
  // shifted down.
  auto halves = VectorType::get({2 * lanes}, b.getI16Type());
  auto as16 = [&](Value v) {
    return vector::BitCastOp::create(b, loc, halves, v).getResult();
  };
  auto as32 = [&](Value v) {
    return vector::BitCastOp::create(b, loc, type, v).getResult();
  };
  Value eight = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(halves, b.getI16IntegerAttr(8)));
  Value uEven = arith::AndIOp::create(b, loc, unsignedBytes, splat(0x00FF00FF));
  Value uOdd = as32(arith::ShRUIOp::create(b, loc, as16(unsignedBytes), eight));
  Value s16 = as16(signedBytes);
  Value sEven = as32(arith::ShRSIOp::create(
      b, loc, arith::ShLIOp::create(b, loc, s16, eight), eight));
  Value sOdd = as32(arith::ShRSIOp::create(b, loc, s16, eight));
  Value even = asm2("vpmaddwd", uEven, sEven);
  Value odd = asm2("vpmaddwd", uOdd, sOdd);
  return arith::AddIOp::create(b, loc, arith::AddIOp::create(b, loc, acc, even),
                               odd);
}

} // namespace mlir::qc

#endif // QC_LIB_CONVERSION_X86DOT_H
