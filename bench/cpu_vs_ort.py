#!/usr/bin/env python3
"""CPU latency of quant-compiled models against ONNX Runtime, in one run.

usage: /usr/bin/python3 bench/cpu_vs_ort.py [--build build] [--runs N]
                                            [--rounds R]
                                            [--cases matmul1,matmul128,llama]

Cases (float32):
  matmul1    MatMul [1, 4096] x [4096, 4096]
  matmul128  MatMul [128, 4096] x [4096, 4096]
  llama      one Llama-style decoder block (scripts/gen_llama.py --layers 1
             --hidden 512 --heads 8 --ffn 1536 --vocab 1024 --seq 32)
For each: quant-compile --emit=shared (-O3, host CPU), `quant-run --bench N`
and `ort_run.js --bench N` (ONNX Runtime 1.30 CPU, intra-op threads 1 and 2)
on the same inputs, after checking that the outputs agree. Prints the median
latencies and ratio = ours / ORT (below 1 means faster than ORT), with the
same number of threads on both sides (ours: OMP_NUM_THREADS; ORT:
intra-op threads). Each side is measured R times (default 3), alternating,
and keeps its lowest median: the machine's memory bandwidth is shared and
varies by up to 2x between seconds.
"""
import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, "/usr/lib/python3/dist-packages")
import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper, save_model  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORT_RUN = os.path.join(ROOT, "bench", "ort", "ort_run.js")


def run(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True,
                       env=dict(os.environ, **(env or {})))
    if r.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), r.stdout + r.stderr))
    return r.stdout


def median_ms(text):
    m = re.search(r"median ([0-9.]+) ms", text)
    return float(m.group(1))


def matmul_model(path, m, k, n, rng):
    w = numpy_helper.from_array(
        (rng.standard_normal((k, n)) * 0.02).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    save_model(model, path)
    return {"x": rng.standard_normal((m, k)).astype(np.float32)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--cases", default="matmul1,matmul128,llama")
    p.add_argument("--work", default="/tmp/quant-bench")
    args = p.parse_args()
    compile_tool = os.path.join(args.build, "bin", "quant-compile")
    run_tool = os.path.join(args.build, "bin", "quant-run")
    os.makedirs(args.work, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = []
    for case in args.cases.split(","):
        d = os.path.join(args.work, case)
        os.makedirs(os.path.join(d, "ort"), exist_ok=True)
        if case.startswith("matmul"):
            m = int(case[len("matmul"):])
            model = os.path.join(d, "model.onnx")
            inputs = matmul_model(model, m, 4096, 4096, rng)
        elif case == "llama":
            run(["/usr/bin/python3", os.path.join(ROOT, "scripts",
                                                  "gen_llama.py"), d,
                 "--layers", "1", "--hidden", "512", "--heads", "8", "--ffn",
                 "1536", "--vocab", "1024", "--seq", "32"])
            model = os.path.join(d, "model.onnx")
            inputs = {"input_ids": rng.integers(0, 1024, (1, 32)).astype(
                np.int64)}
        else:
            sys.exit("unknown case " + case)
        feeds = []
        for name, value in inputs.items():
            f = os.path.join(d, name + ".npy")
            np.save(f, value)
            feeds += ["-i", "%s=%s" % (name, f)]
        lib = os.path.join(d, "libmodel.so")
        run([compile_tool, model, "--emit=shared", "-O3", "-o", lib])
        run(["node", ORT_RUN, model] + feeds + ["-o", os.path.join(d, "ort")])
        expect = ["--expect", os.path.join(d, "ort", sorted(os.listdir(
            os.path.join(d, "ort")))[0])]
        run([run_tool, lib] + feeds + expect + ["--rtol", "1e-3", "--atol",
                                                 "1e-4"])
        for threads in (1, 2):
            # Rounds alternate between the two so that a slow phase of the
            # machine (shared memory bandwidth) hits both; each side keeps
            # its best median.
            ours, ort = float("inf"), float("inf")
            for _ in range(args.rounds):
                ours = min(ours, median_ms(run(
                    [run_tool, lib] + feeds + ["--bench", str(args.runs)],
                    {"OMP_NUM_THREADS": str(threads)})))
                ort = min(ort, median_ms(run(
                    ["node", ORT_RUN, model] + feeds +
                    ["--threads", str(threads), "--bench", str(args.runs)])))
            rows.append((case, threads, ours, ort))
    print("%-10s %8s %12s %12s %8s" % ("case", "threads", "quant ms",
                                       "ORT ms", "ratio"))
    for case, threads, ours, ort in rows:
        print("%-10s %8d %12.3f %12.3f %8.2f" % (case, threads, ours, ort,
                                                ours / ort))


if __name__ == "__main__":
    main()
