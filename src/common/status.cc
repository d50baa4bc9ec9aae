#include "common/status.h"

#include <cstring>
#include <system_error>

#include "common/check.h"

namespace sluice {

std::string_view ErrName(Err e) {
  switch (e) {
#define SLUICE_ERR_NAME(name) \
  case Err::name:             \
    return #name;
    SLUICE_ERROR_LIST(SLUICE_ERR_NAME)
#undef SLUICE_ERR_NAME
  }
  return "kUnknown";
}

Status::Status(Err code, std::string message, bool retryable)
    : rep_(code == Err::kOk ? nullptr
                            : std::make_unique<Rep>(Rep{code, std::move(message), retryable})) {}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s(ErrName(code()));
  if (!rep_->message.empty()) {
    s += ": ";
    s += rep_->message;
  }
  return s;
}

Status IoError(std::string_view what, std::string_view path, int err) {
  std::string msg(what);
  msg += " ";
  msg += path;
  msg += ": ";
  msg += std::generic_category().message(err);
  Err code = err == ENOENT                      ? Err::kNotFound
             : err == EEXIST                    ? Err::kAlreadyExists
             : (err == ENOSPC || err == EDQUOT) ? Err::kNoSpace
                                                : Err::kIoError;
  bool retryable = err == EINTR || err == EAGAIN || err == ENOSPC || err == EDQUOT;
  return Status(code, std::move(msg), retryable);
}

void ValueOfError(const Status& st) {
  CheckFailed(__FILE__, __LINE__, "Result::value() of an error", st.ToString());
}

}  // namespace sluice
