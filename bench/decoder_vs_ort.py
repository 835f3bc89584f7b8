#!/usr/bin/env python3
"""A whole int4 Llama-style decoder, one token at a time: quant against ONNX
Runtime on the same ONNX file (issue 8's end-to-end benchmark).

usage: /usr/bin/python3 bench/decoder_vs_ort.py [--build build]
           [--preset 1b|tiny] [--past P] [--block B] [--runs N]
           [--rounds R] [--threads 1,2] [--work DIR]

The model comes from scripts/gen_llama.py --matmul-nbits B --past P --seq 1:
every projection (q, k, v, o, gate, up, down and the LM head) is a
com.microsoft MatMulNBits with 4-bit weights in blocks of B (default 128,
symmetric), the embedding is float32, and one call is one decode step: the
new token's logits and the key/value cache grown from P (default 128) to
P + 1 entries. --preset 1b (the default) is about 1.1 billion parameters
(hidden 2048, 22 layers, MLP 4608, vocabulary 32000; 0.55 GB of int4
weights and scales plus a 0.26 GB float32 embedding).

Both sides run that file. quant compiles it twice with --weights-file:
float activations (what ORT computes with accuracy_level 0) and
--activations=int8 --per-token (W4A8, vpdpbusd where the CPU has VNNI;
ORT's accuracy_level 4, which quantizes activations per block of K, the
model rewritten with that attribute). Before timing, the float build's
logits must match ORT accuracy_level 0's within 1e-3 of max|logit|; the two
int8-activation results are each compared with those float logits (RMS of
the difference over RMS of the logits), and ours may be at most twice as
far off as ORT's (they quantize differently: per token, per block of K).

Then for each thread count (OMP_NUM_THREADS for quant, intra-op threads
for ORT) it prints each side's median latency per token over --runs calls
(best of --rounds rounds, alternating: this VM's memory bandwidth varies
between seconds), tokens/s, and speedup = ORT time / quant time; once
with glibc's default malloc settings and once "tuned" (GLIBC_TUNABLES
mmap_threshold 32 MiB, trim_threshold 4 GiB, for both sides): by default
glibc returns the large buffers a call frees to the kernel, and the next
call faults them in again, zero-filled. Last, each side's peak resident
memory (the whole process, 1 thread) over --runs calls.
"""
import argparse
import os
import subprocess
import sys

sys.path.insert(0, "/usr/lib/python3/dist-packages")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import onnx  # noqa: E402
from lowbit_vs_ort import ORT_RUN, ROOT, median_ms, run  # noqa: E402


def generate(a, d):
    """The model in d/ (kept between runs with the same arguments)."""
    stamp = os.path.join(d, "args")
    want = "%s past=%d block=%d" % (a.preset, a.past, a.block)
    if os.path.exists(stamp) and open(stamp).read() == want:
        return
    run([sys.executable, os.path.join(ROOT, "scripts", "gen_llama.py"), d,
         "--preset", a.preset, "--seq", "1", "--past", str(a.past),
         "--matmul-nbits", str(a.block)])
    # ORT's accuracy_level 4: the same graph and weights file, the attribute
    # set on every MatMulNBits.
    model = onnx.load(os.path.join(d, "model.onnx"), load_external_data=False)
    for node in model.graph.node:
        if node.op_type == "MatMulNBits":
            node.attribute.append(onnx.helper.make_attribute(
                "accuracy_level", 4))
    onnx.save(model, os.path.join(d, "acc4.onnx"))
    open(stamp, "w").write(want)


