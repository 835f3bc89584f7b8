#!/usr/bin/env python3
"""Compiles and runs every ONNX node test, compares with its expected outputs.

usage: run_node_tests.py QUANT_COMPILE QUANT_RUN NODE_DIR WORK_DIR
                         [--markdown FILE] [--filter REGEX] [-j N]

For each NODE_DIR/<test>/model.onnx:
  1. quant-compile --emit=shared. A model whose inputs include arguments the
     compiler needs as constants (Reshape's shape, Resize's scales,
     QLinearMatMul's scales...) fails with "unsupported run-time ..."; it is
     then compiled once per test_data_set with every input but the first
     bound to that set's file (--constant-input), as a deployment would fix
     them.
  2. quant-run on each test_data_set_*, comparing every output
     (|a - e| <= 1e-5 + 1e-3·|e| for floats, as ONNX's backend tests; exact
     for integers).
Outcomes: passed, failed (a compile error that is not a declared limitation,
a crash, a run error or a mismatch), known difference (listed below with the
reason: the test's expected data is wrong or outdated), unsupported (the
compiler names the limitation: every such message says "unsupported"), old
opset.

Prints a table of failures and unsupported reasons, the operators whose tests
all pass, and a last line "N passed, N failed"; exits 1 if anything failed.
--markdown writes the same as docs/conformance.md.

For a GPU (--target=cuda), which is on another machine than the compiler:
  --compile-flag=--target=cuda:sm_90a (repeatable) adds flags to every
  compile; --prepare compiles only, copying each test's inputs and expected
  outputs beside its library and writing WORK_DIR/manifest.txt; then
  run_node_tests.py --run-manifest WORK_DIR QUANT_RUN on the GPU machine
  (no onnx package or test data needed there) runs them, NODE_TESTS_JOBS
  (default 4) at a time, and prints "N passed, N failed".
"""
import argparse
import collections
import glob
import os
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

manifest_lock = threading.Lock()

sys.path.insert(0, "/usr/lib/python3/dist-packages")
try:
    import onnx  # noqa: E402
except ImportError:  # --run-manifest on a machine without it
    onnx = None

RTOL, ATOL = "1e-3", "1e-5"

# Tests whose expected data disagrees with the operator's current definition
# or with the model itself. Reported as "known difference", not as passed.
KNOWN_DIFFERENCES = {
    "test_cast_FLOAT_to_BFLOAT16":
        "ONNX 1.12's expected data truncates to bfloat16; the ONNX spec since "
        "1.14 and ONNX Runtime round to nearest even, as quant does",
    "test_castlike_BFLOAT16_to_FLOAT_expanded":
        "the test data's 'like' input has shape [1], the model declares "
        "[3, 4]",
    "test_castlike_FLOAT_to_BFLOAT16_expanded":
        "the test data's 'like' input has shape [1], the model declares "
        "[3, 4]",
}
UNSUPPORTED = re.compile(r"\bunsupported\b")


def first_error(text):
    for line in text.splitlines():
        if "error:" in line:
            return line.split("error:", 1)[1].strip()
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return lines[0] if lines else "(no message)"


def run(cmd, timeout=300):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=timeout)
        return r.returncode, r.stdout + r.stderr
    except subprocess.TimeoutExpired:
        return 124, "timed out after %d s" % timeout


