//===- QuantizeWeights.cpp - weight-only quantization of float matmuls ----===//
//
// See the pass description in include/qc/Dialect/QC/Transforms/Passes.td.
// The math is numerics::quantizeWeightRTN; this file finds the weights, lays
// the codes and parameters out as a !quant.uniform type and rewires the
// matmul.
//
// Invariant: the new operand stands for dequant(quant(W)) (quant.scast only
// reinterprets the codes), so the matmul computes x · dequant(quant(W)).
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/IR/QCOps.h"
#include "qc/Dialect/QC/Transforms/Passes.h"
#include "qc/Dialect/QC/Transforms/Quantization.h"
#include "qc/Numerics/GPTQ.h"
#include "qc/Numerics/MixedPrecision.h"
#include "qc/Numerics/WeightQuantizer.h"

#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cmath>

namespace mlir::qc {
#define GEN_PASS_DEF_QUANTIZEWEIGHTS
#include "qc/Dialect/QC/Transforms/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

namespace {
struct QuantizeWeightsPass
    : public qc::impl::QuantizeWeightsBase<QuantizeWeightsPass> {
  using QuantizeWeightsBase::QuantizeWeightsBase;

  void runOnOperation() override {
    if (bits != 4 && bits != 8) {
      getOperation()->emitError()
          << "qc-quantize-weights: bits must be 4 or 8, got " << int64_t(bits);
      return signalPassFailure();
    }
    if (group < 0) {
      getOperation()->emitError()
          << "qc-quantize-weights: group must be >= 0, got " << int64_t(group);
      return signalPassFailure();
    }
    if (format != "int" && format != "fp8" && format != "fp8-e5m2" &&
        format != "mxfp4" && format != "nvfp4") {
      getOperation()->emitError()
          << "qc-quantize-weights: unknown format '" << format
          << "' (expected int, fp8, fp8-e5m2, mxfp4 or nvfp4)";
      return signalPassFailure();
    }
    if (format != "int" && method != "rtn") {
      getOperation()->emitError()
          << "qc-quantize-weights: method " << method
          << " applies to integer formats; format " << format
          << " rounds to nearest (method=rtn)";
      return signalPassFailure();
    }
    if (method != "rtn" && method != "rtn-clip" && method != "gptq") {
      getOperation()->emitError()
          << "qc-quantize-weights: unknown method '" << method
          << "' (expected rtn, rtn-clip or gptq)";
      return signalPassFailure();
    }
    KeepFloat keep;
    if (failed(keep.init(getOperation(), "qc-quantize-weights", keepFloat)))
      return signalPassFailure();
    SmallVector<Operation *> layers;
    getOperation()->walk([&](Operation *op) {
      if (isQuantizableLayer(op) && !keep.matches(op))
        layers.push_back(op);
    });
    for (Operation *op : layers)
      if (failed(quantize(op)))
        return signalPassFailure();
  }

  const WeightCalibration *calibration = nullptr;

  /// Quantizes `op`'s weight when it qualifies; failure only for an error
  /// the user must act on (a group size that does not divide K).
  LogicalResult quantize(Operation *op) {
    Value rhs = op->getOperand(1);
    auto rhsType = cast<RankedTensorType>(rhs.getType());
    auto constant = rhs.getDefiningOp<arith::ConstantOp>();
    int64_t n, k;
    std::optional<std::vector<float>> weightRows = readWeightRows(op, n, k);
    if (!weightRows)
      return success();
    std::vector<float> &rows = *weightRows;
    auto matmul = dyn_cast<MatMulOp>(op);
    bool transposed = !matmul || matmul.getTransposeRhs();
    // The pass's format, or the layer's own from qc-assign-precision.
    numerics::WeightFormat f;
    f.kind = std::string(format);
    f.bits = bits;
    f.symmetric = symmetric;
    f.group = matmul ? int64_t(this->group) : 0;
    if (auto assigned = op->getAttrOfType<StringAttr>(kWeightFormatAttr)) {
      numerics::Result<numerics::WeightFormat> parsed =
          numerics::parseWeightFormat(assigned.str());
      if (!parsed)
        return op->emitOpError() << kWeightFormatAttr << ": " << parsed.error();
      f = *parsed;
      if (f.kind == "float")
        return success();
      if (f.kind != "int" && method != "rtn")
        return op->emitOpError()
               << "weight of node '" << getNodeName(op->getLoc()) << "': "
               << kWeightFormatAttr << " '" << assigned.str()
               << "' rounds to nearest, but the method is " << method;
    }
    int64_t group = f.group;
    int64_t bits = f.bits;
    bool symmetric = f.symmetric;
    if (f.kind != "int")
      return quantizeFloat(op, constant, rows, n, k, transposed, f.kind, group);

    numerics::WeightQuantConfig config;
    config.spec.bits = bits;
    config.spec.symmetric = symmetric;
    config.groupSize = group;
    if (method == "rtn-clip")
      config.clipSearch = numerics::ClipSearchConfig();
    if (group > 0 && k % group != 0)
      return op->emitOpError()
             << "weight of node '" << getNodeName(op->getLoc())
             << "': group size " << int64_t(group)
             << " does not divide K = " << k
             << " (choose another --group, or --keep-float this node)";
    numerics::Result<numerics::QuantizedWeight> q =
        numerics::Result<numerics::QuantizedWeight>::failure("");
    if (method == "gptq" && matmul) {
      const std::vector<double> *hessian =
          calibration ? calibration->findHessian(op, k) : nullptr;
      if (!hessian)
        return op->emitOpError()
               << "weight of node '" << getNodeName(op->getLoc())
               << "': method gptq needs calibration data for this matmul "
                  "(quant-compile --calib DIR)";
      numerics::GPTQConfig gptq;
      gptq.weight = config;
      // Act-order with static groups: the better column order, and groups
      // in the original order so inference needs no permutation.
      gptq.actOrder = true;
      gptq.staticGroups = true;
      numerics::Result<numerics::GPTQResult> r = numerics::quantizeWeightGPTQ(
          rows.data(), n, k, hessian->data(), gptq);
      if (!r)
        return op->emitOpError()
               << "GPTQ on the weight of node '" << getNodeName(op->getLoc())
               << "': " << r.error();
      q = std::move(r->weight);
    } else {
      q = numerics::quantizeWeightRTN(rows.data(), n, k, config);
    }
    if (!q)
      return op->emitOpError() << "quantizing the weight of node '"
                              << getNodeName(op->getLoc()) << "': " << q.error();

    MLIRContext *ctx = op->getContext();
    OpBuilder b(op);
    Location loc = constant.getLoc();
    Type storage = IntegerType::get(ctx, bits);
    Type f32 = Float32Type::get(ctx);
    unsigned flags = symmetric ? quant::QuantizationFlags::Signed : 0;
    int64_t groups = q->numGroups() ? q->numGroups() : 1;
    // Codes in the weight's own layout.
    SmallVector<APInt> codes(n * k);
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = 0; i < k; ++i) {
        int64_t at = transposed ? j * k + i : i * n + j;
        codes[at] = APInt(bits, uint64_t(int64_t(q->codes[j * k + i])),
                          /*isSigned=*/symmetric, /*implicitTrunc=*/true);
      }
    auto codesType = RankedTensorType::get(rhsType.getShape(), storage);
    Value codesValue = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(codesType, codes));

