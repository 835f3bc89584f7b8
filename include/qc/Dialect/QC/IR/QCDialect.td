//===- QCDialect.td - the qc quantization dialect ------------*- tablegen -*-===//
//
// The `qc` dialect: graph-level ops that quant's passes reason about.
//
//===----------------------------------------------------------------------===//

#ifndef QC_DIALECT_QC_IR_QCDIALECT_TD
#define QC_DIALECT_QC_IR_QCDIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def QC_Dialect : Dialect {
  let name = "qc";
  let cppNamespace = "::mlir::qc";
  let summary = "Graph-level quantization ops: quantize/dequantize, matmul, norms, "
                "online Hadamard, calibration taps";
  let description = [{
    `qc` holds the ops that quant's transform passes reason about. It works on
    tensors with value semantics. Quantized values are tensors whose element type
    is one of upstream MLIR's `!quant.uniform` types: per-tensor, per-axis and
    sub-channel (blockwise). The type carries the scales and zero points, so a
    reader of the IR always knows how to turn stored integers back into real
    numbers; ops never carry those parameters a second time.

    Every op has *reference semantics over real numbers*: a quantized operand means
    its dequantized value, a quantized result means the real result quantized to the
    result type (round half to even, saturating to the storage range). Lowerings may
    use integer arithmetic, but must implement exactly this.

    Ordinary element-wise and shape ops are left to upstream dialects (`arith`,
    `tensor`, `tosa`, `linalg`).
  }];
  let dependentDialects = ["::mlir::quant::QuantDialect"];
  let useDefaultAttributePrinterParser = 1;
  let hasCanonicalizer = 0;
}

class QC_Op<string mnemonic, list<Trait> traits = []>
    : Op<QC_Dialect, mnemonic, traits>;

#endif // QC_DIALECT_QC_IR_QCDIALECT_TD
