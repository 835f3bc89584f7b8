//===- ThreadPolicy.h - when a contraction is worth threads -----*- C++ -*-===//
//
// The CPU kernels' rule for running a contraction on an OpenMP team.
//
//===----------------------------------------------------------------------===//

#ifndef QC_LIB_CONVERSION_THREADPOLICY_H
#define QC_LIB_CONVERSION_THREADPOLICY_H

#include "mlir/IR/BuiltinTypes.h"

#include <cstdint>

namespace mlir::qc {

/// Whether an m x n x k contraction gets threads: at least `minMacs`
/// multiply-adds (the kernels' min-parallel-macs option, default 2^20); a
/// dynamic size (ShapedType::kDynamic) counts as 1, its smallest value.
/// Starting an OpenMP team costs microseconds when its threads spin, and
/// tens of them when they have gone to sleep or share their cores (the
/// 2-layer test decoder took 20x longer per token on 2 threads than on 1);
/// 2^20 multiply-adds of int4 weights are 0.5 MiB streamed, about 25 us on
/// one core here.
inline bool worthThreads(int64_t m, int64_t n, int64_t k, int64_t minMacs) {
  auto known = [](int64_t d) { return ShapedType::isDynamic(d) ? 1 : d; };
  // In double: the product of three large sizes may not fit 64 bits.
  return double(known(m)) * double(known(n)) * double(known(k)) >=
         double(minMacs);
}

} // namespace mlir::qc

#endif // QC_LIB_CONVERSION_THREADPOLICY_H
