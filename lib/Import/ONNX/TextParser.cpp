//===- TextParser.cpp - ONNX text syntax, exceptions contained ------------===//
//
// ONNX's OnnxParser reports some malformed numbers by throwing (std::stof,
// std::stoll). The rest of quant is built without exceptions, so this file
// alone is compiled with -fexceptions and turns every exception into an error
// message. It includes no LLVM or MLIR header.
//
//===----------------------------------------------------------------------===//

#include "TextParser.h"

#include "onnx/defs/parser.h"

#include <exception>

bool mlir::qc::onnx_import::parseONNXText(const std::string &text,
                                          onnx::ModelProto &model,
                                          std::string &error) {
  try {
    onnx::Common::Status status = onnx::OnnxParser::Parse(model, text.c_str());
    if (status.IsOK())
      return true;
    error = status.ErrorMessage();
  } catch (const std::exception &e) {
    error = std::string("malformed literal (") + e.what() + ")";
  } catch (...) {
    error = "the ONNX text parser failed";
  }
  return false;
}
