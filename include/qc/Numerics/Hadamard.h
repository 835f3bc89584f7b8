//===- Hadamard.h - Hadamard sizes and transforms ---------------*- C++ -*-===//
//
// Plain C++ (no MLIR headers or libraries; only the namespace is shared with
// the dialect so that passes can say numerics::foo): which sizes have a
// Hadamard matrix we can apply, and the fast Walsh–Hadamard transform for the
// power-of-two part.
//
// A size n is supported when n = K·2^m with K one of the built-in factors
// {1, 12, 20, 28, 36, 40, 52, 60, 108, 140, 156, 172} (QuaRot's set; see
// REFERENCES: QuaRot). H_n = H_K ⊗ H_{2^m}, applied as a K×K matmul and an
// FWHT.
//
//===----------------------------------------------------------------------===//

#ifndef QC_NUMERICS_HADAMARD_H
#define QC_NUMERICS_HADAMARD_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::qc::numerics {

/// n = factor · 2^log2PowerOfTwo.
struct HadamardSize {
  int64_t factor;         ///< K, one of supportedHadamardFactors().
  int64_t log2PowerOfTwo; ///< m.
};

/// The K for which a K×K Hadamard matrix is built in, ascending.
const std::vector<int64_t> &supportedHadamardFactors();

/// Splits n into K·2^m with the smallest built-in K (so the FWHT part is as
/// large as possible), or returns nullopt when no built-in K fits or n < 1.
std::optional<HadamardSize> factorHadamardSize(int64_t n);

/// Human-readable description of the supported sizes, for diagnostics:
/// "K·2^m for K in {1, 12, ...}".
std::string describeSupportedHadamardSizes();

/// True when n is a power of two (n ≥ 1).
bool isPowerOfTwo(int64_t n);

/// Applies the orthonormal Walsh–Hadamard transform H_n/√n (Sylvester order) in
/// place to `data[0 .. n)`, n a power of two. Returns false (leaving `data`
/// untouched) when n is not a power of two.
bool applyWalshHadamard(float *data, int64_t n);

/// The n×n Sylvester Hadamard matrix (entries ±1, row-major), n a power of
/// two; empty when it is not.
std::vector<float> buildSylvesterHadamard(int64_t n);

} // namespace mlir::qc::numerics

#endif // QC_NUMERICS_HADAMARD_H
