"""The CPU kernels of qc-vectorize-packed-contractions against numpy.

Each case is a qc.matmul of a random float x with a random int4 weight
(signed symmetric, or unsigned with zero points; groups of 32/64/128 along
K, or one scale per output channel), compiled by quant-compile, whose CPU
pipeline packs the weight (nibbles) and replaces the packed contraction by
the vector kernel. The shapes reach every branch of the kernel: 16 and 8
lanes per chunk and 1 (K / 8 odd), several and one scale per chunk, blocks
of 4, 3 and 1 rows of x, a leading batch dimension, row tiles on threads
(N >= 128) and none. Checked: the kernel replaced the packed contraction
(quant-opt, the pipeline's first passes), and the outputs are within 2e-6
of the largest |y| of y = x . dequant(W)^T computed in float64 by numpy from
the same codes and parameters. The W4A8 cases quantize x per token to int8
(qc.quantize_per_token; numpy rounds the same way) and contract the codes
with vpdpbusd where this CPU has VNNI (else the generic integer
contraction runs, and only the numbers are checked). Where N is a multiple
of the lanes and the parameters are constants, the kernel reads the weight
in the VNNI layout made at compile time (checked: the `vnni_int4`
constant); otherwise the nibbles words. The "AVX2" cases are compiled for
Haswell (--mcpu=haswell: AVX2 without VNNI, vpdpbusd emulated by
vpmaddubsw + vpmaddwd) and run here when this CPU has AVX2.

usage: packed_kernel_check.py QUANT_OPT QUANT_COMPILE QUANT_RUN WORKDIR
"""
import os
import subprocess
import sys

sys.path.insert(0, "/usr/lib/python3/dist-packages")
import numpy as np  # noqa: E402

opt, compile_tool, run_tool, work = sys.argv[1:5]
rng = np.random.default_rng(11)

# The W4A8 kernel (vpdpbusd) is generated where the host has VNNI.
with open("/proc/cpuinfo") as f:
    FLAGS = set(f.read().split())
VNNI = bool(FLAGS & {"avx512_vnni", "avx_vnni"})
AVX2 = "avx2" in FLAGS

# name, signed, group (0: per channel), x shape, N[, int8 activations[,
# target ("native" or "avx2"), VNNI layout expected[, one zero point for
# all (unsigned; then no zero-point tensor in the layout)]]]
CASES = [
    ("signed g128 M=1 N=256 (16 lanes, row tiles)", True, 128, (1, 256), 256),
    ("signed g32 x[2,3,64] N=40 (8 lanes, 2 scales/chunk, 3-row blocks)",
     True, 32, (2, 3, 64), 40),
    ("unsigned g64 zero points M=5 N=24 (rows one by one)", False, 64,
     (5, 128), 24),
    ("signed per-channel M=1 K=136 N=20 (1 lane)", True, 0, (1, 136), 20),
    ("unsigned per-channel zero points M=4 K=512 N=130 (10 row tiles)",
     False, 0, (4, 512), 130),
    ("W4A8 signed g128 M=1 N=256", True, 128, (1, 256), 256, True,
     "native", True),
    ("W4A8 unsigned g32 zero points M=3 K=256 N=136", False, 32, (3, 256),
     136, True, "native", False),
    ("W4A8 unsigned g32 zero points M=3 K=256 N=48 (VNNI layout, 3 rows)",
     False, 32, (3, 256), 48, True, "native", True),
    ("W4A8 signed per-channel x[2,5,136] N=32 (VNNI layout, odd words)",
     True, 0, (2, 5, 136), 32, True, "native", True),
    ("W4A8 signed g64 M=2 K=512 N=256 (VNNI layout, row tiles)", True, 64,
     (2, 512), 256, True, "native", True),
    ("W4A8 unsigned g32 zero point 8 everywhere M=1 K=256 N=32 (VNNI "
     "layout, no zero-point tensor)", False, 32, (1, 256), 32, True, "native",
     True, 8),
    ("AVX2 W4A8 unsigned g32 zero points M=3 K=256 N=136 (VNNI layout)",
     False, 32, (3, 256), 136, True, "avx2", True),
    ("AVX2 W4A8 signed g128 M=1 K=256 N=20 (words)", True, 128, (1, 256), 20,
     True, "avx2", False),
]


def f32(v):
    return repr(float(np.float32(v)))


