//===- Expected.h - a value or a Diagnostic --------------------------------===//
//
// Errors are values: fallible library functions return Expected<T>, which holds either a
// T or the Diagnostic that explains why there is none. Status is Expected<void>.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/Diagnostics.h"

#include <cassert>
#include <optional>
#include <utility>
#include <variant>

namespace tessera {

template <typename T> class [[nodiscard]] Expected {
public:
  Expected(T value) : v_(std::move(value)) {}
  Expected(Diagnostic diag) : v_(std::move(diag)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T &value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T &value() const & {
    assert(ok());
    return std::get<0>(v_);
  }
  T &&value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T &operator*() & { return value(); }
  const T &operator*() const & { return value(); }
  T *operator->() { return &value(); }
  const T *operator->() const { return &value(); }

  const Diagnostic &error() const {
    assert(!ok());
    return std::get<1>(v_);
  }
  Diagnostic takeError() && {
    assert(!ok());
    return std::get<1>(std::move(v_));
  }

private:
  std::variant<T, Diagnostic> v_;
};

template <> class [[nodiscard]] Expected<void> {
public:
  Expected() = default;
  Expected(Diagnostic diag) : d_(std::move(diag)) {}
  static Expected success() { return Expected(); }

  bool ok() const { return !d_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Diagnostic &error() const {
    assert(!ok());
    return *d_;
  }
  Diagnostic takeError() && {
    assert(!ok());
    return std::move(*d_);
  }

private:
  std::optional<Diagnostic> d_;
};

using Status = Expected<void>;

/// Propagate an error from an Expected expression: `TRY_ASSIGN(x, parse(...));`
#define TESSERA_CONCAT_INNER(a, b) a##b
#define TESSERA_CONCAT(a, b) TESSERA_CONCAT_INNER(a, b)
#define TRY_ASSIGN(lhs, expr) TRY_ASSIGN_IMPL(TESSERA_CONCAT(tryTmp_, __LINE__), lhs, expr)
#define TRY_ASSIGN_IMPL(tmp, lhs, expr)                                                    \
  auto tmp = (expr);                                                                       \
  if (!tmp.ok())                                                                           \
    return std::move(tmp).takeError();                                                     \
  lhs = std::move(tmp).value()
#define TRY(expr)                                                                          \
  do {                                                                                     \
    auto tesseraTryTmp = (expr);                                                           \
    if (!tesseraTryTmp.ok())                                                               \
      return std::move(tesseraTryTmp).takeError();                                         \
  } while (0)

} // namespace tessera
