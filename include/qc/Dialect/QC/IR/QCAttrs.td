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

#endif // QC_DIALECT_QC_IR_QCATTRS_TD
