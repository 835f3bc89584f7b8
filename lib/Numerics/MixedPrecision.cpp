//===- MixedPrecision.cpp - per-layer weight formats under a budget -------===//

#include "qc/Numerics/MixedPrecision.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <numeric>

namespace mlir::qc::numerics {

FloatWeightFormat floatWeightFormat(const std::string &kind) {
  return kind == "fp8"        ? FloatWeightFormat::E4M3FN
         : kind == "fp8-e5m2" ? FloatWeightFormat::E5M2
         : kind == "mxfp4"    ? FloatWeightFormat::MXFP4
                              : FloatWeightFormat::NVFP4;
}

Result<WeightFormat> parseWeightFormat(const std::string &name) {
  auto fail = [&] {
    return Result<WeightFormat>::failure(
        "'" + name +
        "' is not a weight format (float, int8, int4, uint8, uint4, fp8, "
        "fp8-e5m2, each but float optionally with -g<N> for N elements per "
        "scale, mxfp4, nvfp4)");
  };
  WeightFormat f;
  std::string base = name;
  size_t dash = name.rfind("-g");
  if (dash != std::string::npos && dash + 2 < name.size() &&
      std::all_of(name.begin() + dash + 2, name.end(),
                  [](char c) { return c >= '0' && c <= '9'; })) {
    if (name.size() - dash - 2 > 9)
      return fail();
    f.group = std::atoll(name.c_str() + dash + 2);
    if (f.group <= 0)
      return fail();
    base = name.substr(0, dash);
  }
  if (base == "float") {
    f.kind = "float";
    f.bits = 32;
  } else if (base == "int8" || base == "int4" || base == "uint8" ||
             base == "uint4") {
    f.kind = "int";
    f.symmetric = base[0] == 'i';
    f.bits = base.back() == '8' ? 8 : 4;
  } else if (base == "fp8" || base == "fp8-e5m2") {
    f.kind = base;
    f.bits = 8;
  } else if (base == "mxfp4" || base == "nvfp4") {
    f.kind = base;
    f.bits = 4;
    f.group = base == "mxfp4" ? 32 : 16;
    if (base != name)
      return fail();
  } else {
    return fail();
  }
  if (f.kind == "float" && f.group)
    return fail();
  return f;
}

std::string formatName(const WeightFormat &format) {
  std::string name;
  if (format.kind == "int")
    name = std::string(format.symmetric ? "int" : "uint") +
           std::to_string(format.bits);
  else
    name = format.kind;
  if (format.group && format.kind != "mxfp4" && format.kind != "nvfp4")
    name += "-g" + std::to_string(format.group);
  return name;
}

Result<std::vector<WeightFormat>> parseWeightFormats(const std::string &list) {
  std::vector<WeightFormat> formats;
  std::vector<std::string> names;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string name = list.substr(
        start, comma == std::string::npos ? std::string::npos : comma - start);
    Result<WeightFormat> f = parseWeightFormat(name);
    if (!f)
      return Result<std::vector<WeightFormat>>::failure(f.error());
    std::string canonical = formatName(*f);
    if (std::find(names.begin(), names.end(), canonical) != names.end())
      return Result<std::vector<WeightFormat>>::failure(
          "format '" + canonical + "' is listed twice");
    names.push_back(canonical);
    formats.push_back(*f);
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return formats;
}

bool formatFits(const WeightFormat &format, int64_t k) {
  return format.group == 0 || (k > 0 && k % format.group == 0);
}

int64_t weightStorageBits(const WeightFormat &format, int64_t k, int64_t n) {
  int64_t codes = k * n * format.bits;
  if (format.kind == "float")
    return codes;
  int64_t scales = (format.group ? k / format.group : 1) * n;
  if (format.kind == "mxfp4")
    return codes + scales * 8;
  if (format.kind == "nvfp4")
    return codes + scales * 8 + 32;
  int64_t zeroPoints = format.kind == "int" && !format.symmetric
                           ? scales * format.bits
                           : 0;
  return codes + scales * 32 + zeroPoints;
}

KernelCostModel defaultCpuCostModel() {
  // bench/kernel_costs.py, K = N = 4096, one core (ns/byte at M = 1,
  // MACs/ns at M = 32).
  KernelCostModel model;
  model.floating = {0.0401, 46.16};
  model.int8 = {0.1656, 33.55};
  model.grouped = {0.1343, 10.0};
  model.int4 = {0.1506, 30.02};
  model.decoded = {0.1981, 10.26};
  return model;
}

int64_t kernelWeightBytes(const WeightFormat &format, int64_t k, int64_t n) {
  if (format.kind == "float")
    return 4 * k * n;
  int64_t scales = (format.group ? k / format.group : 1) * n;
  if (format.kind == "mxfp4")
    return k * n + scales;
  if (format.kind == "nvfp4")
    return k * n + scales + 4;
  int64_t zeroPoints =
      format.kind == "int" && !format.symmetric ? scales : 0;
  return k * n + 4 * scales + zeroPoints;
}

double layerLatencyNs(const WeightFormat &format, int64_t m, int64_t n,
                      int64_t k, const KernelCostModel &model) {
  const FormatCost &cost =
      format.kind == "float" ? model.floating
      : format.kind != "int" ? model.decoded
      : format.group > 0     ? model.grouped
      : format.bits == 8     ? model.int8
                             : model.int4;
  double memory = double(kernelWeightBytes(format, k, n)) * cost.nsPerByte;
  double compute = double(m) * double(n) * double(k) / cost.macsPerNs;
  return std::max(memory, compute);
}

double layerSensitivity(const float *w, const float *dequantized, int64_t n,
                        int64_t k, const double *hessianDiag) {
  double total = 0;
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < k; ++i) {
      double d = double(w[j * k + i]) - double(dequantized[j * k + i]);
      total += (hessianDiag ? hessianDiag[i] / 2 : 1.0) * d * d;
    }
  return total;
}

