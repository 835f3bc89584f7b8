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
sys.exit(1 if failed else 0)
