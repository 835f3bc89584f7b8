"""Writes DIR/mlp.onnx (MatMul fc1 -> Relu -> MatMul fc2, x [8, 64] -> y
[8, 16]) and DIR/calib/set*/x.npy (8 calibration sets) for the report
test. usage: mlp_with_calib.py DIR"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
from quanttest import save_mlp  # noqa: E402

work = sys.argv[1]
rng = np.random.default_rng(2)
save_mlp(os.path.join(work, "mlp.onnx"),
         [(rng.standard_normal((64, 48)) * 0.1).astype(np.float32),
          (rng.standard_normal((48, 16)) * 0.1).astype(np.float32)], 8)
for s in range(8):
    d = os.path.join(work, "calib", "set%d" % s)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "x.npy"),
            rng.standard_normal((8, 64)).astype(np.float32))
