//===- QCAttrs.td - attributes and enums of the qc dialect ---*- tablegen -*-===//

#ifndef QC_DIALECT_QC_IR_QCATTRS_TD
#define QC_DIALECT_QC_IR_QCATTRS_TD

include "qc/Dialect/QC/IR/QCDialect.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Statistic: what a calibration tap (`qc.observe`) records.
//===----------------------------------------------------------------------===//

def QC_Statistic : I32EnumAttr<"Statistic",
    "the statistic a calibration tap records", [
      I32EnumAttrCase<"MinMax", 0, "min_max">,
      I32EnumAttrCase<"MovingMinMax", 1, "moving_min_max">,
      I32EnumAttrCase<"Histogram", 2, "histogram">,
      I32EnumAttrCase<"AbsMaxPerChannel", 3, "abs_max_per_channel">,
      I32EnumAttrCase<"MeanAbsPerChannel", 4, "mean_abs_per_channel">,
      I32EnumAttrCase<"Gram", 5, "gram">
    ]> {
  let cppNamespace = "::mlir::qc";
  let genSpecializedAttr = 0;
}

def QC_StatisticAttr : EnumAttr<QC_Dialect, QC_Statistic, "statistic"> {
  let summary = "Statistic recorded by a calibration tap";
  let description = [{
    - `min_max`: running minimum and maximum over all elements.
    - `moving_min_max`: exponential moving average of per-batch min and max.
    - `histogram`: a histogram of values, for percentile, KL and MSE ranges.
    - `abs_max_per_channel`: max |x| per channel along `axis` (SmoothQuant).
    - `mean_abs_per_channel`: mean |x| per channel along `axis` (AWQ).
    - `gram`: the sum of x xᵀ over rows, x being vectors along `axis`
      (the Hessian proxy of GPTQ).
  }];
  let assemblyFormat = "`<` $value `>`";
}

def QC_PackedLayoutKind : I32EnumAttr<"PackedLayoutKind",
    "how the codes of a packed weight are arranged in bytes", [
      I32EnumAttrCase<"Nibbles", 0, "nibbles">,
      I32EnumAttrCase<"VNNI", 1, "vnni">,
      I32EnumAttrCase<"MMA", 2, "mma">
    ]> {
  let cppNamespace = "::mlir::qc";
  let genSpecializedAttr = 0;
}

def QC_PackedLayoutAttr : AttrDef<QC_Dialect, "PackedLayout"> {
  let mnemonic = "packed";
  let summary = "The byte layout of a packed low-bit weight";
  let description = [{
    `#qc.packed<kind, bits = B, k_axis = A>`: the codes of a 2-D weight
    (`bits` = 4 or 8 per code) arranged in bytes for the kernel that reads
    them, `k_axis` being the weight's reduction axis (1 for an [N, K]
    weight, `transpose_rhs`; 0 for [K, N]). The kinds, exactly (the byte
    offset of every code), are those of `qc/Numerics/Packing.h`:

    - `nibbles`: row-major over (n, k), two 4-bit codes per byte, even k in
      the low nibble (ONNX MatMulNBits' order).
    - `vnni`: tiles of 16 output channels × 4 k (8 bits) or 8 k (4 bits:
      k and k + 4 share a byte), 64 bytes each — one x86 `vpdpbusd`
      operand (after a nibble mask or shift for 4 bits).
    - `mma`: 4-bit codes as the B fragments of NVIDIA `mma.sync.m16n8k16`,
      tiles of 8 output channels × 32 k, one 32-bit word per lane, nibbles
      interleaved (0, 2, 4, 6, 1, 3, 5, 7) for the int4 → fp16 trick.

    `numerics::unpack` inverts every layout; scales and zero points stay in
    the weight's `!quant.uniform` type.
  }];
  let parameters = (ins EnumParameter<QC_PackedLayoutKind>:$kind,
                        "int64_t":$bits, "int64_t":$kAxis);
  let assemblyFormat = "`<` $kind `,` `bits` `=` $bits `,` `k_axis` `=` $kAxis `>`";
}

#endif // QC_DIALECT_QC_IR_QCATTRS_TD
