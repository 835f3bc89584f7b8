"""qc.hadamard of non-power-of-two sizes, end to end: a module applying
qc.hadamard of sizes 12, 20, 24 (stride 2), 28, 36, 52, 112, 156 and 344
(= 172·2, the Goethals–Seidel factors) to the
identity matrix is compiled and run, so each output is the transform's
matrix T. Checks, per case: T·Tᵀ = I (orthogonal) within 1e-5, every entry
±1/√size where the block applies and 0 elsewhere, and (sizes with a prime
Paley construction: 12, 20, 28, 36) T equals x·(H_K ⊗ H_2^m)/√size for H_K
built here from the textbook definitions: Paley I (q ≡ 3 mod 4) is
I + [[0, 1ᵀ], [−1, Q]], Paley II (q ≡ 1 mod 4) expands the conference
matrix [[0, 1ᵀ], [1, Q]] with 0 -> [[1, −1], [−1, −1]] and ±1 ->
±[[1, 1], [1, −1]], Q[i][j] the quadratic character of i − j mod q.

usage: hadamard_check.py QUANT_COMPILE QUANT_RUN WORKDIR [QUANT_OPT]

With QUANT_OPT the module is first lowered by convert-qc-to-linalg
{hadamard-kernel} (the CUDA pipeline's one-generic form, which qc-map-to-gpu
replaces with its kernel) and that form is compiled for the CPU: the same
checks then hold for its semantics. It prints how many transforms took it.
"""
import os
import subprocess
import sys

sys.path.insert(0, "/usr/lib/python3/dist-packages")
import numpy as np  # noqa: E402

compile_tool, run_tool, work = sys.argv[1:4]
opt_tool = sys.argv[4] if len(sys.argv) > 4 else None
# (name, n, size, stride, K, q, paley kind)
cases = [("h12", 12, 12, 1, 12, 11, 1), ("h20", 20, 20, 1, 20, 19, 1),
         ("h24s2", 48, 24, 2, 12, 11, 1), ("h28", 28, 28, 1, 28, 13, 2),
         ("h36", 36, 36, 1, 36, 17, 2), ("h52", 52, 52, 1, 52, None, 2),
         ("h112", 112, 112, 1, 28, 13, 2), ("h156", 156, 156, 1, 156, None, 0),
         ("h344", 344, 344, 1, 172, None, 0)]
lines, results = [], []
for name, n, size, stride, *_ in cases:
    attrs = "" if size == n else " size %d stride %d" % (size, stride)
    lines.append(
        "  %%%s = qc.hadamard %%x%d%s : tensor<%dx%dxf32>" %
        (name, n, attrs, n, n))
    results.append((name, n))
args = ", ".join("%%x%d: tensor<%dx%dxf32> {onnx.name = \"x%d\"}" %
                 (n, n, n, n) for n in sorted({n for _, n in results}))
outs = ", ".join("tensor<%dx%dxf32> {onnx.name = \"%s\"}" % (n, n, name)
                 for name, n in results)
module = "func.func @main(%s) -> (%s) {\n%s\n  return %s : %s\n}\n" % (
    args, outs, "\n".join(lines), ", ".join("%" + r for r, _ in results),
    ", ".join("tensor<%dx%dxf32>" % (n, n) for _, n in results))
path = os.path.join(work, "hadamard.mlir")
open(path, "w").write(module)
lib = os.path.join(work, "libhadamard.so")
if opt_tool:
    lowered = os.path.join(work, "hadamard.linalg.mlir")
    subprocess.run([opt_tool, path, "--convert-qc-to-linalg=hadamard-kernel=1",
                    "-o", lowered], check=True)
    one_generic = open(lowered).read().count("qc.hadamard = {")
    path = lowered
subprocess.run([compile_tool, path, "--emit=shared", "-o", lib], check=True)
inputs = []
for n in sorted({n for _, n in results}):
    f = os.path.join(work, "x%d.npy" % n)
    np.save(f, np.eye(n, dtype=np.float32))
    inputs += ["-i", "x%d=%s" % (n, f)]
out = os.path.join(work, "out")
os.makedirs(out, exist_ok=True)
subprocess.run([run_tool, lib] + inputs + ["-o", out], check=True,
               stdout=subprocess.DEVNULL)


def chi(q):
    squares = {(x * x) % q for x in range(1, q)}
    return lambda a: 0 if a % q == 0 else (1 if a % q in squares else -1)


def paley(q, kind):
    c = chi(q)
    Q = np.array([[c(i - j) for j in range(q)] for i in range(q)])
    if kind == 1:
        S = np.zeros((q + 1, q + 1), dtype=int)
        S[0, 1:] = 1
        S[1:, 0] = -1
        S[1:, 1:] = Q
        return np.eye(q + 1, dtype=int) + S
    C = np.zeros((q + 1, q + 1), dtype=int)
    C[0, 1:] = 1
    C[1:, 0] = 1
    C[1:, 1:] = Q
    zero = np.array([[1, -1], [-1, -1]])
    one = np.array([[1, 1], [1, -1]])
    return np.block([[zero if v == 0 else v * one for v in row] for row in C])


def sylvester(p):
    h = np.array([[1]])
    while h.shape[0] < p:
        h = np.block([[h, h], [h, -h]])
    return h


failures = 0
for name, n, size, stride, k, q, kind in cases:
    t = np.load(os.path.join(out, name + ".npy")).astype(np.float64)
    orthogonal = np.abs(t @ t.T - np.eye(n)).max() <= 1e-5
    block = np.kron(np.eye(n // (size * stride)),
                    np.kron(np.ones((size, size)), np.eye(stride)))
    entries = np.allclose(np.abs(t), block / np.sqrt(size), atol=1e-6)
    ok = orthogonal and entries
    if q is not None:
        h = np.kron(paley(q, kind), sylvester(size // k))
        expected = np.kron(np.eye(n // (size * stride)),
                           np.kron(h, np.eye(stride))) / np.sqrt(size)
        ok = ok and np.abs(t - expected).max() <= 1e-6
    print("%s %s (orthogonal %s, entries %s)" %
          ("PASS" if ok else "FAIL", name, orthogonal, entries))
    failures += not ok
if opt_tool:
    print("one-generic transforms:", one_generic)
sys.exit(1 if failures else 0)
