//===- TensorFile.cpp - tensors from and to .pb and .npy files ------------===//

#include "TensorFile.h"

#include "onnx/onnx_pb.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

using namespace quant;

namespace {

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool readWholeFile(const std::string &path, std::string &data,
                   std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open '" + path + "'";
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  data = ss.str();
  return true;
}

struct DtypeInfo {
  const char *name;
  int onnxCode;
  const char *npy; // descr without the byte-order character
  unsigned size;
};

const DtypeInfo kDtypes[] = {
    {"float32", 1, "f4", 4},  {"uint8", 2, "u1", 1},   {"int8", 3, "i1", 1},
    {"uint16", 4, "u2", 2},   {"int16", 5, "i2", 2},   {"int32", 6, "i4", 4},
    {"int64", 7, "i8", 8},    {"bool", 9, "b1", 1},    {"float16", 10, "f2", 2},
    {"float64", 11, "f8", 8}, {"uint32", 12, "u4", 4}, {"uint64", 13, "u8", 8},
    {"bfloat16", 16, nullptr, 2},
};

const DtypeInfo *byName(const std::string &name) {
  for (const DtypeInfo &d : kDtypes)
    if (name == d.name)
      return &d;
  return nullptr;
}

const DtypeInfo *byOnnxCode(int code) {
  for (const DtypeInfo &d : kDtypes)
    if (code == d.onnxCode)
      return &d;
  return nullptr;
}

bool checkedElementCount(const std::vector<int64_t> &shape, int64_t &count) {
  count = 1;
  for (int64_t d : shape) {
    if (d < 0 || d > (int64_t(1) << 40))
      return false;
    if (d != 0 && count > (int64_t(1) << 40) / d)
      return false;
    count *= d;
  }
  return true;
}

bool readPb(const std::string &path, Tensor &t, std::string &error) {
  std::string data;
  if (!readWholeFile(path, data, error))
    return false;
  onnx::TensorProto proto;
  if (!proto.ParseFromString(data)) {
    error = "'" + path + "' is not an ONNX TensorProto file";
    return false;
  }
  const DtypeInfo *info = byOnnxCode(proto.data_type());
  if (!info) {
    error = "'" + path + "': unsupported data_type " +
            std::to_string(proto.data_type());
    return false;
  }
  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    error = "'" + path + "': external data is not supported in input files";
    return false;
  }
  t.dtype = info->name;
  t.shape.assign(proto.dims().begin(), proto.dims().end());
  int64_t n;
  if (!checkedElementCount(t.shape, n)) {
    error = "'" + path + "': invalid dimensions";
    return false;
  }
  size_t bytes = size_t(n) * info->size;
  t.bytes.assign(bytes, 0);
  auto wrongCount = [&](int64_t got) {
    error = "'" + path + "': holds " + std::to_string(got) +
            " values for a shape of " + std::to_string(n) + " elements";
    return false;
  };
  if (proto.has_raw_data()) {
    if (proto.raw_data().size() != bytes)
      return wrongCount(int64_t(proto.raw_data().size() / info->size));
    std::memcpy(t.bytes.data(), proto.raw_data().data(), bytes);
    return true;
  }
  unsigned char *out = t.bytes.data();
  switch (proto.data_type()) {
  case 1:
    if (proto.float_data_size() != n)
      return wrongCount(proto.float_data_size());
    std::memcpy(out, proto.float_data().data(), bytes);
    return true;
  case 11:
    if (proto.double_data_size() != n)
      return wrongCount(proto.double_data_size());
    std::memcpy(out, proto.double_data().data(), bytes);
    return true;
  case 7:
    if (proto.int64_data_size() != n)
      return wrongCount(proto.int64_data_size());
    std::memcpy(out, proto.int64_data().data(), bytes);
    return true;
  case 12:
  case 13: {
    if (proto.uint64_data_size() != n)
      return wrongCount(proto.uint64_data_size());
    for (int64_t i = 0; i < n; ++i) {
      uint64_t v = proto.uint64_data(i);
      std::memcpy(out + i * info->size, &v, info->size); // little endian
    }
    return true;
  }
  default: {
    // int8/16/32, uint8/16, bool, float16, bfloat16: int32_data.
    if (proto.int32_data_size() != n)
      return wrongCount(proto.int32_data_size());
    for (int64_t i = 0; i < n; ++i) {
      int32_t v = proto.int32_data(i);
      std::memcpy(out + i * info->size, &v, info->size);
    }
    return true;
  }
  }
}

