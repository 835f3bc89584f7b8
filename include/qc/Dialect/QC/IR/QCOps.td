//===- QCOps.td - operations of the qc dialect ---------------*- tablegen -*-===//
//
// Each op documents its semantics over real numbers (see the dialect
// description), its syntax and an example. Verifiers name the offending operand.
//
//===----------------------------------------------------------------------===//

#ifndef QC_DIALECT_QC_IR_QCOPS_TD
#define QC_DIALECT_QC_IR_QCOPS_TD

include "qc/Dialect/QC/IR/QCDialect.td"
include "qc/Dialect/QC/IR/QCAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def QC_QuantizedElementType : Type<
    CPred<"::llvm::isa<::mlir::quant::UniformQuantizedType, "
          "::mlir::quant::UniformQuantizedPerAxisType, "
          "::mlir::quant::UniformQuantizedSubChannelType>($_self)">,
    "!quant.uniform (per-tensor, per-axis or sub-channel)">;

def QC_FloatTensor : RankedTensorOf<[AnyFloat]>;
def QC_QuantizedTensor : RankedTensorOf<[QC_QuantizedElementType]>;
def QC_FloatOrQuantizedTensor
    : RankedTensorOf<[AnyFloat, QC_QuantizedElementType]>;

//===----------------------------------------------------------------------===//
// qc.quantize / qc.dequantize
//===----------------------------------------------------------------------===//

