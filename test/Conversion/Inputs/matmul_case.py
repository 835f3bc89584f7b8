"""Writes one qc.matmul test case: DIR/case.mlir (a function whose weight is
a constant, the layout the register-blocking and packing code paths see),
DIR/x.npy and DIR/y.npy (the product in float64, rounded to f32).

usage: matmul_case.py DIR M K N [--transpose] [--batch B] [--seed S]
"""
import argparse
import os
import sys

sys.path.insert(0, "/usr/lib/python3/dist-packages")
import numpy as np  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("dir")
p.add_argument("m", type=int)
p.add_argument("k", type=int)
p.add_argument("n", type=int)
p.add_argument("--transpose", action="store_true")
p.add_argument("--batch", type=int, default=0)
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()
rng = np.random.default_rng(a.seed)
xshape = ([a.batch] if a.batch else []) + [a.m, a.k]
x = rng.standard_normal(xshape).astype(np.float32)
w = rng.standard_normal((a.k, a.n)).astype(np.float32)
y = (x.astype(np.float64) @ w.astype(np.float64)).astype(np.float32)
stored = w.T if a.transpose else w


def ttype(shape):
    return "tensor<%sxf32>" % "x".join(str(d) for d in shape)


values = ", ".join("[%s]" % ", ".join(repr(float(v)) for v in row)
                   for row in stored)
yshape = list(y.shape)
attr = " {transpose_rhs}" if a.transpose else ""
with open(os.path.join(a.dir, "case.mlir"), "w") as f:
    f.write('func.func @main(%%x: %s {onnx.name = "x"}) -> (%s {onnx.name = "y"}) {\n'
            % (ttype(xshape), ttype(yshape)))
    f.write("  %%w = arith.constant dense<[%s]> : %s\n"
            % (values, ttype(stored.shape)))
    f.write("  %%y = qc.matmul %%x, %%w%s : (%s, %s) -> %s\n"
            % (attr, ttype(xshape), ttype(stored.shape), ttype(yshape)))
    f.write("  return %%y : %s\n}\n" % ttype(yshape))
np.save(os.path.join(a.dir, "x.npy"), x)
np.save(os.path.join(a.dir, "y.npy"), y)
