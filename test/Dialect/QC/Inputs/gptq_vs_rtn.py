"""GPTQ against RTN at W4 g128 on a generated Llama-style decoder, end to
end through quant-compile --calib: the float model is calibrated on 16 sets
of 32 random tokens, then both quantized models and the float one run on 4
other sets; prints the logits' SQNR (dB) against float for each and PASS when
GPTQ beats RTN by at least 0.5 dB.

The vocabulary is small (64) so the calibration sets cover every token: with
random weights, each token's embedding is an independent direction, and a
token never seen in calibration is outside the subspace GPTQ fitted.

usage: gptq_vs_rtn.py QUANT_COMPILE QUANT_RUN GEN_LLAMA WORKDIR
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
from quanttest import compile_and_run, report, sqnr  # noqa: E402

compile_tool, run_tool, gen_llama, work = sys.argv[1:5]
subprocess.run([sys.executable, gen_llama, os.path.join(work, "model"),
                "--layers", "2", "--hidden", "256", "--heads", "4", "--ffn",
                "768", "--vocab", "64", "--seq", "32"], check=True,
               stdout=subprocess.DEVNULL)
model = os.path.join(work, "model", "model.onnx")
rng = np.random.default_rng(5)
for s in range(16):
    d = os.path.join(work, "calib", "set%02d" % s)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "input_ids.npy"),
            rng.integers(0, 64, (1, 32)).astype(np.int64))
evals = []
for s in range(4):
    f = os.path.join(work, "eval%d.npy" % s)
    np.save(f, rng.integers(0, 64, (1, 32)).astype(np.int64))
    evals.append(f)


def logits(tag, flags):
    return compile_and_run((compile_tool, run_tool), model, work, tag, flags,
                           evals, "logits")


ref = logits("float", [])
db = {}
for tag, flags in [("rtn", []),
                   ("gptq", ["--weight-method=gptq", "--calib",
                             os.path.join(work, "calib")])]:
    ys = logits(tag, ["--weights=int4", "--group=128"] + flags)
    db[tag] = sqnr(ref, ys)
    print("%-5s W4 g128 logits SQNR %.2f dB" % (tag, db[tag]))
report([("gptq beats rtn by >= 0.5 dB", db["gptq"] >= db["rtn"] + 0.5)])
