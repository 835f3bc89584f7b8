"""Input files for quant-run.test (numpy .npy and an ONNX TensorProto)."""
import sys

import numpy as np
from onnx import numpy_helper

d = sys.argv[1]
x = np.array([[10, 20, 30], [11, 22, 33]], dtype=np.float32)
b = np.array([1, 2, 3], dtype=np.float32)
np.save(d + "/x.npy", x)
np.save(d + "/x_int.npy", x.astype(np.int32))
np.save(d + "/x_3d.npy", x.reshape(2, 3, 1))
with open(d + "/b.pb", "wb") as f:
    f.write(numpy_helper.from_array(b, "b").SerializeToString())
y = x + b
np.save(d + "/y.npy", y)
y_off = y.copy()
y_off[1, 1] += 0.5
np.save(d + "/y_off.npy", y_off)
with open(d + "/bad.npy", "wb") as f:
    f.write(b"not a numpy file at all")
raw = open(d + "/x.npy", "rb").read()
with open(d + "/short.npy", "wb") as f:
    f.write(raw[:-4])
with open(d + "/x.npy.txt", "w") as f:
    f.write("1 2 3")
