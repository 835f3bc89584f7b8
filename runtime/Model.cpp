//===- Model.cpp - load and run a model built with --emit=shared ----------===//

#include "Model.h"

#include <cstring>

#include <dlfcn.h>
#include <sstream>
#include <sys/stat.h>

using namespace quant;

namespace {
bool fileExists(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}
} // namespace

bool quant::parseSignature(const std::string &text, std::vector<Spec> &inputs,
                           std::vector<Spec> &outputs, std::string &error) {
  std::stringstream ss(text);
  std::string entry;
  while (std::getline(ss, entry, ';')) {
    std::stringstream es(entry);
    std::string kind, dims;
    Spec s;
    if (!(es >> kind >> s.name >> s.dtype >> dims) ||
        (kind != "in" && kind != "out")) {
      error = "malformed signature entry '" + entry + "'";
      return false;
    }
    if (dims != "scalar") {
      std::stringstream ds(dims);
      std::string d;
      while (std::getline(ds, d, 'x'))
        s.shape.push_back(d == "?" ? -1 : std::stoll(d));
    }
    (kind == "in" ? inputs : outputs).push_back(s);
  }
  return true;
}

std::string quant::shapeString(const std::vector<int64_t> &shape) {
  std::string r = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    r += (i ? ", " : "") +
         (shape[i] < 0 ? std::string("?") : std::to_string(shape[i]));
  return r + "]";
}

bool Model::load(const std::string &library, const std::string &modelName,
                 std::string weightsPath, std::string &error) {
  name = modelName;
  if (!fileExists(library)) {
    error = "cannot open '" + library + "': no such file";
    return false;
  }
  std::string path =
      library.find('/') == std::string::npos ? "./" + library : library;
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    error = "cannot load '" + library + "': " + dlerror();
    return false;
  }
  auto *signature =
      static_cast<const char *>(dlsym(handle, (name + "_signature").c_str()));
  runFn = reinterpret_cast<RunFn>(dlsym(handle, (name + "_run").c_str()));
  if (!signature || !runFn) {
    error = "'" + library + "' does not export " + name + "_run and " + name +
            "_signature (a model compiled with --name " + name +
            "?); pass --name";
    return false;
  }
  cudaLastError = reinterpret_cast<decltype(cudaLastError)>(
      dlsym(handle, "quant_cuda_last_error"));
  cudaTime =
      reinterpret_cast<decltype(cudaTime)>(dlsym(handle, "quant_cuda_time"));
  cudaMalloc = reinterpret_cast<decltype(cudaMalloc)>(
      dlsym(handle, "quant_cuda_malloc"));
  cudaFree =
      reinterpret_cast<decltype(cudaFree)>(dlsym(handle, "quant_cuda_free"));
  cudaCopy =
      reinterpret_cast<decltype(cudaCopy)>(dlsym(handle, "quant_cuda_copy"));
  using LoadFn = int32_t (*)(const char *);
  if (auto loadWeights = reinterpret_cast<LoadFn>(
          dlsym(handle, (name + "_load_weights").c_str()))) {
    if (weightsPath.empty()) {
      weightsPath = library;
      size_t dot = weightsPath.rfind(".so");
      if (dot != std::string::npos)
        weightsPath.erase(dot);
      weightsPath += ".weights";
    }
    if (!fileExists(weightsPath)) {
      error = "the model needs its weights file: '" + weightsPath +
              "' does not exist (pass --weights)";
      return false;
    }
    if (loadWeights(weightsPath.c_str()) != 0) {
      error = name + "_load_weights('" + weightsPath +
              "') failed: not this model's weights file";
      return false;
    }
  } else if (!weightsPath.empty()) {
    error = "--weights given, but the model has no weights file";
    return false;
  }
  return parseSignature(signature, inSpecs, outSpecs, error);
}