    int64_t channelAxis = transposed ? 0 : 1;
    quant::QuantizedType element;
    if (group == 0) {
      SmallVector<double> scales(q->scales.begin(), q->scales.end());
      SmallVector<int64_t> zeroPoints(q->zeroPoints.begin(),
                                      q->zeroPoints.end());
      element = quant::UniformQuantizedPerAxisType::get(
          flags, storage, f32, scales, zeroPoints, channelAxis, q->range.qmin,
          q->range.qmax);
    } else {
      // Scales laid out like the weight with K / group on the K axis.
      SmallVector<int64_t> shape = transposed ? SmallVector<int64_t>{n, groups}
                                              : SmallVector<int64_t>{groups, n};
      SmallVector<float> scales(n * groups);
      // Zero points as i64: in the storage type an unsigned 4-bit zero
      // point of 8 or more would read back sign-extended.
      SmallVector<int64_t> zeroPoints(n * groups);
      for (int64_t j = 0; j < n; ++j)
        for (int64_t g = 0; g < groups; ++g) {
          int64_t at = transposed ? j * groups + g : g * n + j;
          scales[at] = q->scales[j * groups + g];
          zeroPoints[at] = q->zeroPoints[j * groups + g];
        }
      SmallVector<int64_t> blocks = transposed ? SmallVector<int64_t>{1, group}
                                               : SmallVector<int64_t>{group, 1};
      element = quant::UniformQuantizedSubChannelType::get(
          flags, storage, f32,
          DenseElementsAttr::get(RankedTensorType::get(shape, f32),
                                 ArrayRef<float>(scales)),
          DenseElementsAttr::get(
              RankedTensorType::get(shape, IntegerType::get(ctx, 64)),
              ArrayRef<int64_t>(zeroPoints)),
          {0, 1}, blocks, q->range.qmin, q->range.qmax);
    }
    Value weight = quant::StorageCastOp::create(
        b, loc, RankedTensorType::get(rhsType.getShape(), element), codesValue);
    // qc.matmul reads quantized operands; a linalg convolution reads the
    // dequantized weight, which the CPU lowering fuses back into an integer
    // convolution when the input is quantized too.
    if (!matmul)
      weight = DequantizeOp::create(b, loc, rhsType, weight);
    op->setOperand(1, weight);
    finish(op, constant, rows, q->dequantized);
    return success();
  }