def QC_QuantizeOp : QC_Op<"quantize", [Pure]> {
  let summary = "Quantize a float tensor to a `!quant.uniform` tensor";
  let description = [{
    Quantizes every element of `input` with the parameters of the result's
    element type:

    ```
    q = clamp(round_half_to_even(x / scale) + zero_point, storage_min, storage_max)
    ```

    where `scale` and `zero_point` are those of the element's tensor (per-tensor),
    of its index along the quantized axis (per-axis), or of its block
    (sub-channel). This is ONNX `QuantizeLinear` with `saturate = 1`. Unlike
    upstream `quant.qcast`, whose rounding is left to the lowering, the rounding
    here is fixed, so every backend produces the same integers.

    Constraints, checked by the verifier:
    - `input` and `result` have the same shape;
    - the result's expressed type is the element type of `input`;
    - per-axis: the quantized axis is within the rank and, when that dimension
      is static, it has as many elements as there are scales;
    - sub-channel: the scales tensor has the rank of the data and, for every
      static dimension `d`, `scales.shape[d] * block_size[d] == shape[d]`.

    Example:

    ```mlir
    // Per-tensor int8 with a zero point.
    %q = qc.quantize %x : tensor<4x8xf32> -> tensor<4x8x!quant.uniform<i8:f32, 0.5:-3>>
    // int4 weights, group 32 along the reduction axis (axis 1 of an [N, K] weight).
    %w = qc.quantize %wf : tensor<2x64xf32>
        -> tensor<2x64x!quant.uniform<i4:f32:{0:1, 1:32}, {{0.1, 0.2}, {0.3, 0.4}}>>
    ```
  }];
  let arguments = (ins QC_FloatTensor:$input);
  let results = (outs QC_QuantizedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def QC_DequantizeOp : QC_Op<"dequantize", [Pure]> {
  let summary = "Dequantize a `!quant.uniform` tensor to float";
  let description = [{
    Maps each stored value back to the real number it represents:
    `x = (q - zero_point) * scale`, with the parameters of the input's element
    type (per-tensor, per-axis or per block). This is ONNX `DequantizeLinear`.

    The result element type must be the input's expressed type and the shapes
    must match.

    `qc.dequantize(qc.quantize(x))` is deliberately *not* folded: it rounds `x`
    to the quantization grid, which is the point of the pair. The opposite
    order, `qc.quantize(qc.dequantize(q))` with the same type, is exact and
    folds to `q`.

    Example:

    ```mlir
    %x = qc.dequantize %q : tensor<4x8x!quant.uniform<u8:f32, 0.02:128>> -> tensor<4x8xf32>
    ```
  }];
  let arguments = (ins QC_QuantizedTensor:$input);
  let results = (outs QC_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// qc.decode
//===----------------------------------------------------------------------===//

def QC_DecodeOp : QC_Op<"decode", [Pure]> {
  let summary = "Block-scaled small floats (fp8, fp4) to f32";
  let description = [{
    `result[i] = float(codes[i]) · scales[i / block]`, where `codes` holds
    FP8 E4M3FN or E5M2 or FP4 E2M1 values (the builtin `f8E4M3FN`,
    `f8E5M2` and `f4E2M1FN` types, exact in f32; E5M2's infinity and NaN
    codes decode to infinity and NaN), `scales` is an f32 tensor of the same rank, and
    the block of each dimension is `codes.shape[d] / scales.shape[d]`.

    This is how fp8 and fp4 weights are represented: `!quant.uniform`
    only has integer storage. One scale per output channel, per group of
    the reduction axis, MXFP4 (blocks of 32 with power-of-two scales) and
    NVFP4 (blocks of 16; the E4M3 block scale times the tensor scale,
    folded into one f32) are all this op with different scale shapes. When
    the result is the weight of a `qc.matmul`, the CPU lowering decodes the
    codes inside the contraction, so the weight is read once, as codes (one
    per byte today; packing two fp4 codes per byte is qc-pack-weights').

    Constraints, checked by the verifier: equal ranks; every dimension of
    `codes` is a multiple of that of `scales` (static shapes); the result
    has the shape of `codes`.

    Example:

    ```mlir
    // fp8 weights [N = 4, K = 64], one scale per output channel.
    %w = qc.decode %codes scales %s
        : (tensor<4x64xf8E4M3FN>, tensor<4x1xf32>) -> tensor<4x64xf32>
    // MXFP4: blocks of 32 along K.
    %m = qc.decode %c4 scales %e
        : (tensor<4x64xf4E2M1FN>, tensor<4x2xf32>) -> tensor<4x64xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F8E4M3FN, F8E5M2, F4E2M1FN]>:$codes,
                       RankedTensorOf<[F32]>:$scales);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $codes `scales` $scales attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Elements per scale along each dimension.
    ::llvm::SmallVector<int64_t> getBlockSizes();
  }];
}

//===----------------------------------------------------------------------===//
// qc.packed_weight
//===----------------------------------------------------------------------===//

def QC_PackedWeightOp : QC_Op<"packed_weight", [Pure]> {
  let summary = "A low-bit weight whose codes are stored in a kernel's byte layout";
  let description = [{
    The result is the 2-D quantized weight whose codes `bytes` holds in the
    arrangement `layout` says (`#qc.packed`, see its description and
    `qc/Numerics/Packing.h`): code (n, k) — n the output channel, k the
    index along `layout.k_axis` — is in the byte (and nibble) the layout
    assigns it. Semantically the op is that unpacking; a kernel that
    understands the layout reads `bytes` directly instead. qc-pack-weights
    produces it from `quant.scast` of constant codes.

    Constraints, checked by the verifier: `bytes` is 1-D i8 of
    n·k·bits/8 elements; the result is a static 2-D `!quant.uniform`
    tensor whose storage width is `layout.bits`; `k_axis` is 0 or 1; the
    shape fits the layout (e.g. `vnni` needs n % 16 == 0).

    Example:

    ```mlir
    // An int4 [N = 16, K = 64] weight, group 32, in the x86 VNNI layout.
    %w = qc.packed_weight %bytes layout <vnni, bits = 4, k_axis = 1>
        : tensor<512xi8> -> tensor<16x64x!quant.uniform<i4:f32:{0:1, 1:32}, {...}>>
    ```
  }];
  let arguments = (ins RankedTensorOf<[I8]>:$bytes, QC_PackedLayoutAttr:$layout);
  let results = (outs QC_QuantizedTensor:$result);
  let assemblyFormat = [{
    $bytes `layout` $layout attr-dict `:` type($bytes) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// qc.quantize_per_token
//===----------------------------------------------------------------------===//

def QC_QuantizePerTokenOp : QC_Op<"quantize_per_token",
                                  [Pure, SameOperandsAndResultType]> {
  let summary = "Dynamic symmetric per-token quantization, returning the real values";
  let description = [{
    Quantizes each row (token) of `input` — the vector along its last axis —
    to signed `bits`-bit integers with a scale computed at run time from that
    row, and returns the values the codes stand for:

    ```
    s = max_j |x[..., j]| / (2^(bits-1) − 1)      (s = 1 for an all-zero row)
    y[..., j] = clamp(round_half_to_even(x[..., j] / s), −2^(bits-1), 2^(bits-1) − 1) · s
    ```

    This is the dynamic activation quantization of W8A8 (SmoothQuant's
    per-token setting) and W4A4 (QuaRot): the scale is not known at compile
    time, so it cannot live in a `!quant.uniform` type, and the op returns
    float. The codes need not be materialised: when the result feeds the
    left-hand side of a `qc.matmul` with integer weights whose parameters
    are constant along K, the CPU lowering multiplies the codes in i32 and
    applies `s` per row in the epilogue.

    `bits` is between 2 and 16; the input has rank ≥ 1.

    Example:

    ```mlir
    %y = qc.quantize_per_token %x {bits = 8} : tensor<16x4096xf32>
    ```
  }];
  let arguments = (ins QC_FloatTensor:$input, I64Attr:$bits);
  let results = (outs QC_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// qc.matmul
//===----------------------------------------------------------------------===//

def QC_MatMulOp : QC_Op<"matmul", [Pure]> {
  let summary = "Matrix product with float or quantized operands and an optional bias";
  let description = [{
    `result = lhs · rhs (+ bias)`, or `lhs · rhsᵀ (+ bias)` with `transpose_rhs`,
    with the broadcasting of ONNX `MatMul` (that is, `numpy.matmul`):

    - the last two dimensions are the matrix dimensions; all others are batch
      dimensions, broadcast against each other numpy-style (a missing or size-1
      dimension stretches);
    - a 1-D `lhs` of size K is treated as `[1, K]` and the 1 is removed from the
      result; a 1-D `rhs` of size K as `[K, 1]` (with `transpose_rhs`: `[1, K]`),
      and the 1 is removed from the result.

    `transpose_rhs` means `rhs` is stored as `[..., N, K]`, the layout of
    linear-layer weights (`y = x Wᵀ`). Group quantization of such a weight is
    along its last axis, the reduction axis.

    Operands are float tensors or `!quant.uniform` tensors; quantized operands
    stand for their dequantized values. A quantized result is the real product
    quantized to the result type. `bias`, when present, is 1-D of size N and is
    added before that quantization. All operands and the result must agree on
    the float type they express (`f32`, `f16`, `bf16`, ...).

    Example:

    ```mlir
    // A W8A8 linear layer: per-token-free static activations, per-channel weights.
    %y = qc.matmul %x, %w, %b {transpose_rhs}
        : (tensor<2x16x!quant.uniform<i8:f32, 0.05>>,
           tensor<4x16x!quant.uniform<i8:f32:0, {0.1, 0.2, 0.3, 0.4}>>,
           tensor<4xf32>) -> tensor<2x4xf32>
    // Batched float matmul with broadcasting: [2,1,3,5] x [4,5,6] -> [2,4,3,6].
    %z = qc.matmul %a, %c : (tensor<2x1x3x5xf32>, tensor<4x5x6xf32>) -> tensor<2x4x3x6xf32>
    ```
  }];
  let arguments = (ins QC_FloatOrQuantizedTensor:$lhs,
                       QC_FloatOrQuantizedTensor:$rhs,
                       Optional<QC_FloatOrQuantizedTensor>:$bias,
                       UnitAttr:$transpose_rhs);
  let results = (outs QC_FloatOrQuantizedTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Normalisations
//===----------------------------------------------------------------------===//

def QC_RMSNormOp : QC_Op<"rms_norm", [Pure]> {
  let summary = "RMS normalisation over the trailing dimensions, with an optional gain";
  let description = [{
    `y = x / sqrt(mean(x², over dims [axis, rank)) + epsilon) · scale`, as ONNX
    `RMSNormalization`. `scale` (the gain γ) has the shape of the normalised
    dimensions, `input.shape[axis:]`; it is optional because `qc-fold-norms`
    folds it into the consuming linear layers and leaves a scale-free norm, which
    commutes with orthogonal rotations of the last axis:
    `rms_norm(x Qᵀ) Q = rms_norm(x)`.

    Example:

    ```mlir
    %y = qc.rms_norm %x scale %g {epsilon = 1.0e-06 : f32}
        : (tensor<2x16x64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
    %n = qc.rms_norm %x : (tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
    ```
  }];
  let arguments = (ins QC_FloatTensor:$input,
                       Optional<QC_FloatTensor>:$scale,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon,
                       DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs QC_FloatTensor:$result);
  let assemblyFormat = [{
    $input (`scale` $scale^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def QC_LayerNormOp : QC_Op<"layer_norm", [Pure, AttrSizedOperandSegments]> {
  let summary = "Layer normalisation over the trailing dimensions";
  let description = [{
    `y = (x - mean) / sqrt(var + epsilon) · scale + bias`, mean and (biased)
    variance over the dimensions `[axis, rank)`, as ONNX `LayerNormalization`.
    `scale` and `bias` have the shape `input.shape[axis:]` and are optional, so
    that `qc-fold-norms` can move them into the consuming layers.

    Example:

    ```mlir
    %y = qc.layer_norm %x scale %g bias %b {epsilon = 1.0e-05 : f32}
        : (tensor<8x32xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<8x32xf32>
    ```
  }];
  let arguments = (ins QC_FloatTensor:$input,
                       Optional<QC_FloatTensor>:$scale,
                       Optional<QC_FloatTensor>:$bias,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon,
                       DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs QC_FloatTensor:$result);
  let assemblyFormat = [{
    $input (`scale` $scale^)? (`bias` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// qc.hadamard
//===----------------------------------------------------------------------===//

def QC_HadamardOp : QC_Op<"hadamard", [Pure, SameOperandsAndResultType]> {
  let summary = "Online orthonormal Walsh–Hadamard transform along the last axis";
  let description = [{
    Multiplies the last axis by the orthonormal Hadamard matrix
    `H_b / sqrt(b)`, where `H_b = H_K ⊗ H_{2^m}` (`b = K·2^m`, `H_{2^m}` the
    Sylvester matrix, `H_K` one of the built-in K×K Hadamard matrices).

    The last axis, of static length `n`, is viewed as `[n / (size·stride), size,
    stride]` and the transform is applied along the middle dimension:

    - default (`size = n`, `stride = 1`): the full transform `x ← x · H_n/√n`;
    - `size = d`, `stride = 1`: a block-diagonal transform `I ⊗ H_d`, e.g. one
      head-dimension rotation per attention head;
    - `size = h`, `stride = d`: `H_h ⊗ I_d`, a transform across heads
      (QuaRot's online rotation before `o_proj`, using
      `H_{h·d} = (I_h ⊗ H_d)(H_h ⊗ I_d)`).

    `size` must be `K·2^m` for K in {1, 12, 20, 28, 36, 40, 52, 60, 108, 140,
    156, 172} (QuaRot's set); the verifier says so when it is not.

    Two identical transforms of a power-of-two size cancel (the Sylvester matrix
    is symmetric and orthonormal), and a transform of size 1 is the identity;
    both are folded.

    Example:

    ```mlir
    %y = qc.hadamard %x : tensor<4x4096xf32>
    %h = qc.hadamard %x size 32 stride 128 : tensor<4x4096xf32>
    ```
  }];
  let arguments = (ins QC_FloatTensor:$input,
                       OptionalAttr<I64Attr>:$size,
                       OptionalAttr<I64Attr>:$stride);
  let results = (outs QC_FloatTensor:$result);
  let assemblyFormat = [{
    $input (`size` $size^)? (`stride` $stride^)? attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let extraClassDeclaration = [{
    /// The transform size b (defaults to the whole last axis over the stride).
    int64_t getTransformSize();
    /// The stride s between transformed elements (defaults to 1).
    int64_t getTransformStride();
  }];
}

//===----------------------------------------------------------------------===//
// qc.observe
//===----------------------------------------------------------------------===//

def QC_ObserveOp : QC_Op<"observe", [SameOperandsAndResultType,
                                     MemoryEffects<[MemWrite]>]> {
  let summary = "Calibration tap: records a statistic of its input, returns the input";
  let description = [{
    Returns `input` unchanged and, when the model is run for calibration,
    records `statistic` of the values that pass through under the name `tag`.
    Per-channel statistics (`abs_max_per_channel`, `mean_abs_per_channel`) and
    `gram` need `axis`, the channel axis; the others take none.

    The op has a write effect, so it survives dead-code elimination even when its
    result is unused: the statistic is what matters. `qc-strip-observers` removes
    the taps once calibration is done.

    Example:

    ```mlir
    %y = qc.observe min_max %x tag "blk0.attn.q_proj.input" : tensor<1x16x64xf32>
    %z = qc.observe abs_max_per_channel %x tag "blk0.attn.in" axis 2 : tensor<1x16x64xf32>
    ```
  }];
  let arguments = (ins QC_FloatTensor:$input,
                       QC_StatisticAttr:$statistic,
                       StrAttr:$tag,
                       OptionalAttr<I64Attr>:$axis);
  let results = (outs QC_FloatTensor:$result);
  let assemblyFormat = [{
    custom<StatisticKeyword>($statistic) $input `tag` $tag (`axis` $axis^)? attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
}

#endif // QC_DIALECT_QC_IR_QCOPS_TD
