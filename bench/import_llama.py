#!/usr/bin/env python3
"""Import benchmark: a Llama-shaped model of about 1.1 billion parameters.

    /usr/bin/python3 bench/import_llama.py [--build build] [--model-dir DIR]

Generates the model once with scripts/gen_llama.py --preset 1b (4.5 GB of
float32 weights in external data; reused when DIR/model.onnx exists), then
runs quant-import-bench on it, which imports and verifies the model in-process
without printing it and reports its wall time and peak resident memory. Prints the external data size, the peak RSS,
their ratio and the wall time against the targets of issue 3: peak RSS at most
1.2x the external data, import under 30 s. Exit status 1 when a target is
missed. This is a benchmark, not a test: it is not run by ctest.
"""
import argparse
import os
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
parser = argparse.ArgumentParser()
parser.add_argument("--build", default=os.path.join(root, "build"))
parser.add_argument("--model-dir", default=os.path.join(root, "build", "bench", "llama-1b"))
args = parser.parse_args()

model = os.path.join(args.model_dir, "model.onnx")
if not os.path.exists(model):
    subprocess.run([sys.executable, os.path.join(root, "scripts", "gen_llama.py"),
                    args.model_dir, "--preset", "1b"], check=True)
data_bytes = os.path.getsize(os.path.join(args.model_dir, "weights.bin"))

tool = os.path.join(args.build, "bin", "quant-import-bench")
proc = subprocess.run([tool, model], capture_output=True, text=True)
if proc.returncode != 0:
    print(proc.stderr)
    sys.exit(f"import failed with exit code {proc.returncode}")
figures = dict(line.split() for line in proc.stdout.splitlines())
wall = float(figures["import_seconds"])
peak = int(figures["peak_rss_bytes"])

ratio = peak / data_bytes
print(f"external data          {data_bytes / 2**30:8.2f} GiB")
print(f"operations             {figures['operations']:>8}")
print(f"peak resident memory   {peak / 2**20:8.1f} MiB")
print(f"peak RSS / data        {ratio:8.3f}   (target <= 1.2)")
print(f"import wall time       {wall:8.2f} s   (target < 30)")
ok = ratio <= 1.2 and wall < 30
print("targets met" if ok else "TARGET MISSED")
sys.exit(0 if ok else 1)
