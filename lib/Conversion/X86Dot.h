//===- X86Dot.h - vpdpbusd for the CPU kernels ------------------*- C++ -*-===//
//
// The x86 VNNI dot product shared by the generated CPU kernels.
//
//===----------------------------------------------------------------------===//

#ifndef QC_LIB_CONVERSION_X86DOT_H
#define QC_LIB_CONVERSION_X86DOT_H

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"

#include <string>

namespace mlir::qc {

/// acc + the sums of 4 products per 32-bit lane of the unsigned bytes of
/// `unsignedBytes` and the signed bytes of `signedBytes` (vpdpbusd); all
/// three are vector<L x i32>, L = dotBits / 32. Inline assembly (AT&T
/// operand order: the signed bytes, the unsigned ones, the accumulator):
/// the intrinsic call would have unknown memory effects, which buffer
/// deallocation rejects. EVEX with AVX-512 VNNI (any of the 32 registers),
/// VEX with AVX-VNNI.
inline Value buildVpdpbusd(OpBuilder &b, Location loc, Value unsignedBytes,
                           Value signedBytes, Value acc, int64_t dotBits) {
  bool evex = dotBits >= 512;
  std::string text =
      std::string(evex ? "" : "{vex} ") + "vpdpbusd $2, $1, $0";
  std::string constraints = evex ? "=v,v,v,0" : "=x,x,x,0";
  return LLVM::InlineAsmOp::create(
             b, loc, acc.getType(), ValueRange{unsignedBytes, signedBytes, acc},
             text, constraints, /*has_side_effects=*/false,
             /*is_align_stack=*/false, LLVM::TailCallKind::None,
             LLVM::AsmDialectAttr(), ArrayAttr())
      .getResult(0);
}

} // namespace mlir::qc

#endif // QC_LIB_CONVERSION_X86DOT_H
