//===- TensorData.cpp - ONNX element types and TensorProto payloads -------===//
//
// Decodes TensorProto payloads into MLIR attributes. Every size is checked
// against the shape before a byte is read, so a hostile model cannot make the
// importer read outside a buffer. Large tensors become
// DenseResourceElementsAttr blobs; external data is memory-mapped and wrapped
// without a copy when its alignment allows.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cstring>

using namespace mlir;
using namespace mlir::qc;
using namespace mlir::qc::onnx_import;

// TensorProto data type codes, including those newer than ONNX 1.12's headers.
namespace {
enum DataType : int32_t {
  kFloat = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kUInt16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
  kUInt32 = 12,
  kUInt64 = 13,
  kComplex64 = 14,
  kComplex128 = 15,
  kBFloat16 = 16,
  kFloat8E4M3FN = 17,
  kFloat8E4M3FNUZ = 18,
  kFloat8E5M2 = 19,
  kFloat8E5M2FNUZ = 20,
  kUInt4 = 21,
  kInt4 = 22,
  kFloat4E2M1 = 23,
};

/// Tensors larger than this many bytes become resource blobs.
constexpr size_t kResourceThresholdBytes = 1024;
/// Refuse tensors with more elements than this (2^40): a corrupt shape, not a
/// model that fits in memory.
constexpr int64_t kMaxElements = int64_t(1) << 40;
} // namespace

std::string mlir::qc::onnx_import::dataTypeName(int32_t dataType) {
  static const char *names[] = {
      "UNDEFINED",      "FLOAT",        "UINT8",          "INT8",
      "UINT16",         "INT16",        "INT32",          "INT64",
      "STRING",         "BOOL",         "FLOAT16",        "DOUBLE",
      "UINT32",         "UINT64",       "COMPLEX64",      "COMPLEX128",
      "BFLOAT16",       "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2",
      "FLOAT8E5M2FNUZ", "UINT4",        "INT4",           "FLOAT4E2M1"};
  if (dataType >= 0 && dataType < int32_t(std::size(names)))
    return names[dataType];
  return "data type " + std::to_string(dataType);
}

Type mlir::qc::onnx_import::convertElementType(int32_t dataType,
                                               MLIRContext *ctx) {
  Builder b(ctx);
  auto unsignedInt = [&](unsigned width) {
    return IntegerType::get(ctx, width, IntegerType::Unsigned);
  };
  switch (dataType) {
  case kFloat:
    return b.getF32Type();
  case kUInt8:
    return unsignedInt(8);
  case kInt8:
    return b.getIntegerType(8);
  case kUInt16:
    return unsignedInt(16);
  case kInt16:
    return b.getIntegerType(16);
  case kInt32:
    return b.getIntegerType(32);
  case kInt64:
    return b.getIntegerType(64);
  case kBool:
    return b.getI1Type();
  case kFloat16:
    return b.getF16Type();
  case kDouble:
    return b.getF64Type();
  case kUInt32:
    return unsignedInt(32);
  case kUInt64:
    return unsignedInt(64);
  case kBFloat16:
    return b.getBF16Type();
  case kFloat8E4M3FN:
    return b.getType<Float8E4M3FNType>();
  case kFloat8E4M3FNUZ:
    return b.getType<Float8E4M3FNUZType>();
  case kFloat8E5M2:
    return b.getType<Float8E5M2Type>();
  case kFloat8E5M2FNUZ:
    return b.getType<Float8E5M2FNUZType>();
  case kUInt4:
    return unsignedInt(4);
  case kInt4:
    return b.getIntegerType(4);
  case kFloat4E2M1:
    return b.getType<Float4E2M1FNType>();
  default:
    return {};
  }
}

/// Bytes of one element in ONNX's raw_data (4-bit types: see packedBytes).
static unsigned rawElementBytes(int32_t dataType) {
  switch (dataType) {
  case kFloat:
  case kInt32:
  case kUInt32:
    return 4;
  case kInt64:
  case kUInt64:
  case kDouble:
    return 8;
  case kFloat16:
  case kBFloat16:
  case kInt16:
  case kUInt16:
    return 2;
  default:
    return 1;
  }
}

static bool isFourBit(int32_t dataType) {
  return dataType == kInt4 || dataType == kUInt4 || dataType == kFloat4E2M1;
}

/// Size of the payload in raw_data: 4-bit types store two values per byte.
static int64_t payloadBytes(int32_t dataType, int64_t numElements) {
  if (isFourBit(dataType))
    return (numElements + 1) / 2;
  return numElements * rawElementBytes(dataType);
}

namespace {
/// Bytes in the layout MLIR's dense storage expects: one element per storage
/// unit (sub-byte integers widened to a byte), booleans one byte each.
struct DecodedTensor {
  /// Bytes decoded from typed fields or unpacked from 4-bit values.
  std::vector<char> bytes;
  /// The external file mapped into memory, when the data is external.
  std::unique_ptr<llvm::MemoryBuffer> mapped;
  /// raw_data of the TensorProto, read in place (no copy).
  std::optional<ArrayRef<char>> raw;
  ArrayRef<char> data() const {
    if (mapped)
      return ArrayRef<char>(mapped->getBufferStart(), mapped->getBufferSize());
    if (raw)
      return *raw;
    return bytes;
  }
};
} // namespace

