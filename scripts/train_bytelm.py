#!/usr/bin/env python3
"""Trains a small byte-level Llama-style language model and exports it to ONNX.

    apt-get install -y python3-torch libopenblas0-serial   # Debian 12: torch 1.13
    /usr/bin/python3 scripts/train_bytelm.py [--out models/bytelm] [--steps N]
        [--bin build/bin]

Data: the Python standard library sources of this machine
(/usr/lib/python3.11/**/*.py without the test suites: test/, tests/,
idle_test/; about 10 MB). The split is by file and deterministic: a file goes
to the held-out set when the MD5 of its path relative to the library root is
0 mod 20 (27 of 638 files, 384 KB, 3.5% of the bytes here), to the
training set otherwise (611 files, 10.6 MB). Tokens are the bytes 0..255
(vocabulary 256); each split is its files concatenated in sorted order.

Model: exactly the decoder scripts/gen_llama.py builds (the same names,
shapes [in, out] with y = x W, RMSNorm with eps 1e-5, rotate_half rotary
embeddings with base 10000, causal mask -1e9, SiLU-gated MLP, no biases):
hidden 128, 4 heads, MLP 384, 4 layers, context 128, about 0.9 million
parameters. All reduction sizes are multiples of 128, so group-128
quantization divides every matmul's K.

Training: AdamW (lr 3e-3, betas 0.9/0.95, weight decay 0.1 on the matrices),
linear warmup (100 steps) then cosine decay to a tenth, 2000 steps of 32
random 128-byte windows of the training split (8 million bytes, about 0.8
epoch), seeded (torch, numpy), one torch thread. That took 16 minutes (970
s) on one core of an AMD EPYC with OpenBLAS (see below), reaching 1.46
bits/byte on the training split and 1.49 held out; with Debian's default
reference BLAS it is about ten times slower.

Writes, under --out (default models/bytelm):
  trained.npz    the float32 weights named as gen_llama.py's initializers
                 (not needed at run time; removed unless --keep-npz)
  model.onnx     + weights.bin: scripts/gen_llama.py --weights-from trained.npz
                 --seq 128 --batch 8 (input_ids int64 [8, 128] -> logits
                 [8, 128, 256])
  eval.npy       uint8 [16, 8, 128]: held-out windows, 16 model calls
  calib.npy      uint8 [16, 8, 128]: training-split windows for calibration
  train_log.txt  the loss curve and final numbers
Then checks that the exported float model, compiled with quant-compile and
run with quant-run from --bin, gives torch's logits on one eval batch (skipped
with a note when the binaries are absent). bench/perplexity.py evaluates the
model under quantization settings.
"""
import argparse
import hashlib
import math
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STDLIB = "/usr/lib/python3.11"
EXCLUDED_DIRS = {"test", "tests", "idle_test"}
# Debian's torch calls the system BLAS, by default the reference one (about
# 5 GFLOPS on one core). With libopenblas0-serial installed, the script runs
# itself with OpenBLAS preloaded (about 10 times faster), leaving the system's
# choice of BLAS alone; its subprocesses get the original environment.
OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-serial/libblas.so.3"
if os.path.exists(OPENBLAS) and "TRAIN_BYTELM_PLAIN_PRELOAD" not in os.environ:
    old = os.environ.get("LD_PRELOAD", "")
    os.execve(sys.executable, [sys.executable] + sys.argv,
              dict(os.environ, TRAIN_BYTELM_PLAIN_PRELOAD=old, OPENBLAS_NUM_THREADS="1",
                   LD_PRELOAD=" ".join(filter(None, [OPENBLAS, old]))))
PLAIN_ENV = dict(os.environ, OMP_NUM_THREADS="1")
if "TRAIN_BYTELM_PLAIN_PRELOAD" in PLAIN_ENV:
    old = PLAIN_ENV.pop("TRAIN_BYTELM_PLAIN_PRELOAD")
    PLAIN_ENV.pop("OPENBLAS_NUM_THREADS", None)
    PLAIN_ENV.pop("LD_PRELOAD", None)
    if old:
        PLAIN_ENV["LD_PRELOAD"] = old