bool readNpy(const std::string &path, Tensor &t, std::string &error) {
  std::string data;
  if (!readWholeFile(path, data, error))
    return false;
  auto bad = [&](const std::string &why) {
    error = "'" + path + "' is not a valid .npy file: " + why;
    return false;
  };
  if (data.size() < 10 || data.compare(0, 6, "\x93NUMPY") != 0)
    return bad("no NUMPY magic");
  unsigned major = static_cast<unsigned char>(data[6]);
  size_t headerLen, offset;
  if (major == 1) {
    headerLen = static_cast<unsigned char>(data[8]) |
                (size_t(static_cast<unsigned char>(data[9])) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (data.size() < 12)
      return bad("truncated header");
    headerLen = 0;
    for (int i = 0; i < 4; ++i)
      headerLen |= size_t(static_cast<unsigned char>(data[8 + i])) << (8 * i);
    offset = 12;
  } else {
    return bad("unknown version " + std::to_string(major));
  }
  if (headerLen > data.size() - offset)
    return bad("truncated header");
  std::string header = data.substr(offset, headerLen);
  size_t dataStart = offset + headerLen;
  auto field = [&](const std::string &key) -> std::string {
    size_t k = header.find("'" + key + "'");
    if (k == std::string::npos)
      return "";
    size_t colon = header.find(':', k);
    if (colon == std::string::npos)
      return "";
    size_t start = header.find_first_not_of(' ', colon + 1);
    if (start == std::string::npos)
      return "";
    if (header[start] == '\'') {
      size_t end = header.find('\'', start + 1);
      return end == std::string::npos ? ""
                                      : header.substr(start + 1, end - start - 1);
    }
    if (header[start] == '(') {
      size_t end = header.find(')', start);
      return end == std::string::npos ? ""
                                      : header.substr(start, end - start + 1);
    }
    size_t end = header.find_first_of(",}", start);
    return header.substr(start, end - start);
  };
  std::string descr = field("descr"), order = field("fortran_order"),
              shape = field("shape");
  if (descr.size() < 3 || shape.empty())
    return bad("missing descr or shape");
  if (order != "False")
    return bad("Fortran order is not supported");
  char byteOrder = descr[0];
  if (byteOrder == '>')
    return bad("big-endian data is not supported");
  const DtypeInfo *info = nullptr;
  for (const DtypeInfo &d : kDtypes)
    if (d.npy && descr.substr(1) == d.npy)
      info = &d;
  if (!info)
    return bad("unsupported dtype '" + descr + "'");
  t.dtype = info->name;
  t.shape.clear();
  std::string dims = shape.substr(1, shape.size() - 2);
  std::stringstream ss(dims);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t a = item.find_first_not_of(' ');
    if (a == std::string::npos)
      continue;
    char *end = nullptr;
    long long v = std::strtoll(item.c_str() + a, &end, 10);
    if (end == item.c_str() + a)
      return bad("bad shape '" + shape + "'");
    t.shape.push_back(v);
  }
  int64_t n;
  if (!checkedElementCount(t.shape, n))
    return bad("invalid shape '" + shape + "'");
  size_t bytes = size_t(n) * info->size;
  if (data.size() - dataStart != bytes)
    return bad("holds " + std::to_string(data.size() - dataStart) +
               " bytes of data for " + std::to_string(bytes));
  t.bytes.assign(data.begin() + dataStart, data.end());
  return true;
}

double halfToDouble(uint16_t h) {
  int sign = h >> 15, exp = (h >> 10) & 31, frac = h & 1023;
  double v;
  if (exp == 0)
    v = std::ldexp(frac, -24);
  else if (exp == 31)
    v = frac ? NAN : INFINITY;
  else
    v = std::ldexp(frac + 1024, exp - 25);
  return sign ? -v : v;
}

} // namespace

int64_t Tensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

unsigned quant::dtypeSize(const std::string &dtype) {
  const DtypeInfo *info = byName(dtype);
  return info ? info->size : 0;
}

bool quant::readTensorFile(const std::string &path, Tensor &tensor,
                           std::string &error) {
  if (endsWith(path, ".pb"))
    return readPb(path, tensor, error);
  if (endsWith(path, ".npy"))
    return readNpy(path, tensor, error);
  error = "'" + path + "': expects a .pb (ONNX TensorProto) or .npy file";
  return false;
}

