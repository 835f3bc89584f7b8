#!/usr/bin/env python3
"""W4A16 matmuls on the GPU: quant --target=cuda against PyTorch fp16 (cuBLAS).

Two halves, because the GPU machine cannot compile (no LLVM/MLIR) and this
one has no GPU:

  gpu_vs_torch.py prepare BUILD_BIN OUT   (here) generates ONNX MatMulNBits
      models (int4 weights, groups of 128, symmetric) for the issue's shapes,
      compiles each with quant-compile --target=cuda:sm_90a --emit=shared,
      and gzips the libraries (the weights repeat a pattern of a few rows so that
      the compressed files travel; the kernels read every byte all the same).
  gpu_vs_torch.py prepare BUILD_BIN OUT --decoder=WORK   (here) also the
      decoder below and its variants, as xz (WORK: a few GB of generated
      model, kept for next time)
  gpu_vs_torch.py run OUT                 (on the GPU machine, with PyTorch)
      times each library with quant-run --bench --flush-l2 (CUDA events, the
      L2 cache refilled by a read of 256 MiB before every call) and the same product in
      PyTorch fp16 (x @ Wᵀ, W [N, K], rotating through copies of W larger
      than L2), and prints per case our time, PyTorch's, the ratio and each
      one's effective bandwidth: bytes of the weights in their format (int4
      codes and f32 group scales for us, fp16 for PyTorch) plus activations
      and outputs, over the time. Beside the default choice of kernel, one row
      is also compiled with --cuda-mma-min-rows=1 (the tensor-core kernel,
      rows of kernel 'mma') and with --cuda-weight-prefetch=16 (the GEMV
      prefetching its weights, 'pf'), and 2 to GEMV_ROWS rows with
      --cuda-mma-min-rows=9 (the GEMV, kernel 'gemv'), and 16 rows or
      more with the tensor-core kernel's other block shapes of MMA_SHAPES
      (kernel 'c4', 'r1c8', ...: --cuda-mma-col-tiles, -row-tiles, -warps).
      GPU_BENCH_ONLY=w8a8,hadamard,decoder (the default: all) picks which
      of the parts below run after the W4A16 table (any other word: none).

Then the online Hadamard the issue measures: qc.hadamard of size 14336
(= 28·512, Llama-3 8B's MLP width) on [M, 14336] for M = 1, 16, 64 (a .mlir
module, compiled as the models are), its time against the W4A16 down
projection (N = 4096, K = 14336) of the same M that it precedes, each a
model of its own (so each time includes a call's fixed costs); and inside a
model: a float MatMul 14336 -> 4096 quantized by quant to int4 g128, with
and without --rotate (which puts the online Hadamard before it), and the
time the Hadamard adds; each pair also with --cuda-weight-prefetch=16 (the
GEMV's weights prefetched into L2 while the Hadamard's kernel ends).

Last, a whole decoder, one token at a time: the 1.1 B-parameter model of
scripts/gen_llama.py --preset 1b --seq 1 --past 128 --matmul-nbits 128 (the
CPU benchmark's, bench/decoder_vs_ort.py: every projection and the LM head
a MatMulNBits, W4A16 g128, a float32 embedding; one call is one token over
a 128-entry key/value cache). prepare compiles it for the GPU with its
weights made periodic (each tensor's first 16 KiB repeated, so that the
library compresses for the trip; the kernels read every byte all the
same), and once more for each of DECODER_VARIANTS (--merge-siblings=false:
q/k/v and gate/up as separate matmuls, one kernel each;
--cuda-weight-prefetch=16: each GEMV prefetches its weights while the
kernel before it ends); run times it with quant-run --bench
(CUDA events, device-resident
inputs and outputs, the key/value cache included; the runtime replays the
calls as a CUDA graph from the second on, and once more with
QUANT_CUDA_GRAPHS=0, and once with QUANT_CUDA_PROFILE=1 for its 25
longest kernels) and the same
architecture in PyTorch fp16 (random weights of the same shapes; eager,
and replayed as a CUDA graph), and prints ms per token and tokens/s; the
default library and each variant are timed alternately, three times each.

Correctness of these kernels is checked elsewhere (scripts/gpu-tests.sh,
the node tests); here only speed is measured.
"""
import glob
import gzip
import lzma
import os
import re
import shutil
import subprocess
import sys