import numpy as np  # noqa: E402
import torch  # noqa: E402

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--out", default=os.path.join(ROOT, "models", "bytelm"))
p.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"),
               help="directory with quant-compile and quant-run (for the export check)")
p.add_argument("--layers", type=int, default=4)
p.add_argument("--hidden", type=int, default=128)
p.add_argument("--heads", type=int, default=4)
p.add_argument("--ffn", type=int, default=384)
p.add_argument("--seq", type=int, default=128)
p.add_argument("--batch", type=int, default=32, help="training windows per step")
p.add_argument("--steps", type=int, default=2000)
p.add_argument("--lr", type=float, default=3e-3)
p.add_argument("--warmup", type=int, default=100)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--keep-npz", action="store_true")
args = p.parse_args()

torch.set_num_threads(1)
torch.manual_seed(args.seed)
np.random.seed(args.seed)
L, H, NH, F, S, V = args.layers, args.hidden, args.heads, args.ffn, args.seq, 256
D = H // NH
EXPORT_BATCH = 8          # windows per model call of the exported model
EVAL_CALLS = CALIB_SETS = 16
os.makedirs(args.out, exist_ok=True)
log_file = open(os.path.join(args.out, "train_log.txt"), "w")


def log(msg):
    print(msg, flush=True)
    log_file.write(msg + "\n")
    log_file.flush()


# ---------------------------------------------------------------- data
def load_splits():
    files = []
    for dirpath, dirnames, filenames in os.walk(STDLIB):
        rel = os.path.relpath(dirpath, STDLIB)
        parts = rel.split(os.sep)
        if any(part in EXCLUDED_DIRS for part in parts) or "dist-packages" in parts \
                or "site-packages" in parts or "__pycache__" in parts:
            dirnames[:] = []
            continue
        files += [os.path.relpath(os.path.join(dirpath, f), STDLIB)
                  for f in filenames if f.endswith(".py")]
    train, held = [], []
    for rel in sorted(files):
        with open(os.path.join(STDLIB, rel), "rb") as f:
            data = f.read()
        h = int(hashlib.md5(rel.encode()).hexdigest(), 16)
        (held if h % 20 == 0 else train).append(data)
    return (np.frombuffer(b"".join(train), np.uint8), np.frombuffer(b"".join(held), np.uint8),
            len(files) - len(held), len(held))


train_data, held_data, n_train_files, n_held_files = load_splits()
log(f"data: {STDLIB} *.py, {n_train_files} training files ({len(train_data)} bytes), "
    f"{n_held_files} held-out files ({len(held_data)} bytes)")


def spaced_windows(data, count):
    """`count` windows of S bytes spread evenly over `data` (deterministic)."""
    starts = np.linspace(0, len(data) - S, count).astype(np.int64)
    return np.stack([data[s:s + S] for s in starts])


# The committed evaluation and calibration sets.
eval_windows = spaced_windows(held_data, EVAL_CALLS * EXPORT_BATCH)
calib_rng = np.random.default_rng(args.seed + 1)
calib_starts = calib_rng.integers(0, len(train_data) - S, CALIB_SETS * EXPORT_BATCH)
calib_windows = np.stack([train_data[s:s + S] for s in calib_starts])
# A larger held-out sample for the torch-side number.
big_eval = spaced_windows(held_data, 1024)