/// Unpacks two 4-bit values per byte (low nibble first) into one byte each,
/// sign-extending for INT4.
static std::vector<char> unpackNibbles(ArrayRef<char> packed,
                                       int64_t numElements, bool isSigned) {
  std::vector<char> out(numElements);
  for (int64_t i = 0; i < numElements; ++i) {
    uint8_t byte = static_cast<uint8_t>(packed[i / 2]);
    uint8_t nibble = (i % 2 == 0) ? (byte & 0x0F) : (byte >> 4);
    int8_t value = static_cast<int8_t>(nibble);
    if (isSigned && (nibble & 0x8))
      value = static_cast<int8_t>(nibble | 0xF0);
    out[i] = static_cast<char>(value);
  }
  return out;
}

/// Resolves external data and maps it. Paths must stay inside `modelDir`.
static LogicalResult readExternal(const onnx::TensorProto &tensor, Location loc,
                                  llvm::StringRef modelDir, int64_t expected,
                                  DecodedTensor &out) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto &entry : tensor.external_data()) {
    if (entry.key() == "location") {
      location = entry.value();
    } else if (entry.key() == "offset" || entry.key() == "length") {
      int64_t value = 0;
      if (llvm::StringRef(entry.value()).getAsInteger(10, value) || value < 0)
        return emitError(loc)
               << "tensor '" << tensor.name() << "': external " << entry.key()
               << " '" << entry.value() << "' is not a non-negative integer";
      (entry.key() == "offset" ? offset : length) = value;
    }
  }
  if (location.empty())
    return emitError(loc) << "tensor '" << tensor.name()
                          << "' has external data without a location";
  llvm::StringRef rel(location);
  if (llvm::sys::path::is_absolute(rel) ||
      llvm::any_of(llvm::make_range(llvm::sys::path::begin(rel),
                                    llvm::sys::path::end(rel)),
                   [](llvm::StringRef c) { return c == ".."; }))
    return emitError(loc) << "tensor '" << tensor.name()
                          << "': external data location '" << location
                          << "' must be a relative path inside the model's "
                             "directory";
  llvm::SmallString<256> path(modelDir);
  llvm::sys::path::append(path, rel);
  if (length >= 0 && length != expected)
    return emitError(loc) << "tensor '" << tensor.name() << "': external "
                          << "length " << length << " does not match the "
                          << expected << " bytes its shape needs";
  uint64_t fileSize = 0;
  if (std::error_code ec = llvm::sys::fs::file_size(path, fileSize))
    return emitError(loc) << "tensor '" << tensor.name()
                          << "': cannot open external data file '" << path
                          << "': " << ec.message();
  if (uint64_t(offset) > fileSize || fileSize - offset < uint64_t(expected))
    return emitError(loc) << "tensor '" << tensor.name()
                          << "': external data file '" << path << "' has "
                          << fileSize << " bytes, too short for " << expected
                          << " bytes at offset " << offset;
  auto buffer = llvm::MemoryBuffer::getFileSlice(path, expected, offset,
                                                 /*IsVolatile=*/false);
  if (!buffer)
    return emitError(loc) << "tensor '" << tensor.name()
                          << "': cannot map external data file '" << path
                          << "': " << buffer.getError().message();
  out.mapped = std::move(*buffer);
  return success();
}

/// Copies `count` typed-field values into bytes of `elementBytes` each.
template <typename FieldT>
static std::vector<char> narrowField(const FieldT &field,
                                     unsigned elementBytes) {
  std::vector<char> bytes(size_t(field.size()) * elementBytes);
  for (int i = 0; i < field.size(); ++i) {
    auto value = field.Get(i);
    std::memcpy(bytes.data() + size_t(i) * elementBytes, &value, elementBytes);
  }
  return bytes;
}

