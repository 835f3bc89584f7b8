//===- TextParser.h - ONNX text syntax without exceptions -------*- C++ -*-===//

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

} // namespace mlir::qc::onnx_import

#endif // QC_LIB_IMPORT_ONNX_TEXTPARSER_H