# ---------------------------------------------------------------- model
class ByteLM(torch.nn.Module):
    """gen_llama.py's decoder; parameters keyed by its initializer names."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.ParameterDict()

        def mat(name, rows, cols, scale=1.0):
            self.w[name.replace(".", "/")] = torch.nn.Parameter(
                torch.randn(rows, cols) * scale / math.sqrt(rows))

        def gain(name):
            self.w[name.replace(".", "/")] = torch.nn.Parameter(torch.ones(H))

        self.w["embed_tokens"] = torch.nn.Parameter(torch.randn(V, H))
        resid = 1.0 / math.sqrt(2 * L)
        for i in range(L):
            p = f"layers.{i}"
            gain(p + ".input_norm.weight")
            for n in ("q_proj", "k_proj", "v_proj"):
                mat(f"{p}.{n}", H, H)
            mat(p + ".o_proj", H, H, resid)
            gain(p + ".post_norm.weight")
            mat(p + ".gate_proj", H, F)
            mat(p + ".up_proj", H, F)
            mat(p + ".down_proj", F, H, resid)
        gain("final_norm.weight")
        mat("lm_head", H, V)
        inv = 1.0 / (10000 ** (np.arange(0, D, 2, dtype=np.float32) / D))
        angles = np.outer(np.arange(S, dtype=np.float32), inv)
        both = np.concatenate([angles, angles], -1)
        self.register_buffer("cos", torch.from_numpy(np.cos(both).astype(np.float32)))
        self.register_buffer("sin", torch.from_numpy(np.sin(both).astype(np.float32)))
        self.register_buffer("mask", torch.from_numpy(
            np.triu(np.full((S, S), -1e9, np.float32), k=1)))

    def p(self, name):
        return self.w[name.replace(".", "/")]

    def norm(self, x, name):
        return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * self.p(name)

    def rope(self, x):
        x1, x2 = x[..., :D // 2], x[..., D // 2:]
        return x * self.cos + torch.cat([-x2, x1], -1) * self.sin

    def forward(self, ids):
        B = ids.shape[0]
        x = self.p("embed_tokens")[ids]
        for i in range(L):
            pre = f"layers.{i}"
            h = self.norm(x, pre + ".input_norm.weight")

            def heads(t):
                return t.reshape(B, S, NH, D).transpose(1, 2)

            q = self.rope(heads(h @ self.p(pre + ".q_proj")))
            k = self.rope(heads(h @ self.p(pre + ".k_proj")))
            v = heads(h @ self.p(pre + ".v_proj"))
            scores = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(D)) + self.mask
            ctx = (torch.softmax(scores, -1) @ v).transpose(1, 2).reshape(B, S, H)
            x = x + ctx @ self.p(pre + ".o_proj")
            h = self.norm(x, pre + ".post_norm.weight")
            gate = h @ self.p(pre + ".gate_proj")
            x = x + (gate * torch.sigmoid(gate) * (h @ self.p(pre + ".up_proj"))) \
                @ self.p(pre + ".down_proj")
        return self.norm(x, "final_norm.weight") @ self.p("lm_head")


def next_byte_loss(model, windows):
    """Mean cross-entropy (nats) of bytes 1..S-1 given their prefixes."""
    ids = torch.as_tensor(np.asarray(windows, np.int64))
    logits = model(ids)
    return torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))


@torch.no_grad()
def evaluate(model, windows, batch=64):
    total, count = 0.0, 0
    for i in range(0, len(windows), batch):
        chunk = windows[i:i + batch]
        total += float(next_byte_loss(model, chunk)) * len(chunk)
        count += len(chunk)
    return total / count


model = ByteLM()
n_params = sum(t.numel() for t in model.parameters())
log(f"model: {L} layers, hidden {H}, {NH} heads, MLP {F}, vocab {V}, context {S}: "
    f"{n_params} parameters")
decay = [t for n, t in model.w.items() if t.dim() == 2]
no_decay = [t for n, t in model.w.items() if t.dim() == 1]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                         {"params": no_decay, "weight_decay": 0.0}],
                        lr=args.lr, betas=(0.9, 0.95))


def lr_at(step):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


batch_rng = np.random.default_rng(args.seed)
start = time.time()
running = None
for step in range(args.steps):
    for group in opt.param_groups:
        group["lr"] = lr_at(step)
    starts = batch_rng.integers(0, len(train_data) - S, args.batch)
    batch = np.stack([train_data[s:s + S] for s in starts])
    loss = next_byte_loss(model, batch)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    running = float(loss) if running is None else 0.98 * running + 0.02 * float(loss)
    if step % 100 == 0 or step == args.steps - 1:
        msg = (f"step {step:5d}  lr {lr_at(step):.2e}  loss {float(loss):.4f}  "
               f"smoothed {running:.4f} ({running / math.log(2):.3f} bits/byte)  "
               f"{time.time() - start:6.0f} s")
        if step % 500 == 0 or step == args.steps - 1:
            msg += f"  held-out {evaluate(model, big_eval[:256]):.4f}"
        log(msg)
train_time = time.time() - start

model.eval()
train_loss = evaluate(model, spaced_windows(train_data, 1024))
held_loss = evaluate(model, big_eval)
eval_loss = evaluate(model, eval_windows)
log(f"trained {args.steps} steps in {train_time:.0f} s")
for name, value in (("train (1024 windows)", train_loss), ("held-out (1024 windows)", held_loss),
                    ("held-out eval.npy (128 windows)", eval_loss)):
    log(f"{name}: loss {value:.4f} nats, {value / math.log(2):.4f} bits/byte, "
        f"perplexity {math.exp(value):.3f}")

# ---------------------------------------------------------------- export
npz = os.path.join(args.out, "trained.npz")
np.savez(npz, **{n.replace("/", "."): t.detach().numpy().astype(np.float32)
                 for n, t in model.w.items()})
subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_llama.py"), args.out,
                "--weights-from", npz, "--layers", str(L), "--hidden", str(H),
                "--heads", str(NH), "--ffn", str(F), "--vocab", str(V), "--seq", str(S),
                "--batch", str(EXPORT_BATCH)], check=True, env=PLAIN_ENV)
np.save(os.path.join(args.out, "eval.npy"),
        eval_windows.reshape(EVAL_CALLS, EXPORT_BATCH, S).astype(np.uint8))
np.save(os.path.join(args.out, "calib.npy"),
        calib_windows.reshape(CALIB_SETS, EXPORT_BATCH, S).astype(np.uint8))
if not args.keep_npz:
    os.remove(npz)

# ---------------------------------------------------------------- check
qc, qr = (os.path.join(args.bin, b) for b in ("quant-compile", "quant-run"))
if not (os.path.exists(qc) and os.path.exists(qr)):
    log(f"export check skipped: no quant-compile/quant-run in {args.bin}")
    sys.exit(0)
with tempfile.TemporaryDirectory() as tmp:
    ids = eval_windows[:EXPORT_BATCH].astype(np.int64)
    np.save(os.path.join(tmp, "input_ids.npy"), ids)
    so = os.path.join(tmp, "bytelm.so")
    env = PLAIN_ENV
    subprocess.run([qc, os.path.join(args.out, "model.onnx"), "--emit=shared", "-o", so],
                   check=True, env=env)
    subprocess.run([qr, so, "-i", "input_ids=" + os.path.join(tmp, "input_ids.npy"),
                    "-o", tmp], check=True, env=env, stdout=subprocess.DEVNULL)
    onnx_logits = np.load(os.path.join(tmp, "logits.npy"))
with torch.no_grad():
    torch_logits = model(torch.as_tensor(ids)).numpy()
diff = np.abs(onnx_logits - torch_logits)
rel = float(diff.max() / np.abs(torch_logits).max())
log(f"export check (quant-compile float vs torch, {EXPORT_BATCH}x{S} tokens): "
    f"max |diff| {diff.max():.3g}, max |diff| / max |logit| {rel:.3g}, "
    f"elementwise max |diff|/(|torch|+1e-3) {float((diff / (np.abs(torch_logits) + 1e-3)).max()):.3g}")
if rel > 1e-4:
    sys.exit("export check failed: the ONNX model does not compute torch's logits")
