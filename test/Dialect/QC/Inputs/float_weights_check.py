"""fp8 / fp4 weights end to end: a one-layer model y = x W (x [8, 64],
W [64, 48]) compiled with --weights=fp8 and fp8-e5m2 (per channel and
--group=32), mxfp4 and nvfp4, run, and compared with an independent numpy
model: every finite code value of E4M3FN, E5M2 and E2M1 is enumerated and
each
scaled weight goes to the nearest one, ties to the even code (an even
mantissa), saturating at the largest finite value;
  fp8:   s = amax / 448 per output channel (or per 32 rows of W);
  e5m2:  s = amax / 57344, likewise;
  mxfp4: blocks of 32 along K, s = 2^(floor(log2 amax) - 2);
  nvfp4: blocks of 16 along K, g = amax(W) / (6 * 448),
         s_b = E4M3(amax_b / 6 / g) * g.
Checks max |y - reference| <= 1e-5 * max |reference| for each, and that
the weight error grows in the expected order fp8 < e5m2 < nvfp4 <= mxfp4.

usage: float_weights_check.py QUANT_COMPILE QUANT_RUN WORKDIR
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
from quanttest import compile_and_run, report, save_mlp  # noqa: E402

compile_tool, run_tool, work = sys.argv[1:4]
rng = np.random.default_rng(7)
w = (rng.standard_normal((64, 48)) * 0.2).astype(np.float32)
w[5, 3] = 3.0  # an outlier in one column
path = os.path.join(work, "linear.onnx")
save_mlp(path, [w], 8)
x = rng.standard_normal((8, 64)).astype(np.float32)
inp = os.path.join(work, "x.npy")
np.save(inp, x)


def grid(exp_bits, mant_bits, bias, nan_code=None, ieee=False):
    """Every finite non-negative value of a small float format, by code
    (`ieee`: the all-ones exponent is infinity and NaN, not values)."""
    values = []
    for code in range(1 << (exp_bits + mant_bits)):
        e, m = code >> mant_bits, code & ((1 << mant_bits) - 1)
        if code == nan_code or (ieee and e == (1 << exp_bits) - 1):
            continue
        if e == 0:
            values.append((code, m * 2.0 ** (1 - bias - mant_bits)))
        else:
            values.append((code, (1 + m / 2 ** mant_bits) * 2.0 ** (e - bias)))
    return values


E4M3 = grid(4, 3, 7, nan_code=0x7F)
E5M2 = grid(5, 2, 15, ieee=True)
E2M1 = grid(2, 1, 1)


def round_to(values, a):
    """Nearest representable value, ties to the even code, saturating."""
    codes = np.array([c for c, _ in values])
    vals = np.array([v for _, v in values])
    mag = np.minimum(np.abs(a.astype(np.float64)), vals.max())
    dist = np.abs(mag[..., None] - vals)
    best = dist.min(-1, keepdims=True)
    tie_ok = (dist == best) & (codes % 2 == 0)
    pick = np.where(tie_ok.any(-1), tie_ok.argmax(-1), dist.argmin(-1))
    return np.sign(a) * vals[pick]


def fp8_weights(wt, block, values=E4M3):
    """wt: [N, K]; one scale per `block` columns."""
    n, k = wt.shape
    b = wt.reshape(n, k // block, block)
    largest = max(v for _, v in values)
    s = (np.abs(b).max(-1, keepdims=True) / np.float32(largest)).astype(
        np.float32)
    s = np.where(s == 0, 1, s)
    return (round_to(values, (b / s).astype(np.float32)) * s).reshape(n, k)


def mxfp4_weights(wt):
    n, k = wt.shape
    b = wt.reshape(n, k // 32, 32)
    amax = np.abs(b).max(-1, keepdims=True)
    s = 2.0 ** (np.floor(np.log2(amax)) - 2)
    return (round_to(E2M1, (b / s).astype(np.float32)) * s).reshape(n, k)


def nvfp4_weights(wt):
    n, k = wt.shape
    b = wt.reshape(n, k // 16, 16)
    g = np.float32(np.abs(wt).max()) / np.float32(6 * 448)
    sb = round_to(E4M3, (np.abs(b).max(-1, keepdims=True) / np.float32(6) /
                         g).astype(np.float32))
    s = (sb.astype(np.float32) * g).astype(np.float32)
    return (round_to(E2M1, (b / s).astype(np.float32)) * s).reshape(n, k)


wt = w.T  # [N, K]: blocks run along K
cases = [
    ("fp8", ["--weights=fp8", "--group=0"], fp8_weights(wt, 64)),
    ("fp8 g32", ["--weights=fp8", "--group=32"], fp8_weights(wt, 32)),
    ("e5m2", ["--weights=fp8-e5m2", "--group=0"],
     fp8_weights(wt, 64, E5M2)),
    ("e5m2 g32", ["--weights=fp8-e5m2", "--group=32"],
     fp8_weights(wt, 32, E5M2)),
    ("mxfp4", ["--weights=mxfp4"], mxfp4_weights(wt)),
    ("nvfp4", ["--weights=nvfp4"], nvfp4_weights(wt)),
]
checks, weight_error = [], {}
for tag, flags, wq in cases:
    y = compile_and_run((compile_tool, run_tool), path, work,
                        tag.replace(" ", "_"), flags, [inp], "y")[0]
    ref = x.astype(np.float64) @ wq.T.astype(np.float64)
    err = np.abs(y - ref).max() / np.abs(ref).max()
    weight_error[tag] = np.linalg.norm(wq - wt) / np.linalg.norm(wt)
    print("%-8s max relative error %.2e, weight error %.4f" %
          (tag, err, weight_error[tag]))
    checks.append(("%s matches numpy" % tag, err <= 1e-5))
checks.append(("fp8 < e5m2 < nvfp4 <= mxfp4 in weight error",
               weight_error["fp8"] < weight_error["e5m2"] <
               weight_error["nvfp4"] <= weight_error["mxfp4"]))
report(checks)