ElementsAttr
mlir::qc::onnx_import::convertTensor(const onnx::TensorProto &tensor,
                                     Location loc, llvm::StringRef modelDir) {
  MLIRContext *ctx = loc.getContext();
  int32_t dataType = tensor.data_type();
  Type elementType = convertElementType(dataType, ctx);
  if (!elementType) {
    emitError(loc) << "tensor '" << tensor.name() << "' has unsupported "
                   << dataTypeName(dataType) << " elements";
    return {};
  }
  SmallVector<int64_t> shape;
  int64_t numElements = 1;
  for (int64_t dim : tensor.dims()) {
    if (dim < 0 || (dim > 0 && numElements > kMaxElements / dim)) {
      emitError(loc) << "tensor '" << tensor.name() << "' has dimension " << dim
                     << ", which is negative or absurdly large";
      return {};
    }
    shape.push_back(dim);
    numElements *= dim;
  }
  auto type = RankedTensorType::get(shape, elementType);
  const int64_t expected = payloadBytes(dataType, numElements);

  DecodedTensor decoded;
  auto sizeMismatch = [&](llvm::StringRef field, int64_t got,
                          llvm::StringRef unit) {
    emitError(loc) << "tensor '" << tensor.name() << "' of shape " << type
                   << " needs "
                   << (unit == "bytes"
                           ? expected
                           : (isFourBit(dataType) ? (numElements + 1) / 2
                                                  : numElements))
                   << " " << unit << " but its " << field << " has " << got;
    return ElementsAttr();
  };

  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    if (failed(readExternal(tensor, loc, modelDir, expected, decoded)))
      return {};
  } else if (tensor.has_raw_data()) {
    const std::string &raw = tensor.raw_data();
    if (int64_t(raw.size()) != expected)
      return sizeMismatch("raw_data", raw.size(), "bytes");
    decoded.raw = ArrayRef<char>(raw.data(), raw.size());
  } else {
    // Typed fields: which one holds the data depends on the data type.
    int64_t want = isFourBit(dataType) ? (numElements + 1) / 2 : numElements;
    switch (dataType) {
    case kFloat:
      if (tensor.float_data_size() != want)
        return sizeMismatch("float_data", tensor.float_data_size(), "values");
      decoded.bytes = narrowField(tensor.float_data(), 4);
      break;
    case kDouble:
      if (tensor.double_data_size() != want)
        return sizeMismatch("double_data", tensor.double_data_size(), "values");
      decoded.bytes = narrowField(tensor.double_data(), 8);
      break;
    case kInt64:
      if (tensor.int64_data_size() != want)
        return sizeMismatch("int64_data", tensor.int64_data_size(), "values");
      decoded.bytes = narrowField(tensor.int64_data(), 8);
      break;
    case kUInt32:
    case kUInt64:
      if (tensor.uint64_data_size() != want)
        return sizeMismatch("uint64_data", tensor.uint64_data_size(), "values");
      decoded.bytes =
          narrowField(tensor.uint64_data(), rawElementBytes(dataType));
      break;
    case kString:
    case kComplex64:
    case kComplex128:
      break; // rejected by convertElementType above
    default:
      // int32_data carries everything narrower, one value (or, for 4-bit
      // types, one byte of two values) per entry; only the low bytes count.
      if (tensor.int32_data_size() != want)
        return sizeMismatch("int32_data", tensor.int32_data_size(), "values");
      decoded.bytes =
          narrowField(tensor.int32_data(),
                      isFourBit(dataType) ? 1 : rawElementBytes(dataType));
      break;
    }
  }

  ArrayRef<char> data = decoded.data();
  if (dataType == kBool) {
    SmallVector<bool> values(numElements);
    for (int64_t i = 0; i < numElements; ++i)
      values[i] = data[i] != 0;
    return DenseElementsAttr::get(type, values);
  }
  if (isFourBit(dataType)) {
    decoded.bytes = unpackNibbles(data, numElements, dataType == kInt4);
    decoded.mapped.reset();
    decoded.raw.reset();
    data = decoded.data();
  }

  std::string name = tensor.name().empty() ? "onnx_tensor" : tensor.name();
  size_t alignment = std::max<size_t>(1, rawElementBytes(dataType));
  // Mapped external data is used in place when it is aligned for the element
  // type and large enough to become a blob; otherwise it is copied once.
  if (decoded.mapped && data.size() > kResourceThresholdBytes &&
      reinterpret_cast<uintptr_t>(data.data()) % alignment == 0) {
    std::shared_ptr<llvm::MemoryBuffer> keep(std::move(decoded.mapped));
    AsmResourceBlob blob(
        data, alignment,
        [keep](void *, size_t, size_t) mutable { keep.reset(); },
        /*dataIsMutable=*/false);
    return DenseResourceElementsAttr::get(type, name, std::move(blob));
  }
  ElementsAttr attr = buildElementsAttr(type, data, name);
  if (!attr)
    emitError(loc) << "tensor '" << tensor.name()
                   << "': payload does not match its type " << type;
  return attr;
}

ElementsAttr mlir::qc::onnx_import::buildElementsAttr(RankedTensorType type,
                                                      ArrayRef<char> data,
                                                      llvm::StringRef name) {
  if (data.size() <= kResourceThresholdBytes) {
    bool detectedSplat = false;
    if (!DenseElementsAttr::isValidRawBuffer(type, data, detectedSplat))
      return {};
    return DenseElementsAttr::getFromRawBuffer(type, data);
  }
  size_t alignment =
      std::max<size_t>(1, (type.getElementTypeBitWidth() + 7) / 8);
  if (data.size() !=
      size_t(type.getNumElements()) * ((type.getElementTypeBitWidth() + 7) / 8))
    return {};
  return DenseResourceElementsAttr::get(
      type, name,
      HeapAsmResourceBlob::allocateAndCopyWithAlign(data, alignment));
}
