#!/usr/bin/env python3
"""Low-bit CPU matmuls against ONNX Runtime, in one run (issue 8's benchmark).

usage: /usr/bin/python3 bench/lowbit_vs_ort.py [--build build] [--runs N]
           [--rounds R] [--cases gemv,int8] [--work DIR]

First measures this machine's streaming read bandwidth (a C loop summing a
1 GiB buffer with 1 and 2 threads, compiled here with cc -O3 -march=native,
on 4 KiB pages and on transparent huge pages; "% of read bw" is against the
faster of the two),
then for each case runs the same ONNX model with quant (quant-compile -O3
--emit=shared --weights-file: the weights loaded into transparent huge
pages; `quant-run --bench`, OMP_NUM_THREADS) and with ONNX Runtime
(bench/ort/ort_run.js, intra-op threads), after checking that the outputs
agree, and prints per case and thread count: our median latency, ORT's,
ratio = ours / ORT (below 1: faster than ORT), and our effective bandwidth
on the bytes the weights take in the model (packed int4 + scales). For the
int4 GEMVs it also compiles the model with --activations=int8 --per-token
(W4A8: int8 activations, vpdpbusd where the CPU has VNNI), checks its
output against ORT accuracy_level 4's within 2 % of max|y|, and times it
against accuracy_level 4.

Cases:
  gemv  com.microsoft MatMulNBits, bits 4, M = 1, K = 4096, N = 4096 and
        28672, block 32 and 128 (symmetric: no zero points); ORT with
        accuracy_level 0 and 4 (4: int8 activations, its fastest path).
  int8  MatMulInteger, M = 128, K = N = 4096, u8 activations (zero point
        128) and s8 weights.
Each side is measured R times (default 3), alternating, and keeps its best
median (the machine's memory bandwidth varies between seconds).
"""
import argparse
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, "/usr/lib/python3/dist-packages")
import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper, save_model  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORT_RUN = os.path.join(ROOT, "bench", "ort", "ort_run.js")

BANDWIDTH_C = r"""
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
static const float *buf; static size_t n;
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
typedef struct { size_t lo, hi; float sum; } job;
static void *sum(void *p) {
  job *j = p; __m256 a = _mm256_setzero_ps(), b = a, c = a, d = a;
  for (size_t i = j->lo; i < j->hi; i += 32) {
    a = _mm256_add_ps(a, _mm256_load_ps(buf + i));
    b = _mm256_add_ps(b, _mm256_load_ps(buf + i + 8));
    c = _mm256_add_ps(c, _mm256_load_ps(buf + i + 16));
    d = _mm256_add_ps(d, _mm256_load_ps(buf + i + 24));
  }
  float o[8]; _mm256_storeu_ps(o, _mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d)));
  j->sum = o[0] + o[7]; return 0;
}
int main(int argc, char **argv) {
  int threads = atoi(argv[1]); n = (size_t)1 << 28; /* 1 GiB of floats */
  float *m = aligned_alloc(1 << 21, n * 4);
  /* argv[2] = 1: transparent huge pages, as the compiled model's weights */
  if (argc > 2 && atoi(argv[2])) madvise(m, n * 4, MADV_HUGEPAGE);
  memset(m, 1, n * 4); buf = m;
  double best = 1e9;
  for (int r = 0; r < 5; ++r) {
    pthread_t t[8]; job j[8]; double t0 = now();
    for (int i = 0; i < threads; ++i) { j[i].lo = n / threads * i; j[i].hi = n / threads * (i + 1); pthread_create(&t[i], 0, sum, &j[i]); }
    for (int i = 0; i < threads; ++i) pthread_join(t[i], 0);
    double dt = now() - t0; if (dt < best) best = dt;
  }
  printf("%.2f\n", n * 4 / best / 1e9);
  return 0;
}
"""


class TooSlow(Exception):
    pass


def run(cmd, env=None, timeout=None):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True,
                           env=dict(os.environ, **(env or {})),
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TooSlow()
    if r.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), r.stdout + r.stderr))
    return r.stdout


def median_ms(text):
    return float(re.search(r"median ([0-9.]+) ms", text).group(1))


