#!/usr/bin/env python3
"""Output accuracy of quantized models against their float originals, in one
run: the issue-5 table.

usage: /usr/bin/python3 bench/quant_accuracy.py [--build build] [--work DIR]

Models (generated, seeded): the MLP and the CNN of scripts/gen_models.py
(classifiers: top-1 agreement is reported; the CNN has two Conv +
BatchNormalization layers and a Gemm, all quantized) and a 2-layer
Llama-style decoder (scripts/gen_llama.py, hidden 256, vocabulary 64, 32
tokens). Each is calibrated on 16 random input sets and evaluated on 8
other sets (the CNN on 32). Settings:
  W8A8        --weights=int8 --group=0 --activations=int8 (static, minmax)
  W8A8 token  --weights=int8 --group=0 --activations=int8 --per-token
  W4A16 RTN   --weights=int4 --group=G
  W4A16 GPTQ  --weights=int4 --group=G --weight-method=gptq
  W4A8        --weights=int4 --group=G --activations=int8 (static)
  W4A4 token  --weights=int4 --group=G --activations=int4 --per-token
  W4A4 tok+rot  the same with --rotate (qc-fold-norms + qc-rotate)
  fp8         --weights=fp8 --group=0 (E4M3FN per channel, weight-only)
  fp8 e5m2    --weights=fp8-e5m2 --group=0 (E5M2 per channel, weight-only)
  nvfp4       --weights=nvfp4 (weight-only)
with G = 128 for the decoder and 32 for the MLP (its K of 64 is not a
multiple of 128); the CNN uses per-channel int4 (convolutions are always
per filter; its Gemm has K = 16). Per-token settings leave the CNN's
convolution inputs float; nvfp4 leaves its convolutions float.
Prints SQNR (dB) of the outputs against float and top-1 agreement.
"""
import argparse
import os
import subprocess
import sys

sys.path.insert(0, "/usr/lib/python3/dist-packages")
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), r.stdout + r.stderr))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--work", default="/tmp/quant-accuracy")
    a = p.parse_args()
    qc = os.path.join(a.build, "bin", "quant-compile")
    qr = os.path.join(a.build, "bin", "quant-run")
    rng = np.random.default_rng(0)
    models = {}
    for kind in ["mlp", "cnn"]:
        d = os.path.join(a.work, kind)
        os.makedirs(d, exist_ok=True)
        run([sys.executable, os.path.join(ROOT, "scripts", "gen_models.py"),
             kind, os.path.join(d, "model.onnx")])
        shape = (4, 64) if kind == "mlp" else (2, 3, 16, 16)
        models[kind] = (d, "x", lambda s=shape: rng.standard_normal(s).astype(
            np.float32), "probs", 32 if kind == "mlp" else 0)
    d = os.path.join(a.work, "decoder")
    run([sys.executable, os.path.join(ROOT, "scripts", "gen_llama.py"), d,
         "--layers", "2", "--hidden", "256", "--heads", "4", "--ffn", "768",
         "--vocab", "64", "--seq", "32"])
    models["decoder"] = (d, "input_ids", lambda: rng.integers(
        0, 64, (1, 32)).astype(np.int64), "logits", 128)

    rows = []
    for name, (d, inp, sample, out, group) in models.items():
        calib = os.path.join(d, "calib")
        for s in range(16):
            os.makedirs(os.path.join(calib, "set%02d" % s), exist_ok=True)
            np.save(os.path.join(calib, "set%02d" % s, inp + ".npy"), sample())
        evals = []
        for s in range(32 if name == "cnn" else 8):
            f = os.path.join(d, "eval%d.npy" % s)
            np.save(f, sample())
            evals.append(f)
        g = ["--group=%d" % group]
        settings = [
            ("float", []),
            ("W8A8", ["--weights=int8", "--group=0", "--activations=int8",
                      "--calib", calib]),
            ("W8A8 token", ["--weights=int8", "--group=0",
                            "--activations=int8", "--per-token"]),
            ("W4A16 RTN", ["--weights=int4"] + g),
            ("W4A16 GPTQ", ["--weights=int4", "--weight-method=gptq",
                            "--calib", calib] + g),
            ("W4A8", ["--weights=int4", "--activations=int8", "--calib",
                      calib] + g),
            ("W4A4 token", ["--weights=int4", "--activations=int4",
                            "--per-token"] + g),
            ("W4A4 tok+rot", ["--weights=int4", "--activations=int4",
                              "--per-token", "--rotate"] + g),
            ("fp8", ["--weights=fp8", "--group=0"]),
            ("fp8 e5m2", ["--weights=fp8-e5m2", "--group=0"]),
            ("nvfp4", ["--weights=nvfp4"]),
        ]
        results = {}
        for tag, flags in settings:
            lib = os.path.join(d, "lib%s.so" % tag.replace(" ", "_"))
            run([qc, os.path.join(d, "model.onnx"), "--emit=shared", "--name",
                 "m", "-o", lib] + flags)
            ys = []
            for i, f in enumerate(evals):
                o = os.path.join(d, "out_%s_%d" % (tag.replace(" ", "_"), i))
                os.makedirs(o, exist_ok=True)
                run([qr, lib, "--name", "m", "-i", f, "-o", o])
                ys.append(np.load(os.path.join(o, out + ".npy")).astype(
                    np.float64))
            results[tag] = ys
        ref = results["float"]
        for tag, ys in results.items():
            if tag == "float":
                continue
            noise = sum(np.sum((y - r) ** 2) for y, r in zip(ys, ref))
            sqnr = 10 * np.log10(sum(np.sum(r ** 2) for r in ref) / noise)
            agree = np.mean(np.concatenate([
                (y.reshape(-1, y.shape[-1]).argmax(-1) ==
                 r.reshape(-1, r.shape[-1]).argmax(-1))
                for y, r in zip(ys, ref)]))
            rows.append((name, tag, sqnr, agree))
    print("%-8s %-11s %10s %8s" % ("model", "setting", "SQNR dB", "top-1"))
    for name, tag, sqnr, agree in rows:
        print("%-8s %-11s %10.1f %7.1f%%" % (name, tag, sqnr, 100 * agree))


if __name__ == "__main__":
    main()
