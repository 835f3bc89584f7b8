#!/usr/bin/env python3
"""Held-out perplexity of a decoder compiled by quant-compile under quantization settings.

    /usr/bin/python3 bench/perplexity.py BUILD_BIN_DIR [--model models/bytelm]
        [--setting NAME ...] [--add 'NAME=FLAGS'] [--calls N] [--calib-sets N]

For each setting: quant-compile MODEL/model.onnx --emit=shared -o X.so FLAGS,
then quant-run X.so -i input_ids=CALL.npy -o DIR for each evaluation call; the
cross-entropy of every next token (positions 1..S-1 of a window, each from
its prefix) is averaged over all windows and reported as perplexity, bits per
token (bits per byte for the byte-level model) and the perplexity's gap to
the float model, and the logits' SQNR against the float model's (when the
float setting runs first, as it does by default). Prints a Markdown table.

The model is scripts/train_bytelm.py's byte-level Llama (models/bytelm,
trained on the Python standard library): its eval.npy (uint8 [calls, batch,
seq], held-out files) is the evaluation set and its calib.npy (training
files) becomes the --calib directory (one subdirectory per set holding
input_ids.npy). --model DIR takes another gen_llama.py-style model (input
int64 [batch, seq], output logits [batch, seq, vocab]); when DIR has no
eval.npy/calib.npy, those of --data (default models/bytelm) are used, cut to
the model's sequence length and regrouped into its batch (tokens taken mod
the vocabulary when it is smaller than 256; a random-weight model gives
a perplexity near or above its vocabulary size, which still shows the
quantization gap).

Settings live in SETTINGS below, one line each; "{calib}" in a flag is
replaced by the calibration directory. --setting picks some by name
(repeatable), --add 'NAME=FLAGS' appends one from the command line. A
setting whose flags quant-compile rejects is reported as "not available"
with the first line of its error. --group G replaces --group=128 (for models
whose reduction sizes are not multiples of 128). Everything is written to a temporary
directory; compile and run use OMP_NUM_THREADS=1 unless --threads.
With the committed model (16 calls of [8, 128], 16256 predicted bytes, 16
calibration sets) the 7 settings take a few minutes on 2 cores.
"""
import argparse
import math
import os
import shlex
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, "/usr/lib/python3/dist-packages")
import numpy as np  # noqa: E402
import onnx  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

W4 = ["--weights=int4", "--group=128"]
A4 = ["--activations=int4", "--per-token"]
GPTQ = ["--weight-method=gptq", "--calib={calib}"]
SETTINGS = [
    ("float", []),
    ("W8A8 naive", ["--weights=int8", "--group=0", "--activations=int8", "--calib={calib}"]),
    ("W8A8 + smooth", ["--weights=int8", "--group=0", "--activations=int8", "--calib={calib}",
                       "--smooth"]),
    ("W4A4 naive", W4 + A4),
    ("W4A4 + rotate", W4 + A4 + ["--rotate"]),
    ("W4A4 + rotate + GPTQ", W4 + A4 + ["--rotate"] + GPTQ),
    ("W4A16 RTN g128", W4),
    ("W4A16 GPTQ g128", W4 + GPTQ),
    # Mixed precision (RTN, like W4A16 RTN g128) at that format's size
    # (4.25 bits per weight) and at 4.5.
    ("mixed 4.25 bits", ["--mixed-precision", "--avg-bits=4.25", "--calib={calib}"]),
    ("mixed 4.5 bits", ["--mixed-precision", "--avg-bits=4.5", "--calib={calib}"]),
]


def first_line(text):
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return "(no message)"


def model_io(path):
    m = onnx.load(path, load_external_data=False)
    inp, out = m.graph.input[0], m.graph.output[0]
    dims = [d.dim_value for d in inp.type.tensor_type.shape.dim]
    vocab = out.type.tensor_type.shape.dim[-1].dim_value
    if len(dims) != 2 or not all(dims):
        sys.exit(f"{path}: expected a fixed [batch, seq] input, got {dims}")
    return inp.name, out.name, dims[0], dims[1], vocab


