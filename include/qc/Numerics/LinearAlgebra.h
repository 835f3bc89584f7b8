//===- LinearAlgebra.h - Cholesky factorisations for GPTQ --------*- C++
//-*-===//
//
// Plain C++ (no MLIR, no BLAS): the dense double-precision factorisations
// GPTQ needs, on row-major n×n arrays. O(n³) with contiguous inner loops;
// n = 4096 takes seconds, not minutes.
//
//===----------------------------------------------------------------------===//

#ifndef QC_NUMERICS_LINEARALGEBRA_H
#define QC_NUMERICS_LINEARALGEBRA_H

#include <cstdint>

namespace mlir::qc::numerics {

/// Factors the symmetric positive definite `a` (n×n, row-major; only the
/// lower triangle is read) in place into its lower Cholesky factor L with
/// A = L Lᵀ; the strict upper triangle is set to 0. Returns false, with `a`
/// partly overwritten, when a pivot is not positive (A not positive definite,
/// or NaN).
bool choleskyLower(double *a, int64_t n);

/// Inverts the lower-triangular `l` (n×n, row-major, non-zero diagonal) in
/// place; the strict upper triangle is read as 0 and left 0.
void invertLowerTriangular(double *l, int64_t n);

/// Replaces the symmetric positive definite `h` (n×n, row-major) by the upper
/// triangular U with positive diagonal such that Uᵀ U = H⁻¹, i.e. GPTQ's
/// torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)),
/// upper=True). Returns false when H is not positive definite.
///
/// Computed with one factorisation and one triangular inverse instead of the
/// reference's three steps: with J the reversal permutation and
/// J H J = L Lᵀ, H⁻¹ = (J L⁻¹ J)ᵀ (J L⁻¹ J), and J L⁻¹ J is upper triangular
/// with a positive diagonal, so by uniqueness it is the factor.
bool upperCholeskyOfInverse(double *h, int64_t n);

} // namespace mlir::qc::numerics

#endif // QC_NUMERICS_LINEARALGEBRA_H