def read_bandwidth(work):
    src, exe = os.path.join(work, "bw.c"), os.path.join(work, "bw")
    open(src, "w").write(BANDWIDTH_C)
    run(["cc", "-O3", "-march=native", "-pthread", src, "-o", exe])
    # Each thread count on 4 KiB pages and on transparent huge pages (the
    # pages our --weights-file weights are loaded into); the percentages
    # below are against the faster of the two.
    return {t: {huge: float(run([exe, str(t), str(huge)])) for huge in (0, 1)}
            for t in (1, 2)}


def save(graph, path, opsets):
    model = helper.make_model(graph, opset_imports=[
        helper.make_opsetid(d, v) for d, v in opsets])
    model.ir_version = 8
    save_model(model, path)


def nbits_model(path, k, n, block, accuracy, rng):
    """MatMulNBits: Y[1, n] = A[1, k] · dequant(B)ᵀ, B packed [n, k/block,
    block/2] low nibble first, symmetric (zero point 8)."""
    blocks = k // block
    q = rng.integers(0, 16, (n, blocks, block)).astype(np.uint8)
    packed = (q[:, :, 0::2] | (q[:, :, 1::2] << 4)).astype(np.uint8)
    scales = (rng.random((n, blocks)) * 0.02 + 0.005).astype(np.float32)
    node = helper.make_node("MatMulNBits", ["A", "B", "S"], ["Y"],
                            domain="com.microsoft", K=k, N=n, bits=4,
                            block_size=block, accuracy_level=accuracy)
    graph = helper.make_graph(
        [node], "nbits",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, [1, k])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, n])],
        [numpy_helper.from_array(packed, "B"),
         numpy_helper.from_array(scales.reshape(-1), "S")])
    save(graph, path, [("", 17), ("com.microsoft", 1)])
    weight_bytes = packed.nbytes + scales.nbytes
    return {"A": rng.standard_normal((1, k)).astype(np.float32)}, weight_bytes


