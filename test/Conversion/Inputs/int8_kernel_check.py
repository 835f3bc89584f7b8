"""The int8 GEMM kernels of qc-vectorize-int8-contractions against numpy.

Each case is an ONNX MatMulInteger of random 8-bit codes (u8 or s8
activations, s8 weights; zero points absent, scalar or per column), compiled
by quant-compile -O3 (whose CPU pipeline runs the pass with the host's
vpdpbusd width) and run by quant-run against the exact int32 result numpy
computes in int64. The shapes reach the kernel's branches: 1, 2 and 4
column vectors per register block, blocks of 8, 6, 4, 3 and 1 rows, several
column panels (threads), the weight zero point's row sums, and a shape the
kernel leaves to the generic path (N not a multiple of the lanes). Where
the host has VNNI, the assembly must hold vpdpbusd exactly when the kernel
applies. Each case is also compiled for Haswell (--mcpu=haswell: AVX2
without VNNI, 8 lanes; the kernel's exact vpmaddwd sequence), whose
assembly must hold vpmaddwd exactly when the kernel applies, and run here
where the host has AVX2.

usage: int8_kernel_check.py QUANT_COMPILE QUANT_RUN WORKDIR
"""
import os
import subprocess
import sys

sys.path.insert(0, "/usr/lib/python3/dist-packages")
import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper, save_model  # noqa: E402

compile_tool, run_tool, work = sys.argv[1:4]
with open("/proc/cpuinfo") as f:
    flags = f.read().split()
VNNI = "avx512_vnni" in flags or "avx_vnni" in flags
LANES = 16 if "avx512_vnni" in flags else 8
AVX2 = "avx2" in flags

# name, M, K, N, signed activations, activation zero point, weight zero
# point ("col": per column), kernel expected
CASES = [
    ("u8 zp 128 M=8 K=64 N=32", 8, 64, 32, False, 128, None, True),
    ("s8 M=128 K=256 N=192 (panels)", 128, 256, 192, True, None, None, True),
    ("s8 zp -3 M=17 K=12 N=64 (rows one by one)", 17, 12, 64, True, -3, None,
     True),
    ("u8 zp 7 per-column weight zp M=6 K=32 N=64", 6, 32, 64, False, 7, "col",
     True),
    ("s8 zp 2 weight zp 3 M=4 K=64 N=16", 4, 64, 16, True, 2, 3, True),
    ("u8 weight zp 1 M=3 K=40 N=80", 3, 40, 80, False, None, 1, True),
    ("u8 M=4 K=16 N=20 (generic: N % lanes)", 4, 16, 20, False, 128, None,
     False),
]

rng = np.random.default_rng(5)
failed = 0
for name, m, k, n, signed, azp, bzp, kernel in CASES:
    d = os.path.join(work, "".join(c if c.isalnum() else "_" for c in name))
    os.makedirs(d, exist_ok=True)
    adt = np.int8 if signed else np.uint8
    w = rng.integers(-128, 128, (k, n)).astype(np.int8)
    a = rng.integers(-128 if signed else 0, 128 if signed else 256,
                     (m, k)).astype(adt)
    inits, inputs = [numpy_helper.from_array(w, "B")], ["A", "B"]
    za, zb = np.int64(0), np.int64(0)
    if azp is not None:
        inits.append(numpy_helper.from_array(np.array(azp, adt), "az"))
        inputs.append("az")
        za = np.int64(azp)
    if bzp is not None:
        zbv = (np.arange(n) % 5 - 2).astype(np.int8) if bzp == "col" \
            else np.array(bzp, np.int8)
        if azp is None:
            inputs.append("")
        inits.append(numpy_helper.from_array(zbv, "bz"))
        inputs.append("bz")
        zb = zbv.astype(np.int64)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", inputs, ["Y"])], "mmi",
        [helper.make_tensor_value_info(
            "A", TensorProto.INT8 if signed else TensorProto.UINT8, [m, k])],
        [helper.make_tensor_value_info("Y", TensorProto.INT32, [m, n])],
        inits)
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    save_model(model, os.path.join(d, "m.onnx"))
    y = ((a.astype(np.int64) - za) @ (w.astype(np.int64) - zb)).astype(
        np.int32)
    np.save(os.path.join(d, "a.npy"), a)
    np.save(os.path.join(d, "y.npy"), y)
    for target in ("native", "avx2"):
        mcpu = ["--mcpu=haswell"] if target == "avx2" else []
        lib = os.path.join(d, "libm_%s.so" % target)
        subprocess.run([compile_tool, os.path.join(d, "m.onnx"),
                        "--emit=shared", "-O3", "-o", lib] + mcpu, check=True)
        runs = target == "native" or AVX2
        r = subprocess.run([run_tool, lib, "-i", os.path.join(d, "a.npy"),
                            "--expect", os.path.join(d, "y.npy")],
                           capture_output=True, text=True) if runs else None
        ok = r is None or r.returncode == 0
        if target == "avx2" or VNNI:
            asm = os.path.join(d, "m_%s.s" % target)
            subprocess.run([compile_tool, os.path.join(d, "m.onnx"),
                            "--emit=asm", "-O3", "-o", asm] + mcpu,
                           check=True)
            instruction = "vpmaddwd" if target == "avx2" else "vpdpbusd"
            has = instruction in open(asm).read()
            lanes = 8 if target == "avx2" else LANES
            ok = ok and has == (kernel and n % lanes == 0)
            used = "yes" if has else "no"
        else:
            used = "yes" if kernel else "no"
        print("%s %s%s: kernel %s" % ("PASS" if ok else "FAIL",
                                      "AVX2 " if target == "avx2" else "",
                                      name, used))
        if not ok:
            print(r.stdout + r.stderr if r else "")
            failed += 1
