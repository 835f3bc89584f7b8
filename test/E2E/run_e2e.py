#!/usr/bin/env python3
"""End-to-end tests against ONNX Runtime on generated models.

usage: run_e2e.py QUANT_COMPILE QUANT_RUN WORK_DIR

For each generated model (an MLP, a small CNN with BatchNorm, an int4
weight-only com.microsoft MatMulNBits layer with zero points, a statically
quantized QDQ/QLinearMatMul graph, a two-layer Llama-style decoder with
external weights): seeded random inputs as .npy,
ONNX Runtime's outputs (onnxruntime-node, bench/ort/ort_run.js), then
quant-compile --emit=shared for the host CPU and for generic x86-64-v3 (AVX2,
no AVX-512), and quant-run --expect with the tolerance stated below. Prints one line per model and "N passed, N failed"; exits 1 on any
failure. ONNX Runtime must be installed (scripts/install-ort.sh).
"""
import os
import subprocess
import sys

sys.path.insert(0, "/usr/lib/python3/dist-packages")
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
ORT_RUN = os.path.join(ROOT, "bench", "ort", "ort_run.js")
PY = "/usr/bin/python3"

# name, how to generate it, inputs (name -> array), rtol, atol. float32
# everywhere; differences come from summation order and exp/tanh/erf
# approximations.
CASES = [
    ("mlp", [PY, os.path.join(ROOT, "scripts", "gen_models.py"), "mlp"],
     lambda rng: {"x": rng.standard_normal((4, 64)).astype(np.float32)},
     1e-4, 1e-6),
    ("cnn", [PY, os.path.join(ROOT, "scripts", "gen_models.py"), "cnn"],
     lambda rng: {"x": rng.standard_normal((2, 3, 16, 16)).astype(np.float32)},
     1e-4, 1e-6),
    ("nbits", [PY, os.path.join(ROOT, "scripts", "gen_models.py"), "nbits"],
     lambda rng: {"x": rng.standard_normal((4, 256)).astype(np.float32)},
     1e-4, 1e-5),
    # A statically quantized QDQ + QLinearMatMul graph: uint8 outputs
    # dequantized at scale 0.02; allowed to differ by one step.
    ("qdq", [PY, os.path.join(ROOT, "scripts", "gen_models.py"), "qdq"],
     lambda rng: {"x": rng.standard_normal((8, 64)).astype(np.float32)},
     0.0, 0.0201),
    ("llama", [PY, os.path.join(ROOT, "scripts", "gen_llama.py"), "--preset",
               "tiny"],
     lambda rng: {"input_ids": rng.integers(0, 256, (1, 8)).astype(np.int64)},
     1e-3, 1e-4),
]


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def main():
    compile_tool, run_tool, work = sys.argv[1:4]
    if not os.path.exists(os.path.join(ROOT, "bench", "ort", "node_modules",
                                       "onnxruntime-node")):
        print("ONNX Runtime is not installed: run scripts/install-ort.sh")
        print("0 passed, 1 failed")
        return 1
    passed = failed = 0
    for name, gen, make_inputs, rtol, atol in CASES:
        d = os.path.join(work, name)
        os.makedirs(os.path.join(d, "ort"), exist_ok=True)
        if name == "llama":
            rc, out = run(gen[:2] + [d] + gen[2:])
            model = os.path.join(d, "model.onnx")
        else:
            model = os.path.join(d, name + ".onnx")
            rc, out = run(gen + [model])
        if rc != 0:
            print("FAIL %s: generating the model: %s" % (name, out.strip()))
            failed += 1
            continue
        rng = np.random.default_rng(42)
        feeds = []
        for input_name, value in make_inputs(rng).items():
            f = os.path.join(d, input_name + ".npy")
            np.save(f, value)
            feeds += ["-i", "%s=%s" % (input_name, f)]
        rc, out = run(["node", ORT_RUN, model] + feeds +
                      ["-o", os.path.join(d, "ort")])
        if rc != 0:
            print("FAIL %s: ONNX Runtime: %s" % (name, out.strip()))
            failed += 1
            continue
        outputs = sorted(os.listdir(os.path.join(d, "ort")))
        expect = []
        for o in outputs:
            expect += ["--expect", os.path.join(d, "ort", o)]
        # The host CPU, and generic x86-64-v3 (AVX2, no AVX-512) so that
        # nothing assumes the build machine's extensions.
        for cpu in ("native", "x86-64-v3"):
            lib = os.path.join(d, "lib%s_%s.so" % (name, cpu.replace("-",
                                                                     "_")))
            rc, out = run([compile_tool, model, "--emit=shared", "--mcpu",
                           cpu, "--name", name, "-o", lib])
            if rc != 0:
                print("FAIL %s (%s): quant-compile: %s" % (name, cpu,
                                                          out.strip()))
                failed += 1
                continue
            rc, out = run([run_tool, lib, "--name", name] + feeds + expect +
                          ["--rtol", str(rtol), "--atol", str(atol)])
            status = "PASS" if rc == 0 else "FAIL"
            print("%s %s, --mcpu=%s (rtol %g, atol %g): %s" % (
                status, name, cpu, rtol, atol, " ".join(out.split())))
            passed += rc == 0
            failed += rc != 0
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
