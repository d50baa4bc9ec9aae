// Literals for the strong name types in tests: "b"_b, "k"_k, "u1"_u (no validation: tests
// name what they like, as the index's own records do).
#pragma once

#include <string>

#include "common/names.h"

namespace sluice::testing_names {

inline BucketName operator""_b(const char* s, size_t n) {
  return BucketName::Trusted(std::string(s, n));
}
inline ObjectKey operator""_k(const char* s, size_t n) {
  return ObjectKey::Trusted(std::string(s, n));
}
inline UploadId operator""_u(const char* s, size_t n) {
  return UploadId::Trusted(std::string(s, n));
}
inline ObjectKey K(const std::string& s) { return ObjectKey::Trusted(s); }
inline UploadId U(const std::string& s) { return UploadId::Trusted(s); }
inline BucketName B(const std::string& s) { return BucketName::Trusted(s); }

}  // namespace sluice::testing_names