# W8A8 qc.matmul (per-token int8 activations, per-channel int8 weights,
# transpose_rhs as the quantizer writes it): the lowering emits the int8
# kernel's form ([N, K] weight) on a VNNI or AVX2 target. Compiled three
# ways: native (vpdpbusd where the host has VNNI), Haswell (the AVX2
# sequence) and x86-64 (no dot product: the generic integer contraction);
# the integer sums are exact, so the three outputs must be identical, and
# within 1e-6 of numpy's float64 result from the same codes. A dynamic M
# (an activation [1, ?, K], whose rows the lowering folds for the kernel:
# blocks of rows, then the rest one by one) is summed over its rows, since
# a compiled model's outputs are static; those sums are checked within
# 1e-5 of numpy's.
def w8a8_module(m, k, n, w, scales):
    t = "!quant.uniform<i8:f32:0, {%s}>" % ", ".join(
        repr(float(v)) for v in scales)
    dense = "[%s]" % ", ".join("[%s]" % ", ".join(str(int(c)) for c in row)
                               for row in w)
    if m is None:
        return """func.func @main(%%x: tensor<1x?x%dxf32>) -> tensor<1x1x%dxf32> {
  %%c = arith.constant dense<%s> : tensor<%dx%dxi8>
  %%w = quant.scast %%c : tensor<%dx%dxi8> to tensor<%dx%dx%s>
  %%q = qc.quantize_per_token %%x {bits = 8} : tensor<1x?x%dxf32>
  %%y = qc.matmul %%q, %%w {transpose_rhs} : (tensor<1x?x%dxf32>, tensor<%dx%dx%s>) -> tensor<1x?x%dxf32>
  %%s = tosa.reduce_sum %%y {axis = 1 : i32} : (tensor<1x?x%dxf32>) -> tensor<1x1x%dxf32>
  return %%s : tensor<1x1x%dxf32>
}
""" % (k, n, dense, n, k, n, k, n, k, t, k, k, n, k, t, n, n, n, n)
    return """func.func @main(%%x: tensor<%dx%dxf32>) -> tensor<%dx%dxf32> {
  %%c = arith.constant dense<%s> : tensor<%dx%dxi8>
  %%w = quant.scast %%c : tensor<%dx%dxi8> to tensor<%dx%dx%s>
  %%q = qc.quantize_per_token %%x {bits = 8} : tensor<%dx%dxf32>
  %%y = qc.matmul %%q, %%w {transpose_rhs} : (tensor<%dx%dxf32>, tensor<%dx%dx%s>) -> tensor<%dx%dxf32>
  return %%y : tensor<%dx%dxf32>
}
""" % (m, k, m, n, dense, n, k, n, k, n, k, t, m, k, m, k, n, k, t, m, n,
       m, n)


# (M, rows at run time for a dynamic M, K, N)
for m, rows, k, n in ((5, 5, 64, 48), (16, 16, 128, 32), (None, 13, 64, 64)):
    name = "W8A8 qc.matmul M=%s K=%d N=%d" % (
        m if m else "? (%d at run time)" % rows, k, n)
    d = os.path.join(work, "w8a8_%s_%d_%d" % (m, k, n))
    os.makedirs(d, exist_ok=True)
    w = rng.integers(-127, 128, (n, k))
    scales = rng.uniform(0.001, 0.01, n).astype(np.float32)
    x = rng.standard_normal((rows, k)).astype(np.float32)
    src = os.path.join(d, "m.mlir")
    with open(src, "w") as f:
        f.write(w8a8_module(m, k, n, w, scales))
    np.save(os.path.join(d, "x.npy"), x if m else x[None])
    outs, ok, used = {}, True, []
    for target, mcpu in (("native", []), ("avx2", ["--mcpu=haswell"]),
                         ("generic", ["--mcpu=x86-64"])):
        if target == "avx2" and not AVX2:
            continue
        lib = os.path.join(d, "lib_%s.so" % target)
        asm = os.path.join(d, "m_%s.s" % target)
        subprocess.run([compile_tool, src, "--emit=shared", "-O3", "--name",
                        "m", "-o", lib] + mcpu, check=True)
        subprocess.run([compile_tool, src, "--emit=asm", "-O3", "--name", "m",
                        "-o", asm] + mcpu, check=True)
        text = open(asm).read()
        instruction = {"native": "vpdpbusd", "avx2": "vpmaddwd",
                       "generic": None}[target]
        if instruction and (target == "avx2" or VNNI):
            ok = ok and instruction in text
            used.append(target)
        out = os.path.join(d, "out_" + target)
        os.makedirs(out, exist_ok=True)
        subprocess.run([run_tool, lib, "--name", "m", "-i",
                        os.path.join(d, "x.npy"), "-o", out], check=True,
                       stdout=subprocess.DEVNULL)
        outs[target] = np.load(os.path.join(out, "output0.npy"))
    ref = outs["generic"]
    sx = (np.abs(x).max(axis=1, keepdims=True) / 127).astype(np.float32)
    codes = np.clip(np.round(x / sx), -128, 127).astype(np.float64)
    want = (codes @ w.T.astype(np.float64)) * sx.astype(np.float64) * \
        scales.astype(np.float64)
    if m:
        ok = ok and all(np.array_equal(v, ref) for v in outs.values())
    else:
        want = want.sum(axis=0).reshape(1, 1, n)
    err = max(float(np.max(np.abs(v - want)) / np.max(np.abs(want)))
              for v in outs.values())
    ok = ok and err <= (1e-6 if m else 1e-5)
    failed += not ok
    print("%s %s: %s on %d targets, relative error %.1e" % (
        "PASS" if ok else "FAIL", name, "identical" if m else "checked",
        len(outs), err))
sys.exit(1 if failed else 0)
