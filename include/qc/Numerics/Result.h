//===- Result.h - A value or an error message --------------------*- C++
//-*-===//
//
// Plain C++ (no LLVM): the numerics report bad arguments that can come from a
// user's model (a group size that does not divide the axis, an unknown bit
// width, a Hessian that is not positive definite) as a value, never as an
// assert, so that a pass can turn the message into a diagnostic at the op.
//
//===----------------------------------------------------------------------===//

#ifndef QC_NUMERICS_RESULT_H
#define QC_NUMERICS_RESULT_H

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace mlir::qc::numerics {

/// Either a T or a human-readable error message. Test it with `if (result)`
/// before dereferencing; `error()` is empty on success.
template <typename T> class Result {
public:
  /// A successful result holding `value`.
  Result(T value) : value(std::move(value)) {}

  /// A failed result carrying `message`, which should name the values
  /// involved (e.g. "group size 48 does not divide 4096").
  static Result failure(std::string message) {
    Result result;
    result.message = std::move(message);
    return result;
  }

  /// True on success.
  explicit operator bool() const { return value.has_value(); }

  /// The error message; empty on success.
  const std::string &error() const { return message; }

  /// The value; only valid on success.
  T &operator*() {
    assert(value && "dereferencing a failed Result");
    return *value;
  }
  const T &operator*() const {
    assert(value && "dereferencing a failed Result");
    return *value;
  }
  T *operator->() { return &**this; }
  const T *operator->() const { return &**this; }

private:
  Result() = default;
  std::optional<T> value;
  std::string message;
};

} // namespace mlir::qc::numerics

#endif // QC_NUMERICS_RESULT_H
