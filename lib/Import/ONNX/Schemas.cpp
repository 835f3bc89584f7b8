//===- Schemas.cpp - ONNX operator schema versions ------------------------===//
//
// Which version of an operator's schema a model's opset selects, from ONNX's
// own registry. Like TextParser.cpp this file includes no LLVM/MLIR header
// and is built with exceptions, which ONNX's schema headers use.
//
//===----------------------------------------------------------------------===//

#include "TextParser.h"

#include "onnx/defs/schema.h"

#include <exception>

int mlir::qc::onnx_import::schemaSinceVersion(const std::string &opType,
                                              int opset) {
  try {
    const onnx::OpSchema *schema =
        onnx::OpSchemaRegistry::Schema(opType, opset, onnx::ONNX_DOMAIN);
    return schema ? schema->since_version() : -1;
  } catch (...) {
    return -1;
  }
}