def test_one(args, model):
    test_dir = os.path.dirname(model)
    name = os.path.basename(test_dir)
    work = os.path.join(args.work_dir, name)
    os.makedirs(work, exist_ok=True)
    try:
        proto = onnx.load(model, load_external_data=False)
    except Exception as e:  # noqa: BLE001
        return name, [], "failed", "cannot load: %s" % e
    ops = sorted({(n.domain + "::" if n.domain else "") + n.op_type
                  for n in proto.graph.node})
    inits = {i.name for i in proto.graph.initializer}
    inputs = [i.name for i in proto.graph.input if i.name not in inits]
    sets = sorted(glob.glob(os.path.join(test_dir, "test_data_set_*")))
    if not sets:
        return name, ops, "unsupported", "no test data"
    lib = os.path.join(work, "lib%s.so" % re.sub(r"\W", "_", name))
    compile_cmd = [args.compile, model, "--emit=shared", "-o", lib,
                   "--name", "m"] + list(args.compile_flag)
    rc, out = run(compile_cmd)
    bound = False
    if rc != 0 and "unsupported run-time" in out and len(inputs) > 1:
        bound = True
    elif rc != 0:
        if "supported opsets are" in out:
            return name, ops, "old opset", first_error(out)
        status = "unsupported" if rc == 1 and UNSUPPORTED.search(out) \
            else "failed"
        return name, ops, status, first_error(out)
    for set_index, data in enumerate(sets):
        files = sorted(glob.glob(os.path.join(data, "input_*.pb")),
                       key=lambda f: int(re.findall(r"\d+", f)[-1]))
        expected = sorted(glob.glob(os.path.join(data, "output_*.pb")),
                          key=lambda f: int(re.findall(r"\d+", f)[-1]))
        feed = list(zip(inputs, files))
        if bound:
            if args.prepare:
                # One library per set (each binds its own constants).
                set_lib = lib.replace(".so", "_%d.so" % set_index)
                compile_cmd[compile_cmd.index("-o") + 1] = set_lib
                lib = set_lib
            cmd = list(compile_cmd)
            for input_name, f in feed[1:]:
                cmd.append("--constant-input=%s=%s" % (input_name, f))
            rc, out = run(cmd)
            if rc != 0:
                status = "unsupported" if rc == 1 and UNSUPPORTED.search(out) \
                    else "failed"
                return name, ops, status, first_error(out)
            feed = feed[:1]
        if args.prepare:
            # Copy the set's files beside the library; the manifest line is
            # quant-run's arguments relative to WORK_DIR.
            import shutil
            line = [os.path.relpath(lib, args.work_dir)]
            for kind, items in (("-i", feed), ("--expect", expected)):
                for item in items:
                    input_name, f = item if kind == "-i" else (None, item)
                    dst = os.path.join(work, "set%d_%s" % (
                        set_index, os.path.basename(f)))
                    shutil.copyfile(f, dst)
                    rel = os.path.relpath(dst, args.work_dir)
                    line += [kind, "%s=%s" % (input_name, rel)
                             if input_name else rel]
            with manifest_lock:
                with open(os.path.join(args.work_dir, "manifest.txt"),
                          "a") as m:
                    m.write(name + "\t" + "\t".join(line) + "\n")
            continue
        cmd = [args.run, lib, "--name", "m", "--rtol", RTOL, "--atol", ATOL]
        for input_name, f in feed:
            cmd += ["-i", "%s=%s" % (input_name, f)]
        for f in expected:
            cmd += ["--expect", f]
        rc, out = run(cmd)
        if rc != 0:
            why = [l for l in out.splitlines() if l.startswith("quant-run:")]
            return name, ops, "failed", (why[0][len("quant-run: "):]
                                         if why else first_error(out))
    return name, ops, "passed", ""


