// Status and Result<T>: errors are values. An OK Status costs one null pointer; the
// message is only allocated on the error path. Storage errors carry a retryable bit so
// callers (and clients, through 503 SlowDown) know whether trying again can help.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/error.h"

namespace sluice {

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Err code, std::string message, bool retryable = false);
  Status(const Status& o) : rep_(o.rep_ ? std::make_unique<Rep>(*o.rep_) : nullptr) {}
  Status& operator=(const Status& o) {
    if (this != &o) rep_ = o.rep_ ? std::make_unique<Rep>(*o.rep_) : nullptr;
    return *this;
  }
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  static Status Ok() { return Status(); }

  bool ok() const { return rep_ == nullptr; }
  Err code() const { return rep_ ? rep_->code : Err::kOk; }
  std::string_view message() const { return rep_ ? std::string_view(rep_->message) : ""; }
  bool retryable() const { return rep_ && rep_->retryable; }
  // "kNoSuchKey: message", for logs.
  std::string ToString() const;
  // Explicitly discards a status whose failure does not matter to the caller.
  void IgnoreError() const {}

 private:
  struct Rep {
    Err code;
    std::string message;
    bool retryable;
  };
  std::unique_ptr<Rep> rep_;
};

inline Status Error(Err code, std::string message = {}) { return Status(code, std::move(message)); }
// An I/O error from errno, with the operation and path it concerns.
Status IoError(std::string_view what, std::string_view path, int err);

// Result<T>::value() of an error: prints it and aborts (status.cc).
[[noreturn]] void ValueOfError(const Status& st);

template <typename T>
class [[nodiscard]] Result {
 public:
  // Implicit by design. Two overloads rather than one by value: a by-value parameter cost a
  // second move of T on every `return t;` (an ObjectMeta's move is 400 instructions).
  Result(T&& value) : value_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(const T& value) : value_(value) {}              // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const& { return status_; }
  Status status() && { return std::move(status_); }
  // The value of an ok Result. Asking an error for its value is a bug, caught in every
  // build (a fatal check, common/check.h): it prints the error and aborts rather than read
  // what is not there.
  T& value() & { return Checked(); }
  const T& value() const& { return Checked(); }
  T&& value() && { return std::move(Checked()); }
  T* operator->() { return &Checked(); }
  const T* operator->() const { return &Checked(); }
  T& operator*() & { return Checked(); }
  const T& operator*() const& { return Checked(); }

 private:
  T& Checked() {
    if (!value_) [[unlikely]]
      ValueOfError(status_);
    return *value_;
  }
  const T& Checked() const {
    if (!value_) [[unlikely]]
      ValueOfError(status_);
    return *value_;
  }

  Status status_;
  std::optional<T> value_;
};

#define SLUICE_CONCAT_INNER(a, b) a##b
#define SLUICE_CONCAT(a, b) SLUICE_CONCAT_INNER(a, b)

#define SLUICE_RETURN_IF_ERROR(expr) \
  do {                               \
    ::sluice::Status _st = (expr);   \
    if (!_st.ok()) return _st;       \
  } while (0)

// tmp names a variable and lhs is a declaration: neither can be parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define SLUICE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return std::move(tmp).status();     \
  lhs = std::move(tmp).value()

// NOLINTEND(bugprone-macro-parentheses)

#define SLUICE_ASSIGN_OR_RETURN(lhs, expr) \
  SLUICE_ASSIGN_OR_RETURN_IMPL(SLUICE_CONCAT(_res_, __LINE__), lhs, expr)

// The same two for coroutines.
#define SLUICE_CO_RETURN_IF_ERROR(expr) \
  do {                                  \
    ::sluice::Status _st = (expr);      \
    if (!_st.ok()) co_return _st;       \
  } while (0)

// NOLINTBEGIN(bugprone-macro-parentheses)
#define SLUICE_CO_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                    \
  if (!tmp.ok()) co_return std::move(tmp).status();     \
  lhs = std::move(tmp).value()

// NOLINTEND(bugprone-macro-parentheses)

#define SLUICE_CO_ASSIGN_OR_RETURN(lhs, expr) \
  SLUICE_CO_ASSIGN_OR_RETURN_IMPL(SLUICE_CONCAT(_res_, __LINE__), lhs, expr)

}  // namespace sluice