def int8_model(path, m, k, n, rng):
    w = rng.integers(-127, 128, (k, n)).astype(np.int8)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["A", "B", "az"], ["Y"])], "mmi",
        [helper.make_tensor_value_info("A", TensorProto.UINT8, [m, k])],
        [helper.make_tensor_value_info("Y", TensorProto.INT32, [m, n])],
        [numpy_helper.from_array(w, "B"),
         numpy_helper.from_array(np.uint8(128), "az")])
    save(graph, path, [("", 17)])
    return {"A": rng.integers(0, 256, (m, k)).astype(np.uint8)}, w.nbytes


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--cases", default="gemv,int8")
    p.add_argument("--work", default="/tmp/quant-lowbit-bench")
    p.add_argument("--timeout", type=float, default=120,
                   help="seconds one of our runs may take before the case "
                        "is reported as not finishing (default 120)")
    a = p.parse_args()
    qc = os.path.join(a.build, "bin", "quant-compile")
    qr = os.path.join(a.build, "bin", "quant-run")
    os.makedirs(a.work, exist_ok=True)
    rng = np.random.default_rng(0)
    probe = read_bandwidth(a.work)
    print("streaming read bandwidth, 4 KiB pages / huge pages: %.1f / %.1f "
          "GB/s (1 thread), %.1f / %.1f GB/s (2 threads)"
          % (probe[1][0], probe[1][1], probe[2][0], probe[2][1]))
    bw = {t: max(v.values()) for t, v in probe.items()}
    specs = []
    cases = a.cases.split(",")
    if "gemv" in cases:
        for n in (4096, 28672):
            for block in (32, 128):
                specs.append(("int4 gemv N=%d b%d" % (n, block), "nbits",
                              (4096, n, block)))
    if "int8" in cases:
        specs.append(("int8 M=128 K=N=4096", "int8", (128, 4096, 4096)))
    print("| case | threads | quant ms | ORT ms (acc 0) | ratio | ORT ms "
          "(acc 4) | ratio | quant GB/s | % of read bw | quant W4A8 ms | "
          "ratio to acc 4 | W4A8 % of read bw |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, kind, dims in specs:
        d = os.path.join(a.work, re.sub(r"[^A-Za-z0-9]+", "_", name))
        os.makedirs(os.path.join(d, "ort"), exist_ok=True)
        models = {}
        if kind == "nbits":
            k, n, block = dims
            for acc in (0, 4):
                path = os.path.join(d, "acc%d.onnx" % acc)
                inputs, nbytes = nbits_model(path, k, n, block, acc,
                                             np.random.default_rng(1))
                models[acc] = path
        else:
            path = os.path.join(d, "model.onnx")
            inputs, nbytes = int8_model(path, *dims, rng)
            models[0] = path
        feeds = []
        for iname, value in inputs.items():
            f = os.path.join(d, iname + ".npy")
            np.save(f, value)
            feeds += ["-i", "%s=%s" % (iname, f)]
        lib = os.path.join(d, "libmodel.so")
        # The weights in a file loaded into huge pages (<name>_load_weights;
        # quant-run finds lib*.weights next to the library), as a deployment
        # of a large model would have them.
        run([qc, models[0], "--emit=shared", "-O3", "-o", lib,
             "--weights-file", lib[:-3] + ".weights"])
        # W4A8: the same model with per-token int8 activations (what ORT's
        # accuracy_level 4 computes, in blocks of K rather than per token),
        # checked against ORT's accuracy_level 4 output within 2 %.
        lib8 = None
        if kind == "nbits":
            lib8 = os.path.join(d, "libw4a8.so")
            run([qc, models[0], "--emit=shared", "-O3", "--activations=int8",
                 "--per-token", "--name", "model", "-o", lib8,
                 "--weights-file", lib8[:-3] + ".weights"])
            os.makedirs(os.path.join(d, "ort4"), exist_ok=True)
            run(["node", ORT_RUN, models[4]] + feeds +
                ["-o", os.path.join(d, "ort4")])
            mine = os.path.join(d, "w4a8out")
            os.makedirs(mine, exist_ok=True)
            run([qr, lib8, "--name", "model"] + feeds + ["-o", mine])
            ref = np.load(os.path.join(d, "ort4", sorted(os.listdir(
                os.path.join(d, "ort4")))[0]))
            got = np.load(os.path.join(mine, sorted(os.listdir(mine))[0]))
            err = float(np.max(np.abs(got - ref)) / np.max(np.abs(ref)))
            if err > 2e-2:
                sys.exit("%s: W4A8 output differs from ORT accuracy_level 4 "
                         "by %.3g of max|y|" % (name, err))
        run(["node", ORT_RUN, models[0]] + feeds + ["-o",
                                                    os.path.join(d, "ort")])
        expect = os.path.join(d, "ort", sorted(os.listdir(
            os.path.join(d, "ort")))[0])
        try:
            t0 = time.time()
            run([qr, lib] + feeds + ["--expect", expect, "--rtol", "1e-3",
                                     "--atol", "1e-3"], timeout=a.timeout)
            check_s = time.time() - t0
        except TooSlow:
            print("| %s | — | did not finish one run in %.0f s | | | | | | |"
                  % (name, a.timeout))
            sys.stdout.flush()
            continue
        # A case whose checking run took seconds is timed by that kind of
        # run alone (3 runs, one round) rather than by --runs x --rounds.
        slow = check_s > 5
        for threads in (1, 2):
            ours = ours8 = float("inf")
            ort = {acc: float("inf") for acc in models}
            for _ in range(1 if slow else a.rounds):
                ours = min(ours, median_ms(run(
                    [qr, lib] + feeds + ["--bench", "3" if slow else
                                         str(a.runs)],
                    {"OMP_NUM_THREADS": str(threads)})))
                if lib8:
                    ours8 = min(ours8, median_ms(run(
                        [qr, lib8, "--name", "model"] + feeds +
                        ["--bench", str(a.runs)],
                        {"OMP_NUM_THREADS": str(threads)})))
                for acc, path in models.items():
                    ort[acc] = min(ort[acc], median_ms(run(
                        ["node", ORT_RUN, path] + feeds +
                        ["--threads", str(threads), "--bench",
                         str(a.runs)])))
            gbs = nbytes / (ours * 1e6)
            acc4 = ("%.3f | %.2f" % (ort[4], ours / ort[4])) if 4 in ort \
                else "— | —"
            w4a8 = ("%.3f | %.2f | %.0f %%" % (
                ours8, ours8 / ort[4],
                100 * nbytes / (ours8 * 1e6) / bw[threads])) if lib8 \
                else "— | — | —"
            print("| %s | %d | %.3f | %.3f | %.2f | %s | %.1f | %.0f %% | %s |"
                  % (name, threads, ours, ort[0], ours / ort[0], acc4, gbs,
                     100 * gbs / bw[threads], w4a8))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
