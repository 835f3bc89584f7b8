//===- Passes.td - transform passes of the qc dialect --------*- tablegen -*-===//
//
// Passes are declared here only (no hand-written constructors) and named
// `qc-<verb>`. Each description states what the pass rewrites, what it leaves
// alone, and the invariant that makes the rewrite legal.
//
//===----------------------------------------------------------------------===//

#ifndef QC_DIALECT_QC_TRANSFORMS_PASSES_TD
#define QC_DIALECT_QC_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def StripObservers : Pass<"qc-strip-observers"> {
  let summary = "Remove calibration taps (qc.observe) once statistics are taken";
  let description = [{
    Replaces every `qc.observe` whose tag matches `tags` (a regular expression
    matched against the whole tag; default: every tag) by its input. A tap
    returns its input unchanged, so the rewrite never changes a number; it only
    drops the side effect of recording a statistic, which is what a model
    compiled for deployment wants.

    Before:
    ```mlir
    %0 = qc.observe min_max %x tag "l0.in" : tensor<4xf32>
    %1 = qc.hadamard %0 : tensor<4xf32>
    ```
    After:
    ```mlir
    %1 = qc.hadamard %x : tensor<4xf32>
    ```

    An invalid regular expression is reported as an error and fails the pass.
  }];
  let options = [
    Option<"tags", "tags", "std::string", /*default=*/"\".*\"",
           "Regular expression (whole-tag match) selecting the taps to remove">
  ];
  let dependentDialects = ["::mlir::qc::QCDialect"];
}

#endif // QC_DIALECT_QC_TRANSFORMS_PASSES_TD
