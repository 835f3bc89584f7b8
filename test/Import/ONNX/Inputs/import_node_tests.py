#!/usr/bin/env python3
"""Imports every ONNX node-test model and sorts the outcomes.

usage: import_node_tests.py QUANT_TRANSLATE NODE_TEST_DIR

A model is
  imported     when quant-translate --import-onnx succeeds;
  unsupported  when the importer reports a declared limitation, whose message
               always says "unsupported" ("unsupported operators: ...",
               "unsupported non-tensor type", "unsupported element type in
               'tensor<3xui8>'", "unsupported run-time shape", ...);
  old opset    when it imports a default-domain opset outside 13..21;
  failed       otherwise: a model whose operators and types are all supported
               did not import. Any failure fails this script (exit 1).
Prints a table of the missing operators, the failures, and a final line
"imported N of M node-test models".
"""
import collections
import glob
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

tool, root = sys.argv[1], sys.argv[2]
models = sorted(glob.glob(os.path.join(root, "*", "model.onnx")))
if not models:
    print(f"no node-test models under {root}")
    sys.exit(1)


def run(model):
    r = subprocess.run([tool, "--import-onnx", model, "-o", os.devnull],
                       capture_output=True, text=True)
    return model, r.returncode, r.stderr


# Every declared limitation of the importer says "unsupported" in its message.
unsupported_re = re.compile(r"\bunsupported\b")
counts = collections.Counter()
missing_ops = collections.Counter()
failures = []
for model, rc, err in ThreadPoolExecutor(os.cpu_count() or 2).map(run, models):
    name = os.path.basename(os.path.dirname(model))
    if rc == 0:
        counts["imported"] += 1
    elif rc == 1 and unsupported_re.search(err):
        counts["unsupported"] += 1
        m = re.search(r"unsupported operators: (.*)", err)
        if m:
            for op in re.findall(r"([\w.]+) \(\d+ nodes?, first", m.group(1)):
                missing_ops[op] += 1
    elif rc == 1 and "supported opsets are" in err:
        counts["old opset"] += 1
    else:
        counts["failed"] += 1
        first = err.strip().splitlines()[0] if err.strip() else f"exit code {rc}"
        failures.append(f"{name}: {first}")

print("missing operators (models affected):")
for op, n in missing_ops.most_common():
    print(f"  {op:40s} {n}")
for f in failures:
    print("FAILED", f)
print(f"unsupported {counts['unsupported']}, old opset {counts['old opset']}, "
      f"failed {counts['failed']}")
print(f"imported {counts['imported']} of {len(models)} node-test models")
sys.exit(1 if failures else 0)