Result<KnapsackSolution>
solveMultipleChoiceKnapsack(const std::vector<std::vector<KnapsackChoice>> &layers,
                            int64_t budget, int64_t maxCells) {
  using R = Result<KnapsackSolution>;
  int64_t base = 0, unit = 0, extraMax = 0;
  std::vector<int64_t> smallest;
  for (size_t l = 0; l < layers.size(); ++l) {
    if (layers[l].empty())
      return R::failure("layer " + std::to_string(l) + " has no choice");
    if (layers[l].size() > 255)
      return R::failure("layer " + std::to_string(l) +
                        " has more than 255 choices");
    int64_t low = std::numeric_limits<int64_t>::max(), high = 0;
    for (const KnapsackChoice &c : layers[l]) {
      if (c.size < 0)
        return R::failure("a choice of layer " + std::to_string(l) +
                          " has a negative size");
      low = std::min(low, c.size);
      high = std::max(high, c.size);
    }
    smallest.push_back(low);
    base += low;
    extraMax += high - low;
    for (const KnapsackChoice &c : layers[l])
      unit = std::gcd(unit, c.size - low);
  }
  if (base > budget)
    return R::failure("the budget of " + std::to_string(budget) +
                      " bits is below the smallest possible size, " +
                      std::to_string(base) + " bits");
  KnapsackSolution solution;
  // Capacity above the smallest choices, in units; beyond what every layer's
  // largest choice needs it changes nothing.
  int64_t spare = std::min(budget - base, extraMax);
  if (unit == 0)
    unit = 1;
  int64_t limit = std::max<int64_t>(
      1, maxCells / std::max<int64_t>(1, int64_t(layers.size())));
  if (spare / unit > limit) {
    // Too fine: a coarser unit, sizes rounded up (never over budget).
    unit = (spare + limit - 1) / limit;
    solution.exact = false;
  }
  int64_t capacity = spare / unit;
  auto unitsOf = [&](size_t l, const KnapsackChoice &c) {
    return (c.size - smallest[l] + unit - 1) / unit;
  };
  const double inf = std::numeric_limits<double>::infinity();
  // best[c]: least cost of the layers so far within c units.
  std::vector<double> best(capacity + 1, 0.0), next(capacity + 1);
  std::vector<std::vector<uint8_t>> picked(
      layers.size(), std::vector<uint8_t>(capacity + 1, 0));
  for (size_t l = 0; l < layers.size(); ++l) {
    for (int64_t c = 0; c <= capacity; ++c) {
      next[c] = inf;
      for (size_t i = 0; i < layers[l].size(); ++i) {
        int64_t u = unitsOf(l, layers[l][i]);
        if (u > c || best[c - u] == inf)
          continue;
        double v = best[c - u] + layers[l][i].cost;
        if (v < next[c]) {
          next[c] = v;
          picked[l][c] = uint8_t(i);
        }
      }
    }
    best.swap(next);
  }
  // Walk back from the full capacity.
  solution.choice.assign(layers.size(), 0);
  int64_t c = capacity;
  for (size_t l = layers.size(); l-- > 0;) {
    int64_t i = picked[l][c];
    solution.choice[l] = i;
    solution.cost += layers[l][i].cost;
    solution.size += layers[l][i].size;
    c -= unitsOf(l, layers[l][i]);
  }
  return solution;
}

} // namespace mlir::qc::numerics
