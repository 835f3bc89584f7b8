//===- Hadamard.cpp - Hadamard sizes and transforms -----------------------===//

#include "qc/Numerics/Hadamard.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <sstream>

namespace mlir::qc::numerics {

const std::vector<int64_t> &supportedHadamardFactors() {
  static const std::vector<int64_t> factors = {1,  12, 20,  28,  36, 40,
                                               52, 60, 108, 140, 156, 172};
  return factors;
}

bool isPowerOfTwo(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

std::optional<HadamardSize> factorHadamardSize(int64_t n) {
  if (n < 1)
    return std::nullopt;
  for (int64_t k : supportedHadamardFactors()) {
    if (n % k != 0 || !isPowerOfTwo(n / k))
      continue;
    int64_t m = 0;
    for (int64_t p = n / k; p > 1; p >>= 1)
      ++m;
    return HadamardSize{k, m};
  }
  return std::nullopt;
}

std::string describeSupportedHadamardSizes() {
  std::ostringstream os;
  os << "K*2^m for K in {";
  const auto &factors = supportedHadamardFactors();
  for (size_t i = 0; i < factors.size(); ++i)
    os << (i ? ", " : "") << factors[i];
  os << "}";
  return os.str();
}

bool applyWalshHadamard(float *data, int64_t n) {
  if (!isPowerOfTwo(n))
    return false;
  // Butterfly stages in Sylvester order: H_{2h} = [[H_h, H_h], [H_h, -H_h]].
  for (int64_t h = 1; h < n; h *= 2) {
    for (int64_t i = 0; i < n; i += 2 * h) {
      for (int64_t j = i; j < i + h; ++j) {
        float a = data[j], b = data[j + h];
        data[j] = a + b;
        data[j + h] = a - b;
      }
    }
  }
  const float norm = 1.0f / std::sqrt(static_cast<float>(n));
  for (int64_t i = 0; i < n; ++i)
    data[i] *= norm;
  return true;
}

std::vector<float> buildSylvesterHadamard(int64_t n) {
  if (!isPowerOfTwo(n))
    return {};
  std::vector<float> h(static_cast<size_t>(n * n));
  // Entry (i, j) of the Sylvester matrix is (-1)^popcount(i & j).
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      h[i * n + j] = (__builtin_popcountll(static_cast<uint64_t>(i & j)) & 1)
                         ? -1.0f
                         : 1.0f;
  return h;
}

namespace {
/// GF(q), q = p^k with k <= 2: elements are 0..q-1 as base-p digits
/// (a0 + a1·x), multiplication modulo a monic irreducible x² − c1·x − c0.
struct GaloisField {
  int64_t p, k, q;
  int64_t c0 = 0, c1 = 0; ///< x² = c1·x + c0 (k = 2)

  GaloisField(int64_t p, int64_t k) : p(p), k(k), q(k == 1 ? p : p * p) {
    if (k == 2) {
      // x² − c1·x − c0 is irreducible iff it has no root in GF(p).
      for (c0 = 1; c0 < p; ++c0)
        for (c1 = 0; c1 < p; ++c1) {
          bool root = false;
          for (int64_t x = 0; x < p && !root; ++x)
            root = ((x * x - c1 * x - c0) % p + p) % p == 0;
          if (!root)
            return;
        }
    }
  }
  int64_t sub(int64_t a, int64_t b) const {
    if (k == 1)
      return ((a - b) % p + p) % p;
    return ((a % p - b % p + p) % p) + p * ((a / p - b / p + p) % p);
  }
  int64_t mul(int64_t a, int64_t b) const {
    if (k == 1)
      return a * b % p;
    int64_t a0 = a % p, a1 = a / p, b0 = b % p, b1 = b / p;
    // (a0 + a1 x)(b0 + b1 x) = a0b0 + (a0b1 + a1b0) x + a1b1 x².
    int64_t x2 = a1 * b1 % p;
    int64_t r0 = (a0 * b0 + x2 * c0) % p;
    int64_t r1 = (a0 * b1 + a1 * b0 + x2 * c1) % p;
    return r0 + p * r1;
  }
  /// The Jacobsthal matrix Q[i][j] = χ(i − j) (χ the quadratic character).
  std::vector<int> jacobsthal() const {
    std::vector<bool> square(q, false);
    for (int64_t x = 1; x < q; ++x)
      square[mul(x, x)] = true;
    std::vector<int> m(q * q);
    for (int64_t i = 0; i < q; ++i)
      for (int64_t j = 0; j < q; ++j) {
        int64_t d = sub(i, j);
        m[i * q + j] = d == 0 ? 0 : square[d] ? 1 : -1;
      }
    return m;
  }
};

/// Paley I, order q + 1 for q ≡ 3 (mod 4): I + [[0, 1ᵀ], [−1, Q]].
std::vector<float> paleyI(int64_t p, int64_t k) {
  GaloisField f(p, k);
  std::vector<int> q = f.jacobsthal();
  int64_t n = f.q + 1;
  std::vector<float> h(n * n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      int v = i == 0   ? (j == 0 ? 0 : 1)
              : j == 0 ? -1
                       : q[(i - 1) * f.q + (j - 1)];
      h[i * n + j] = float(v + (i == j ? 1 : 0));
    }
  return h;
}

/// Paley II, order 2(q + 1) for q ≡ 1 (mod 4): the symmetric conference
/// matrix C = [[0, 1ᵀ], [1, Q]] with 0 -> [[1, −1], [−1, −1]] and ±1 ->
/// ±[[1, 1], [1, −1]].
std::vector<float> paleyII(int64_t p, int64_t k) {
  GaloisField f(p, k);
  std::vector<int> q = f.jacobsthal();
  int64_t c = f.q + 1, n = 2 * c;
  std::vector<float> h(n * n);
  for (int64_t i = 0; i < c; ++i)
    for (int64_t j = 0; j < c; ++j) {
      int v = i == 0 ? (j == 0 ? 0 : 1) : j == 0 ? 1
                                                 : q[(i - 1) * f.q + (j - 1)];
      const int zero[4] = {1, -1, -1, -1}, one[4] = {1, 1, 1, -1};
      for (int a = 0; a < 2; ++a)
        for (int b = 0; b < 2; ++b)
          h[(2 * i + a) * n + 2 * j + b] =
              float(v == 0 ? zero[2 * a + b] : v * one[2 * a + b]);
    }
  return h;
}

/// [[H, H], [H, −H]].
std::vector<float> doubled(const std::vector<float> &h, int64_t n) {
  std::vector<float> d(4 * n * n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float v = h[i * n + j];
      d[i * 2 * n + j] = v;
      d[i * 2 * n + n + j] = v;
      d[(n + i) * 2 * n + j] = v;
      d[(n + i) * 2 * n + n + j] = -v;
    }
  return d;
}

/// Goethals–Seidel: four ±1 sequences of length t whose periodic
/// autocorrelations sum to zero at every nonzero shift give a Hadamard
/// matrix of order 4t, [[A, BR, CR, DR], [−BR, A, DᵀR, −CᵀR], [−CR, −DᵀR,
/// A, BᵀR], [−DR, CᵀR, −BᵀR, A]] with A..D circulant and R the back
/// identity.
std::vector<float> goethalsSeidel(const char *const rows[4]) {
  int64_t t = std::strlen(rows[0]), n = 4 * t;
  auto circ = [&](int s, int64_t i, int64_t j, bool transposed) {
    if (transposed)
      std::swap(i, j);
    return rows[s][((j - i) % t + t) % t] == '+' ? 1 : -1;
  };
  // Block (bi, bj): sign, sequence, transposed, times R.
  struct Block {
    int sign, seq;
    bool transposed, r;
  };
  const Block blocks[4][4] = {
      {{1, 0, false, false}, {1, 1, false, true}, {1, 2, false, true},
       {1, 3, false, true}},
      {{-1, 1, false, true}, {1, 0, false, false}, {1, 3, true, true},
       {-1, 2, true, true}},
      {{-1, 2, false, true}, {-1, 3, true, true}, {1, 0, false, false},
       {1, 1, true, true}},
      {{-1, 3, false, true}, {1, 2, true, true}, {-1, 1, true, true},
       {1, 0, false, false}}};
  std::vector<float> h(n * n);
  for (int bi = 0; bi < 4; ++bi)
    for (int bj = 0; bj < 4; ++bj) {
      const Block &b = blocks[bi][bj];
      for (int64_t i = 0; i < t; ++i)
        for (int64_t j = 0; j < t; ++j) {
          // (X·R)[i][j] = X[i][t − 1 − j].
          int64_t col = b.r ? t - 1 - j : j;
          h[(bi * t + i) * n + bj * t + j] =
              float(b.sign * circ(b.seq, i, col, b.transposed));
        }
    }
  return h;
}

/// Sequences of length 39 for the 156×156 factor, found by our own
/// stochastic search (row sums 9, 7, 5, 1) and verified by
/// HadamardFactor.EveryFactorIsHadamard.
const char *const kGS39[4] = {"+---++-+++-+++--+++-+-+++++--+-++-+-++-",
                              "++--+--+-++--+++-+-+----+++++++++-+--++",
                              "-+++++-+++--+-+++-++----+++-----+-+-+++",
                              "-+++---+-+------++++-++-++--++--++-+-++"};

/// Sequences of length 43 for the 172×172 factor (QuaRot's, for 11008 =
/// 172·64, LLaMA-2 7B's MLP size), found by our own annealing search over
/// sequences with row sums 5, 7, 7, 7 (25 + 3·49 = 172) and swap moves, and
/// verified by HadamardFactor.EveryFactorIsHadamard.
const char *const kGS43[4] = {"-+++-++--++---+--+-++--++-++--+-++-+-++++-+",
                              "-++++-++-+--++----++-++++++----+-+--+-+++++",
                              "--+++-++-+--++++-+++-+---+++-+++------+++++",
                              "-+++---+-+-+-+--+++-+++-+++++-+-++++-++----"};

std::vector<float> constructFactor(int64_t k) {
  switch (k) {
  case 1:
    return {1.0f};
  case 12:
    return paleyI(11, 1);
  case 20:
    return paleyI(19, 1);
  case 28:
    return paleyII(13, 1);
  case 36:
    return paleyII(17, 1);
  case 40:
    return doubled(paleyI(19, 1), 20);
  case 52:
    return paleyII(5, 2);
  case 60:
    return paleyI(59, 1);
  case 108:
    return paleyI(107, 1);
  case 140:
    return paleyI(139, 1);
  case 156:
    return goethalsSeidel(kGS39);
  case 172:
    return goethalsSeidel(kGS43);
  default:
    return {};
  }
}

/// Unnormalised in-place FWHT of v[0 .. n) (n a power of two).
void fwht(double *v, int64_t n) {
  for (int64_t h = 1; h < n; h *= 2)
    for (int64_t i = 0; i < n; i += 2 * h)
      for (int64_t j = i; j < i + h; ++j) {
        double a = v[j], b = v[j + h];
        v[j] = a + b;
        v[j + h] = a - b;
      }
}

/// v ← v · H_size / √size for one vector of length size = K·2^m.
void transformVector(std::vector<double> &v, const HadamardSize &split,
                     const std::vector<float> &factor,
                     std::vector<double> &scratch) {
  int64_t k = split.factor, pw = int64_t(1) << split.log2PowerOfTwo;
  for (int64_t a = 0; a < k; ++a)
    fwht(v.data() + a * pw, pw);
  if (k > 1) {
    scratch.assign(v.size(), 0.0);
    // y[a', b] = Σ_a u[a, b]·H_K[a, a'].
    for (int64_t a = 0; a < k; ++a)
      for (int64_t a2 = 0; a2 < k; ++a2) {
        double hv = factor[a * k + a2];
        const double *src = v.data() + a * pw;
        double *dst = scratch.data() + a2 * pw;
        for (int64_t b = 0; b < pw; ++b)
          dst[b] += hv * src[b];
      }
    v.swap(scratch);
  }
  double norm = 1.0 / std::sqrt(double(k * pw));
  for (double &x : v)
    x *= norm;
}

/// Applies the transform to `count` vectors of length n, vector i read and
/// written at data[i·vectorStep + j·elementStep].
bool applyHadamard(float *data, int64_t count, int64_t n, int64_t vectorStep,
                   int64_t elementStep, int64_t size, int64_t stride,
                   const std::vector<float> &signs) {
  std::optional<HadamardSize> split = factorHadamardSize(size);
  if (!split || stride < 1 || n < 1 || size > n || stride > n / size ||
      n % (size * stride) != 0 ||
      (!signs.empty() && int64_t(signs.size()) != n))
    return false;
  const std::vector<float> &factor = hadamardFactor(split->factor);
  std::vector<double> v(size), scratch;
  int64_t outer = n / (size * stride);
  for (int64_t r = 0; r < count; ++r) {
    float *row = data + r * vectorStep;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t t = 0; t < stride; ++t) {
        auto at = [&](int64_t i) { return o * size * stride + i * stride + t; };
        for (int64_t i = 0; i < size; ++i)
          v[i] = double(row[at(i) * elementStep]) *
                 (signs.empty() ? 1.0 : double(signs[at(i)]));
        transformVector(v, *split, factor, scratch);
        for (int64_t i = 0; i < size; ++i)
          row[at(i) * elementStep] = float(v[i]);
      }
  }
  return true;
}
} // namespace

const std::vector<float> &hadamardFactor(int64_t k) {
  static std::mutex mutex;
  static std::map<int64_t, std::vector<float>> cache;
  static const std::vector<float> none;
  const auto &factors = supportedHadamardFactors();
  if (std::find(factors.begin(), factors.end(), k) == factors.end())
    return none;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(k);
  if (it == cache.end())
    it = cache.emplace(k, constructFactor(k)).first;
  return it->second;
}

std::vector<float> buildHadamard(int64_t n) {
  std::optional<HadamardSize> split = factorHadamardSize(n);
  if (!split)
    return {};
  const std::vector<float> &hk = hadamardFactor(split->factor);
  std::vector<float> hp =
      buildSylvesterHadamard(int64_t(1) << split->log2PowerOfTwo);
  int64_t k = split->factor, pw = int64_t(1) << split->log2PowerOfTwo;
  std::vector<float> h(n * n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      h[i * n + j] = hk[(i / pw) * k + j / pw] * hp[(i % pw) * pw + j % pw];
  return h;
}

int64_t largestHadamardBlock(int64_t n) {
  if (n < 1)
    return 0;
  int64_t best = 1;
  for (int64_t k : supportedHadamardFactors())
    for (int64_t b = k; b <= n && n % b == 0; b *= 2)
      best = std::max(best, b);
  return best;
}

bool applyHadamardRows(float *data, int64_t rows, int64_t n, int64_t size,
                       int64_t stride, const std::vector<float> &signs) {
  return applyHadamard(data, rows, n, n, 1, size, stride, signs);
}

bool applyHadamardColumns(float *data, int64_t n, int64_t cols, int64_t size,
                          int64_t stride, const std::vector<float> &signs) {
  return applyHadamard(data, cols, n, 1, cols, size, stride, signs);
}

namespace {
/// splitmix64: the next 64 random bits of `state`.
uint64_t splitmix(uint64_t &state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
} // namespace

std::vector<float> randomSigns(int64_t n, uint64_t seed) {
  std::vector<float> s(std::max<int64_t>(n, 0));
  uint64_t state = seed;
  for (float &x : s)
    x = (splitmix(state) >> 63) ? -1.0f : 1.0f;
  return s;
}

std::vector<double> randomOrthogonal(int64_t n, uint64_t seed) {
  if (n <= 0)
    return {};
  // Standard normal samples, Box–Muller on uniforms in (0, 1].
  std::vector<double> a(n * n);
  uint64_t state = seed ^ 0x5DEECE66Dull;
  const double twoPi = 6.283185307179586476925;
  for (int64_t i = 0; i < n * n; i += 2) {
    double u1 = (static_cast<double>(splitmix(state) >> 11) + 1.0) * 0x1.0p-53;
    double u2 = static_cast<double>(splitmix(state) >> 11) * 0x1.0p-53;
    double r = std::sqrt(-2.0 * std::log(u1));
    a[i] = r * std::cos(twoPi * u2);
    if (i + 1 < n * n)
      a[i + 1] = r * std::sin(twoPi * u2);
  }
  // Gram–Schmidt on the columns of A (stored transposed as rows of `c`, so
  // the inner loops are contiguous): column j of Q is c[j].
  std::vector<double> c(n * n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      c[j * n + i] = a[i * n + j];
  for (int64_t j = 0; j < n; ++j) {
    double *v = &c[j * n];
    double rjj = 0;
    for (int pass = 0; pass < 2; ++pass)
      for (int64_t p = 0; p < j; ++p) {
        const double *u = &c[p * n];
        double dot = 0;
        for (int64_t i = 0; i < n; ++i)
          dot += u[i] * v[i];
        for (int64_t i = 0; i < n; ++i)
          v[i] -= dot * u[i];
      }
    for (int64_t i = 0; i < n; ++i)
      rjj += v[i] * v[i];
    rjj = std::sqrt(rjj);
    // R's diagonal entry is the norm (positive) by construction, so the
    // sign convention of a Haar sample holds.
    for (int64_t i = 0; i < n; ++i)
      v[i] /= rjj;
  }
  std::vector<double> q(n * n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      q[i * n + j] = c[j * n + i];
  return q;
}

void multiplyRows(float *data, int64_t rows, int64_t n, const double *q) {
  std::vector<double> out(n);
  for (int64_t r = 0; r < rows; ++r) {
    float *x = data + r * n;
    std::fill(out.begin(), out.end(), 0.0);
    for (int64_t i = 0; i < n; ++i) {
      double xi = x[i];
      const double *qi = q + i * n;
      for (int64_t j = 0; j < n; ++j)
        out[j] += xi * qi[j];
    }
    for (int64_t j = 0; j < n; ++j)
      x[j] = static_cast<float>(out[j]);
  }
}

void multiplyColumns(float *data, int64_t n, int64_t cols, const double *q) {
  // (Qᵀ·W)[j, c] = Σ_i Q[i, j]·W[i, c]: accumulate row i of W into every
  // output row j with weight Q[i, j].
  std::vector<double> out(n * cols, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    const float *w = data + i * cols;
    for (int64_t j = 0; j < n; ++j) {
      double f = q[i * n + j];
      double *o = &out[j * cols];
      for (int64_t c = 0; c < cols; ++c)
        o[c] += f * w[c];
    }
  }
  for (int64_t k = 0; k < n * cols; ++k)
    data[k] = static_cast<float>(out[k]);
}

} // namespace mlir::qc::numerics
