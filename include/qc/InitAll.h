//===- InitAll.h - register quant's dialects and passes ---------*- C++ -*-===//
//
// Entry points for tools and for other compilers that embed quant: one call
// registers everything quant defines, next to what upstream MLIR provides.
//
//===----------------------------------------------------------------------===//

#ifndef QC_INITALL_H
#define QC_INITALL_H

namespace mlir {
class DialectRegistry;
namespace qc {

/// Adds the `qc` dialect and the upstream dialects quant's IR uses (`quant`,
/// `func`, `arith`, `tensor`) to `registry`.
void registerQuantDialects(DialectRegistry &registry);

/// Registers every `qc-` pass with the global pass registry, so that
/// `--qc-<verb>` command-line options and textual pipelines can name them.
void registerQuantPasses();

} // namespace qc
} // namespace mlir

#endif // QC_INITALL_H
