#!/usr/bin/env python3
"""W4A16 matmuls on the GPU: quant --target=cuda against PyTorch fp16 (cuBLAS).

Two halves, because the GPU machine cannot compile (no LLVM/MLIR) and this
one has no GPU:

  gpu_vs_torch.py prepare BUILD_BIN OUT   (here) generates ONNX MatMulNBits
      models (int4 weights, groups of 128, symmetric) for the issue's shapes,
      compiles each with quant-compile --target=cuda:sm_90a --emit=shared,
      and gzips the libraries (the weights repeat a pattern of a few rows so that
      the compressed files travel; the kernels read every byte all the same).
  gpu_vs_torch.py run OUT                 (on the GPU machine, with PyTorch)
      times each library with quant-run --bench --flush-l2 (CUDA events, the
      L2 cache overwritten before every call) and the same product in
      PyTorch fp16 (x @ Wᵀ, W [N, K], rotating through copies of W larger
      than L2), and prints per case our time, PyTorch's, the ratio and each
      one's effective bandwidth: bytes of the weights in their format (int4
      codes and f32 group scales for us, fp16 for PyTorch) plus activations
      and outputs, over the time.

Correctness of these kernels is checked elsewhere (scripts/gpu-tests.sh,
the node tests); here only speed is measured.
"""
import glob
import gzip
import os
import re
import shutil
import subprocess
import sys

SHAPES = [  # (M, N, K)
    (1, 4096, 4096), (1, 14336, 4096), (1, 4096, 14336), (1, 28672, 8192),
    (16, 4096, 4096), (64, 4096, 4096),
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
        lib = os.path.join(out, "lib%s.so" % name)
        subprocess.run([os.path.join(build_bin, "quant-compile"), onnx_path,
                        "--target=cuda:sm_90a", "--emit=shared", "--name",
                        "model", "-o", lib], check=True)
        with open(lib, "rb") as f, gzip.open(lib + ".gz", "wb", 6) as g:
            shutil.copyfileobj(f, g)
        for leftover in (lib, onnx_path, lib[:-3] + ".h"):
            if os.path.exists(leftover):
                os.remove(leftover)
        np.save(os.path.join(out, name + ".x.npy"),
                rng.standard_normal((m, k)).astype(np.float32))
        print("prepared", name, os.path.getsize(lib + ".gz"), "bytes gzipped")
    shutil.copy(os.path.join(build_bin, "quant-run"), out)
    # quant-run's shared libraries that a bare machine may lack.
    os.makedirs(os.path.join(out, "lib"), exist_ok=True)
    ldd = subprocess.run(["ldd", os.path.join(build_bin, "quant-run")],
                         capture_output=True, text=True).stdout
    for path in re.findall(r"=> (\S*(?:onnx|protobuf)\S*)", ldd):
        shutil.copy(os.path.realpath(path),
                    os.path.join(out, "lib", os.path.basename(path)))


def torch_ms(m, n, k, runs=50):
    import torch
    x = torch.randn(m, k, dtype=torch.float16, device="cuda")
    copies = max(2, (256 << 20) // (n * k * 2) + 1)
    ws = [torch.randn(n, k, dtype=torch.float16, device="cuda")
          for _ in range(copies)]
    for w in ws:
        torch.matmul(x, w.t())
    torch.cuda.synchronize()
    times = []
    for i in range(runs):
        w = ws[i % copies]
        start = torch.cuda.Event(enable_timing=True)
        stop = torch.cuda.Event(enable_timing=True)
        start.record()
        torch.matmul(x, w.t())
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    times.sort()
    return times[len(times) // 2]


def run(out):
    import torch
    quant_run = os.path.join(out, "quant-run")
    env = dict(os.environ)
    libdir = os.path.join(out, "lib")
    if os.path.isdir(libdir):
        env["LD_LIBRARY_PATH"] = libdir + ":" + env.get("LD_LIBRARY_PATH", "")
    print("GPU:", torch.cuda.get_device_name(0), "| PyTorch", torch.__version__)
    print("| M | N | K | quant W4A16 g128 | PyTorch fp16 | speedup | quant "
          "effective | PyTorch effective |")
    print("|---|---|---|---|---|---|---|---|")
    for gz in sorted(glob.glob(os.path.join(out, "lib*.so.gz"))):
        lib = gz[:-3]
        with gzip.open(gz, "rb") as f, open(lib, "wb") as g:
            shutil.copyfileobj(f, g)
        name = os.path.basename(lib)[3:-3]
        m, n, k = map(int, re.findall(r"\d+", name)[-3:])
        r = subprocess.run([quant_run, lib, "--name", "model", "-i",
                            os.path.join(out, name + ".x.npy"), "--bench",
                            "50", "--flush-l2"], capture_output=True,
                           text=True, env=env)
        found = re.search(r"GPU time.*median ([0-9.]+) ms", r.stdout)
        if r.returncode != 0 or not found:
            print("| %d | %d | %d | failed: %s |" % (
                m, n, k, (r.stderr or r.stdout).strip().splitlines()[-1]))
            continue
        ours = float(found.group(1))
        theirs = torch_ms(m, n, k)
        ours_bytes = n * k // 2 + n * (k // GROUP) * 4 + m * k * 4 + m * n * 4
        torch_bytes = n * k * 2 + m * k * 2 + m * n * 2
        print("| %d | %d | %d | %.4f ms | %.4f ms | %.2fx | %.2f TB/s | %.2f "
              "TB/s |" % (m, n, k, ours, theirs, theirs / ours,
                          ours_bytes / ours / 1e9, torch_bytes / theirs / 1e9))
        os.remove(lib)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "prepare":
        prepare(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "run":
        run(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