SHAPES = [  # (M, N, K)
    (1, 4096, 4096), (1, 14336, 4096), (1, 4096, 14336), (1, 28672, 8192),
    (2, 4096, 4096), (4, 4096, 4096), (8, 4096, 4096), (2, 28672, 8192),
    (16, 4096, 4096), (64, 4096, 4096),
    # The down projection the online Hadamard below precedes.
    (16, 4096, 14336), (64, 4096, 14336),
]
# Rows up to this many are also compiled for the other kernel, next to the
# default choice, to compare the two: M = 1 for the tensor-core kernel
# (--cuda-mma-min-rows=1), 2..8 for the GEMV (--cuda-mma-min-rows=9).
GEMV_ROWS = 8
# The tensor-core kernel's block shapes timed beside the default (one row
# tile; 4 column tiles up to 16 rows, 8 beyond; 8 warps): (suffix,
# quant-compile flags), for M of 16 rows and more. 'r4c2' is the default
# before 2026-12-07 (up to 4 row tiles, 2 column tiles).
MMA_SHAPES = [
    ("r4c2", ["--cuda-mma-row-tiles=4", "--cuda-mma-col-tiles=2"]),
    ("c4", ["--cuda-mma-col-tiles=4"]),
    ("c8", ["--cuda-mma-col-tiles=8"]),
]
HADAMARD_ROWS = (1, 16, 64)  # qc.hadamard of size 14336 on [M, 14336]
W8A8_SIZES = (4096, 8192)  # M = N = K
# The down projection after the Hadamard: plain, rotated, and both with
# the GEMV's weight prefetch (which overlaps the Hadamard's kernel).
HADAMARD_VARIANTS = [
    ("plain", []), ("rotated", ["--rotate"]),
    ("plain-prefetch", ["--cuda-weight-prefetch=16"]),
    ("rotated-prefetch", ["--rotate", "--cuda-weight-prefetch=16"]),
]
GROUP = 128


