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

def QuantizeWeights : Pass<"qc-quantize-weights"> {
  let summary = "Quantize the constant weights of matmuls and convolutions (RTN, RTN-clip, GPTQ)";
  let description = [{
    Replaces the constant right-hand side of every float `qc.matmul` (2-D,
    f32) by its quantized form: integer codes in a constant, viewed through
    `quant.scast` as a `!quant.uniform` tensor whose scales and zero points
    the numerics library computed (`numerics::quantizeWeightRTN`). The
    matmul then computes with the dequantized weight: weight-only W4A16 /
    W8A16, the activations stay float.

    - `bits` 4 or 8; `symmetric` (signed codes, zero point 0) or not
      (unsigned codes with zero points).
    - `group` > 0: one scale per `group` consecutive elements along the
      reduction axis K and per output channel (a sub-channel type with block
      sizes {group, 1} for a [K, N] weight, {1, group} for a transposed
      [N, K] one); 0: one scale per output channel (per-axis type).
    - `method`: `rtn` (round to nearest from the full range), `rtn-clip`
      (per slice, the shrink factor of the range minimising the 2.4-norm
      error; never worse than rtn in that norm) or `gptq` (GPTQ with
      act-order and static groups, from the Hessian of the matmul's
      activations; needs calibration data, which only quant-compile --calib
      provides: the matmul carries a `qc.calib_id` naming its Hessian, and
      a matmul without one is an error).
    - `keep-float`: a regular expression; matmuls whose ONNX node name (the
      op's NameLoc) matches it in whole are left in float.

    - `format`: `int` (the above), or a small-float format, where the
      weight becomes a `qc.decode` of a constant of codes (the builtin
      `f8E4M3FN` / `f8E5M2` / `f4E2M1FN` types) with f32 block scales
      (`numerics::quantizeWeightFloat`, round to nearest even): `fp8`
      (E4M3FN, scale amax/448 per output channel, or per `group` along K),
      `fp8-e5m2` (E5M2, scale amax/57344, the same granularities),
      `mxfp4` (E2M1, blocks of 32 along K, power-of-two scales), `nvfp4`
      (E2M1, blocks of 16, E4M3 block scale × per-matrix scale). Only
      `method=rtn`. Convolutions take `fp8` and `fp8-e5m2` per filter; the block formats
      leave them float.

    Each rewritten matmul records `qc.weight_error`, the weight's relative
    error ‖W − dequant(quant(W))‖ / ‖W‖, for the accuracy report.

    Convolutions (the group-1 `linalg.conv_1d_ncw_fcw` /
    `linalg.conv_2d_nchw_fchw` an ONNX Conv imports to) with a constant f32
    weight [F, C, k...] are quantized per output channel (axis 0) whatever
    `group` says, by RTN (or rtn-clip; `gptq` applies to matmuls only and
    convolutions get RTN), and read `qc.dequantize` of the codes: the
    convolution op itself stays a linalg op.

    Left alone: matmuls whose weight is not a constant, is not f32, is
    already quantized, or has a rank other than 2; matmuls with quantized
    operands; grouped and depthwise convolutions. A group size that does not divide K is an error naming the
    node (use another `group` or `keep-float`).

    Invariant: the quantized matmul computes x · dequant(quant(W)); the
    numerics library guarantees |W − dequant(quant(W))| ≤ scale/2 per
    element inside the (clipped) range. Numbers are checked by
    test/Dialect/QC/quantize-weights-numerics.test.

    Before / after (bits=8 group=0):
    ```mlir
    %w = arith.constant dense<...> : tensor<64x32xf32>
    %y = qc.matmul %x, %w : (tensor<4x64xf32>, tensor<64x32xf32>) -> tensor<4x32xf32>
    // ->
    %c = arith.constant dense<...> : tensor<64x32xi8>
    %q = quant.scast %c : tensor<64x32xi8> to tensor<64x32x!quant.uniform<i8:f32:1, {...}>>
    %y = qc.matmul %x, %q : (tensor<4x64xf32>, tensor<64x32x!quant.uniform<i8:f32:1, {...}>>) -> tensor<4x32xf32>
    ```
  }];
  let options = [
    Option<"format", "format", "std::string", /*default=*/"\"int\"",
           "int (bits, symmetric), fp8 (E4M3FN, per channel or per group), "
           "fp8-e5m2 (E5M2, likewise), "
           "mxfp4 or nvfp4">,
    Option<"bits", "bits", "int64_t", /*default=*/"4",
           "Bit width of the weight codes (4 or 8)">,
    Option<"symmetric", "symmetric", "bool", /*default=*/"true",
           "Signed codes without zero points (false: unsigned with zero points)">,
    Option<"group", "group", "int64_t", /*default=*/"128",
           "Elements per scale along the reduction axis (0: per output channel)">,
    Option<"method", "method", "std::string", /*default=*/"\"rtn\"",
           "rtn, rtn-clip or gptq (gptq: only with calibration data)">,
    Option<"keepFloat", "keep-float", "std::string", /*default=*/"\"\"",
           "Regular expression over node names to leave in float">
  ];
  let dependentDialects = ["::mlir::qc::QCDialect",
                           "::mlir::quant::QuantDialect",
                           "::mlir::arith::ArithDialect"];
}

def QuantizeActivations : Pass<"qc-quantize-activations"> {
  let summary = "Quantize the inputs of quantized layers: static per tensor, or dynamic per token";
  let description = [{
    Static (default): from calibrated ranges, for matmuls and convolutions.
    Dynamic (`per-token`): every `qc.matmul` whose weight is quantized and
    whose left-hand side is f32 reads `qc.quantize_per_token` of it instead
    (symmetric `bits`-bit codes, one scale per row computed at run time;
    no calibration). With integer weights whose parameters are constant
    along K the CPU lowering multiplies the codes in i32 (W8A8 / W4A4 per
    channel); with group-wise weights it sums each group's products in i32
    and scales the partial sums in f32. Convolutions are not quantized per token.
    `symmetric=false` with `per-token` is an error.

    Static quantization in detail:
    for every layer with a float input and a `qc.calib_range`
    attribute (`array<f32: lo, hi>`, the activation range quant-compile's
    calibration measured with the chosen `--calib-method`), inserts a
    `qc.quantize` of the left-hand side to a per-tensor `!quant.uniform`
    type whose scale and zero point the numerics library computes from the
    range (`numerics::computeRangeParams`): symmetric int-b (zero point 0,
    scale max(|lo|, |hi|) / (2^(b−1) − 1)) or asymmetric uint-b (the range
    widened to include 0). A convolution reads `qc.dequantize` of it; the
    CPU lowering turns a convolution of dequantized integer operands back
    into an i32 convolution. With a quantized weight (qc-quantize-weights
    first) and parameters constant along K, the CPU lowering then takes the
    integer path: int8 × int8 products accumulated in i32, scales in a float
    epilogue (W8A8).

    Left alone: matmuls without `qc.calib_range`, with an already quantized
    left-hand side, or whose ONNX node name matches `keep-float`.

    Invariant: the matmul's input becomes dequant(quant(x)); for x inside
    the calibrated range the error is at most half a step (scale / 2).
    Numbers: test/Dialect/QC/quantize-activations-numerics.test.

    Before / after (bits=8, range [-2, 2]):
    ```mlir
    %y = qc.matmul %x, %w {qc.calib_range = array<f32: -2.0, 2.0>} : ...
    // ->
    %q = qc.quantize %x : tensor<4x64xf32> -> tensor<4x64x!quant.uniform<i8:f32, 0.015748...>>
    %y = qc.matmul %q, %w {qc.calib_range = array<f32: -2.0, 2.0>} : ...
    ```
  }];
  let options = [
    Option<"bits", "bits", "int64_t", /*default=*/"8",
           "Bit width of the activation codes (4 or 8)">,
    Option<"symmetric", "symmetric", "bool", /*default=*/"true",
           "Signed codes, zero point 0 (false: unsigned with a zero point)">,
    Option<"perToken", "per-token", "bool", /*default=*/"false",
           "Quantize dynamically, one scale per row computed at run time "
           "(qc.quantize_per_token), instead of from calibrated ranges">,
    Option<"keepFloat", "keep-float", "std::string", /*default=*/"\"\"",
           "Regular expression over node names to leave in float">
  ];
  let dependentDialects = ["::mlir::qc::QCDialect",
                           "::mlir::quant::QuantDialect"];
}

def FoldNorms : Pass<"qc-fold-norms"> {
  let summary = "Fold RMSNorm/LayerNorm gains and LayerNorm biases into the linear layers that read the norm";
  let description = [{
    For every `qc.rms_norm` / `qc.layer_norm` with a constant f32 gain γ (and
    LayerNorm bias β) over the last axis whose every user is a `qc.matmul`
    reading it as the left-hand side with a constant 2-D f32 weight W
    ([K, N], or [N, K] with `transpose_rhs`): each weight becomes diag(γ)·W,
    each matmul's bias b becomes b + β·W (created when absent), and the norm
    loses its gain and bias (QuaRot's first step, REFERENCES: QuaRot). A
    shared weight constant gets a new constant per matmul.

    Left alone: norms without a gain or bias; norms over more than the last
    axis; norms any of whose users is not such a matmul (e.g. a norm whose
    output is also returned or added); non-constant gains.

    Invariant: `norm(x)·γ·W + β·W + b = norm(x)·(diag(γ)·W) + (b + β·W)`
    exactly in real arithmetic; in f32 the outputs agree to rounding
    (test/Dialect/QC/rotate-numerics.test: relative error ≤ 1e-5 on a
    LayerNorm model).

    A LayerNorm's mean subtraction is baked into the producing weights by
    `qc-rotate`, which knows the whole residual stream (every writer must
    be centred for the norm to become an RMS norm); this pass leaves the
    gain-free LayerNorm for it.

    Before:
    ```mlir
    %n = qc.rms_norm %x scale %g : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
    %y = qc.matmul %n, %w : (tensor<8x64xf32>, tensor<64x32xf32>) -> tensor<8x32xf32>
    ```
    After:
    ```mlir
    %n = qc.rms_norm %x : (tensor<8x64xf32>) -> tensor<8x64xf32>
    %y = qc.matmul %n, %w_scaled : (tensor<8x64xf32>, tensor<64x32xf32>) -> tensor<8x32xf32>
    ```
  }];
  let dependentDialects = ["::mlir::qc::QCDialect", "::mlir::arith::ArithDialect"];
}

def Rotate : Pass<"qc-rotate"> {
  let summary = "Rotate the residual stream with a randomised Hadamard matrix (QuaRot), fused into the weights, and insert online Hadamards where it cannot be fused";
  let description = [{
    QuaRot (REFERENCES: QuaRot), found from the dataflow, not from names:

    - The residual stream is every value connected to the input of a
      `qc.rms_norm` through residual adds (`tosa.add`, `arith.addf`). Its
      producers must be residual adds, linear layers (`qc.matmul` with a
      constant 2-D f32 weight: the writers, o_proj and down_proj in a Llama
      block) or an embedding lookup (a `linalg.generic` gathering rows of a
      constant [V, n] table); its users must be residual adds or gain-free
      RMS norms or LayerNorms over the last axis (run `qc-fold-norms`
      first); each norm's users must be linear layers (the readers: q/k/v,
      gate/up, the head).
    - LayerNorms (OPT-style models): their mean subtraction is first baked
      into the producers: every writer's output channels and bias, and the
      embedding table's rows, ← ·(I − 11ᵀ/n) (`numerics::subtractMean`).
      Every stream value then has zero mean, so LayerNorm(x) = RMSNorm(x)
      (same ε), and the LayerNorms become gain-free `qc.rms_norm`s.
    - With Q = diag(s)·H_n/√n (`rotation=hadamard`, the default; s random
      signs from `seed`, H_n = H_K ⊗ H_{2^m}):
      readers' weights become Qᵀ·W, writers' W·Q (and their biases b·Q), the
      embedding table E·Q. Then every stream value is x·Q, and since
      `rms_norm(x·Q) = rms_norm(x)·Q` for a gain-free norm the model
      computes the same function.
    - `online=true` (default): every other linear layer with a constant
      weight (down_proj, o_proj, and all layers of a model without norms)
      reads `qc.hadamard` of its input and its weight becomes Hᵀ·W, the
      transform per head (`size d`) when the input is a reshape of [..., d]
      values (o_proj after attention), else over the whole input.
    - Sizes: n = K·2^m with a built-in K (see `qc.hadamard`); for any other
      n, the fallback is the block-diagonal I ⊗ H_b with the largest
      supported b dividing n (at least the power-of-two part of n), which is
      still exactly orthogonal. A layer whose block would be 1 (an odd
      input size) gets no online transform.

    The pass checks everything before it changes anything: a stream value
    read or produced by anything else, a norm with a gain or bias, or one
    over more than the last axis, or a stream that starts at a function
    argument or reaches a return is an error naming the op, and the module is
    left unchanged.

    `rotation=random-orthogonal`: Q is instead a random orthogonal matrix
    (`numerics::randomOrthogonal`, Haar-distributed from `seed`), fused
    into the same weights; it cannot be applied online, so the online
    transforms stay Hadamards. Building Q is O(n³) (a minute at n = 4096).

    Not yet: Q/K Hadamards after the rotary embedding (only needed with a
    quantized KV cache, which this compiler does not quantize).

    Invariant: float outputs unchanged (test/Dialect/QC/rotate-numerics.test:
    relative error ≤ 1e-4 on the generated decoder).
  }];
  let options = [
    Option<"seed", "seed", "uint64_t", /*default=*/"0",
           "Seed of the random signs s (or of the random orthogonal Q)">,
    Option<"rotation", "rotation", "std::string", /*default=*/"\"hadamard\"",
           "The residual rotation Q: hadamard (randomised Hadamard) or "
           "random-orthogonal">,
    Option<"online", "online", "bool", /*default=*/"true",
           "Insert online qc.hadamard before the linear layers that do not "
           "read the rotated stream">
  ];
  let dependentDialects = ["::mlir::qc::QCDialect", "::mlir::arith::ArithDialect"];
}

def Smooth : Pass<"qc-smooth"> {
  let summary = "SmoothQuant: migrate activation outliers into the weights, per input channel";
  let description = [{
    SmoothQuant (REFERENCES: SmoothQuant). For every activation X read only
    by `qc.matmul`s with constant 2-D f32 weights that carry calibration
    statistics (`qc.calib_absmax`: max |X_j| per input channel j, which
    quant-compile's calibration records when `--smooth` is on), computes per
    channel

      s_j = max|X_j|^alpha / max|W_j|^(1 - alpha)

    (`numerics::smoothingFactors`; max|W_j| over every reader, so q/k/v or
    gate/up that share X share one s), multiplies each reader's weight by
    diag(s) and divides s out of the op that produces X:

    - `qc.rms_norm` / `qc.layer_norm` over the last axis: gain γ ← γ/s (a
      gain 1/s is created when it had none), LayerNorm bias β ← β/s;
    - a `qc.matmul` with a constant weight (and bias): its output channels
      and bias ← ·/s;
    - an element-wise product (`tosa.mul`, `arith.mulf`) one of whose
      same-shaped operands is such a matmul used only there (SwiGLU's
      gate·up before down_proj): that matmul's output channels.

    The readers' `qc.calib_absmax` is divided by s (it describes X/s now)
    and their `qc.calib_range` is dropped: static activation ranges must be
    calibrated again after smoothing (quant-compile does).

    Left alone: activations with any other user (a norm output that is also
    returned, a matmul reading it as the weight), activations whose producer
    is none of the above (o_proj behind the attention reshape, function
    arguments), matmuls without statistics or with quantized weights.
    Channels whose statistic or weight column is 0 keep s = 1.

    Errors: `alpha` outside [0, 1]; a `qc.calib_absmax` whose length is not
    the input's channel count (naming the matmul).

    Invariant: float outputs unchanged, to rounding
    (test/Dialect/QC/smooth-numerics.test); with outlier channels the
    per-tensor int8 error of the readers' inputs drops.

    Before (alpha 0.5, max|X| = [16, 1], max|W| = [4, 1] per row):
    ```mlir
    %n = qc.rms_norm %x scale %g : (tensor<8x2xf32>, tensor<2xf32>) -> tensor<8x2xf32>
    %y = qc.matmul %n, %w {qc.calib_absmax = array<f32: 16.0, 1.0>} : ...
    ```
    After: s = [2, 1]; the gain is %g / [2, 1], the weight's first row is
    doubled, and `qc.calib_absmax = array<f32: 8.0, 1.0>`.
  }];
  let options = [
    Option<"alpha", "alpha", "double", /*default=*/"0.5",
           "Migration strength in [0, 1]: 0 leaves the activations' ranges, "
           "1 moves them entirely into the weights">
  ];
  let dependentDialects = ["::mlir::qc::QCDialect", "::mlir::arith::ArithDialect"];
}

def FoldScales : Pass<"qc-fold-scales"> {
  let summary = "Fold constant per-channel scales and shifts into the producing layer; absorb dequantize/quantize into qc.matmul";
  let description = [{
    Rewrites to a fixed point (a greedy pattern driver), so the result is
    canonical and running the pass again changes nothing:

    - **Scales into weights.** `tosa.mul(y, c)` where `y` is the only use of
      a layer's output and `c` a constant per output channel (shape
      [1, .., C, .., 1] along the channel axis: 1 for convolutions, the last
      for matmuls; or a scalar): the layer's weight rows ← ·c and, for a
      `qc.matmul`, its bias ← ·c. Layers: `qc.matmul` with a constant f32
      weight, or a quantized one whose parameters are per output channel or
      per group (`quant.scast` of constant codes; the scales ← ·c, which
      needs c > 0), and `linalg.conv_1d_ncw_fcw` / `conv_2d_nchw_fchw` with
      a constant f32 weight accumulating into zeros.
    - **Shifts into the bias.** `tosa.add(y, c)` after a `qc.matmul` with a
      float result and a constant (or no) bias: bias ← bias + c.
    - **Chains.** `tosa.mul(tosa.add(y, c1), c2)` → `tosa.add(tosa.mul(y,
      c2), c1·c2)`; two constant `tosa.add`s or `tosa.mul`s in a row become
      one. This is how BatchNorm reaches a Conv: the importer writes an
      inference BatchNormalization with constant parameters as x·a + b
      (`numerics::batchNormAffine`), the conv's bias is an add before it,
      and the scale a ends up in the conv's weight, the shifts in one add.
    - **Dequantize → matmul.** A `qc.matmul` operand produced by
      `qc.dequantize` reads the quantized tensor instead (a per-tensor
      left-hand side; a per-tensor, per-output-channel or grouped weight):
      the scales then apply in the matmul's epilogue and the contraction
      runs on the integer codes (QDQ models, QLinear graphs).
    - **Matmul → quantize.** `qc.quantize` of a float `qc.matmul` result
      used only there becomes the matmul's quantized result type.
    - **Quantize ∘ dequantize** with equal parameters cancels (the fold of
      `qc.quantize`).

    Left alone: constants that vary along any axis but the channel axis,
    layers whose output has other users, non-constant weights, a conv that
    accumulates into anything but zeros, quantized weights with per-tensor
    parameters or a non-positive factor, operands the lowering would not
    read as integers (per-channel left-hand sides).

    Invariant: float outputs unchanged up to rounding (the factor is applied
    to the weights instead of the output; test/Dialect/QC/fold-scales-
    numerics.test).

    Before:
    ```mlir
    %y = qc.matmul %x, %w, %b {transpose_rhs} : ... -> tensor<2x3xf32>
    %z = tosa.mul %y, %c, %shift : (tensor<2x3xf32>, tensor<1x3xf32>, tensor<1xi8>) -> tensor<2x3xf32>
    ```
    After: `%z = qc.matmul %x, %w', %b'` with row n of %w and %b[n]
    multiplied by %c[n].
  }];
  let dependentDialects = ["::mlir::qc::QCDialect", "::mlir::arith::ArithDialect",
                           "::mlir::quant::QuantDialect", "::mlir::tosa::TosaDialect"];
}

def MergeSiblings : Pass<"qc-merge-siblings"> {
  let summary = "Merge the matmuls that read one input with constant weights into one wider matmul (q/k/v, gate/up)";
  let description = [{
    A decoder layer's query, key and value projections read the same
    normalised input, as do the MLP's gate and up projections; each is a
    `qc.matmul %x, %w {transpose_rhs}` of its own, so a GPU runs a kernel
    per projection and a CPU a parallel loop per projection. This pass
    stacks the weights of such siblings into one [Σn, k] constant, runs one
    matmul, and gives each former user its columns through
    `tensor.extract_slice`. A user that splits the last dimension of its
    slice into heads (`tensor.reshape [..., n] -> [..., h, d]`, static)
    becomes `tensor.expand_shape`, which stays a view of the merged result
    where a reshape of the strided slice would be a copy.

    Siblings: `qc.matmul`s in one block with the same `lhs` value, a float
    result, a constant 2-D weight of the same k and layout ([n, k] with
    `transpose_rhs`, else [k, n], whose columns then interleave row by row)
    that is either f32 or integer codes (at most 8 bits) behind a
    `quant.scast`, and a constant f32 bias or none. Quantized weights must
    have the same storage, expressed type, flags and range, and parameters
    that stack along n: per tensor (the same scale and zero point), per
    axis along n, or sub-channel with blocks of 1 along n (the same group
    size). Their scales and zero points stack with the weights. Siblings
    must also carry the same discardable attributes apart from the layer
    records `qc.calib_id` and `qc.weight_error`.

    Left alone: a matmul with no compatible sibling, weights that are not
    constant (or whose constant the pass cannot read), transposed and
    untransposed siblings together, quantized results, batched weights. The
    pass reports no errors: what it cannot merge stays as it is.

    Invariant: each output column is computed from the same weight row,
    parameters and input as before, so the model's outputs do not change
    (test/Dialect/QC/merge-siblings-numerics.test compares them bit for bit
    on the CPU).
  }];
  let dependentDialects = ["::mlir::qc::QCDialect", "::mlir::arith::ArithDialect",
                           "::mlir::quant::QuantDialect",
                           "::mlir::tensor::TensorDialect"];
}

def PackWeights : Pass<"qc-pack-weights"> {
  let summary = "Store the codes of low-bit matmul weights in the byte layout a kernel reads (qc.packed_weight)";
  let description = [{
    For every `qc.matmul` whose right-hand side is a 2-D `quant.scast` of
    constant integer codes (what qc-quantize-weights and the importer of
    MatMulNBits produce), arranges the codes in bytes as `layout` says and
    replaces the weight by `qc.packed_weight %bytes layout #qc.packed<...>`
    (see the op and attribute). The quantized type, and so the scales and
    zero points, stay as they are. The arithmetic is
    `numerics::pack`; `numerics::unpack` inverts it (PackingTest.cpp).

    Layouts (`layout` option):
    - `nibbles`: two 4-bit codes per byte, row-major (4-bit weights only).
    - `vnni`: x86 `vpdpbusd` tiles (4- and 8-bit weights; n % 16 == 0 and
      k % 8 (4-bit) or k % 4 (8-bit) == 0).
    - `mma`: NVIDIA `mma.sync.m16n8k16` B fragments with the interleaved
      nibble order of the int4 → fp16 conversion (4-bit; n % 8 == 0, k %
      32 == 0).

    Left alone: float weights, weights that are not constant, 8-bit weights
    under `nibbles` or `mma` (a byte per code already), convolution
    weights, weights already packed. A weight whose shape the layout cannot
    hold stays unpacked with a warning naming the node and the reason.

    Errors: an unknown `layout`.

    Invariant: the weight's codes are unchanged, so every output is
    bit-identical (test/Dialect/QC/pack-weights-numerics.test). The CPU
    lowering does not read the layouts yet: it unpacks constant packed
    weights at compile time (`numerics::unpack`), so a packed model runs as
    the unpacked one does.
  }];
  let options = [
    Option<"layout", "layout", "std::string", /*default=*/"\"nibbles\"",
           "Byte layout: nibbles, vnni (x86 dot-product tiles) or mma (GPU "
           "tensor-core fragments)">
  ];
  let dependentDialects = ["::mlir::qc::QCDialect", "::mlir::arith::ArithDialect"];
}

def AssignPrecision : Pass<"qc-assign-precision"> {
  let summary = "Mixed precision: choose a weight format per layer minimising the total sensitivity under a size budget";
  let description = [{
    For every layer qc-quantize-weights would rewrite (matmuls with constant
    2-D f32 weights; group-1 convolutions), and every candidate format that
    applies to it (a group must divide K; convolutions take per-filter int
    and fp8 formats, or float), measures

      sensitivity(layer, format) = Σ_i H_ii·Σ_j ΔW[j, i]² / Σ_i H_ii·Σ_j W[j, i]²

    with ΔW = W − dequant(quant_RTN(W)) and H = 2XᵀX/N the Hessian of the
    layer's calibration inputs (quant-compile --calib; the diagonal only:
    input channels taken as uncorrelated): the layer's output noise-to-
    signal ratio E‖X·ΔWᵀ‖² / E‖X·Wᵀ‖². Relative, not absolute, errors are
    summed because a norm rescales what a layer writes: absolute errors of
    different layers are not comparable (measured: with absolute errors the
    choice lost 8.7 dB of logits SQNR against uniform int4 g128 on the
    generated decoder; with relative ones it gains). Without calibration
    data (quant-opt) H = I.

    Objective: minimise Σ_layers sensitivity subject to Σ_layers bits ≤
    budget, where a layer's bits count its codes and its parameters
    (`numerics::weightStorageBits`: f32 scales, zero points, E8M0 / E4M3
    block scales), and the budget is `avg-bits` × the number of weights or
    `size-budget` bytes × 8; or, with `latency-budget` (µs), subject to
    Σ_layers modelled time ≤ budget, a layer's time being that of our own
    CPU kernel for its format at its shape (`numerics::layerLatencyNs`:
    max(bytes read × ns/byte, m·n·k / MACs per ns), one core, the
    coefficients per format family measured by bench/kernel_costs.py; m
    is the rows of activations per call). The latency knapsack runs in
    units of 1 ns. One format per layer: a multiple-choice
    knapsack, solved by dynamic programming over the budget in units of the
    greatest common divisor of the sizes (exact; if that table would exceed
    2·10⁸ cells the unit is coarsened, sizes rounded up, and the result
    marked `exact = false`: still within budget).

    User overrides win: `keep-float` layers are float, and `overrides`
    ("regex=format;..." over ONNX node names, first match) fix a layer's
    format; both count toward the budget.

    Output: every such layer gets `qc.weight_format` (the format's name,
    which qc-quantize-weights then follows, whatever its own bits / group /
    format options say) and `qc.sensitivity`; the root op gets `qc.precision`
    = {objective, bits, latency_us (modelled), budget_bits or budget_us,
    weights, exact, hessian}. Weights are
    not changed here. The accuracy report (quant-compile --report) lists the
    choice per layer.

    Errors (naming the node or option): a candidate or override that is not
    a format, none or both budgets, a budget below the smallest possible
    size, a layer no candidate applies to, an override that does not apply.

    Sensitivities of convolutions are always the unweighted weight error
    (calibration records Hessians for matmuls only).
  }];
  let options = [
    Option<"candidates", "candidates", "std::string",
           /*default=*/"\"int8,int4-g32,int4-g128,int4\"",
           "Comma-separated formats to choose from (float, int8, int4, "
           "uint8, uint4, fp8, fp8-e5m2, with -g<N> for groups, mxfp4, nvfp4)">,
    Option<"avgBits", "avg-bits", "double", /*default=*/"0",
           "Budget: average bits per weight, scales and zero points included">,
    Option<"sizeBudget", "size-budget", "int64_t", /*default=*/"0",
           "Budget: total bytes of the layers' weights and parameters">,
    Option<"latencyBudget", "latency-budget", "double", /*default=*/"0",
           "Budget: the layers' total time per call in microseconds, from "
           "the cost model of our CPU kernels (numerics::layerLatencyNs)">,
    Option<"overrides", "overrides", "std::string", /*default=*/"\"\"",
           "Fixed formats: REGEX=FORMAT;... over ONNX node names">,
    Option<"keepFloat", "keep-float", "std::string", /*default=*/"\"\"",
           "Regular expression over node names kept float">
  ];
  let dependentDialects = ["::mlir::qc::QCDialect"];
}

#endif // QC_DIALECT_QC_TRANSFORMS_PASSES_TD