def run_manifest(work_dir, quant_run):
    """Runs every line of WORK_DIR/manifest.txt (see --prepare)."""
    passed = failed = known = 0
    with open(os.path.join(work_dir, "manifest.txt")) as m:
        lines = [l.rstrip("\n").split("\t") for l in m if l.strip()]
    def command(name, lib, *rest):
        cmd = [quant_run, os.path.join(work_dir, lib), "--name", "m",
               "--rtol", RTOL, "--atol", ATOL]
        for flag, value in zip(rest[0::2], rest[1::2]):
            if flag == "-i":
                n, f = value.split("=", 1)
                value = "%s=%s" % (n, os.path.join(work_dir, f))
            else:
                value = os.path.join(work_dir, value)
            cmd += [flag, value]
        return cmd
    # A few models at a time (each its own process and CUDA context),
    # reported in the manifest's order as they finish.
    with ThreadPoolExecutor(int(os.environ.get("NODE_TESTS_JOBS", "4"))) as pool:
        results = pool.map(lambda line: run(command(*line)), lines)
        for (name, *_), (rc, out) in zip(lines, results):
            if rc == 0:
                passed += 1
            elif name in KNOWN_DIFFERENCES:
                known += 1
                print("known difference %s: %s" % (
                    name, KNOWN_DIFFERENCES[name]), flush=True)
            else:
                failed += 1
                why = [l for l in out.splitlines()
                       if l.startswith("quant-run:")]
                print("FAIL %s: %s" % (
                    name, why[0] if why else first_error(out)), flush=True)
    print("%d known differences" % known)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--run-manifest":
        return run_manifest(sys.argv[2], sys.argv[3])
    p = argparse.ArgumentParser()
    p.add_argument("compile")
    p.add_argument("run")
    p.add_argument("node_dir")
    p.add_argument("work_dir")
    p.add_argument("--markdown")
    p.add_argument("--filter", default="")
    p.add_argument("-j", type=int, default=os.cpu_count() or 2)
    p.add_argument("--compile-flag", action="append", default=[])
    p.add_argument("--prepare", action="store_true")
    args = p.parse_args()
    if args.prepare:
        os.makedirs(args.work_dir, exist_ok=True)
        open(os.path.join(args.work_dir, "manifest.txt"), "w").close()
    models = sorted(glob.glob(os.path.join(args.node_dir, "*", "model.onnx")))
    models = [m for m in models if re.search(args.filter,
                                             os.path.basename(
                                                 os.path.dirname(m)))]
    if not models:
        print("no node-test models under %s" % args.node_dir)
        return 1
    with ThreadPoolExecutor(args.j) as pool:
        results = list(pool.map(lambda m: test_one(args, m), models))
    results = [(n, ops, "known difference", KNOWN_DIFFERENCES[n])
               if n in KNOWN_DIFFERENCES and s != "passed" else (n, ops, s, w)
               for n, ops, s, w in results]

    counts = collections.Counter(r[2] for r in results)
    op_status = collections.defaultdict(set)
    for name, ops, status, _ in results:
        for op in ops:
            op_status[op].add(status)
    passing_ops = sorted(op for op, s in op_status.items()
                         if "passed" in s and "failed" not in s
                         and "known difference" not in s)
    known_ops = sorted(op for op, s in op_status.items()
                       if "known difference" in s and "failed" not in s)
    failing_ops = sorted(op for op, s in op_status.items() if "failed" in s)
    reasons = collections.Counter(
        re.sub(r"'[^']*'", "'...'", why) for _, _, s, why in results
        if s == "unsupported")

    lines = []
    lines.append("| outcome | node tests |")
    lines.append("|---|---|")
    for k in ("passed", "failed", "known difference", "unsupported",
              "old opset"):
        lines.append("| %s | %d |" % (k, counts[k]))
    lines.append("")
    lines.append("Operators whose node tests all pass where they compile "
                 "(%d): %s" % (len(passing_ops), ", ".join(passing_ops)))
    lines.append("")
    if failing_ops:
        lines.append("Operators with a failing node test (not supported): "
                     + ", ".join(failing_ops))
        lines.append("")
    if known_ops:
        lines.append("Operators that pass except for a known difference "
                     "(below): " + ", ".join(known_ops))
        lines.append("")
    known = [(n, why) for n, _, s, why in results if s == "known difference"]
    if known:
        lines.append("| known difference | why |")
        lines.append("|---|---|")
        for n, why in known:
            lines.append("| %s | %s |" % (n, why))
        lines.append("")
    failures = [(n, why) for n, _, s, why in results if s == "failed"]
    if failures:
        lines.append("| failing test | why |")
        lines.append("|---|---|")
        for n, why in failures:
            lines.append("| %s | %s |" % (n, why.replace("|", "\\|")))
        lines.append("")
    lines.append("Most common reasons for unsupported tests:")
    lines.append("")
    lines.append("| reason | tests |")
    lines.append("|---|---|")
    for why, n in reasons.most_common(25):
        lines.append("| %s | %d |" % (why.replace("|", "\\|")[:160], n))
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("# ONNX node-test conformance\n\n"
                    "Generated by `test/Conformance/run_node_tests.py` (the "
                    "`conformance` ctest) from libonnx-testdata's %d node "
                    "tests: each is compiled with `quant-compile "
                    "--emit=shared` for the host CPU and run with `quant-run` "
                    "on every test_data_set, comparing with |a - e| <= %s + "
                    "%s·|e| (floats) or exactly (integers).\n\n"
                    % (len(models), ATOL, RTOL))
            f.write(text + "\n")
    print("%d passed, %d failed" % (counts["passed"], counts["failed"]))
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