bool quant::writeNpy(const std::string &path, const Tensor &tensor,
                     std::string &error) {
  const DtypeInfo *info = byName(tensor.dtype);
  if (!info || !info->npy) {
    error = "cannot write " + tensor.dtype + " as .npy";
    return false;
  }
  std::string shape = "(";
  for (size_t i = 0; i < tensor.shape.size(); ++i)
    shape += std::to_string(tensor.shape[i]) + (i + 1 < tensor.shape.size() ||
                                                        tensor.shape.size() == 1
                                                    ? ","
                                                    : "");
  shape += ")";
  char byteOrder = info->size == 1 ? '|' : '<';
  std::string header = "{'descr': '" + std::string(1, byteOrder) + info->npy +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += "\n";
  std::ofstream out(path, std::ios::binary);
  if (!out) {
    error = "cannot write '" + path + "'";
    return false;
  }
  out.write("\x93NUMPY\x01\x00", 8);
  uint16_t len = uint16_t(header.size());
  char lenBytes[2] = {char(len & 0xff), char(len >> 8)};
  out.write(lenBytes, 2);
  out << header;
  out.write(reinterpret_cast<const char *>(tensor.bytes.data()),
            std::streamsize(tensor.bytes.size()));
  if (!out) {
    error = "writing '" + path + "' failed";
    return false;
  }
  return true;
}

double quant::elementAsDouble(const Tensor &t, int64_t i) {
  const unsigned char *p = t.bytes.data() + i * dtypeSize(t.dtype);
  auto load = [&](auto v) {
    std::memcpy(&v, p, sizeof(v));
    return double(v);
  };
  const std::string &d = t.dtype;
  if (d == "float32")
    return load(float());
  if (d == "float64")
    return load(double());
  if (d == "float16")
    return halfToDouble(uint16_t(load(uint16_t())));
  if (d == "bfloat16") {
    uint16_t h;
    std::memcpy(&h, p, 2);
    uint32_t bits = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  if (d == "int8")
    return load(int8_t());
  if (d == "uint8" || d == "bool")
    return load(uint8_t());
  if (d == "int16")
    return load(int16_t());
  if (d == "uint16")
    return load(uint16_t());
  if (d == "int32")
    return load(int32_t());
  if (d == "uint32")
    return load(uint32_t());
  if (d == "int64")
    return load(int64_t());
  return load(uint64_t());
}

Comparison quant::compareTensors(const Tensor &actual, const Tensor &expected,
                                 double rtol, double atol) {
  Comparison c;
  if (actual.dtype != expected.dtype) {
    c.ok = false;
    c.message = "element type " + actual.dtype + " differs from the expected " +
                expected.dtype;
    return c;
  }
  if (actual.shape != expected.shape) {
    auto str = [](const std::vector<int64_t> &s) {
      std::string r = "[";
      for (size_t i = 0; i < s.size(); ++i)
        r += (i ? ", " : "") + std::to_string(s[i]);
      return r + "]";
    };
    c.ok = false;
    c.message = "shape " + str(actual.shape) + " differs from the expected " +
                str(expected.shape);
    return c;
  }
  bool isFloat = actual.dtype.rfind("float", 0) == 0 ||
                 actual.dtype == "bfloat16";
  int64_t n = actual.numElements(), first = -1;
  for (int64_t i = 0; i < n; ++i) {
    double a = elementAsDouble(actual, i), e = elementAsDouble(expected, i);
    bool match;
    if (!isFloat) {
      match = a == e;
    } else if (std::isnan(e) || std::isnan(a)) {
      match = std::isnan(e) && std::isnan(a);
    } else if (std::isinf(e) || std::isinf(a)) {
      match = a == e;
    } else {
      double err = std::fabs(a - e);
      match = err <= atol + rtol * std::fabs(e);
      c.maxAbsError = std::max(c.maxAbsError, err);
      if (e != 0)
        c.maxRelError = std::max(c.maxRelError, err / std::fabs(e));
    }
    if (!match) {
      if (first < 0)
        first = i;
      ++c.mismatches;
    }
  }
  if (c.mismatches) {
    c.ok = false;
    std::ostringstream os;
    os << c.mismatches << " of " << n << " elements differ; first at index "
       << first << ": " << elementAsDouble(actual, first) << " vs expected "
       << elementAsDouble(expected, first);
    c.message = os.str();
  }
  return c;
}