def module(signed, group, xshape, n, codes, scales, zps, int8=False):
    k = xshape[-1]
    storage = "i4" if signed else "u4"

    def param(s, z):
        return f32(s) if signed else "%s:%d" % (f32(s), z)
    if group:
        rows = ["{%s}" % ", ".join(param(s, z) for s, z in zip(sr, zr))
                for sr, zr in zip(scales, zps)]
        qtype = "!quant.uniform<%s:f32:{0:1, 1:%d}, {%s}>" % (
            storage, group, ", ".join(rows))
    else:
        qtype = "!quant.uniform<%s:f32:0, {%s}>" % (
            storage, ", ".join(param(s, z) for s, z in
                               zip(scales[:, 0], zps[:, 0])))
    dense = "[%s]" % ", ".join("[%s]" % ", ".join(str(int(c)) for c in row)
                               for row in codes)
    xt = "x".join(str(d) for d in xshape) + "xf32"
    yt = "x".join(str(d) for d in xshape[:-1]) + "x%dxf32" % n
    wt = "%dx%dx%s" % (n, k, storage.replace("u", "i"))
    return """func.func @main(%%x: tensor<%s>) -> tensor<%s> {
  %%c = arith.constant dense<%s> : tensor<%s>
  %%w = quant.scast %%c : tensor<%s> to tensor<%dx%dx%s>
  %%q = %s
  %%y = qc.matmul %%q, %%w {transpose_rhs} : (tensor<%s>, tensor<%dx%dx%s>) -> tensor<%s>
  return %%y : tensor<%s>
}
""" % (xt, yt, dense, wt, wt, n, k, qtype,
       ("qc.quantize_per_token %%x {bits = 8} : tensor<%s>" % xt) if int8
       else ("tensor.cast %%x : tensor<%s> to tensor<%s>" % (xt, xt)),
       xt, n, k, qtype, yt, yt)


failed = 0
for i, (name, signed, group, xshape, n, *rest) in enumerate(CASES):
    int8 = bool(rest and rest[0])
    avx2 = len(rest) > 1 and rest[1] == "avx2"
    want_vnni = len(rest) > 2 and rest[2]
    uniform_zp = rest[3] if len(rest) > 3 else None
    dot = "vpmaddubsw" if avx2 else "vpdpbusd"
    native_dot = avx2 or VNNI
    k = xshape[-1]
    groups = k // group if group else 1
    if signed:
        codes = rng.integers(-8, 8, (n, k))
        zps = np.zeros((n, groups), np.int64)
    else:
        codes = rng.integers(0, 16, (n, k))
        zps = rng.integers(0, 16, (n, groups))
        if uniform_zp is not None:
            zps[:] = uniform_zp
    scales = rng.uniform(0.01, 0.1, (n, groups)).astype(np.float32)
    x = rng.standard_normal(xshape).astype(np.float32)
    per = group if group else k
    # As the text stores them (unsigned codes are written as i4 bit patterns).
    stored = codes if signed else np.where(codes > 7, codes - 16, codes)
    src = os.path.join(work, "case%d.mlir" % i)
    with open(src, "w") as f:
        f.write(module(signed, group, xshape, n, stored, scales, zps, int8))
    lowered = subprocess.run(
        [opt, src, "--qc-pack-weights",
         "--convert-qc-to-linalg=packed-int8-activations=%d" % int8,
         "--qc-vectorize-packed-contractions=dot-bits=%d vnni=%d" % (
             256 if avx2 else 512 if int8 and VNNI else 0, not avx2)],
        check=True, capture_output=True, text=True).stdout
    kernel = ("qc.packed_contraction" not in lowered and
              "vector.fma" in lowered and
              (not int8 or (dot in lowered and
                            ("vnni_int4" in lowered) == want_vnni)))
    if uniform_zp is not None:
        kernel = kernel and "vnni_zero_points" not in lowered
    if int8 and not native_dot:
        kernel = True  # no VNNI here: the generic W4A8 contraction runs
    lib = os.path.join(work, "lib%d.so" % i)
    subprocess.run([compile_tool, src, "--emit=shared", "--name", "m", "-o",
                    lib] + (["--mcpu=haswell"] if avx2 else []), check=True)
    if avx2 and not AVX2:
        # Compiled, but this CPU cannot run AVX2 code.
        print("%s %s: kernel %s" % ("PASS" if kernel else "FAIL", name,
                                    "yes" if kernel else "NO"))
        failed += not kernel
        continue
    xf = os.path.join(work, "x%d.npy" % i)
    np.save(xf, x)
    out = os.path.join(work, "out%d" % i)
    os.makedirs(out, exist_ok=True)
    subprocess.run([run_tool, lib, "--name", "m", "-i", xf, "-o", out],
                   check=True, stdout=subprocess.DEVNULL)
    got = np.load(os.path.join(out, "output0.npy")).astype(np.float64)
    deq = ((codes - np.repeat(zps, per, axis=1)) *
           np.repeat(scales.astype(np.float64), per, axis=1))
    xq = x.astype(np.float64)
    if int8:
        # Per-token codes: round half to even of x / (max|row| / 127).
        rows = xq.reshape(-1, k)
        s = np.abs(rows).max(axis=1, keepdims=True) / 127
        s = s.astype(np.float32).astype(np.float64)
        codes8 = np.clip(np.round(rows.astype(np.float32) /
                                  s.astype(np.float32)), -128, 127)
        xq = (codes8 * s).reshape(xshape)
    want = xq @ deq.T
    err = float(np.max(np.abs(got - want)) / np.max(np.abs(want)))
    ok = kernel and got.shape == want.shape and err <= 2e-6
    failed += not ok
    print("%s %s: kernel %s, relative error %.1e" % (
        "PASS" if ok else "FAIL", name, "yes" if kernel else "NO", err))
sys.exit(1 if failed else 0)