bool Model::run(std::vector<Tensor> &inputs, std::vector<Tensor> &outputs,
                std::string &error) {
  if (inputs.size() != inSpecs.size()) {
    error = "the model takes " + std::to_string(inSpecs.size()) +
            " inputs, got " + std::to_string(inputs.size());
    return false;
  }
  inPtrs.clear();
  shapePtrs.clear();
  for (size_t i = 0; i < inSpecs.size(); ++i) {
    const Spec &s = inSpecs[i];
    Tensor &t = inputs[i];
    // Older ONNX test data stores bfloat16 tensors as uint16 bit patterns.
    if (s.dtype == "bfloat16" && t.dtype == "uint16")
      t.dtype = "bfloat16";
    if (t.dtype != s.dtype) {
      error = "input '" + s.name + "' is " + s.dtype + " but the file holds " +
              t.dtype;
      return false;
    }
    bool fits = t.shape.size() == s.shape.size();
    for (size_t d = 0; fits && d < s.shape.size(); ++d)
      fits = s.shape[d] < 0 || s.shape[d] == t.shape[d];
    if (!fits) {
      error = "input '" + s.name + "' has shape " + shapeString(s.shape) +
              " but the file holds " + shapeString(t.shape);
      return false;
    }
    // A non-null pointer for empty tensors too.
    if (t.bytes.empty())
      t.bytes.resize(1);
    inPtrs.push_back(t.bytes.data());
    shapePtrs.push_back(t.shape.data());
  }
  outputs.assign(outSpecs.size(), Tensor());
  outPtrs.clear();
  for (size_t i = 0; i < outSpecs.size(); ++i) {
    outputs[i].dtype = outSpecs[i].dtype;
    outputs[i].shape = outSpecs[i].shape;
    outputs[i].bytes.assign(
        std::max<size_t>(1, size_t(outputs[i].numElements()) *
                                dtypeSize(outSpecs[i].dtype)),
        0);
    outPtrs.push_back(outputs[i].bytes.data());
  }
  inBytes.clear();
  for (const Tensor &t : inputs)
    inBytes.push_back(t.bytes.size());
  outBytes.clear();
  for (const Tensor &t : outputs)
    outBytes.push_back(t.bytes.size());
  int32_t rc = rerun();
  if (rc != 0) {
    error = describe(rc);
    return false;
  }
  for (Tensor &o : outputs)
    o.bytes.resize(size_t(o.numElements()) * dtypeSize(o.dtype));
  return true;
}

std::string Model::describe(int32_t rc) const {
  std::string why =
      rc == 1   ? " (QUANT_ERR_NULL)"
      : rc == 2 ? " (QUANT_ERR_SHAPE: a dimension does not match)"
      : rc == 3 ? " (QUANT_ERR_WEIGHTS: weights not loaded)"
      : rc == 4 ? " (QUANT_ERR_CUDA: " +
                      std::string(cudaLastError && cudaLastError()
                                      ? cudaLastError()
                                      : "no message") +
                      ")"
                : "";
  return name + "_run returned " + std::to_string(rc) + why;
}

namespace {
struct DeviceCall {
  int32_t (*run)(void *const *, const int64_t *const *, void *const *);
  void *const *ins;
  const int64_t *const *shapes;
  void *const *outs;
};
int32_t callModel(void *arg) {
  auto *c = static_cast<DeviceCall *>(arg);
  return c->run(c->ins, c->shapes, c->outs);
}
} // namespace

bool Model::benchDevice(long count, std::vector<double> &milliseconds,
                        std::string &error, int64_t flushBytes) {
  if (!isCuda() || !cudaMalloc || !cudaFree || !cudaCopy) {
    error = "not a --target=cuda model";
    return false;
  }
  std::vector<void *> dIns, dOuts;
  auto release = [&] {
    for (void *p : dIns)
      cudaFree(p);
    for (void *p : dOuts)
      cudaFree(p);
  };
  auto allocate = [&](const std::vector<size_t> &bytes,
                      std::vector<void *> &buffers) {
    for (size_t b : bytes) {
      void *p = cudaMalloc(int64_t(std::max<size_t>(b, 1)));
      if (!p)
        return false;
      buffers.push_back(p);
    }
    return true;
  };
  if (!allocate(inBytes, dIns) || !allocate(outBytes, dOuts)) {
    release();
    error = describe(4);
    return false;
  }
  DeviceCall call{runFn, dIns.data(), shapePtrs.data(), dOuts.data()};
  for (size_t i = 0; i < inPtrs.size(); ++i)
    if (cudaCopy(dIns[i], inPtrs[i], int64_t(inBytes[i])) != 0) {
      release();
      error = describe(4);
      return false;
    }
  std::vector<float> ms(count);
  int32_t rc = cudaTime(callModel, &call, int32_t(count), flushBytes,
                        ms.data());
  if (rc != 0) {
    release();
    error = describe(rc);
    return false;
  }
  milliseconds.assign(ms.begin(), ms.end());
  // The timed calls (with the same device buffers from the second call on:
  // the runtime replays them as a CUDA graph) must give what the first,
  // ordinary run gave, to the bit: the kernels are deterministic.
  for (size_t i = 0; i < dOuts.size(); ++i) {
    std::vector<char> back(outBytes[i]);
    if (cudaCopy(back.data(), dOuts[i], int64_t(outBytes[i])) != 0) {
      release();
      error = describe(4);
      return false;
    }
    if (outBytes[i] &&
        std::memcmp(back.data(), outPtrs[i], outBytes[i]) != 0) {
      release();
      error = "output " + std::to_string(i) +
              " of the timed calls differs from the first run's";
      return false;
    }
  }
  release();
  return true;
}

int32_t Model::rerun() {
  return runFn(inPtrs.data(), shapePtrs.data(), outPtrs.data());
}