def peak_rss_mib(cmd, env=None):
    """The peak resident set size of cmd's process, in MiB (wait4's
    ru_maxrss: the whole process, weights and runtime included)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE,
                            env=dict(os.environ, **(env or {})))
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), proc.stderr.read()))
    return usage.ru_maxrss / 1024.0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--preset", default="1b", choices=("1b", "tiny"))
    p.add_argument("--past", type=int, default=128)
    p.add_argument("--block", type=int, default=128)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--work", default="/tmp/quant-decoder-bench")
    a = p.parse_args()
    qc = os.path.join(a.build, "bin", "quant-compile")
    qr = os.path.join(a.build, "bin", "quant-run")
    d = os.path.join(a.work, "%s_p%d_b%d" % (a.preset, a.past, a.block))
    os.makedirs(d, exist_ok=True)
    generate(a, d)
    model = onnx.load(os.path.join(d, "model.onnx"), load_external_data=False)

    rng = np.random.default_rng(0)
    feeds = []
    for value in model.graph.input:
        shape = [x.dim_value for x in value.type.tensor_type.shape.dim]
        if value.type.tensor_type.elem_type == onnx.TensorProto.INT64:
            vocab = [o for o in model.graph.output if o.name == "logits"][0]
            array = rng.integers(
                0, vocab.type.tensor_type.shape.dim[2].dim_value,
                shape).astype(np.int64)
        else:
            array = rng.standard_normal(shape).astype(np.float32)
        f = os.path.join(d, value.name + ".npy")
        np.save(f, array)
        feeds += ["-i", "%s=%s" % (value.name, f)]

    builds = {}
    for variant, flags in (("float", []),
                           ("w4a8", ["--activations=int8", "--per-token"])):
        lib = os.path.join(d, "lib%s.so" % variant)
        weights = os.path.join(d, variant + ".weights")
        # Compiling the 1b model takes minutes: a build newer than the
        # model and the compiler is kept.
        fresh = all(os.path.exists(f) and os.path.getmtime(f) > max(
            os.path.getmtime(qc), os.path.getmtime(
                os.path.join(d, "model.onnx"))) for f in (lib, weights))
        if not fresh:
            run([qc, os.path.join(d, "model.onnx"), "--emit=shared", "-O3",
                 "--name", "model", "--weights-file", weights, "-o", lib] +
                flags)
        builds[variant] = (lib, ["--name", "model", "--weights",
                                 os.path.join(d, variant + ".weights")])
    orts = {"float": os.path.join(d, "model.onnx"),
            "w4a8": os.path.join(d, "acc4.onnx")}

    # The outputs agree before anything is timed. The float build must
    # match ORT accuracy_level 0; the W4A8 builds of both (int8 activations,
    # ours per token, ORT's per block of K) are compared with that float
    # result, and ours may be at most twice as far from it as ORT's.
    logits = {}
    for variant in ("float", "w4a8"):
        theirs = os.path.join(d, "ort_" + variant)
        mine = os.path.join(d, "quant_" + variant)
        os.makedirs(theirs, exist_ok=True)
        os.makedirs(mine, exist_ok=True)
        run(["node", ORT_RUN, orts[variant]] + feeds + ["-o", theirs])
        lib, extra = builds[variant]
        run([qr, lib] + extra + feeds + ["-o", mine])
        logits["ort_" + variant] = np.load(os.path.join(theirs, "logits.npy"))
        logits["quant_" + variant] = np.load(os.path.join(mine, "logits.npy"))
    ref = logits["ort_float"]

    def rms(x):
        return float(np.sqrt(np.mean((x - ref) ** 2)) / np.sqrt(np.mean(ref ** 2)))
    err = float(np.max(np.abs(logits["quant_float"] - ref)) / np.max(np.abs(ref)))
    print("float logits vs ORT accuracy_level 0: max|diff| / max|logit| = "
          "%.2g (allowed 1e-3)" % err)
    if err > 1e-3:
        sys.exit("decoder_vs_ort: the float build's logits differ from ORT's")
    ours, theirs = rms(logits["quant_w4a8"]), rms(logits["ort_w4a8"])
    print("int8-activation logits, RMS difference from the float logits "
          "relative to their RMS: quant W4A8 (per token) %.3f, ORT "
          "accuracy_level 4 (per block) %.3f" % (ours, theirs))
    if ours > max(2 * theirs, 0.05):
        sys.exit("decoder_vs_ort: the W4A8 build is more than twice as far "
                 "from the float logits as ORT's accuracy_level 4")

    params = sum(1 for _ in model.graph.node if _.op_type == "MatMulNBits")
    print("model: %s, %d MatMulNBits, past %d, block %d" % (
        a.preset, params, a.past, a.block))
    print("| activations | threads | malloc | quant ms/token | ORT ms/token | "
          "quant tokens/s | ORT tokens/s | speedup |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    # glibc's defaults give large per-call buffers back to the kernel and
    # fault them in again on the next call; the tuned rows keep them (both
    # sides run with the same environment).
    tuned = ("glibc.malloc.mmap_threshold=33554432:"
             "glibc.malloc.trim_threshold=4294967296")
    for threads in [int(t) for t in a.threads.split(",")]:
        for malloc, env in (("default", {}), ("tuned", {
                "GLIBC_TUNABLES": tuned})):
            for variant in ("float", "w4a8"):
                lib, extra = builds[variant]
                ours = theirs = float("inf")
                for _ in range(a.rounds):
                    ours = min(ours, median_ms(run(
                        [qr, lib] + extra + feeds + ["--bench", str(a.runs)],
                        dict(env, OMP_NUM_THREADS=str(threads)))))
                    theirs = min(theirs, median_ms(run(
                        ["node", ORT_RUN, orts[variant]] + feeds +
                        ["--threads", str(threads), "--bench", str(a.runs)],
                        env)))
                label = "float (ORT acc 0)" if variant == "float" else \
                    "int8 per token (ORT acc 4)"
                print("| %s | %d | %s | %.2f | %.2f | %.1f | %.1f | %.2f |" % (
                    label, threads, malloc, ours, theirs, 1000 / ours,
                    1000 / theirs, theirs / ours))
                sys.stdout.flush()

    # Memory: the whole process's peak over --runs calls, 1 thread. Ours
    # holds the weights (loaded from the weights file), the buffer cache
    # (every intermediate of 4 KiB or more, kept between calls) and
    # quant-run's inputs and outputs; ORT's its session, arena and node.
    print("| activations | quant peak RSS MiB | ORT peak RSS MiB |")
    print("|---|---:|---:|")
    for variant in ("float", "w4a8"):
        lib, extra = builds[variant]
        ours = peak_rss_mib([qr, lib] + extra + feeds + [
            "--bench", str(a.runs)], {"OMP_NUM_THREADS": "1"})
        theirs = peak_rss_mib(["node", ORT_RUN, orts[variant]] + feeds + [
            "--threads", "1", "--bench", str(a.runs)])
        print("| %s | %.0f | %.0f |" % (variant, ours, theirs))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