def prepare(build_bin, out):
    sys.path.insert(0, "/usr/lib/python3/dist-packages")
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper, save_model
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(0)
    for m, n, k in SHAPES:
        name = "w4a16_m%d_n%d_k%d" % (m, n, k)
        blocks = k // GROUP
        # A pattern short enough for gzip's 32 KiB window even when the
        # library holds one byte per code.
        period = max(1, 16384 // k)
        pattern = rng.integers(0, 256, (period, blocks, GROUP // 2),
                               dtype=np.uint8)
        packed = np.tile(pattern, (n // period, 1, 1))
        scales = np.tile((rng.random((period, blocks)) * 0.02 + 0.005)
                         .astype(np.float32), (n // period, 1))
        node = helper.make_node("MatMulNBits", ["A", "B", "S"], ["Y"],
                                domain="com.microsoft", K=k, N=n, bits=4,
                                block_size=GROUP)
        graph = helper.make_graph(
            [node], name,
            [helper.make_tensor_value_info("A", TensorProto.FLOAT, [m, k])],
            [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [m, n])],
            [numpy_helper.from_array(packed, "B"),
             numpy_helper.from_array(scales.reshape(-1), "S")])
        model = helper.make_model(graph, opset_imports=[
            helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
        model.ir_version = 8
        onnx_path = os.path.join(out, name + ".onnx")
        save_model(model, onnx_path)
        variants = [("", [])]
        if m == 1:
            variants += [("-mma", ["--cuda-mma-min-rows=1"]),
                         ("-pf", ["--cuda-weight-prefetch=16"])]
        elif m <= GEMV_ROWS:
            variants.append(("-gemv", ["--cuda-mma-min-rows=9"]))
        else:
            variants += [("-" + s, f) for s, f in MMA_SHAPES]
        for suffix, flags in variants:
            lib = os.path.join(out, "lib%s%s.so" % (name, suffix))
            subprocess.run([os.path.join(build_bin, "quant-compile"),
                            onnx_path, "--target=cuda:sm_90a", "--emit=shared",
                            "--name", "model", "-o", lib] + flags, check=True)
            with open(lib, "rb") as f, gzip.open(lib + ".gz", "wb", 6) as g:
                shutil.copyfileobj(f, g)
            for leftover in (lib, lib[:-3] + ".h"):
                if os.path.exists(leftover):
                    os.remove(leftover)
            print("prepared", name + suffix, os.path.getsize(lib + ".gz"),
                  "bytes gzipped")
        os.remove(onnx_path)
        np.save(os.path.join(out, name + ".x.npy"),
                rng.standard_normal((m, k)).astype(np.float32))
    # The down projection as a float MatMul quantized by quant (int4, g128),
    # plain and with --rotate (which puts an online Hadamard before it):
    # the difference is what the Hadamard adds inside a model, without the
    # per-call costs of a model of its own. Columns repeat with period 4 so
    # that the libraries compress.
    k, n = 14336, 4096
    cols = rng.standard_normal((k, 4)).astype(np.float32) / np.sqrt(k)
    node = helper.make_node("MatMul", ["x", "W"], ["y"])
    graph = helper.make_graph(
        [node], "down_proj",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["M", k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["M", n])],
        [numpy_helper.from_array(np.tile(cols, (1, n // 4)), "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx_path = os.path.join(out, "down_proj.onnx")
    save_model(model, onnx_path)
    for m in HADAMARD_ROWS:
        for variant, flags in HADAMARD_VARIANTS:
            lib = os.path.join(out, "libdown_%s_m%d.so" % (variant, m))
            subprocess.run([os.path.join(build_bin, "quant-compile"), onnx_path,
                            "--weights=int4", "--group=128",
                            "--input-shape=x=%d,%d" % (m, k),
                            "--target=cuda:sm_90a", "--emit=shared", "--name",
                            "model", "-o", lib] + flags, check=True)
            with open(lib, "rb") as f, gzip.open(lib + ".gz", "wb", 6) as g:
                shutil.copyfileobj(f, g)
            os.remove(lib)
            os.remove(lib[:-3] + ".h")
    os.remove(onnx_path)
    for m in HADAMARD_ROWS:
        name = "hadamard_m%d" % m
        path = os.path.join(out, name + ".mlir")
        open(path, "w").write(
            'func.func @main(%%x: tensor<%dx14336xf32> {onnx.name = "x"}) -> '
            '(tensor<%dx14336xf32> {onnx.name = "y"}) {\n'
            '  %%y = qc.hadamard %%x : tensor<%dx14336xf32>\n'
            '  return %%y : tensor<%dx14336xf32>\n}\n' % (m, m, m, m))
        lib = os.path.join(out, "lib%s.so" % name)
        subprocess.run([os.path.join(build_bin, "quant-compile"), path,
                        "--target=cuda:sm_90a", "--emit=shared", "--name",
                        "model", "-o", lib], check=True)
        for leftover in (path, lib[:-3] + ".h"):
            os.remove(leftover)
        np.save(os.path.join(out, name + ".x.npy"),
                rng.standard_normal((m, 14336)).astype(np.float32))
    # W8A8: a float MatMul [S, S] x [S, S] quantized by quant (int8
    # per-channel weights, per-token int8 activations). Columns repeat with
    # period 2 (the weight is stored as [N, K] rows: 16 KiB periods, so that
    # the library compresses). The input ([S, S] f32, up to 256 MiB) is made
    # on the GPU machine.
    for size in W8A8_SIZES:
        cols = rng.standard_normal((size, 2)).astype(np.float32) / np.sqrt(size)
        node = helper.make_node("MatMul", ["x", "W"], ["y"])
        graph = helper.make_graph(
            [node], "w8a8",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [size, size])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [size, size])],
            [numpy_helper.from_array(np.tile(cols, (1, size // 2)), "W")])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        onnx_path = os.path.join(out, "w8a8.onnx")
        save_model(model, onnx_path)
        lib = os.path.join(out, "libw8a8_s%d.so" % size)
        subprocess.run([os.path.join(build_bin, "quant-compile"), onnx_path,
                        "--weights=int8", "--group=0", "--activations=int8",
                        "--per-token", "--target=cuda:sm_90a", "--emit=shared",
                        "--name", "model", "-o", lib], check=True)
        with open(lib, "rb") as f, gzip.open(lib + ".gz", "wb", 6) as g:
            shutil.copyfileobj(f, g)
        for leftover in (lib, onnx_path, lib[:-3] + ".h"):
            os.remove(leftover)
        print("prepared W8A8", size, os.path.getsize(lib + ".gz"), "bytes gzipped")
    shutil.copy(os.path.join(build_bin, "quant-run"), out)
    # quant-run's shared libraries that a bare machine may lack.
    os.makedirs(os.path.join(out, "lib"), exist_ok=True)
    ldd = subprocess.run(["ldd", os.path.join(build_bin, "quant-run")],
                         capture_output=True, text=True).stdout
    for path in re.findall(r"=> (\S*(?:onnx|protobuf)\S*)", ldd):
        shutil.copy(os.path.realpath(path),
                    os.path.join(out, "lib", os.path.basename(path)))


# The decoder's variants, each timed against the default library,
# alternating (suffix of the library, quant-compile flags).
DECODER_VARIANTS = [
    ("unmerged", ["--merge-siblings=false"]),
    ("prefetch", ["--cuda-weight-prefetch=16"]),
]
DECODER = dict(preset="1b", past=128, block=128)
DECODER_SHAPE = dict(layers=22, hidden=2048, heads=32, ffn=4608, vocab=32000)


def periodic_weights(src, dst):
    """dst/model.onnx and dst/weights.bin: src's model with each external
    tensor's first 16 KiB (whole rows where a row fits) repeated."""
    import numpy as np
    import onnx
    os.makedirs(dst, exist_ok=True)
    model = onnx.load(os.path.join(src, "model.onnx"), load_external_data=False)
    shutil.copy(os.path.join(src, "weights.bin"), os.path.join(dst, "weights.bin"))
    data = np.memmap(os.path.join(dst, "weights.bin"), dtype=np.uint8, mode="r+")
    for t in model.graph.initializer:
        if t.data_location != onnx.TensorProto.EXTERNAL:
            continue
        info = {e.key: e.value for e in t.external_data}
        offset, length = int(info["offset"]), int(info["length"])
        row = length // t.dims[0] if len(t.dims) > 1 else 4
        period = max(row, (16384 // row) * row)
        block = data[offset:offset + length]
        head = np.array(block[:period])
        reps = -(-length // period)
        block[:] = np.tile(head, reps)[:length]
    data.flush()
    onnx.save(model, os.path.join(dst, "model.onnx"))


def prepare_decoder(build_bin, out, work):
    """The decoder libraries (xz) and the names and shapes of its inputs."""
    import json
    sys.path.insert(0, "/usr/lib/python3/dist-packages")
    import onnx
    src = os.path.join(work, "source")
    stamp = os.path.join(src, "args")
    want = json.dumps(DECODER)
    if not (os.path.exists(stamp) and open(stamp).read() == want):
        subprocess.run([sys.executable, os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "..", "scripts",
            "gen_llama.py"), src, "--preset", DECODER["preset"], "--seq", "1",
            "--past", str(DECODER["past"]), "--matmul-nbits",
            str(DECODER["block"])], check=True)
        open(stamp, "w").write(want)
    periodic = os.path.join(work, "periodic")
    periodic_weights(src, periodic)
    for name, flags in [("libdecoder.so", [])] + [
            ("libdecoder-%s.so" % v, f) for v, f in DECODER_VARIANTS]:
        lib = os.path.join(out, name)
        subprocess.run([os.path.join(build_bin, "quant-compile"),
                        os.path.join(periodic, "model.onnx"),
                        "--target=cuda:sm_90a", "--emit=shared", "--name",
                        "model", "-o", lib] + flags, check=True)
        # xz: the decoder's repeated 16 KiB patterns lie further apart than
        # gzip's window (the 1.1 B decoder: 18 MB gzipped, 5.3 MB as xz),
        # and two of them travel.
        with open(lib, "rb") as f, lzma.open(lib + ".xz", "wb", preset=6) as g:
            shutil.copyfileobj(f, g)
        for leftover in (lib, lib[:-3] + ".h"):
            if os.path.exists(leftover):
                os.remove(leftover)
    model = onnx.load(os.path.join(periodic, "model.onnx"), load_external_data=False)
    inputs = [(v.name, [d.dim_value for d in v.type.tensor_type.shape.dim])
              for v in model.graph.input]
    json.dump(inputs, open(os.path.join(out, "decoder.inputs.json"), "w"))
    print("prepared the decoder", os.path.getsize(
        os.path.join(out, "libdecoder.so.xz")), "bytes as xz")


def torch_decoder_ms(runs=50):
    """ms per token of the gen_llama decoder in PyTorch fp16: (eager, CUDA
    graph). The same operations as the ONNX graph: RMSNorm, q/k/v, rotary
    (rotate_half), the new key and value appended to the cache, softmax
    attention over the past and the new token, o_proj, residual, RMSNorm,
    SiLU-gated MLP, residual; final RMSNorm and the LM head."""
    import torch
    c, past = DECODER_SHAPE, DECODER["past"]
    h, nh, f, v = c["hidden"], c["heads"], c["ffn"], c["vocab"]
    d = h // nh
    dev, dt = "cuda", torch.float16

    def w(rows, cols):
        return torch.randn(rows, cols, dtype=dt, device=dev) / rows ** 0.5
    layers = [dict(q=w(h, h), k=w(h, h), v=w(h, h), o=w(h, h), gate=w(h, f),
                   up=w(h, f), down=w(f, h),
                   n1=torch.ones(h, dtype=dt, device=dev),
                   n2=torch.ones(h, dtype=dt, device=dev))
              for _ in range(c["layers"])]
    embed = torch.randn(v, h, dtype=dt, device=dev)
    head, final = w(h, v), torch.ones(h, dtype=dt, device=dev)
    inv = 1.0 / (10000 ** (torch.arange(0, d, 2, device=dev).float() / d))
    ang = torch.outer(torch.tensor([float(past)], device=dev), inv)
    cos = torch.cat([ang, ang], -1).cos().to(dt)
    sin = torch.cat([ang, ang], -1).sin().to(dt)
    cache = [(torch.randn(1, nh, past, d, dtype=dt, device=dev),
              torch.randn(1, nh, past, d, dtype=dt, device=dev))
             for _ in range(c["layers"])]
    ids = torch.randint(0, v, (1, 1), device=dev)

    def norm(x, g):
        return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * g

    def rope(x):
        x1, x2 = x[..., :d // 2], x[..., d // 2:]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    def step():
        x = embed[ids]
        present = []
        for layer, (pk, pv) in zip(layers, cache):
            y = norm(x, layer["n1"])
            q = rope((y @ layer["q"]).view(1, 1, nh, d).transpose(1, 2))
            k = rope((y @ layer["k"]).view(1, 1, nh, d).transpose(1, 2))
            val = (y @ layer["v"]).view(1, 1, nh, d).transpose(1, 2)
            k, val = torch.cat([pk, k], 2), torch.cat([pv, val], 2)
            present += [k, val]
            p = torch.softmax(q @ k.transpose(2, 3) / d ** 0.5, -1)
            ctx = (p @ val).transpose(1, 2).reshape(1, 1, h)
            x = x + ctx @ layer["o"]
            y = norm(x, layer["n2"])
            g = y @ layer["gate"]
            x = x + (g * torch.sigmoid(g) * (y @ layer["up"])) @ layer["down"]
        return norm(x, final) @ head, present

    def timed(fn):
        for _ in range(3):
            fn()
        torch.cuda.synchronize()
        return event_median(lambda i: fn(), runs)

    with torch.no_grad():
        eager = timed(step)
        graph = torch.cuda.CUDAGraph()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            step()
        torch.cuda.current_stream().wait_stream(side)
        with torch.cuda.graph(graph):
            step()
        replay = timed(graph.replay)
    return eager, replay


def gpu_ms(out, lib, args, env, flush=True):
    """quant-run's median GPU time (CUDA events) of lib, or the error."""
    r = subprocess.run([os.path.join(out, "quant-run"), lib, "--name", "model"]
                       + args + ["--bench", "50"] +
                       (["--flush-l2"] if flush else []),
                       capture_output=True, text=True, env=env)
    found = re.search(r"GPU time.*median ([0-9.]+) ms", r.stdout)
    if r.returncode != 0 or not found:
        return None, (r.stderr or r.stdout).strip()[-2000:]
    return float(found.group(1)), None


def run_hadamard(out, env, gemv):
    """The online Hadamard of size 14336 against the down projection
    (N = 4096, K = 14336) it precedes, for each M."""
    print()
    print("Online Hadamard, size 14336 (28 x 512), against the W4A16 g128 "
          "down projection 4096 x 14336 it precedes:")
    print("| M | Hadamard | down_proj | Hadamard / down_proj |")
    print("|---|---:|---:|---:|")
    for m in HADAMARD_ROWS:
        lib = os.path.join(out, "libhadamard_m%d.so" % m)
        if not os.path.exists(lib):
            continue
        ms, error = gpu_ms(out, lib, ["-i", os.path.join(
            out, "hadamard_m%d.x.npy" % m)], env)
        if ms is None:
            print("| %d | failed: %s |" % (m, error.splitlines()[-1]))
            continue
        down = gemv.get((m, 4096, 14336))
        print("| %d | %.4f ms | %s | %s |" % (
            m, ms, "%.4f ms" % down if down else "-",
            "%.1f %%" % (100 * ms / down) if down else "-"))
    print()
    print("Inside a model: a float MatMul 14336 -> 4096 quantized by quant "
          "(int4 g128), plain and with --rotate (an online Hadamard of 14336 "
          "before it):")
    print("| M | weight prefetch | plain | with the Hadamard | added | "
          "added / plain |")
    print("|---|---|---:|---:|---:|---:|")
    for m in HADAMARD_ROWS:
        times = {}
        for variant, _ in HADAMARD_VARIANTS:
            gz = os.path.join(out, "libdown_%s_m%d.so.gz" % (variant, m))
            if not os.path.exists(gz):
                continue
            lib = gz[:-3]
            with gzip.open(gz, "rb") as f, open(lib, "wb") as g:
                shutil.copyfileobj(f, g)
            times[variant], _ = gpu_ms(out, lib, ["-i", os.path.join(
                out, "hadamard_m%d.x.npy" % m)], env)
            os.remove(lib)
        for suffix, label in (("", "off (default)"), ("-prefetch", "16 MiB")):
            plain, rotated = (times.get("plain" + suffix),
                              times.get("rotated" + suffix))
            if plain and rotated:
                print("| %d | %s | %.4f ms | %.4f ms | %.4f ms | %.1f %% |" % (
                    m, label, plain, rotated, rotated - plain,
                    100 * (rotated - plain) / plain))


def run_decoder(out, env):
    import json
    import numpy as np
    xz = os.path.join(out, "libdecoder.so.xz")
    if not os.path.exists(xz):
        return
    lib = xz[:-3]
    with lzma.open(xz, "rb") as f, open(lib, "wb") as g:
        shutil.copyfileobj(f, g)
    variants = []
    for variant, flags in DECODER_VARIANTS:
        path = os.path.join(out, "libdecoder-%s.so" % variant)
        if os.path.exists(path + ".xz"):
            with lzma.open(path + ".xz", "rb") as f, open(path, "wb") as g:
                shutil.copyfileobj(f, g)
            variants.append((" ".join(flags), path))
    rng = np.random.default_rng(0)
    feeds = []
    for name, shape in json.load(open(os.path.join(out, "decoder.inputs.json"))):
        path = os.path.join(out, name + ".npy")
        if name == "input_ids":
            np.save(path, rng.integers(0, DECODER_SHAPE["vocab"], shape))
        else:
            np.save(path, rng.standard_normal(shape).astype(np.float32))
        feeds += ["-i", "%s=%s" % (name, path)]
    # quant-run --bench: device-resident buffers, so the runtime replays the
    # calls as a CUDA graph from the second on; and with graphs off.
    ours, error = gpu_ms(out, lib, feeds, env, flush=False)
    eager_ours, eager_error = gpu_ms(out, lib, feeds,
                                     dict(env, QUANT_CUDA_GRAPHS="0"),
                                     flush=False)
    print()
    print("Decoder (%s, past %d, W4A16 g%d), one token:" % (
        DECODER["preset"], DECODER["past"], DECODER["block"]))
    if ours is None or eager_ours is None:
        print("quant failed:", error or eager_error)
        return
    eager, graph = torch_decoder_ms()
    print("| | ms/token | tokens/s | quant speed / this |")
    print("|---|---:|---:|---:|")
    print("| quant W4A16 (CUDA graph) | %.3f | %.1f | |" % (ours, 1000 / ours))
    print("| quant W4A16, QUANT_CUDA_GRAPHS=0 | %.3f | %.1f | %.2fx |" % (
        eager_ours, 1000 / eager_ours, eager_ours / ours))
    print("| PyTorch fp16, eager | %.3f | %.1f | %.2fx |" % (
        eager, 1000 / eager, eager / ours))
    print("| PyTorch fp16, CUDA graph | %.3f | %.1f | %.2fx |" % (
        graph, 1000 / graph, graph / ours))
    for flags, other in variants:
        # The decoder's time moves between moments (docs/gpu.md): the two
        # libraries alternate.
        print()
        print("The default against %s, alternating, CUDA graphs:" % flags)
        print("| repeat | default ms/token | %s ms/token |" % flags)
        print("|---|---:|---:|")
        for repeat in range(3):
            times = [gpu_ms(out, l, feeds, env, flush=False)[0]
                     for l in (lib, other)]
            print("| %d | %s | %s |" % ((repeat + 1,) + tuple(
                "failed" if t is None else "%.3f" % t for t in times)))
        os.remove(other)
    # Where a token's time goes: quant's runtime times each kernel
    # (QUANT_CUDA_PROFILE, no graphs) and prints the totals at exit.
    r = subprocess.run([os.path.join(out, "quant-run"), lib, "--name",
                        "model"] + feeds + ["--bench", "20"],
                       capture_output=True, text=True,
                       env=dict(env, QUANT_CUDA_PROFILE="1"))
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    start = next((i for i, l in enumerate(lines)
                  if l.startswith("quant-cuda profile")), None)
    if start is not None:
        print()
        print("Its kernels (QUANT_CUDA_PROFILE=1, 21 calls), the 25 longest:")
        print("\n".join(lines[start:start + 27]))
    os.remove(lib)


def torch_ms(m, n, k, runs=50):
    import torch
    x = torch.randn(m, k, dtype=torch.float16, device="cuda")
    copies = max(2, (256 << 20) // (n * k * 2) + 1)
    ws = [torch.randn(n, k, dtype=torch.float16, device="cuda")
          for _ in range(copies)]
    for w in ws:
        torch.matmul(x, w.t())
    torch.cuda.synchronize()
    return event_median(lambda i: torch.matmul(x, ws[i % copies].t()), runs)


def event_median(fn, runs):
    """The median over runs of fn(i)'s GPU time between CUDA events."""
    import torch
    times = []
    for i in range(runs):
        start = torch.cuda.Event(enable_timing=True)
        stop = torch.cuda.Event(enable_timing=True)
        start.record()
        fn(i)
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    times.sort()
    return times[len(times) // 2]


def torch_int8_ms(size, runs=20):
    """cuBLAS's int8 GEMM (torch._int_mm, int32 out) at M = N = K = size,
    the products alone: what the hardware gives int8 through cuBLASLt."""
    import torch
    a = torch.randint(-127, 128, (size, size), dtype=torch.int8, device="cuda")
    b = torch.randint(-127, 128, (size, size), dtype=torch.int8,
                      device="cuda").t()
    torch._int_mm(a, b)
    torch.cuda.synchronize()
    return event_median(lambda i: torch._int_mm(a, b), runs)


def run_w8a8(out, env):
    """W8A8 at M = N = K = 4096 and 8192: quant's whole call (the per-token
    quantization of x, the int8 tensor-core GEMM, the scales) against
    PyTorch fp16 x @ Wᵀ."""
    import numpy as np
    print()
    print("W8A8 (int8 per-channel weights, per-token int8 activations), "
          "M = N = K; quant's time is the whole call (activation "
          "quantization, int8 GEMM, scales):")
    print("| M = N = K | quant W8A8 | PyTorch fp16 | quant speed / fp16 | "
          "quant TOPS | fp16 TFLOPS | PyTorch int8 (_int_mm) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for size in W8A8_SIZES:
        gz = os.path.join(out, "libw8a8_s%d.so.gz" % size)
        if not os.path.exists(gz):
            continue
        lib = gz[:-3]
        with gzip.open(gz, "rb") as f, open(lib, "wb") as g:
            shutil.copyfileobj(f, g)
        x = os.path.join(out, "w8a8_x%d.npy" % size)
        np.save(x, np.random.default_rng(0).standard_normal(
            (size, size)).astype(np.float32))
        ours, error = gpu_ms(out, lib, ["-i", x], env, flush=False)
        os.remove(lib)
        os.remove(x)
        if error:
            print("| %d | failed: %s |" % (size, error.splitlines()[-1]))
            continue
        theirs = torch_ms(size, size, size)
        try:
            int8 = "%.4f ms" % torch_int8_ms(size)
        except Exception as e:  # an older PyTorch
            int8 = "n/a (%s)" % type(e).__name__
        ops = 2.0 * size ** 3
        print("| %d | %.4f ms | %.4f ms | %.2fx | %.0f | %.0f | %s |" % (
            size, ours, theirs, theirs / ours, ops / ours / 1e9,
            ops / theirs / 1e9, int8))


def run(out):
    import torch
    quant_run = os.path.join(out, "quant-run")
    env = dict(os.environ)
    libdir = os.path.join(out, "lib")
    if os.path.isdir(libdir):
        env["LD_LIBRARY_PATH"] = libdir + ":" + env.get("LD_LIBRARY_PATH", "")
    print("GPU:", torch.cuda.get_device_name(0), "| PyTorch", torch.__version__)
    print("(kernel: the one quant-compile chooses by default; 'mma' marks "
          "the tensor-core kernel forced with --cuda-mma-min-rows=1, 'gemv' "
          "the GEMV forced with --cuda-mma-min-rows=9, 'pf' the GEMV "
          "prefetching its weights, --cuda-weight-prefetch=16)")
    print("| M | N | K | kernel | quant W4A16 g128 | PyTorch fp16 | speedup | "
          "quant effective | PyTorch effective |")
    print("|---|---|---|---|---|---|---|---|---|")
    gemv = {}
    torch_cache = {}
    libs = glob.glob(os.path.join(out, "libw4a16_*.so.gz"))
    key = lambda p: tuple(map(int, re.findall(
        r"\d+", os.path.basename(p).split("-")[0])[-3:])) + (p,)
    for gz in sorted(libs, key=key):
        lib = gz[:-3]
        with gzip.open(gz, "rb") as f, open(lib, "wb") as g:
            shutil.copyfileobj(f, g)
        name = os.path.basename(lib)[3:-3]
        name, _, variant = name.partition("-")
        variant = variant or "default"
        m, n, k = map(int, re.findall(r"\d+", name)[-3:])
        r = subprocess.run([quant_run, lib, "--name", "model", "-i",
                            os.path.join(out, name + ".x.npy"), "--bench",
                            "50", "--flush-l2"], capture_output=True,
                           text=True, env=env)
        found = re.search(r"GPU time.*median ([0-9.]+) ms", r.stdout)
        if r.returncode != 0 or not found:
            print("| %d | %d | %d | %s | failed: %s |" % (
                m, n, k, variant,
                (r.stderr or r.stdout).strip().splitlines()[-1]))
            continue
        ours = float(found.group(1))
        if variant == "default":
            gemv[(m, n, k)] = ours
        if (m, n, k) not in torch_cache:
            torch_cache[(m, n, k)] = torch_ms(m, n, k)
        theirs = torch_cache[(m, n, k)]
        ours_bytes = n * k // 2 + n * (k // GROUP) * 4 + m * k * 4 + m * n * 4
        torch_bytes = n * k * 2 + m * k * 2 + m * n * 2
        print("| %d | %d | %d | %s | %.4f ms | %.4f ms | %.2fx | %.2f TB/s | "
              "%.2f TB/s |" % (m, n, k, variant, ours, theirs, theirs / ours,
                               ours_bytes / ours / 1e9,
                               torch_bytes / theirs / 1e9))
        os.remove(lib)
    # GPU_BENCH_ONLY=w8a8,hadamard,decoder: those of the later parts only.
    only = os.environ.get("GPU_BENCH_ONLY", "w8a8,hadamard,decoder").split(",")
    if "w8a8" in only:
        run_w8a8(out, env)
    if "hadamard" in only:
        run_hadamard(out, env, gemv)
    if "decoder" in only:
        run_decoder(out, env)


def main():
    if len(sys.argv) in (4, 5) and sys.argv[1] == "prepare":
        # prepare BUILD_BIN OUT [--decoder=WORK]: the decoder needs a work
        # directory of a few GB (its generated model) and minutes.
        work = [x for x in sys.argv[4:] if x.startswith("--decoder=")]
        prepare(sys.argv[2], sys.argv[3])
        if work:
            prepare_decoder(sys.argv[2], sys.argv[3], work[0][len("--decoder="):])
    elif len(sys.argv) == 3 and sys.argv[1] == "run":
        run(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
