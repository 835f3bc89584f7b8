//===- quant-run.cpp - run a model compiled with --emit=shared -----------===//
//
//   quant-run libmodel.so -i x.npy [-i NAME=y.pb ...] [--expect out.pb ...]
//             [--test-dir test_data_set_0] [--rtol R] [--atol A]
//             [-o DIR] [--bench N] [--name NAME]
//
// Loads the library, reads <name>_signature to learn the inputs and outputs,
// checks the input files against it, runs <name>_run, compares and/or writes
// the outputs, and benchmarks. No LLVM or MLIR inside: it travels with the
// compiled models.
//
//===----------------------------------------------------------------------===//

#include "Model.h"
#include "TensorFile.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <map>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <vector>

using namespace quant;

namespace {

const char *kUsage =
    "usage: quant-run MODEL.so [options]\n"
    "\n"
    "Runs a model compiled with `quant-compile --emit=shared`.\n"
    "\n"
    "  -i FILE | -i NAME=FILE   an input (.pb ONNX TensorProto or .npy), in\n"
    "                           input order or by name (repeatable)\n"
    "  --expect FILE            an expected output, in output order\n"
    "                           (repeatable)\n"
    "  --test-dir DIR           ONNX test-data layout: DIR/input_N.pb as\n"
    "                           inputs, DIR/output_N.pb as expected outputs\n"
    "  --rtol R, --atol A       tolerances for float outputs: |a - e| <=\n"
    "                           atol + rtol*|e| (default 1e-4 and 1e-5);\n"
    "                           integer outputs must be equal\n"
    "  -o DIR                   write each output as DIR/NAME.npy (DIR is\n"
    "                           created if missing)\n"
    "  --print                  print the outputs' values\n"
    "  --bench N                run N more times and print min/median/max\n"
    "                           latency (a --target=cuda model: also each\n"
    "                           call's GPU time by CUDA events, the calls\n"
    "                           queued back to back, device-resident data,\n"
    "                           replayed as a CUDA graph from the second\n"
    "                           call on; their outputs must equal the\n"
    "                           first run's, bit for bit)\n"
    "  --flush-l2               with --bench on a GPU model: read 256 MiB\n"
    "                           before each timed call (L2 holds no weights,\n"
    "                           and no dirty lines for the call to write back)\n"
    "  --name NAME              the model's symbol prefix (default: the\n"
    "                           library's file name without lib and .so)\n"
    "  --weights FILE           the weights file of a model compiled with\n"
    "                           --weights-file (default: the library's path\n"
    "                           with .so replaced by .weights)\n"
    "\n"
    "Exit status: 0 when it ran (and matched), 1 on any error or mismatch.\n";

bool fileExists(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

/// Older ONNX test data stores bfloat16 tensors as uint16 bit patterns.
void adoptBfloat16(Tensor &t, const std::string &wanted) {
  if (wanted == "bfloat16" && t.dtype == "uint16")
    t.dtype = "bfloat16";
}

int fail(const std::string &message) {
  std::fprintf(stderr, "quant-run: %s\n", message.c_str());
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  // Line-buffered, so that results and errors interleave in order in a pipe.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string library, name, outDir, testDir, weightsPath;
  std::vector<std::string> inputArgs, expectFiles;
  double rtol = 1e-4, atol = 1e-5;
  long bench = 0;
  bool print = false, flushL2 = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string &out) {
      if (i + 1 >= argc)
        return false;
      out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "-i" || a == "--input") {
      if (!value(v))
        return fail(a + " needs a file");
      inputArgs.push_back(v);
    } else if (a == "--expect") {
      if (!value(v))
        return fail("--expect needs a file");
      expectFiles.push_back(v);
    } else if (a == "--test-dir") {
      if (!value(testDir))
        return fail("--test-dir needs a directory");
    } else if (a == "-o") {
      if (!value(outDir))
        return fail("-o needs a directory");
    } else if (a == "--name") {
      if (!value(name))
        return fail("--name needs a value");
    } else if (a == "--weights") {
      if (!value(weightsPath))
        return fail("--weights needs a file");
    } else if (a == "--rtol" || a == "--atol" || a == "--bench") {
      if (!value(v))
        return fail(a + " needs a number");
      char *end = nullptr;
      double d = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end || !(d >= 0))
        return fail(a + " expects a non-negative number, got '" + v + "'");
      if (a == "--rtol")
        rtol = d;
      else if (a == "--atol")
        atol = d;
      else
        bench = long(d);
    } else if (a == "--flush-l2") {
      flushL2 = true;
    } else if (a == "--print") {
      print = true;
    } else if (!a.empty() && a[0] == '-') {
      return fail("unknown option '" + a + "' (see --help)");
    } else if (library.empty()) {
      library = a;
    } else {
      return fail("unexpected argument '" + a + "' (inputs go after -i)");
    }
  }
  if (library.empty()) {
    std::fputs(kUsage, stderr);
    return 1;
  }
  if (name.empty()) {
    std::string base = library.substr(library.find_last_of('/') + 1);
    if (base.rfind("lib", 0) == 0)
      base = base.substr(3);
    base = base.substr(0, base.find('.'));
    for (char &c : base)
      if (!std::isalnum(static_cast<unsigned char>(c)))
        c = '_';
    if (base.empty() || std::isdigit(static_cast<unsigned char>(base[0])))
      base = "model_" + base;
    name = base;
  }

  Model model;
  std::string error;
  if (!model.load(library, name, weightsPath, error))
    return fail(error);
  const std::vector<Spec> &inSpecs = model.inputs();
  const std::vector<Spec> &outSpecs = model.outputs();

  // Inputs, by position or NAME=FILE.
  if (!testDir.empty()) {
    for (size_t i = 0;; ++i) {
      std::string f = testDir + "/input_" + std::to_string(i) + ".pb";
      if (!fileExists(f))
        break;
      inputArgs.push_back(f);
    }
    if (expectFiles.empty())
      for (size_t i = 0;; ++i) {
        std::string f = testDir + "/output_" + std::to_string(i) + ".pb";
        if (!fileExists(f))
          break;
        expectFiles.push_back(f);
      }
  }
  std::vector<Tensor> inputs(inSpecs.size());
  std::vector<bool> given(inSpecs.size(), false);
  size_t position = 0;
  for (const std::string &arg : inputArgs) {
    size_t index = position;
    std::string file = arg;
    size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      std::string n = arg.substr(0, eq);
      auto it = std::find_if(inSpecs.begin(), inSpecs.end(),
                             [&](const Spec &s) { return s.name == n; });
      if (it == inSpecs.end())
        return fail("the model has no input named '" + n + "'");
      index = size_t(it - inSpecs.begin());
      file = arg.substr(eq + 1);
    } else {
      ++position;
    }
    if (index >= inSpecs.size())
      return fail("too many inputs: the model takes " +
                  std::to_string(inSpecs.size()));
    if (given[index])
      return fail("input '" + inSpecs[index].name + "' is given twice");
    if (!readTensorFile(file, inputs[index], error))
      return fail(error);
    adoptBfloat16(inputs[index], inSpecs[index].dtype);
    given[index] = true;
  }
  for (size_t i = 0; i < inSpecs.size(); ++i)
    if (!given[i])
      return fail("missing input " + std::to_string(i) + " '" +
                  inSpecs[i].name + "' (" + inSpecs[i].dtype + " " +
                  shapeString(inSpecs[i].shape) + ")");
  std::vector<Tensor> outputs;
  if (!model.run(inputs, outputs, error))
    return fail(error);

  if (print)
    for (size_t i = 0; i < outputs.size(); ++i) {
      std::printf("%s %s %s:", outSpecs[i].name.c_str(),
                  outSpecs[i].dtype.c_str(),
                  shapeString(outSpecs[i].shape).c_str());
      for (int64_t e = 0; e < outputs[i].numElements(); ++e)
        std::printf(" %.8g", elementAsDouble(outputs[i], e));
      std::printf("\n");
    }
  if (!outDir.empty()) {
    // Created if missing (one level, as mkdir does; an existing one is
    // fine).
    struct stat st;
    if (stat(outDir.c_str(), &st) != 0 && mkdir(outDir.c_str(), 0777) != 0)
      return fail("-o: cannot create the directory " + outDir + ": " +
                  std::strerror(errno));
    if (stat(outDir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return fail("-o: " + outDir + " is not a directory");
  }
  if (!outDir.empty())
    for (size_t i = 0; i < outputs.size(); ++i) {
      std::string safe = outSpecs[i].name;
      for (char &c : safe)
        if (c == '/' || c == '\0')
          c = '_';
      if (!writeNpy(outDir + "/" + safe + ".npy", outputs[i], error))
        return fail(error);
    }

  int status = 0;
  if (!expectFiles.empty()) {
    if (expectFiles.size() != outputs.size())
      return fail(std::to_string(expectFiles.size()) +
                  " expected outputs given for " +
                  std::to_string(outputs.size()) + " outputs");
    for (size_t i = 0; i < outputs.size(); ++i) {
      Tensor expected;
      if (!readTensorFile(expectFiles[i], expected, error))
        return fail(error);
      adoptBfloat16(expected, outSpecs[i].dtype);
      Comparison c = compareTensors(outputs[i], expected, rtol, atol);
      std::printf("output %zu '%s': %s (max abs error %.3g, max rel error "
                  "%.3g)\n",
                  i, outSpecs[i].name.c_str(), c.ok ? "match" : "MISMATCH",
                  c.maxAbsError, c.maxRelError);
      if (!c.ok) {
        std::fprintf(stderr, "quant-run: output '%s': %s\n",
                     outSpecs[i].name.c_str(), c.message.c_str());
        status = 1;
      }
    }
  }

  if (bench > 0 && model.isCuda()) {
    // GPU: CUDA events around each call, the calls queued back to back (the
    // GPU's time, not the host's to issue the launches), inputs and outputs
    // resident in device memory (the host-pointer path adds the copies).
    std::vector<double> ms;
    std::string error;
    if (!model.benchDevice(bench, ms, error,
                           flushL2 ? int64_t(256) << 20 : 0)) {
      std::fprintf(stderr, "quant-run: %s\n", error.c_str());
      return 1;
    }
    std::sort(ms.begin(), ms.end());
    std::printf("GPU time over %ld runs (CUDA events, runs queued back to "
                "back, device-resident inputs and outputs): min %.4f ms, "
                "median %.4f ms, max %.4f ms\n",
                bench, ms.front(), ms[ms.size() / 2], ms.back());
  }
  if (bench > 0) {
    std::vector<double> ms;
    for (long r = 0; r < bench; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      model.rerun();
      auto t1 = std::chrono::steady_clock::now();
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    std::printf("%slatency over %ld runs: min %.4f ms, median %.4f ms, max %.4f "
                "ms\n",
                model.isCuda() ? "host-to-host " : "", bench, ms.front(),
                ms[ms.size() / 2], ms.back());
  }
  return status;
}