  /// Records ‖W − dequant(quant(W))‖ / ‖W‖ for the accuracy report and
  /// drops the float weight once unused.
  void finish(Operation *op, arith::ConstantOp constant,
              const std::vector<float> &rows,
              const std::vector<float> &dequantized) {
    double error = 0, norm = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      double d = double(rows[i]) - double(dequantized[i]);
      error += d * d;
      norm += double(rows[i]) * double(rows[i]);
    }
    op->setAttr(kWeightErrorAttr,
                FloatAttr::get(Float32Type::get(op->getContext()),
                               norm > 0 ? std::sqrt(error / norm) : 0.0));
    if (constant->use_empty())
      constant->erase();
  }

  /// fp8 / MXFP4 / NVFP4: the codes as an f8E4M3FN, f8E5M2 or f4E2M1FN
  /// constant in
  /// the weight's layout and qc.decode with the block scales.
  /// `rows` is W as [n output channels, k].
  LogicalResult quantizeFloat(Operation *op, arith::ConstantOp constant,
                              const std::vector<float> &rows, int64_t n,
                              int64_t k, bool transposed,
                              llvm::StringRef format, int64_t group) {
    numerics::FloatWeightFormat kind =
        numerics::floatWeightFormat(format.str());
    auto rhsType = cast<RankedTensorType>(op->getOperand(1).getType());
    // Convolutions: fp8 with one scale per filter; the block formats
    // would need blocks across the flattened [C, k...] axis: left float.
    bool fp8 = kind == numerics::FloatWeightFormat::E4M3FN ||
               kind == numerics::FloatWeightFormat::E5M2;
    if (!isa<MatMulOp>(op) && !fp8)
      return success();
    numerics::Result<numerics::FloatQuantizedWeight> q =
        numerics::quantizeWeightFloat(rows.data(), n, k, kind, group);
    if (!q)
      return op->emitOpError()
             << "weight of node '" << getNodeName(op->getLoc()) << "' ("
             << format << "): " << q.error()
             << " (choose another --group, or --keep-float this node)";
    MLIRContext *ctx = op->getContext();
    OpBuilder b(op);
    Location loc = constant.getLoc();
    int64_t blocks = k / q->blockSize;
    // Codes in the weight's own layout, one byte each.
    std::vector<char> codes(n * k);
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = 0; i < k; ++i)
        codes[transposed ? j * k + i : i * n + j] = char(q->codes[j * k + i]);
    Type element = kind == numerics::FloatWeightFormat::E4M3FN
                       ? Type(Float8E4M3FNType::get(ctx))
                   : kind == numerics::FloatWeightFormat::E5M2
                       ? Type(Float8E5M2Type::get(ctx))
                       : Type(Float4E2M1FNType::get(ctx));
    auto codesType = RankedTensorType::get(rhsType.getShape(), element);
    Value codesValue = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::getFromRawBuffer(codesType, codes));
    // Scales: [n, blocks] for a transposed weight, [blocks, n] for [K, N],
    // [F, 1, ...] for a convolution (one block per filter).
    SmallVector<int64_t> scaleShape;
    std::vector<float> scales(n * blocks);
    if (!isa<MatMulOp>(op)) {
      scaleShape.assign(rhsType.getRank(), 1);
      scaleShape[0] = n;
      scales = q->scales;
    } else if (transposed) {
      scaleShape = {n, blocks};
      scales = q->scales;
    } else {
      scaleShape = {blocks, n};
      for (int64_t j = 0; j < n; ++j)
        for (int64_t g = 0; g < blocks; ++g)
          scales[g * n + j] = q->scales[j * blocks + g];
    }
    auto f32 = Float32Type::get(ctx);
    Value scalesValue = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(RankedTensorType::get(scaleShape, f32),
                               ArrayRef<float>(scales)));
    Value weight = DecodeOp::create(
        b, loc, RankedTensorType::get(rhsType.getShape(), f32), codesValue,
        scalesValue);
    op->setOperand(1, weight);
    finish(op, constant, rows, q->dequantized);
    return success();
  }
};
} // namespace

std::unique_ptr<Pass>
mlir::qc::createQuantizeWeightsPass(const QuantizeWeightsOptions &options,
                                    const WeightCalibration *calibration) {
  auto pass = std::make_unique<QuantizeWeightsPass>(options);
  pass->calibration = calibration;
  return pass;
}
