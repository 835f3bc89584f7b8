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
// FWHT. The K×K factors are Paley constructions (Paley I for q = K − 1 ≡ 3
// mod 4 prime; Paley II for K = 2(q + 1), q ≡ 1 mod 4 a prime power), one
// Sylvester doubling (40 = 2·20) and Goethals–Seidel arrays (156, 172).
//
// Any other size n has a fallback that is still exactly orthogonal: the
// block-diagonal I_{n/b} ⊗ H_b for the largest supported b dividing n
// (largestHadamardBlock; b ≥ 1, since n = 2^m·odd has b ≥ 2^m).
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

/// The built-in K×K Hadamard factor (entries ±1, row-major, H·Hᵀ = K·I) for
/// K in supportedHadamardFactors(); empty for any other K.
const std::vector<float> &hadamardFactor(int64_t k);

/// The n×n matrix H_n = H_K ⊗ H_{2^m} (entries ±1, row-major) for a
/// supported n; empty otherwise. For tests and small sizes.
std::vector<float> buildHadamard(int64_t n);

/// The largest b dividing n with factorHadamardSize(b) (at least the
/// power-of-two part of n); 0 for n < 1.
int64_t largestHadamardBlock(int64_t n);

/// Applies y = x · (I ⊗ H_size ⊗ I_stride)/√size to `rows` row vectors of
/// length n (row-major, in place), the transform qc.hadamard defines: each
/// row viewed as [n / (size·stride), size, stride], H along the middle.
/// `signs` (length n, ±1, or empty) multiplies x first: x·diag(s)·H, the
/// randomised Hadamard rotation. Returns false (data untouched) when size is
/// not supported or size·stride does not divide n.
bool applyHadamardRows(float *data, int64_t rows, int64_t n, int64_t size,
                       int64_t stride = 1,
                       const std::vector<float> &signs = {});

/// Applies the same transform to the columns of a [n, cols] matrix:
/// W ← Tᵀ-side, i.e. column c becomes (c ∘ s)ᵀ·(I ⊗ H_size ⊗ I)/√size
/// viewed as a row. For weights: Qᵀ·W for Q = diag(s)·H/√size.
bool applyHadamardColumns(float *data, int64_t n, int64_t cols, int64_t size,
                          int64_t stride = 1,
                          const std::vector<float> &signs = {});

/// n random signs (±1) from `seed` (a fixed generator, the same on every
/// platform).
std::vector<float> randomSigns(int64_t n, uint64_t seed);

/// A random orthogonal n×n matrix Q (row-major) from `seed`: the Q factor,
/// with the signs that make R's diagonal positive (so Q is Haar-distributed),
/// of an n×n matrix of standard normal samples (Box–Muller on splitmix64:
/// the same on every platform). Modified Gram–Schmidt, twice, in double:
/// QᵀQ = I to rounding. O(n³): about a second at n = 1024, a minute at 4096.
std::vector<double> randomOrthogonal(int64_t n, uint64_t seed);

/// x ← x·Q for `rows` row vectors of length n (row-major, in place).
void multiplyRows(float *data, int64_t rows, int64_t n, const double *q);

/// W ← Qᵀ·W for a [n, cols] matrix (row-major, in place).
void multiplyColumns(float *data, int64_t n, int64_t cols, const double *q);

} // namespace mlir::qc::numerics

#endif // QC_NUMERICS_HADAMARD_H