def regroup(windows, batch, seq, vocab, what):
    """uint8 [n, b0, s0] -> int64 [calls, batch, seq]."""
    rows = windows.reshape(-1, windows.shape[-1])
    if seq > rows.shape[1]:
        sys.exit(f"{what}: windows of {rows.shape[1]} tokens, the model takes {seq}")
    rows = rows[:, :seq].astype(np.int64)
    if vocab < 256:
        rows %= vocab
    calls = len(rows) // batch
    if calls == 0:
        sys.exit(f"{what}: {len(rows)} windows, fewer than the model's batch {batch}")
    return rows[:calls * batch].reshape(calls, batch, seq)


def nll_sum(logits, ids):
    """Summed next-token negative log-likelihood (nats) and the count."""
    z = logits[:, :-1].astype(np.float64)
    z -= z.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    target = ids[:, 1:]
    picked = np.take_along_axis(logp, target[..., None], -1)[..., 0]
    return float(-picked.sum()), target.size


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bin", help="directory with quant-compile and quant-run")
    p.add_argument("--model", default=os.path.join(ROOT, "models", "bytelm"))
    p.add_argument("--data", default=os.path.join(ROOT, "models", "bytelm"),
                   help="eval.npy/calib.npy for a --model without them")
    p.add_argument("--setting", action="append", metavar="NAME",
                   help="only these settings (repeatable; names as in the table)")
    p.add_argument("--add", action="append", default=[], metavar="NAME=FLAGS",
                   help="an extra setting, e.g. 'W4A8=--weights=int4 --activations=int8 "
                        "--calib={calib}'")
    p.add_argument("--calls", type=int, help="evaluate only the first N calls")
    p.add_argument("--calib-sets", type=int, help="use only the first N calibration sets")
    p.add_argument("--group", type=int, default=128,
                   help="group size of the group-wise settings (default 128; e.g. 32 for "
                        "gen_llama.py --preset tiny, whose K is 64)")
    p.add_argument("--threads", default="1", help="OMP_NUM_THREADS (default 1)")
    a = p.parse_args()

    qc, qr = (os.path.join(a.bin, b) for b in ("quant-compile", "quant-run"))
    for tool in (qc, qr):
        if not os.access(tool, os.X_OK):
            sys.exit(f"no {tool}")
    onnx_path = os.path.join(a.model, "model.onnx")
    in_name, out_name, batch, seq, vocab = model_io(onnx_path)
    data_dir = a.model if os.path.exists(os.path.join(a.model, "eval.npy")) else a.data
    evals = regroup(np.load(os.path.join(data_dir, "eval.npy")), batch, seq, vocab, "eval.npy")
    calibs = regroup(np.load(os.path.join(data_dir, "calib.npy")), batch, seq, vocab, "calib.npy")
    if a.calls:
        evals = evals[:a.calls]
    if a.calib_sets:
        calibs = calibs[:a.calib_sets]

    settings = list(SETTINGS)
    if a.group != 128:
        settings = [(n.replace("g128", f"g{a.group}"),
                     [f"--group={a.group}" if f == "--group=128" else f for f in flags])
                    for n, flags in settings]
    for spec in a.add:
        name, _, flags = spec.partition("=")
        settings.append((name.strip(), shlex.split(flags)))
    if a.setting:
        known = {n.lower(): (n, f) for n, f in settings}
        missing = [s for s in a.setting if s.lower() not in known]
        if missing:
            sys.exit("unknown setting(s) %s; known: %s" % (
                ", ".join(missing), ", ".join(n for n, _ in settings)))
        settings = [known[s.lower()] for s in a.setting]

    env = dict(os.environ, OMP_NUM_THREADS=a.threads)
    rows = []
    float_logits = []  # the float setting's logits per call, when it runs first
    with tempfile.TemporaryDirectory(prefix="perplexity-") as tmp:
        calib_dir = os.path.join(tmp, "calib")
        for i, ids in enumerate(calibs):
            os.makedirs(os.path.join(calib_dir, f"set_{i:03d}"))
            np.save(os.path.join(calib_dir, f"set_{i:03d}", in_name + ".npy"), ids)
        inputs = []
        for i, ids in enumerate(evals):
            path = os.path.join(tmp, f"eval_{i:03d}.npy")
            np.save(path, ids)
            inputs.append(path)
        print(f"model {onnx_path}: batch {batch}, seq {seq}, vocab {vocab}; "
              f"{len(evals)} eval calls ({evals[:, :, 1:].size} predicted tokens), "
              f"{len(calibs)} calibration sets", file=sys.stderr)

        for idx, (name, flags) in enumerate(settings):
            shown = " ".join(f.replace("{calib}", "CALIB") for f in flags)
            real = [f.replace("{calib}", calib_dir) for f in flags]
            so = os.path.join(tmp, f"setting{idx}.so")
            outdir = os.path.join(tmp, f"out{idx}")
            os.makedirs(outdir)
            t0 = time.time()
            r = subprocess.run([qc, onnx_path, "--emit=shared", "-o", so] + real,
                               capture_output=True, text=True, env=env)
            t_compile = time.time() - t0
            if r.returncode != 0:
                msg = "not available: " + first_line(r.stderr + r.stdout)
                print(f"{name}: {msg}", file=sys.stderr)
                rows.append((name, shown, None, msg, None))
                continue
            total, count, error = 0.0, 0, None
            signal = noise = 0.0
            t0 = time.time()
            for call, (path, ids) in enumerate(zip(inputs, evals)):
                r = subprocess.run([qr, so, "-i", f"{in_name}={path}", "-o", outdir],
                                   capture_output=True, text=True, env=env)
                if r.returncode != 0:
                    error = "run failed: " + first_line(r.stderr + r.stdout)
                    break
                logits = np.load(os.path.join(outdir, out_name + ".npy"))
                s, n = nll_sum(logits, ids)
                total, count = total + s, count + n
                if name == "float":
                    float_logits.append(logits)
                elif call < len(float_logits):
                    ref = float_logits[call].astype(np.float64)
                    signal += float(np.sum(ref ** 2))
                    noise += float(np.sum((logits - ref) ** 2))
            if error:
                print(f"{name}: {error}", file=sys.stderr)
                rows.append((name, shown, None, error, None))
                continue
            nll = total / count
            sqnr = 10 * math.log10(signal / noise) if noise > 0 else None
            print(f"{name}: perplexity {math.exp(nll):.4f} (compile {t_compile:.1f} s, "
                  f"run {time.time() - t0:.1f} s)", file=sys.stderr)
            rows.append((name, shown, nll, None, sqnr))

    float_nll = next((nll for name, _, nll, _, _ in rows
                      if name == "float" and nll is not None), None)
    unit = "bits/byte" if vocab == 256 else "bits/token"
    print(f"| setting | flags | perplexity | {unit} | gap to float | logits SQNR (dB) |")
    print("|---|---|---:|---:|---:|---:|")
    for name, shown, nll, msg, sqnr in rows:
        flags = "`%s`" % shown.replace("|", "\\|") if shown else "(none)"
        if nll is None:
            print(f"| {name} | {flags} | {msg} | | | |")
            continue
        ppl = math.exp(nll)
        gap = (f"{100 * (ppl / math.exp(float_nll) - 1):+.2f}%" if float_nll is not None
               else "n/a")
        db = f"{sqnr:.2f}" if sqnr is not None else "—"
        print(f"| {name} | {flags} | {ppl:.4f} | {nll / math.log(2):.4f} | {gap} | {db} |")


if __name__ == "__main__":
    main()
