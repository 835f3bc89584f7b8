//===- Passes.td - lowering passes from qc to LLVM -----------*- tablegen -*-===//
//
// The CPU lowering: qc ops to linalg on tensors, the C entry point, and the
// named pipeline `qc-lower-to-llvm` (registered in Pipelines.cpp) that chains
// them with the upstream passes down to the LLVM dialect.
//
//===----------------------------------------------------------------------===//

#ifndef QC_CONVERSION_PASSES_TD
#define QC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertQCToLinalg : Pass<"convert-qc-to-linalg", "ModuleOp"> {
  let summary = "Lower qc ops to linalg, arith and math on tensors";
  let description = [{
    Rewrites every `qc` op into `linalg.generic`s (and `tensor` reshapes) over
    plain tensors, and removes `!quant.uniform` types: a quantized tensor
    becomes its storage tensor (`i8`, `i4`, `i32`, ...), `quant.scast` between
    the two disappears.

    - `qc.quantize`: `clamp(round_half_even(x / scale) + zero_point)` in the
      float type, then to the storage integer; per-tensor, per-axis and
      sub-channel parameters are constants read through an indexing map
      (`d floordiv block` for sub-channel).
    - `qc.dequantize`: `(q - zero_point) · scale`.
    - `qc.matmul` with float operands: one contraction `linalg.generic` over
      (batch..., m, n, k) whose maps express numpy broadcasting,
      `transpose_rhs` and 1-D operands; f16/bf16 accumulate in f32.
    - `qc.matmul` with both operands quantized and no scale varying along K
      (per-tensor, per-row lhs, per-column rhs): integer arithmetic, the
      zero-point-shifted storage values multiplied and accumulated in `i32`,
      then a float epilogue `acc · s_lhs · s_rhs (+ bias)` and, for a quantized
      result, the quantization above. The float epilogue (not a fixed-point
      multiplier) matches ONNX's definition, which rounds the real product.
    - `qc.matmul` with a quantized lhs constant along K and a 2-D weight of
      at most 8 bits whose parameters vary along K by groups (W4A8, W4A4
      g32/g128): the reduction is split into (K/g, g); one generic sums each
      group's products of the shifted codes in `i32` ([..., M, N, K/g], or
      [..., M, K/g, N] for a [K, N] weight), a second scales each partial sum
      by its group's weight scale and sums the groups in f32, and the
      epilogue applies the lhs scale. Not cache-blocked by
      qc-tile-contractions (issue 8's kernels).
    - `qc.matmul` with one quantized operand (weight-only, e.g. MatMulNBits):
      the weight is dequantized inside the contraction body, element by
      element, so no float copy of it is materialised.
    - `qc.rms_norm`, `qc.layer_norm`: reductions over the trailing dimensions
      in f32, then one element-wise generic.
    - `qc.hadamard` of size K·2^m: m butterfly stages, each one generic
      over the axis viewed as [..., K, 2, ..., 2, stride], then (K > 1) a
      contraction of the K axis with the K×K factor, and the 1/sqrt(size)
      normalisation. With `hadamard-kernel` (the CUDA pipeline), a static
      f32 transform with K ≤ 64 and 2^m ≤ 8192 is instead one reduction
      generic marked `qc.hadamard = {size, stride}`: out = Σ_i x_i·h(i, j),
      the Sylvester sign computed from the indices (popcount) and the
      factor read from a constant table; exact, but size multiply-adds per
      output: it is the form qc-map-to-gpu replaces with its one-kernel
      transform, and qc-fuse-elementwise fuses nothing into or out of it.

    Unsigned integer constants (`ui8` zero points and weights from ONNX)
    become signless constants viewed through `tensor.bitcast`, so that the
    pipeline can then erase signedness altogether. Resource-backed sub-byte
    constants (MatMulNBits' int4 weights, one element per byte) become i8
    constants over the same blob, which `qc.matmul` reads directly and
    truncates in its body: LLVM IR cannot hold an i4 array, and no narrowed
    copy of the weight is made.

    Invariant: the lowered program computes the values the `qc` ops define
    (lit tests check the IR; the conformance sweep runs it). What cannot be
    lowered (a `qc.observe` left in the program, a Hadamard size with a
    non-power-of-two factor, an op on quantized tensors other than the above)
    is an error at the op.

    With `packed-int8-activations`, a `nibbles` int4 weight read by a
    matmul whose left-hand side is an 8-bit `qc.quantize_per_token` is also
    contracted in its packed words (`qc.packed_contraction` with
    `int8`): i8 codes times the word's nibbles summed in i32 per word, then
    the word's scale in f32 and the per-token scale in an epilogue (W4A8;
    the CPU pipeline sets it, for `qc-vectorize-packed-contractions`).
    Without it such weights are unpacked at compile time.

    With `int8-mma` (the CUDA pipeline), a W8A8 matmul (symmetric signed
    8-bit codes on both sides, per-token or per-tensor activations, a
    constant 2-D weight, K a static multiple of 16) becomes the form
    qc-map-to-gpu's int8 tensor-core kernel takes: the activation's codes
    once into an i8 tensor, a contraction of the i8 codes (widened in its
    body) with the weight as [N, K] (a [K, N] constant is transposed at
    compile time), marked `qc.int8_contraction`, into i32, then the scales
    in an element-wise epilogue.

    With `f16-products` (the CUDA pipeline), the float-activation
    contraction of nibbles words computes in f16 pairs: per word, one lop3
    per two codes (i, i + 4) gives the f16 pair 1024 + u, one f16x2 fma
    scales it to (u − offset)/16 exactly (numerics::NibblePairF16), the
    activations' pairs are rounded to f16 and the word's products summed in
    f16x2, and the sum of the two halves times 16 · the scale goes into the
    f32 accumulator. The rounding of the activations and of the word's sum
    to f16 is the numeric difference from the f32 body (about 1e-3 of the
    output's range).
  }];
  let options = [
    Option<"packedInt8Activations", "packed-int8-activations", "bool",
           /*default=*/"false",
           "Contract per-token int8 activations with nibbles-packed int4 "
           "weights in their packed words">,
    Option<"hadamardKernel", "hadamard-kernel", "bool", /*default=*/"false",
           "Lower each qc.hadamard that qc-map-to-gpu's one-kernel "
           "transform takes to one generic marked qc.hadamard (the "
           "transform as a reduction with its ±1 matrix entries computed "
           "from the indices) instead of its butterfly stages">,
    Option<"int8Mma", "int8-mma", "bool", /*default=*/"false",
           "Lower W8A8 matmuls to the form of qc-map-to-gpu's int8 "
           "tensor-core kernel (i8 codes, the weight as [N, K])">,
    Option<"f16Products", "f16-products", "bool", /*default=*/"false",
           "Float activations times nibbles-packed int4 words in f16 pairs "
           "(the activations rounded to f16, each word's 8 products summed "
           "in f16x2, words in f32): fewer instructions for the GPU's GEMV">
  ];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def QCTileContractions : Pass<"qc-tile-contractions"> {
  let summary = "Cache-block, pack and register-block the contractions qc.matmul lowers to";
  let description = [{
    Works on every `linalg.generic` marked `qc.contraction` (the matmuls that
    `convert-qc-to-linalg` produces), iteration space (batch..., m, k, n) or
    (batch..., m, n, k):

    1. Weight packing: a non-splat constant [K, N] right-hand side read along
       n (used by this op alone, whole-byte elements, N a multiple of
       `register-n`) is rewritten at compile time into panels
       [N / register-n, K, register-n]; the contraction then runs over
       (batch..., m, k, panel, column) on an expand_shape of its output. A
       register block's k loop then reads one contiguous run of the weight.
    2. Cache tiles: n (in whole panels when packed) outside k, so that a
       [tile-k x tile-n] block of the weight stays in cache while every row of
       the left-hand side passes over it. Tile sizes are lowered to an even
       divisor of the dimension where one exists (>= half the requested
       size), which keeps the tiles static. With `parallel` the n tiles are an
       `scf.forall` (independent column blocks, run on OpenMP threads), else
       an `scf.for`; k tiles are an `scf.for`.
    3. Register blocks (order (batch..., m, k, n) only, `register-m` and
       `register-n` > 0, static shapes that the block divides): loops over
       [register-m x register-n] output blocks, a k loop inside each, the step
       vectorised (`vector.contract` with a unit reduction dimension) and the
       accumulator's read/write hoisted out of the k loop, so it stays in
       registers.

    GEMVs (at most 8 rows: no reuse of the weight across rows) are never
    k-tiled. A packed GEMV gets column tiles and register blocks of min(rows,
    register-m) rows; an unpacked one (e.g. a dequantised int4 weight) with
    `parallel` has its reduction split into 8 chunks of whole weight rows
    (`linalg::splitReduction`, an scf.forall over the chunks, then a sum of
    the 8 partial rows), because the hardware prefetchers keep up only with
    long contiguous runs. Anything else is left as it is.

    Invariant: each output element is still the same sum, in a different
    association order (which the contraction's reassoc flag allows); packing
    only moves the weight's elements.
  }];
  let options = [
    Option<"tileN", "tile-n", "int64_t", /*default=*/"256",
           "Tile size along the output columns (0: do not tile)">,
    Option<"tileK", "tile-k", "int64_t", /*default=*/"256",
           "Tile size along the reduction (0: do not tile)">,
    Option<"parallel", "parallel", "bool", /*default=*/"false",
           "Make the n-tile loop an scf.forall">,
    Option<"minParallelMacs", "min-parallel-macs", "int64_t",
           /*default=*/"1048576",
           "With parallel: contractions of fewer multiply-adds (M*N*K, a "
           "dynamic size counted as 1) stay on the calling thread (a thread "
           "team costs more than they take)">,
    Option<"registerM", "register-m", "int64_t", /*default=*/"0",
           "Rows of the register block (0: no register blocking)">,
    Option<"registerN", "register-n", "int64_t", /*default=*/"0",
           "Columns of the register block (0: no register blocking)">,
    Option<"releasePackedSources", "release-packed-sources", "bool",
           /*default=*/"false",
           "After packing a weight held in a dense resource that no other "
           "constant of this module uses, release the original bytes (only "
           "safe when no other module, e.g. a clone, refers to them)">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::vector::VectorDialect"];
}

def QCVectorizeInt8Contractions
    : Pass<"qc-vectorize-int8-contractions"> {
  let summary = "x86 VNNI (vpdpbusd) GEMM kernels for 8-bit integer matmuls";
  let description = [{
    Rewrites every `linalg.generic` marked `qc.int8_contraction =
    {lhs_signed, rhs_signed}` (the importer's MatMulInteger: an (m, k, n)
    contraction of two operands that generics widen from 8-bit codes to i32,
    minus their zero points) into a register-blocked kernel for x86 CPUs with
    VNNI, when the weight (right-hand side) is a constant of signed bytes, K
    is a multiple of 4 and N of the vector lanes L = `dot-bits` / 32:

    - at compile time, the weight is laid out as vpdpbusd reads it, [N/L,
      K/4, 4L] bytes (byte 4l + t of quad q of column block j holding
      w[4q + t, jL + l]), and its column sums are kept as a constant;
    - signed activations are XORed with 0x80 once per call (a + 128, the
      unsigned bytes the instruction takes);
    - per block of up to 4 rows and 4 column vectors (16 accumulators;
      2 vectors with 256 bits; a dynamic M: blocks of the most rows, then
      the rows left over one at a time), each quad of K loads the column
      vectors and
      broadcasts each row's 4 activation bytes, and `vpdpbusd` accumulates
      in i32;
    - the epilogue subtracts (a's zero point + 128 if signed) times the
      column sums and, where the weight has a zero point zb, adds
      zb * (K * za - the row's sum of a); the result is exact.

    The weight may also be read as [N, K] (map (n, k): a transpose_rhs
    W8A8 `qc.matmul`, which convert-qc-to-linalg emits in this form on a
    dot-product target); it then has no zero point.

    With `vnni` false (AVX2 without VNNI, `dot-bits`=256) each vpdpbusd is
    replaced by an exact sequence: the bytes of both sides widened to 16
    bits in place (even bytes masked or shifted up and arithmetically
    back, odd ones shifted down), two vpmaddwd and two adds (vpmaddubsw
    would saturate on 255 * -128 * 2); 4 accumulators instead of 8.

    Column panels are an `scf.forall` when `parallel`. Without `dot-bits`
    (0), or for generics it cannot take (unsigned weights, a non-constant
    weight, other shapes), nothing changes: `qc-tile-contractions` handles
    them.

    Invariant: the result is the same i32 values (integer arithmetic,
    wrapping only where the original would).
  }];
  let options = [
    Option<"parallel", "parallel", "bool", /*default=*/"false",
           "Split the column panels over an scf.forall">,
    Option<"minParallelMacs", "min-parallel-macs", "int64_t",
           /*default=*/"1048576",
           "With parallel: contractions of fewer multiply-adds (M*N*K, a "
           "dynamic size counted as 1) stay on the calling thread (a thread "
           "team costs more than they take)">,
    Option<"dotBits", "dot-bits", "int64_t", /*default=*/"0",
           "Widest vpdpbusd of the target in bits (512, 256; 0: none, the "
           "pass changes nothing)">,
    Option<"vnni", "vnni", "bool", /*default=*/"true",
           "The target has vpdpbusd; false: AVX2 without VNNI, each "
           "vpdpbusd becomes an exact vpmaddwd sequence (needs dot-bits=256)">
  ];
  let dependentDialects = ["::mlir::affine::AffineDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::vector::VectorDialect"];
}

def QCVectorizePackedContractions
    : Pass<"qc-vectorize-packed-contractions"> {
  let summary = "CPU vector kernels for contractions over nibbles-packed int4 words";
  let description = [{
    Rewrites every `linalg.generic` marked `qc.packed_contraction` (a float
    activation times an int4 weight in the `nibbles` layout, read as [N, K/8]
    32-bit words: what `convert-qc-to-linalg` makes of such a `qc.matmul`)
    into an explicit vector kernel for CPUs. With `L` lanes (`lanes`, lowered
    to the largest power of two that divides K/8 and fits the groups), a
    chunk of the weight row is one `vector<L x i32>` load of L words, 8L
    codes:

    - once per call, the activation is rearranged to [M, K/8L, 8, L] so that
      lane l of row j of a chunk holds x[8l + j] (the code that nibble j of
      word l multiplies), times 2^-4j; and, where a zero point applies,
      the sum of x over each word's 8 codes is kept ([M, K/8]);
    - per chunk and nibble j < 7: `word & (0xF << 4j)`, converted to float
      (exactly c * 2^4j), times the rearranged x (an FMA); nibble 7 is
      `word >> 28`. Signed codes are first XORed with 0x88888888 (c + 8),
      and the zero point (+ 8) times the word's x sum is subtracted;
    - the word's group scale multiplies the chunk's lane sums into L f32
      accumulators, one per row of x (up to 4 rows share a chunk's codes);
    - after the row, the lanes are summed into the output.

    With int8 activations (`int8` in the marker: per-token codes, W4A8) and
    `dot-bits` > 0, the chunk is contracted by the x86 VNNI instruction
    `vpdpbusd` (`llvm.x86.avx512.vpdpbusd.512`/`.256`, 16/8 lanes): the
    words' low nibbles (`& 0x0F0F0F0F`) and high nibbles (`>> 4`, masked)
    are the unsigned bytes (signed codes XORed to c + 8), the activation
    codes, rearranged once per call so that byte t of lane l holds code
    8l + 2t (+ 1 for the high nibbles), the signed ones; each lane gets its
    word's 8 products in i32, converted to f32, minus (zero point [+ 8])
    times the word's code sum, times the group scale. Without `dot-bits`
    the int8 generic is left as it is.

    W4A8 with N a multiple of the lanes and constant words, scales and zero
    points (what a compiled model has) takes the VNNI layout instead: at
    compile time the words become [N/L, K/8, L] (numerics
    `nibblesToVnniWords`: lanes are output rows, byte p of a word holds
    codes 8w + p and 8w + 4 + p, signed codes stored as c + 8) and the
    parameters [N/L, groups, L] f32 (a zero point equal everywhere, such as
    MatMulNBits' default 8, becomes a constant vector). Per word: `& 0x0F`
    and `>> 4` give the two halves, each meets 4 activation bytes broadcast
    from x itself (no rearrangement) in a dot product accumulating in i32
    over the whole group (2 words unrolled, 4 accumulators per row of x);
    per group: (zero point [+ 8]) times the row's code sum of the group is
    subtracted and the scale lanes multiply; the L outputs are stored
    without a horizontal sum. About 6 instructions per 64 bytes of codes
    against 13 for the chunk kernel.

    With `vnni` false (AVX2 without VNNI, `dot-bits`=256), each dot
    product is vpmaddubsw (nibbles times codes, pairs in i16; 2 * 15 * 128
    cannot saturate) then vpmaddwd by ones and an add.

    Weight rows are split into `row-tiles` pieces of an `scf.forall` when
    `parallel` (each thread streams whole rows); otherwise `scf.for`.
    Generics this cannot take (other element types, scales that vary inside
    a word, an activation broadcast across a batch) are left as they are.

    Invariant: every product is the same exact code times x (the powers of
    two cancel exactly), summed in a different association order, which
    the contraction's reassoc flag allows.
  }];
  let options = [
    Option<"lanes", "lanes", "int64_t", /*default=*/"16",
           "Words per vector load (a power of two; 16: AVX-512)">,
    Option<"parallel", "parallel", "bool", /*default=*/"false",
           "Split the weight rows over an scf.forall">,
    Option<"minParallelMacs", "min-parallel-macs", "int64_t",
           /*default=*/"1048576",
           "With parallel: contractions of fewer multiply-adds (M*N*K, a "
           "dynamic size counted as 1) stay on the calling thread (a thread "
           "team costs more than they take)">,
    Option<"rowTiles", "row-tiles", "int64_t", /*default=*/"8",
           "Pieces the weight rows are split into with parallel">,
    Option<"dotBits", "dot-bits", "int64_t", /*default=*/"0",
           "Widest vpdpbusd of the target in bits (512: AVX-512 VNNI, 256: "
           "AVX-VNNI or AVX-512 VNNI with 256-bit vectors; 0: none, the "
           "int8 contractions stay generic)">,
    Option<"vnni", "vnni", "bool", /*default=*/"true",
           "The target has vpdpbusd; false: AVX2 without VNNI, each "
           "vpdpbusd becomes vpmaddubsw + vpmaddwd (needs dot-bits=256)">
  ];
  let dependentDialects = ["::mlir::affine::AffineDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::vector::VectorDialect"];
}

def QCExternalizeWeights : Pass<"qc-externalize-weights", "ModuleOp"> {
  let summary = "Move large constant buffers into a weights file mapped at load time";
  let description = [{
    Runs after bufferization. Every constant `memref.global` of at least
    `threshold` bytes (byte-sized element types, not splats) is written to
    the file `file` (64-byte aligned, after a 64-byte header holding a magic
    string, the file size and a hash of the contents) and removed; each
    `memref.get_global` of it becomes a memref over `base + offset`, where
    `base` is an internal pointer global. The pass adds

    ```c
    int32_t <name>_load_weights(const char *path);
    ```

    which opens and `mmap`s the file read-only, checks its header against the
    values compiled in, copies the contents into anonymous memory aligned to
    2 MiB and advised as transparent huge pages (faster to stream than the
    page cache's 4 KiB pages; with `QUANT_WEIGHTS_MAP` in the environment, or
    when that memory cannot be had, it keeps the file mapping instead), and
    sets `base`; it returns 0, or 3
    (`QUANT_ERR_WEIGHTS`) when the file cannot be opened or mapped or does not
    match. The module gets the attribute `qc.weights_base`, so that
    `qc-emit-c-interface` makes `<name>_run` return 3 until the weights are
    loaded. Nothing to externalize: no file is written and no function added.

    With `cuda` (the `--target=cuda` pipeline, before `qc-emit-c-interface`
    and `qc-map-to-gpu`), each `memref.get_global` becomes instead a memref
    over the address of a placeholder global, an external declaration
    `__<name>_weight_<i>` marked `qc.weights_offset = offset`, which
    `qc-device-globals` replaces by the device copy of `base + offset`
    (uploaded on first use) once the host code is LLVM; and
    `<name>_load_weights` keeps the file mapping (no host copy: the
    kernels read the device copy; the mapping stays as the uploads' key
    and source).

    Invariant: the program reads the same bytes, from the mapped file instead
    of the object's read-only data (or a copy of that file).
  }];
  let options = [
    Option<"entryName", "name", "std::string", /*default=*/"\"model\"",
           "Prefix of <name>_load_weights">,
    Option<"file", "file", "std::string", /*default=*/"\"\"",
           "Path of the weights file to write">,
    Option<"threshold", "threshold", "int64_t", /*default=*/"65536",
           "Smallest constant (in bytes) moved to the file">,
    Option<"cuda", "cuda", "bool", /*default=*/"false",
           "The weights are read by GPU kernels: placeholders for "
           "qc-device-globals, the file kept mapped">
  ];
  let dependentDialects = [
    "::mlir::LLVM::LLVMDialect", "::mlir::memref::MemRefDialect",
    "::mlir::arith::ArithDialect", "::mlir::cf::ControlFlowDialect"
  ];
}

def QCEmitCInterface : Pass<"qc-emit-c-interface", "ModuleOp"> {
  let summary = "Add the C entry point `<name>_run` around the bufferized @main";
  let description = [{
    Runs after bufferization and `buffer-results-to-out-params`, when `@main`
    takes one memref per input and then one per output, all with the identity
    layout. Adds

    ```c
    int32_t <name>_run(void *const *inputs, const int64_t *const *shapes,
                       void *const *outputs);
    ```

    which checks its pointers, builds a memref for each input (its dynamic
    sizes from `shapes[i]`, which may be null when no input has a dynamic
    dimension; static sizes given there must match, and dynamic dimensions
    that share a name in the argument attribute `onnx.dim_params` — the ONNX
    dim_param, set by the importer — must be equal), calls `@main`, and returns
    0, or 1 (`QUANT_ERR_NULL`) for a null pointer, or 2 (`QUANT_ERR_SHAPE`) for
    a size that does not match, or 3 (`QUANT_ERR_WEIGHTS`) when the module has
    an external weights file (`qc.weights_base`) that is not loaded yet. docs/abi.md is the reference. `@main` is
    renamed `__<name>_main` with internal linkage so that only the entry point
    is exported. Outputs must have static
    shapes (the caller allocates them).
  }];
  let options = [
    Option<"entryName", "name", "std::string", /*default=*/"\"model\"",
           "Prefix of the entry point: <name>_run">,
    Option<"cuda", "cuda", "bool", /*default=*/"false",
           "The model runs on a CUDA GPU: stage host inputs and outputs "
           "through device memory (quant_cuda_input/output) and return "
           "QUANT_ERR_CUDA (4) when the runtime reports a failure">
  ];
  let dependentDialects = [
    "::mlir::LLVM::LLVMDialect", "::mlir::memref::MemRefDialect",
    "::mlir::arith::ArithDialect", "::mlir::cf::ControlFlowDialect"
  ];
}

def QCOutputsInPlace : Pass<"qc-outputs-in-place", "::mlir::func::FuncOp"> {
  let summary = "Compute each output in the caller's buffer instead of "
                "copying it there";
  let description = [{
    Runs after `buffer-results-to-out-params` (without its hoisting, which
    crashes on a buffer returned twice), which ends a function with one
    `memref.copy %buffer, %out` per output argument (marked
    `bufferize.result`). Where `%buffer` is a `memref.alloc` of the
    function's entry block with the output's exact type and the copy is the
    output argument's only use, the allocation is replaced by the argument
    and the copy erased: the producer writes the caller's buffer directly.
    A buffer copied into two outputs is given to the first; the second copies
    from it. Everything else (an input or a constant returned as an output,
    views, other layouts) keeps its copy. For a decoder that returns its
    key/value cache, this removes one full pass over the cache per call.

    Relies on the C interface's rule that outputs do not overlap inputs or
    each other.

    Invariant: the outputs receive the same values.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def QCCacheBuffers : Pass<"qc-cache-buffers", "ModuleOp"> {
  let summary = "Keep intermediate buffers between calls instead of "
                "freeing them";
  let description = [{
    Runs after the buffer deallocation pipeline, on the host module (func.func
    ops with `memref.alloc`/`memref.dealloc`). A model calls its entry point
    once per token or batch, and allocates the same intermediates every time:
    with glibc's defaults the large ones go back to the kernel when freed and
    come back as freshly zeroed pages on the next call, which cost more than
    the decoder's matmuls. This pass gives every allocation site of a static
    size of at least `min-bytes` bytes a slot (an entry of an internal pointer
    array) that keeps its buffer between calls:

    - `memref.alloc` becomes a call to `__<name>_buffer_take(slot, bytes,
      align)`: it takes the slot's buffer with an atomic exchange (when there
      is one and it is large enough), or allocates a fresh one with
      `aligned_alloc` behind a small header (the slot, the capacity, the
      block's base address). Sites with dynamic sizes get a slot too (a
      buffer too small for the call is freed and replaced); static sites
      below `min-bytes` pass no slot and always allocate.
    - `memref.dealloc` becomes `__<name>_buffer_give(pointer)`: it puts the
      buffer back into its slot with a compare-and-swap when the slot is
      empty, and frees it otherwise (or when the site has no slot).

    Concurrent calls are safe: a slot holds at most one buffer and is taken
    atomically, so a second caller (or a second OpenMP thread in a loop
    body) allocates its own buffer, and the first one given back refills
    the slot. The pass adds

    ```c
    void <name>_release_buffers(void);
    ```

    which frees the buffers the slots hold (buffers in use by running calls
    go back to their slots afterwards). The memory kept is the sum of the
    cached sites' sizes; the buffers' contents are not cleared between
    calls. When an allocation cannot be rewritten (a layout other than the
    identity, a memory space) the module is left as it was except for the
    release function, which then frees nothing. `min-bytes=-1` also leaves
    every allocation alone.

    Invariant: the program computes the same values; only where the memory
    comes from changes.
  }];
  let options = [
    Option<"entryName", "name", "std::string", /*default=*/"\"model\"",
           "Prefix of <name>_release_buffers">,
    Option<"minBytes", "min-bytes", "int64_t", /*default=*/"4096",
           "Smallest static allocation (in bytes) kept between calls; -1 "
           "keeps none">
  ];
  let dependentDialects = [
    "::mlir::LLVM::LLVMDialect", "::mlir::memref::MemRefDialect",
    "::mlir::arith::ArithDialect"
  ];
}

def QCLowerMemRefCopy : Pass<"qc-lower-memref-copy"> {
  let summary = "Turn memref.copy into a linalg.generic copy";
  let description = [{
    MLIR's LLVM lowering of `memref.copy` between non-contiguous memrefs calls
    `memrefCopy` from MLIR's C runner library, which a compiled model must not
    depend on. This pass rewrites every `memref.copy` into an element-wise
    `linalg.generic` (later lowered to loops), so the object needs only libc
    and libm. Copies of contiguous memrefs get the same treatment; LLVM turns
    the loops into `memcpy` where it can.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def QCApproximateMath : Pass<"qc-approximate-math"> {
  let summary = "Replace f32 math functions by polynomial approximations";
  let description = [{
    Rewrites the listed f32 `math` ops (on scalars or vectors) into MLIR's
    polynomial approximations: plain arith/bit operations, which LLVM
    vectorises inside the loops that contain them, instead of one libm call
    per element. `exp` (softmax, sigmoid, SiLU) is the one that matters for
    transformer models. Other element types and ops not in the list are left
    alone.

    Invariant: the result differs from the correctly rounded function by a
    few ulp (exp: within 4e-7 relative error, 3 ulp, where the result is a normal
    float; results in the subnormal range may lose their few bits or flush
    to 0; +inf, NaN and 0 as libm gives them).
  }];
  let options = [
    ListOption<"ops", "ops", "std::string",
               "math ops to approximate, by full name (math.exp, math.tanh, "
               "math.erf, math.log, math.log2, math.log1p, math.expm1, ...)">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::vector::VectorDialect"];
}

def QCParallelizeLoops : Pass<"qc-parallelize-loops"> {
  let summary = "Run large linalg ops that no other pass threaded on OpenMP threads";
  let description = [{
    For every linalg op on tensors that is not inside an `scf.forall` or
    `scf.for` already (contractions that `qc-tile-contractions` threaded are;
    small batched matmuls such as attention's are not), has static loop
    bounds and an iteration space of at least `min-iterations` points: tiles
    its outermost parallel loop with extent >= 2 into at most `chunks` equal
    pieces with an `scf.forall`, later run on OpenMP threads. Element-wise
    ops, reductions over inner dimensions (softmax, norms) and per-head
    matmuls all have such a loop. `linalg.fill` is left alone (memset speed).
    An innermost loop is cut into pieces that are multiples of 64 elements so
    that each piece still vectorises.

    Invariant: tiling a parallel loop only splits the iteration space; every
    element is computed by the same body from the same operands.
  }];
  let options = [
    Option<"minIterations", "min-iterations", "int64_t", /*default=*/"32768",
           "Smallest iteration space worth a parallel region">,
    Option<"chunks", "chunks", "int64_t", /*default=*/"8",
           "Most pieces the tiled loop is cut into">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect"];
}

//===----------------------------------------------------------------------===//
// The CUDA lowering (qc-lower-to-cuda)
//===----------------------------------------------------------------------===//

def QCFuseElementwise : Pass<"qc-fuse-elementwise"> {
  let summary = "Element-wise fusion that keeps qc's markers";
  let description = [{
    The patterns of `linalg-fuse-elementwise-ops` (producer/consumer fusion
    of element-wise generics, reshapes folded by expansion, splat and scalar
    constant operands folded into the bodies), applied so that a generic
    that replaces one carrying `qc.*` attributes (`qc.packed_contraction`,
    `qc.contraction`, ...) carries them too. Upstream's pass builds new ops
    and drops them, so the kernels chosen later (the tensor-core kernels of
    qc-map-to-gpu) would no longer find the contractions they are for.
    Nothing fuses into or out of a generic marked `qc.hadamard`, and into a
    `qc.int8_contraction` only producers that just widen (the importer's
    int32 casts): the activation's quantization stays a tensor of its own
    that the int8 kernel reads, instead of being recomputed per output. A
    splat scale or zero point folded into a packed contraction's body stays
    known through the marker's `scale` / `zero_point` values, which
    convert-qc-to-linalg records. A `linalg.transpose` whose only reader is
    a generic (an attention's K^T) is generalized first, so that it folds
    into the reader's indexing map: the transposed copy is never made. A
    `tensor.concat` of static shape becomes a generic with no inputs that
    computes each element from the operand it comes from (an `scf.if` per
    operand boundary, so only that operand is read), through that operand's
    static unit-stride slices and all-parallel producers (their bodies
    inlined, up to 4 deep) down to `tensor.extract`s: a rotary embedding's
    rotate_half (two slices of one tensor, one negated) then fuses into its
    reader, and a key/value cache's append is one generic, instead of a
    copy per operand after bufferization (a kernel each on the GPU).
  }];
}

def QCMapToGPU : Pass<"qc-map-to-gpu", "::mlir::func::FuncOp"> {
  let summary = "Put all the work of a bufferized function on the GPU";
  let description = [{
    The generic GPU mapping of `--target=cuda`: after bufferization, every
    operation of the function that reads or writes memory runs on the GPU,
    and the host keeps only allocation, views and launches.

    - `linalg` ops are generalized, their parallel loops moved outermost
      (interchange) and converted to an `scf.parallel` over the parallel
      loops around `scf.for` reductions. Each such top-level `scf.parallel`
      is collapsed to one dimension and tiled by `block-size`: the tiles map
      to GPU blocks, the points of a tile to threads (one output element per
      thread), with a bounds guard instead of `min` bounds. The mapping
      attributes are for `convert-parallel-loops-to-gpu`.
    - A packed int4 contraction (float activations times `nibbles` words,
      marked `qc.packed_contraction` by convert-qc-to-linalg) with at least
      `packed-mma-min-rows` rows (static, default 2) runs on the tensor
      cores: `mma.sync` m16n8k16 with f16 operands and f32 accumulators. A block of 8 warps
      computes 16 columns (2 tiles of 8) for up to 64 rows (4 tiles of 16;
      more rows take more blocks), its warps splitting K: warp w takes the
      steps (2 chunks of 128 codes) w, w + 8, ..., and the 8 partial sums
      meet in shared memory after a barrier. Per chunk a thread loads its
      columns' 4 words each (one 128-bit load) and, per word, the 8
      activations of its rows (two 128-bit loads), rounded to f16; it
      expands two codes per `lop3` into an f16 pair 1024 + u
      (numerics::NibblePairF16), then (pair − (1024 + zero point))·scale in
      two f16x2 instructions. The k order of the fragments is permuted so
      that each thread's codes are adjacent (numerics::MmaNibbles): the
      kernel reads the GEMV's layout. Needs K a multiple of 32, contiguous
      buffers, parameters constant over each run of 32 codes (groups of 32,
      64, 128, ...) and an integer zero point; M and N are any size. The
      rounding of the activations and scales to f16 is the numeric
      difference from the CPU backend (W4A16).
    - An int8 contraction (convert-qc-to-linalg's `int8-mma` form: signed
      i8 codes [M, K] times an i8 weight [N, K] into i32, marked
      `qc.int8_contraction`) with at least `mma-min-rows` rows runs on the
      tensor cores: `mma.sync` m16n8k32 s8 × s8 → s32. Blocks of 8 warps
      compute 128 × 128 outputs (a warp 64 × 32: 4 × 4 tiles); 64-byte
      slices of K of both operands go to shared memory by `cp.async`
      (three stages: two slices load while the tensor cores work on a
      third; 16-byte chunks XOR-swizzled so that `ldmatrix` reads them
      without bank conflicts) and into the fragments by `ldmatrix.x4`. An
      element-wise consumer of the i32 result that comes next (the scales'
      epilogue) is fused into the kernel's stores: the accumulators never
      go to memory. Exact: the i32 sums are those of the CPU's int8
      kernels. Needs K a multiple of 16 and contiguous buffers; M and N are
      any size.
    - A generic marked `qc.hadamard` (convert-qc-to-linalg's one-generic
      form of the online Hadamard, size = K·2^m, contiguous f32 buffers)
      runs as one kernel: the rows of each vector's [K, 2^m] view are split
      over blocks (a divisor of K, as many as give about 264 blocks in all;
      rows that fit in 32 KiB of shared memory); a block sums its rows of
      the K×K factor (±1 entries read from the factor's table, an input of
      the generic) from the whole input vector into shared memory,
      transforms them in m butterfly stages (a barrier after each) and
      stores them times 1/√size. Its body (a size-long reduction per
      output) is not what runs; a marked generic the kernel cannot take (a
      strided view, K > 1 without its table) keeps the generic mapping.
    - A run of generics over the same rows (static loops, all parallel but
      possibly the innermost; each element-wise over [rows, n] or a
      reduction of the rows with a sum, maximum or minimum in 32 bits), in
      which every reduction reads a row an earlier op wrote or is read by a
      later one (a residual add with the RMS norm after it, a softmax's
      maximum, exponentials, sum and scaling), runs as one kernel
      (GPURowKernel.cpp): a block per row of n rounded up to warps (at most
      256 threads); each op in turn, thread t taking elements t, t + T,
      ...; a reduction combined by warp shuffles, one shared slot per warp
      and a barrier, its result kept in registers for the later ops and
      stored by thread 0. Legal when each buffer the run writes is read back
      only at the same element of the row (so by the thread that wrote it)
      or, for a reduction's result, at its row, through views that keep
      addresses; and when no body writes memory or reads such a buffer at
      indices of its own. Fills folded into its reductions go with it. Rows
      of 32 to 32768 elements.
    - Other reductions whose body merges into the output with a sum, maximum
      or minimum get a kernel of their own: one warp per output point when the
      largest input runs along the reduction (lanes stride it, a shuffle
      tree combines), else one thread per output point; registers hold the
      partial results. With few warps over long rows, up to 8 warps of a
      block share an output point (their sums meet in workgroup memory). A
      packed int4 contraction with the f16-pair body (marker `f16`) sums
      each lane's run of 4 words in f16x2 chains of two words and scales
      the run once. With `weight-prefetch-mib` (not by default), when the
      largest input is a constant weight (a
      `memref.get_global`, or a placeholder of
      qc-externalize-weights{cuda}), each warp first prefetches the start
      of its rows of the constant inputs that vary with the rows (PTX
      `prefetch.L2`, lane l lines l, l + 32, ...; as much of every row as
      `weight-prefetch-mib` allows over all of them), then marks where the
      kernel waits for the one before it (an inline-PTX comment,
      `qc::kDependentWaitMarker`, that qc-gpu-dependent-launch turns into
      the wait on sm_90). A `linalg.fill` of the output that nothing reads
      before the reduction is folded into that kernel. A `memref.copy` from
      a buffer that only a fill has written (bufferization's copy of one
      zero-filled tensor per matmul) becomes a fill of its target first, so
      it folds the same way; the source's fill goes when nothing else
      reads the buffer.
    - Contiguous `memref.copy` becomes `gpu.memcpy`, other copies a `linalg`
      copy (and so a kernel).
    - Any other top-level op with memory effects (a rank-0 computation, a
      loop nest with no parallel loop) is wrapped, with its neighbours of the
      same kind, in a `gpu.launch` of one thread: correct, not fast.
    - `memref.alloc`/`alloca` at the top level become `gpu.alloc`, freed by a
      `gpu.dealloc` after their last use (through views included).

    Not touched: functions marked `qc.host` (the C entry point) and
    declarations. Errors: a value computed on the GPU that the host needs (a
    data-dependent shape) is reported on the op that computes it.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "Threads per block of the element-wise mapping">,
    Option<"mma", "mma", "bool", /*default=*/"true",
           "Packed int4 contractions with at least packed-mma-min-rows rows "
           "and int8 ones with at least mma-min-rows run on the tensor "
           "cores (mma.sync)">,
    Option<"mmaMinRows", "mma-min-rows", "int64_t", /*default=*/"9",
           "Fewest rows (the activation's leading dimensions) for the int8 "
           "tensor-core kernel; fewer take the generic mapping">,
    Option<"packedMmaMinRows", "packed-mma-min-rows", "int64_t",
           /*default=*/"2",
           "Fewest rows for the int4 tensor-core kernel; fewer take the "
           "GEMV mapping (on an H100, 8 rows on the kernel took a third of "
           "the GEMV's time, see docs/gpu.md)">,
    Option<"packedMmaColTiles", "packed-mma-col-tiles", "int64_t",
           /*default=*/"0",
           "8-column tiles per block of the int4 tensor-core kernel (more: "
           "the activations read fewer times, fewer blocks); 0: by the "
           "rows, 2 up to 8 rows, 4 up to 16, 8 beyond">,
    Option<"packedMmaRowTiles", "packed-mma-row-tiles", "int64_t",
           /*default=*/"0",
           "16-row tiles per block of the int4 tensor-core kernel, at most "
           "(more rows: more blocks, each reading its columns' weights); "
           "0: 1">,
    Option<"packedMmaWarps", "packed-mma-warps", "int64_t", /*default=*/"0",
           "Warps per block of the int4 tensor-core kernel, splitting K "
           "(fewer where their partial sums would not fit 48 KiB of shared "
           "memory; a block whose one warp's would not takes the GEMV "
           "mapping); 0: 8">,
    Option<"weightPrefetchMiB", "weight-prefetch-mib", "int64_t",
           /*default=*/"0",
           "MiB of a GEMV's constant weights (from the start of each row) "
           "that its warps prefetch into L2 before they wait for the "
           "kernel before them; 0 (the default until it is measured on a "
           "GPU): no prefetch, the wait at the entry">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::nvgpu::NVGPUDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

def QCMergeKernelModules : Pass<"qc-merge-kernel-modules", "ModuleOp"> {
  let summary = "Move all outlined kernels into one gpu.module";
  let description = [{
    `gpu-kernel-outlining` puts every kernel in a `gpu.module` of its own,
    which would mean one device image, one ptxas run per chip and one
    module load per kernel. This pass moves the functions of all
    `gpu.module`s into the first one (named `name`) and rewrites every
    `gpu.launch_func` to refer to it. Modules with targets already attached
    are refused (run it before attaching targets), and so are two kernels
    with the same name. Workgroup (shared memory) buffers of the kernels
    get `llvm.align = 16` where they have no alignment (LLVM would give an
    i8 array 1): 16-byte `cp.async` copies and `ldmatrix` rows need it.
  }];
  let options = [
    Option<"moduleName", "name", "std::string", /*default=*/"\"kernels\"",
           "Name of the merged gpu.module">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def QCDeviceGlobals : Pass<"qc-device-globals", "ModuleOp"> {
  let summary = "Read constant globals from device copies uploaded once";
  let description = [{
    Runs on the LLVM dialect after `gpu-to-llvm`. In the host function named
    by `function`, every `llvm.mlir.addressof` of a constant global (a
    weight) is replaced by a call of the runtime's
    `quant_cuda_global(host address, bytes)`, which uploads the global to
    device memory on first use and returns the device address afterwards.
    The host code of a `--target=cuda` model never dereferences these
    addresses itself (qc-map-to-gpu put every access in a kernel), so the
    kernels receive device pointers. Globals that are not constant, and
    addresses taken in other functions, are left alone.

    The placeholders of `qc-externalize-weights{cuda}` (globals marked
    `qc.weights_offset`) go the same way, their host bytes at `*base +
    offset` in the loaded weights file (`base` the module's
    `qc.weights_base`); the placeholders are erased. Such a placeholder
    without `qc.weights_base` is an error.
  }];
  let options = [
    Option<"function", "function", "std::string", /*default=*/"\"\"",
           "The host function whose globals move to the device">
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def QCGPUDependentLaunch : Pass<"qc-gpu-dependent-launch", "ModuleOp"> {
  let summary = "Let each kernel start while the one before it finishes "
                "(Hopper's programmatic dependent launch)";
  let description = [{
    After `gpu-module-to-binary`, in each PTX object of a `gpu.binary` whose
    target is sm_90 or later, every kernel begins with
    `griddepcontrol.launch_dependents` (the next kernel on the stream may
    be launched as soon as every block of this one has started) and
    `griddepcontrol.wait` (this kernel's threads go on only when the kernel
    before it has finished and its writes are visible). The object gets
    the property `qc.dependent_launch`, which qc-gpu-fat-binary records
    for the runtime: it launches kernels of such an image with
    `CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION`, so that a
    kernel's launch and the scheduling of its blocks overlap the end of
    the previous kernel. Since the wait comes before any other
    instruction, no kernel reads or writes memory before its predecessor
    is done: the order of the work is the stream's order, as without the
    attribute. The one exception: a kernel of qc-map-to-gpu that
    marks its wait (`qc::kDependentWaitMarker`, a GEMV over constant
    weights) waits at the mark, after prefetching its weights into L2:
    those reads overlap the end of the kernel before it, and they read
    nothing that any kernel writes. Objects for older chips (and cubin
    objects) are left as they are (the mark stays a comment), and so are
    kernels already waiting.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def QCGPUFatBinary : Pass<"qc-gpu-fat-binary", "ModuleOp"> {
  let summary = "Merge the objects of each gpu.binary into one loadable image";
  let description = [{
    After `gpu-module-to-binary`, a `gpu.binary` holds one object per target
    (cubin or PTX per `#nvvm.target`). The stock translation embeds only
    one. This pass packs all of them into a single object whose bytes are a
    small container ("QCFATBIN", a count, then per image its kind, its
    architecture and its place), which the runtime's `mgpuModuleLoad`
    reads: it loads the cubin built for the device's architecture, else the
    newest PTX the device can compile (sm_80 PTX serves Ampere, Ada and
    Hopper). With `ptxas`, each PTX is also compiled into a cubin for its
    chip (a ptxas failure is an error naming the chip). Binaries with one object are packed the same way, so the
    runtime can name what a model was built for when nothing fits. A PTX
    object with the property `qc.dependent_launch`
    (qc-gpu-dependent-launch) adds an entry of kind 2 and no bytes for its
    architecture: that architecture's images wait for their predecessor
    in their kernels (runtimes that predate it skip the entry).
  }];
  let options = [
    Option<"ptxas", "ptxas", "std::string", /*default=*/"\"\"",
           "ptxas to compile each PTX into a cubin for its chip as well "
           "(empty: PTX only)">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

#endif // QC_CONVERSION_PASSES_TD
