//===- TextParser.h - ONNX library calls that need exceptions ---*- C++ -*-===//

#ifndef QC_LIB_IMPORT_ONNX_TEXTPARSER_H
#define QC_LIB_IMPORT_ONNX_TEXTPARSER_H

#include "onnx/onnx_pb.h"

#include <string>

namespace mlir::qc::onnx_import {

/// Parses ONNX's textual model syntax into `model`. Returns false with a
/// message in `error` on any failure, including the exceptions ONNX's parser
/// throws on malformed numbers.
bool parseONNXText(const std::string &text, onnx::ModelProto &model,
                   std::string &error);

/// The since-version of the schema of default-domain operator `opType` that
/// opset `opset` selects, or -1 when ONNX's registry does not know one.
int schemaSinceVersion(const std::string &opType, int opset);

} // namespace mlir::qc::onnx_import

#endif // QC_LIB_IMPORT_ONNX_TEXTPARSER_H
