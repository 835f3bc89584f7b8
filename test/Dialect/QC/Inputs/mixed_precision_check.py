"""qc-assign-precision (quant-compile --mixed-precision) end to end, on the
generated Llama-style decoder at hidden 256 / MLP 512 (so that K is at least
256 and scales cost little):
- at the size of uniform int4 g128 (--avg-bits 4.25; candidates int8,
  int4-g32, int4-g128, int4 per channel), the mixed choice has a higher
  logits SQNR against float than uniform int4 g128, on inputs that are not
  calibration inputs;
- the report states a size within the budget and lists a format per layer;
- at --avg-bits 8.125 (int8 per channel everywhere fits exactly), every
  layer is int8.

usage: mixed_precision_check.py QUANT_COMPILE QUANT_RUN WORKDIR
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, "/usr/lib/python3/dist-packages")
import numpy as np  # noqa: E402

compile_tool, run_tool, work = sys.argv[1:4]
here = os.path.dirname(os.path.abspath(__file__))
gen = os.path.join(here, "..", "..", "..", "..", "scripts", "gen_llama.py")

d = os.path.join(work, "model")
subprocess.run([sys.executable, gen, d, "--hidden", "256", "--heads", "4",
                "--ffn", "512", "--layers", "2", "--vocab", "64", "--seq", "16"],
               check=True, stdout=subprocess.DEVNULL)
model = os.path.join(d, "model.onnx")
rng = np.random.default_rng(0)
calib = os.path.join(work, "calib")
for s in range(4):
    os.makedirs(os.path.join(calib, "set%d" % s), exist_ok=True)
    np.save(os.path.join(calib, "set%d" % s, "input_ids.npy"),
            rng.integers(0, 64, (1, 16)).astype(np.int64))
inputs = []
for i in range(4):
    inputs.append(os.path.join(work, "ids%d.npy" % i))
    np.save(inputs[-1], rng.integers(0, 64, (1, 16)).astype(np.int64))


def logits(tag, flags):
    lib = os.path.join(work, "lib%s.so" % tag)
    subprocess.run([compile_tool, model, "--emit=shared", "--name", "m",
                    "-o", lib] + flags, check=True)
    ys = []
    for i, ids in enumerate(inputs):
        out = "%s.out%d" % (lib, i)
        os.makedirs(out, exist_ok=True)
        subprocess.run([run_tool, lib, "--name", "m", "-i", ids, "-o", out],
                       check=True, stdout=subprocess.DEVNULL)
        ys.append(np.load(os.path.join(out, "logits.npy")).astype(np.float64))
    return np.concatenate(ys)


def sqnr(y, ref):
    return 10 * np.log10((ref ** 2).sum() / ((y - ref) ** 2).sum())


checks = []
y = logits("float", [])
uniform = sqnr(logits("g128", ["--weights=int4", "--group=128"]), y)
report = os.path.join(work, "mixed.md")
mixed = sqnr(logits("mixed", ["--mixed-precision", "--avg-bits=4.25",
                              "--calib", calib, "--report", report]), y)
print("logits SQNR: uniform int4 g128 %.2f dB, mixed at 4.25 bits %.2f dB"
      % (uniform, mixed))
checks.append(("mixed precision beats uniform int4 g128 at its size",
               mixed > uniform))
rep = json.load(open(os.path.join(work, "mixed.json")))
mp = rep["mixed_precision"]
formats = sorted(set(l["weights"] for l in rep["layers"]))
print("bits per weight %.4f of %.4f; formats: %s"
      % (mp["bits_per_weight"], mp["budget_bits_per_weight"], formats))
checks.append(("the report's size is within the budget",
               mp["bits_per_weight"] <= mp["budget_bits_per_weight"] and
               mp["exact"] and len(rep["layers"]) == 15))
checks.append(("the mixed choice uses more than one format",
               len(formats) > 1))

subprocess.run([compile_tool, model, "--emit=shared", "--name", "m", "-o",
                os.path.join(work, "lib8.so"), "--mixed-precision",
                "--avg-bits=8.125", "--calib", calib, "--report",
                os.path.join(work, "eight.md")], check=True)
rep8 = json.load(open(os.path.join(work, "eight.json")))
checks.append(("at 8.125 bits every layer is int8 per channel",
               all(l["weights"].startswith("int8 per-channel")
                   for l in rep8["layers"])))

for name, ok in checks:
    print(("PASS " if ok else "FAIL ") + name)
sys.exit(0 if all(ok for _, ok in checks) else 1)
